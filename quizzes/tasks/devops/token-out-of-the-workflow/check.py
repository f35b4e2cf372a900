"""Check for the token-out-of-the-workflow task: the workflow is read as YAML for where the
token comes from, who sees it and what is granted, then run once in the sandbox."""

import re

WORKFLOW = ".github/workflows/publish.yml"
# GitHub's token prefixes (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_) and any long literal
# assigned to REGISTRY_TOKEN that is not an expression.
TOKEN = re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})")
SECRET = re.compile(r"^\$\{\{\s*secrets\.REGISTRY_TOKEN\s*\}\}$")
ECHO = re.compile(r"(echo|printf|print|cat)\b[^\n]*(REGISTRY_TOKEN|secrets\.)")


def _jobs(workflow):
    jobs = (workflow or {}).get("jobs")
    return jobs if isinstance(jobs, dict) else {}


def _steps(workflow):
    for job in _jobs(workflow).values():
        for step in (job or {}).get("steps") or []:
            if isinstance(step, dict):
                yield step


def no_literal_token(ctx):
    text = ctx.text(WORKFLOW) or ""
    found = TOKEN.search(text)
    if found:
        return False, f"the workflow still holds a token literal ({found.group(0)[:8]}...)"
    workflow = ctx.yaml(WORKFLOW)
    for where in _envs(workflow):
        value = str(where.get("REGISTRY_TOKEN", ""))
        if value and not value.strip().startswith("${{"):
            return False, "REGISTRY_TOKEN is set to a literal value"
    return True, "no token literal in the workflow"


def _envs(workflow):
    yield (workflow or {}).get("env") or {}
    for job in _jobs(workflow).values():
        yield (job or {}).get("env") or {}
    for step in _steps(workflow):
        yield step.get("env") or {}


def token_from_secrets_in_the_step(ctx):
    workflow = ctx.yaml(WORKFLOW)
    if workflow is None:
        return False, f"{WORKFLOW} is not readable YAML"
    wide = ["the workflow"] if "REGISTRY_TOKEN" in (workflow.get("env") or {}) else []
    wide += [
        f"job {name}"
        for name, job in _jobs(workflow).items()
        if "REGISTRY_TOKEN" in (((job or {}).get("env")) or {})
    ]
    if wide:
        return False, f"REGISTRY_TOKEN is set for {', '.join(wide)}, not only the publish step"
    publish = [s for s in _steps(workflow) if "scripts/publish.py" in str(s.get("run", ""))]
    if not publish:
        return False, "no step runs scripts/publish.py"
    value = str((publish[0].get("env") or {}).get("REGISTRY_TOKEN", ""))
    if not SECRET.match(value.strip()):
        return False, "the publish step does not set REGISTRY_TOKEN from secrets.REGISTRY_TOKEN"
    return True, "the publish step alone gets REGISTRY_TOKEN from secrets"


def nothing_echoes_the_token(ctx):
    for step in _steps(ctx.yaml(WORKFLOW)):
        if ECHO.search(str(step.get("run", ""))):
            return False, f"step '{step.get('name', step.get('run'))}' prints the token"
    return True, "no step prints the token"


def read_only_permissions(ctx):
    permissions = (ctx.yaml(WORKFLOW) or {}).get("permissions")
    if permissions == {"contents": "read"}:
        return True, "permissions: contents: read"
    return False, f"the top-level permissions are {permissions!r}, not {{contents: read}}"


def run_stays_green(ctx):
    run = ctx.run()
    if run.status == "success" and run.jobs.get("publish") == "success":
        return True, "the run is green"
    return False, f"the run ended {run.status}: " + (
        ", ".join(f"{job} {result}" for job, result in sorted(run.jobs.items()))
        or run.report.get("message", "")
    )
