"""The state of one running job cell (a job, or one matrix combination of it): its work folder,
opened before the first step, its contexts and environment, and the paths in it as the runner
may reach them. The engine runs a cell's steps; the built-in actions act on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from triops.labs.ci.expressions import relative_inside
from triops.labs.ci.model import Job
from triops.labs.ci.report import CellReport
from triops.labs.safefs import Confined, UnsafePath


@dataclass
class Cell:
    """The mutable state of one running cell."""

    job: Job
    report: CellReport
    label: str
    workdir: Path
    workspace: Path
    runner_dir: Path
    contexts: dict[str, Any]
    env: dict[str, str]
    defaults_run: dict[str, Any]
    deadline: float
    timeout_minutes: float
    # The work folder and the workspace, opened before any step ran: every file the runner
    # touches there is reached through these, never through a path a step could re-link.
    box: Confined | None = None
    ws: Confined | None = None
    path_prepend: list[str] = field(default_factory=list)
    steps: dict[str, Any] = field(default_factory=dict)
    status: str = "success"
    timed_out: bool = False
    # Inside a composite action: how deep, the prefix of its steps' file names and shown
    # names, and the env: of the step that uses it (below the steps' own env).
    depth: int = 0
    key_prefix: str = ""
    name_prefix: str = ""
    scope_env: dict[str, str] = field(default_factory=dict)
    step_env: dict[str, str] = field(default_factory=dict)  # the running step's env:
    step_name: str = ""  # and its name, as shown

    def inside_workdir(self, path: str) -> str:
        """`path` as the runner reads it (relative to the workspace, or absolute) made relative
        to the job's work folder; UnsafePath when it leaves the work folder."""
        path = path.strip()
        if not path.startswith("/"):
            path = f"{self.workspace}/{path}"
        return relative_inside(str(self.workdir), path)

    def inside_workspace(self, path: str) -> str:
        """`path` relative to the workspace; UnsafePath when it leaves the workspace."""
        relative = self.inside_workdir(path)
        top = self.workspace.name
        if relative != top and not relative.startswith(top + "/"):
            raise UnsafePath(f"'{path}' is outside the workspace")
        return relative[len(top) + 1 :]
