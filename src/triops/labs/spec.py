"""Lab specs: labs/<id>/lab.yaml beside instructions, starter, solution and check."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from triops.content.loader import ParseCache, parse_yaml_file, shared_cache
from triops.content.models import Strict
from triops.content.problems import Problem, error
from triops.labs.ci.triggers import DEFAULT_REF, EVENTS, Trigger, decide

LAB_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class LabStep(Strict):
    title: str = Field(min_length=1)
    instructions: str = Field(min_length=1)


class Hint(Strict):
    after_failed_checks: int = Field(ge=0)
    text: str = Field(min_length=1)


class RunSpec(Strict):
    # A lab runs a GitHub Actions workflow in the sandbox (one step can run any command there)
    # or an eval config: there is no third kind.
    kind: Literal["workflow", "eval"]
    workflow: str | None = None
    # kind workflow: the event the run simulates, which the workflow's on: must list (a
    # workflow with only schedule and workflow_dispatch runs as workflow_dispatch).
    event: str = "push"
    # kind eval: the eval config (promptfoo's shape) that `triops.labs.eval_child` runs in a
    # child process of the project's Python (triops.labs.eval_lab).
    config: str | None = None

    @model_validator(mode="after")
    def _one(self) -> RunSpec:
        if self.event not in EVENTS or self.event == "workflow_call":
            raise ValueError(
                f"run.event '{self.event}' is not an event a lab run can simulate "
                "(push, pull_request, workflow_dispatch, schedule...)"
            )
        if self.kind == "workflow" and not self.workflow:
            raise ValueError("a workflow run names its workflow file")
        if self.kind == "eval" and not self.config:
            raise ValueError("an eval run names its config file")
        return self


class LabLimits(Strict):
    wall_seconds: float = Field(default=300, gt=0, le=3600)
    cpu_seconds: int = Field(default=300, ge=1, le=3600)
    memory_mb: int = Field(default=1024, ge=64, le=8192)
    processes: int = Field(default=128, ge=8, le=1024)
    disk_mb: int = Field(default=256, ge=16, le=4096)
    output_bytes: int = Field(default=1_000_000, ge=10_000, le=20_000_000)


class LabSpec(Strict):
    title: str = Field(min_length=1)
    track: Literal["triad", "devops", "mlops", "llmops"]
    minutes: int = Field(ge=5, le=240)
    lessons: list[str] = Field(default_factory=list)
    objectives: list[str] = Field(min_length=1)
    steps: list[LabStep] = Field(min_length=1)
    editable: list[str] = Field(min_length=1)
    run: RunSpec
    limits: LabLimits = Field(default_factory=LabLimits)
    hints: list[Hint] = Field(default_factory=list)
    # A Python file of the lab folder (beside lab.yaml, not in starter/) whose `reset(workdir)`
    # writes generated files, such as seeded data, into a freshly reset work folder. It is the
    # lab author's trusted code: it runs in the project's Python at reset and solve.
    reset: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\.py$")


def untriggered(workflow: Path, event: str) -> str:
    """Why `event` (on refs/heads/main, as lab runs simulate it) does not trigger the workflow
    file, or '' when it does, or when the file is missing or does not load (a lab may start
    from a broken workflow on purpose; its run then says what is wrong)."""
    from triops.labs.ci.model import WorkflowError, load_workflow

    if not workflow.is_file():
        return ""
    try:
        loaded = load_workflow(workflow)
    except WorkflowError:
        return ""
    decision = decide(loaded.on, Trigger(event=event, ref=DEFAULT_REF), loaded.on_lines)
    return "" if decision.triggered else decision.reason


class StarterSolution:
    """The folder layout labs and tasks share: starter/ (what the learner edits) and solution/
    beside the spec. A dataclass that has a `folder` field gets both."""

    folder: Path

    @property
    def starter(self) -> Path:
        return self.folder / "starter"

    @property
    def solution(self) -> Path:
        return self.folder / "solution"

    def file_text(self, rel: str) -> str:
        """The text of a file of the folder, '' when there is none."""
        path = self.folder / rel
        return path.read_text(encoding="utf-8") if path.is_file() else ""


def folder_problems(
    folder: Path,
    editable: list[str],
    run: RunSpec,
    shown: str,
    shown_spec: str,
    at: Callable[..., int] = lambda *loc: 1,
) -> list[Problem]:
    """What a lab and a task folder must both hold: starter/ and solution/, each editable file
    and the run's file in starter/, and a workflow that run.event triggers in both. `shown` is
    the folder and `shown_spec` its spec file as problems name them; `at(*loc)` is the spec's
    line of a key (line 1 when the caller has no lines)."""
    problems = []
    for name in ("starter", "solution"):
        if not (folder / name).is_dir():
            problems.append(error(f"{shown}/{name}", 1, "missing folder"))
    for i, rel in enumerate(editable):
        if not (folder / "starter" / rel).is_file():
            problems.append(
                error(shown_spec, at("editable", i), f"editable file '{rel}' is not in starter/")
            )
    what = "workflow" if run.kind == "workflow" else "eval config"
    run_file = run.workflow if run.kind == "workflow" else run.config
    if not (folder / "starter" / run_file).is_file():
        problems.append(error(shown_spec, at("run"), f"{what} '{run_file}' is not in starter/"))
    elif run.kind == "workflow":
        for part in ("starter", "solution"):
            why = untriggered(folder / part / run.workflow, run.event)
            if why:
                problems.append(
                    error(
                        shown_spec,
                        at("run"),
                        f"run.event '{run.event}' does not trigger {part}/{run.workflow}: "
                        f"{why}; set run.event to an event its on: lists",
                    )
                )
    return problems


@dataclass(frozen=True)
class Lab(StarterSolution):
    id: str
    spec: LabSpec
    folder: Path

    @property
    def instructions(self) -> str:
        return self.file_text("instructions.md")


@dataclass
class Labs:
    labs: list[Lab] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def get(self, lab_id: str) -> Lab | None:
        return next((lab for lab in self.labs if lab.id == lab_id), None)


def load_labs(
    root: Path, lesson_ids: set[str] | None = None, cache: ParseCache | None = None
) -> Labs:
    """Every lab under root/labs with the problems found; a broken lab is left out."""
    cache = cache if cache is not None else shared_cache(root)
    folder = root / "labs"
    result = Labs()
    if not folder.is_dir():
        return result
    for lab_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        shown = f"labs/{lab_dir.name}"
        if not LAB_ID.match(lab_dir.name):
            result.problems.append(error(shown, 1, "lab folder names are kebab-case ids"))
            continue
        spec_path = lab_dir / "lab.yaml"
        if not spec_path.is_file():
            result.problems.append(error(f"{shown}/lab.yaml", 1, "missing lab.yaml"))
            continue
        parsed = cache.get(spec_path, lambda p: parse_yaml_file(p, root, LabSpec))
        result.problems += parsed.problems
        if parsed.value is None:
            continue
        spec: LabSpec = parsed.value
        problems = []
        for name in ("instructions.md", "check.py"):
            if not (lab_dir / name).is_file():
                problems.append(error(f"{shown}/{name}", 1, "missing"))
        problems += folder_problems(lab_dir, spec.editable, spec.run, shown, f"{shown}/lab.yaml")
        if spec.reset and not (lab_dir / spec.reset).is_file():
            problems.append(
                error(f"{shown}/lab.yaml", 1, f"reset hook '{spec.reset}' is not in {shown}/")
            )
        if lesson_ids is not None:
            for lesson in spec.lessons:
                if lesson not in lesson_ids:
                    problems.append(
                        error(f"{shown}/lab.yaml", 1, f"lesson '{lesson}' is not a lesson id")
                    )
        result.problems += problems
        if not problems:
            result.labs.append(Lab(lab_dir.name, spec, lab_dir))
    return result
