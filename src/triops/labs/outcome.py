"""What a lab run and a lab check leave: the run's outcome, the check's criteria, and what a
lab's check.py is given. Every kind of run (a workflow, an eval) returns a LabRun."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OnLine = Callable[[str], None] | None
"""Where a run's log lines go as they come, if anywhere."""


@dataclass
class Criterion:
    name: str
    passed: bool
    reason: str


@dataclass
class LabRun:
    """What a run left: the run's report, the artifacts, and the log as it streamed."""

    status: str  # success or failure
    report: dict[str, Any]
    artifacts: Path
    seconds: float
    log: str
    protections: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


@dataclass
class CheckResult:
    run: LabRun
    criteria: list[Criterion]

    @property
    def passed(self) -> bool:
        return bool(self.criteria) and all(c.passed for c in self.criteria)


@dataclass
class CheckContext:
    """What a lab's check.py sees."""

    workdir: Path
    report: dict[str, Any]
    artifacts: Path
    rerun: Callable[[Callable[[Path], None]], LabRun]
