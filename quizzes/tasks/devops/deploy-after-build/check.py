"""Check for the deploy-after-build task: needs read from the workflow, then the workflow run
as it is (the deployment must name the built version) and with a failing test added (deploy
must be skipped)."""

WORKFLOW = ".github/workflows/release.yml"
VERSION = "VERSION"
PROBE = {"tests/test_zz_probe.py": "def test_broken_on_purpose():\n    assert False\n"}


def deploy_needs_build_and_test(ctx):
    jobs = (ctx.yaml(WORKFLOW) or {}).get("jobs") or {}
    deploy = jobs.get("deploy")
    if not isinstance(deploy, dict):
        return False, f"{WORKFLOW} has no deploy job"
    needs = deploy.get("needs") or []
    needs = {needs} if isinstance(needs, str) else set(needs)
    missing = sorted({"build", "test"} - needs)
    if missing:
        return False, f"deploy does not need {', '.join(missing)}"
    return True, "deploy needs build and test"


def deployment_records_the_built_version(ctx):
    version = (ctx.text(VERSION) or "").strip()
    run = ctx.run()
    if run.jobs.get("deploy") != "success":
        return False, f"deploy ended {run.jobs.get('deploy', 'missing')} in a run as it is"
    recorded = (run.artifact_text("deployment/deployment.txt") or "").strip()
    if not recorded:
        return False, "the run uploaded no deployment/deployment.txt"
    if recorded != f"deployed greeter {version}":
        return False, f"the deployment says '{recorded[:80]}', not 'deployed greeter {version}'"
    return True, f"the deployment names {version}"


def red_test_blocks_deploy(ctx):
    green = ctx.run().jobs
    if any(green.get(job) != "success" for job in ("build", "test", "deploy")):
        return False, "not every job succeeds in a run as it is"
    red = ctx.rerun(PROBE).jobs
    if red.get("deploy") != "skipped":
        return False, f"with a failing test added, deploy ended {red.get('deploy', 'missing')}"
    return True, "with a failing test added, deploy was skipped"
