"""Workflow labs (lab.yaml `run: {kind: workflow, workflow: .github/workflows/ci.yml}`) and
`triops ci run`: a GitHub Actions workflow run by triops.labs.ci with every step in the sandbox.

Each job cell gets a work folder of its own from the sandbox, bound to a pool UID for as long as
the cell runs (SandboxStepRunner owns them: made, handed over before each command, cleaned up);
the built-in actions run here, outside the sandbox, through triops.labs.safefs. `run_sandboxed`
is the one wiring of the two; `execute` is the lab's run.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from triops.errors import InvalidInputError
from triops.labs.ci.engine import DEFAULT_COPY_BUDGET, run_workflow
from triops.labs.ci.model import Workflow, load_workflow
from triops.labs.ci.report import CI_NETWORK_HINT, LAB_NETWORK_HINT, Event, RunReport, format_event
from triops.labs.ci.steps import StepOutcome
from triops.labs.ci.triggers import DEFAULT_REF, Trigger
from triops.labs.outcome import LabRun, OnLine
from triops.labs.sandbox import Limits, Sandbox
from triops.labs.spec import Lab

SYSTEM_PYTHON = "/usr/bin/python3"


class SandboxStepRunner:
    """Runs workflow steps in the sandbox, one pool UID per job work folder."""

    def __init__(self, sandbox: Sandbox, limits: Limits, read_paths: list[Path]):
        self.sandbox = sandbox
        self.limits = limits
        self.read_paths = read_paths
        self.protections: set[str] = set()
        self.missing: set[str] = set()

    def new_workdir(self) -> Path:
        """A fresh work folder bound to a free pool UID."""
        return self.sandbox.workdir()

    def prepare(self, workdir: Path) -> None:
        """The runner writes scripts and files as this process; hand them to the run's UID."""
        self.sandbox.hand_over(workdir)

    def release(self, workdir: Path) -> None:
        """Kill what is left of the folder's UID, delete the folder and free the UID."""
        self.sandbox.cleanup(workdir)

    def run(self, cmd, *, workdir, cwd, env, timeout, on_output, allow_network) -> StepOutcome:
        wall = (
            self.limits.wall_seconds if timeout is None else min(timeout, self.limits.wall_seconds)
        )
        limits = replace(self.limits, wall_seconds=wall)
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


def run_sandboxed(
    workflow: Workflow,
    seed: Path,
    *,
    sandbox: Sandbox,
    limits: Limits,
    venv: Path,
    on_event: Callable[[Event], None] | None = None,
    allow_network: bool = False,
    artifacts_dir: Path | None = None,
    trigger: Trigger | None = None,
    network_hint: str | None = CI_NETWORK_HINT,
    copy_budget: int = DEFAULT_COPY_BUDGET,
    time_limit: float | None = None,
) -> tuple[RunReport, SandboxStepRunner]:
    """Run `workflow` on `seed` (what actions/checkout copies in) with every step in the
    sandbox under `limits`, the tools of the labs' `venv` first on PATH and its Python (else
    Debian's) for setup-python; the report, and the runner with the protections it saw."""
    runner = SandboxStepRunner(sandbox, limits, [venv])
    python = venv / "bin" / "python"
    report = run_workflow(
        workflow,
        runner=runner,
        workspace_seed=seed,
        on_event=on_event,
        allow_network=allow_network,
        env={"PATH": f"{venv}/bin:/usr/local/bin:/usr/bin:/bin"},
        python=str(python) if python.exists() else SYSTEM_PYTHON,
        artifacts_dir=artifacts_dir,
        copy_budget=copy_budget,
        time_limit=time_limit,
        trigger=trigger,
        network_hint=network_hint,
    )
    return report, runner


def execute(
    lab: Lab, files: Path, *, sandbox: Sandbox, labs_venv: Path, on_line: OnLine = None
) -> LabRun:
    """Run the lab's workflow on the learner's files in the sandbox, as the event its lab.yaml
    names (run.event, default push) on refs/heads/main. The learner's files are no git
    repository: path filters are not evaluated, and the run says so. The caller removes
    `LabRun.artifacts`."""
    if not (labs_venv / "bin" / "python").exists():
        raise InvalidInputError(
            f"The labs' tool environment is missing at {labs_venv}: run `make install`."
        )
    workflow = load_workflow(files / lab.spec.run.workflow)
    lim = lab.spec.limits
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
        report, runner = run_sandboxed(
            workflow,
            files,
            sandbox=sandbox,
            limits=Limits(
                wall_seconds=lim.wall_seconds,
                cpu_seconds=lim.cpu_seconds,
                memory_mb=lim.memory_mb,
                processes=lim.processes,
                disk_mb=lim.disk_mb,
                output_bytes=lim.output_bytes,
            ),
            venv=labs_venv,
            on_event=on_event,
            artifacts_dir=artifacts,
            trigger=trigger,
            network_hint=LAB_NETWORK_HINT,
            copy_budget=lim.disk_mb * 2**20,
            time_limit=lim.wall_seconds,
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
