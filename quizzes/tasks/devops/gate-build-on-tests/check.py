"""Check for the gate-build-on-tests task: the gate is read from the workflow and then tested
by running it twice in the sandbox, as it is and with a failing test added."""

WORKFLOW = ".github/workflows/ci.yml"
PROBE = {
    "tests/test_zz_probe.py": "def test_the_check_breaks_this_on_purpose():\n    assert False\n"
}


def package_needs_test(ctx):
    workflow = ctx.yaml(WORKFLOW)
    job = ((workflow or {}).get("jobs") or {}).get("package")
    if not isinstance(job, dict):
        return False, f"{WORKFLOW} has no package job"
    needs = job.get("needs") or []
    needs = [needs] if isinstance(needs, str) else needs
    if "test" in needs:
        return True, "package needs test"
    return False, "package does not list test in needs, so it starts without waiting"


def red_test_fails_the_job(ctx):
    results = ctx.rerun(PROBE).jobs
    if results.get("test") == "failure":
        return True, "with a failing test added, the test job failed"
    return False, (
        f"with a failing test added, the test job ended {results.get('test', 'missing')}: "
        "pytest's exit status must fail the step"
    )


def red_test_skips_package(ctx):
    run = ctx.run()
    green = run.jobs
    if green.get("test") != "success" or green.get("package") != "success":
        return False, f"as it is, the run's jobs ended {_shown(green)}: both must succeed"
    if not run.has_artifact("package/shipping.zip"):
        return False, "the green run uploaded no package/shipping.zip"
    red = ctx.rerun(PROBE).jobs
    if red.get("package") != "skipped":
        return False, f"with a failing test added, package ended {red.get('package', 'missing')}"
    return True, "green run packaged; with a failing test, package was skipped"


def _shown(results):
    return ", ".join(f"{job} {result}" for job, result in sorted(results.items())) or "no jobs"
