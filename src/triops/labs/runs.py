"""Lab runs: write the starter or the solution, run the lab by its kind, check the result.

A run goes to the module of its lab's run.kind (workflow_lab, eval_lab), and the check runs
here, outside the sandbox, on the report and the artifacts (reruns as the check asks)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from triops.errors import InvalidInputError
from triops.labs import eval_lab, workflow_lab
from triops.labs.outcome import CheckContext, CheckResult, Criterion, LabRun, OnLine
from triops.labs.sandbox import Sandbox
from triops.labs.spec import Lab
from triops.terminal import visible


def reset(lab: Lab, target: Path) -> None:
    """Write the starter files into `target` (its previous contents are replaced), then let the
    lab's reset hook, if it has one, generate its files there (seeded data, for example)."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(lab.starter, target)
    if lab.spec.reset:
        hook = getattr(load_lab_module(lab, lab.spec.reset), "reset", None)
        if not callable(hook):
            raise InvalidInputError(
                f"{lab.folder / lab.spec.reset}: the lab's reset hook defines no reset(workdir)"
            )
        hook(target)


def solve(lab: Lab, target: Path) -> None:
    """Write the starter, then the solution's files over it."""
    reset(lab, target)
    shutil.copytree(lab.solution, target, dirs_exist_ok=True)


def execute(
    lab: Lab, files: Path, *, sandbox: Sandbox, labs_venv: Path, on_line: OnLine = None
) -> LabRun:
    """Run the lab on the learner's files by its lab.yaml's run.kind: a workflow in the sandbox
    (triops.labs.workflow_lab) or an eval config in a child process (triops.labs.eval_lab). The
    caller removes `LabRun.artifacts`."""
    if lab.spec.run.kind == "eval":
        return eval_lab.execute_eval(lab, files, sandbox_root=sandbox.root, on_line=on_line)
    return workflow_lab.execute(lab, files, sandbox=sandbox, labs_venv=labs_venv, on_line=on_line)


def load_lab_module(lab: Lab, filename: str):
    """A Python file of the lab folder (check.py, a reset hook), freshly imported.

    Registered in sys.modules under a name of its own, as dataclasses and pickle expect."""
    path = lab.folder / filename
    name = f"triops_lab_{lab.id.replace('-', '_')}_{Path(filename).stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise InvalidInputError(f"{path}: cannot load this file of the lab")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def check(
    lab: Lab, files: Path, *, sandbox: Sandbox, labs_venv: Path, on_line: OnLine = None
) -> CheckResult:
    """Run the lab, then its check on the report and artifacts (reruns as the check asks).

    The reruns' artifacts are removed when the check is done; the run's own are the caller's
    to keep or remove (`CheckResult.run.artifacts`), unless the check fails to run."""
    run = execute(lab, files, sandbox=sandbox, labs_venv=labs_venv, on_line=on_line)
    reruns: list[Path] = []

    def rerun(change: Callable[[Path], None]) -> LabRun:
        with tempfile.TemporaryDirectory(prefix="triops-rerun-") as scratch:
            copy = Path(scratch) / "files"
            shutil.copytree(files, copy)
            change(copy)
            if on_line is not None:
                on_line("--- the check runs the lab again with a change of its own ---")
            again = execute(lab, copy, sandbox=sandbox, labs_venv=labs_venv, on_line=on_line)
            reruns.append(again.artifacts)
            return again

    ctx = CheckContext(workdir=files, report=run.report, artifacts=run.artifacts, rerun=rerun)
    try:
        raw = load_lab_module(lab, "check.py").check(ctx)
    except BaseException:
        shutil.rmtree(run.artifacts, ignore_errors=True)
        raise
    finally:
        for folder in reruns:
            shutil.rmtree(folder, ignore_errors=True)
    # A reason may quote what the run left (a file name, a message): one visible line each.
    criteria = [Criterion(visible(name), bool(ok), visible(reason)) for name, ok, reason in raw]
    return CheckResult(run, criteria)
