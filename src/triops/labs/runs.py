"""Lab runs: write the starter or the solution, run the lab in the sandbox, check the result.

A run copies the learner's files into fresh sandbox work folders (the workflow runner asks for
one per job), and the check runs here, outside the sandbox, on the report and the artifacts."""

from __future__ import annotations

import importlib.util
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from triops.errors import InvalidInputError
from triops.labs import eval_lab
from triops.labs.ci.engine import run_workflow
from triops.labs.ci.model import load_workflow
from triops.labs.ci.report import LAB_NETWORK_HINT, Event, format_event
from triops.labs.ci.steps import StepOutcome
from triops.labs.ci.triggers import DEFAULT_REF, Trigger
from triops.labs.outcome import CheckContext, CheckResult, Criterion, LabRun
from triops.labs.sandbox import Limits, Sandbox
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


class SandboxStepRunner:
    """Runs workflow steps in the sandbox, one pool UID per job work folder."""

    def __init__(self, sandbox: Sandbox, limits: Limits, read_paths: list[Path]):
        self.sandbox = sandbox
        self.limits = limits
        self.read_paths = read_paths
        self.protections: set[str] = set()
        self.missing: set[str] = set()

    def run(self, cmd, *, workdir, cwd, env, timeout, on_output, allow_network) -> StepOutcome:
        wall = (
            self.limits.wall_seconds if timeout is None else min(timeout, self.limits.wall_seconds)
        )
        limits = Limits(**{**self.limits.__dict__, "wall_seconds": wall})
        # The sandbox gives every run its own HOME and TMPDIR inside the work folder's box.
        clean = {k: v for k, v in env.items() if k not in ("HOME", "TMPDIR")}
        result = self.sandbox.run(
            cmd,
            workdir=workdir,
            cwd=cwd,
            env={**clean, "PYTHONUNBUFFERED": "1"},
            limits=limits,
            allow_network=allow_network,
            on_output=on_output,
            extra_read_paths=self.read_paths,
        )
        self.protections.update(result.protections)
        self.missing.update(result.missing)
        return StepOutcome(result.exit_code, result.status, result.output, result.seconds)

    def prepare(self, workdir: Path) -> None:
        """The runner writes scripts and files as this process; hand them to the run's UID."""
        self.sandbox.hand_over(workdir)


def execute(
    lab: Lab,
    files: Path,
    *,
    sandbox: Sandbox,
    labs_venv: Path,
    on_line: Callable[[str], None] | None = None,
    allow_network: bool = False,
) -> LabRun:
    """Run the lab's workflow on the learner's files in the sandbox (an eval lab's config in a
    child process instead: triops.labs.eval_lab), as the event its lab.yaml names (run.event,
    default push) on refs/heads/main. The learner's files are no git repository: path filters
    are not evaluated, and the run says so. The caller removes `LabRun.artifacts`."""
    if lab.spec.run.kind == "eval":
        return eval_lab.execute_eval(lab, files, sandbox_root=sandbox.root, on_line=on_line)
    if lab.spec.run.kind != "workflow":
        raise InvalidInputError(f"Lab {lab.id}: only workflow runs are supported so far.")
    if not (labs_venv / "bin" / "python").exists():
        raise InvalidInputError(
            f"The labs' tool environment is missing at {labs_venv}: run `make install`."
        )
    workflow = load_workflow(files / lab.spec.run.workflow)
    lim = lab.spec.limits
    runner = SandboxStepRunner(
        sandbox,
        Limits(
            wall_seconds=lim.wall_seconds,
            cpu_seconds=lim.cpu_seconds,
            memory_mb=lim.memory_mb,
            processes=lim.processes,
            disk_mb=lim.disk_mb,
            output_bytes=lim.output_bytes,
        ),
        [labs_venv],
    )
    lines: list[str] = []

    def on_event(event: Event) -> None:
        text = format_event(event)
        if text:
            lines.append(text)
            if on_line is not None:
                on_line(text)

    trigger = Trigger(
        event=lab.spec.run.event, ref=DEFAULT_REF, source="the lab's files: not a git repository"
    )
    artifacts = Path(tempfile.mkdtemp(prefix="triops-artifacts-"))
    start = time.monotonic()
    try:
        report = run_workflow(
            workflow,
            runner=runner,
            workspace_seed=files,
            on_event=on_event,
            allow_network=allow_network,
            env={"PATH": f"{labs_venv}/bin:/usr/local/bin:/usr/bin:/bin"},
            python=str(labs_venv / "bin" / "python"),
            workspace_factory=sandbox.workdir,
            release_workdir=sandbox.cleanup,
            prepare_workdir=runner.prepare,
            artifacts_dir=artifacts,
            copy_budget=lim.disk_mb * 2**20,
            time_limit=lim.wall_seconds,
            trigger=trigger,
            network_hint=LAB_NETWORK_HINT,
        )
    except BaseException:
        shutil.rmtree(artifacts, ignore_errors=True)  # nobody else will: the run never returns
        raise
    data = report.to_dict()
    return LabRun(
        status=data.get("status", "failure"),
        report=data,
        artifacts=artifacts,
        seconds=time.monotonic() - start,
        log="\n".join(lines),
        protections=sorted(runner.protections),
        missing=sorted(runner.missing),
    )


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
    lab: Lab,
    files: Path,
    *,
    sandbox: Sandbox,
    labs_venv: Path,
    on_line: Callable[[str], None] | None = None,
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
