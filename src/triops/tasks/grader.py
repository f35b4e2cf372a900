"""Grading a task: the candidate's end state, check.py's criteria, a weighted score.

The grader runs as the server (root in a class install). It never imports or executes the
candidate's files: what must run runs in the labs' sandbox (`ctx.run()`, `ctx.rerun()`), as a
lab run of the task's run.kind. Every file of the candidate's folder and of a run's artifacts is
read through `triops.labs.safefs.Confined`, so a link, a FIFO or a folder where a file should be
reads as missing. The candidate's folder is rebuilt for each grading from the starter and the
saved text of the editable files only; check.py and the solution are never in it."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from triops.content.yamlsource import LEARNER_YAML, YamlSyntaxError, parse_yaml
from triops.errors import InvalidInputError, TriopsError
from triops.labs import runs
from triops.labs.ci.model import WorkflowUnreadable
from triops.labs.outcome import LabRun, OnLine
from triops.labs.safefs import Confined, TooLarge, UnsafePath
from triops.labs.sandbox import Sandbox, SandboxError
from triops.tasks.spec import Task
from triops.terminal import visible

READ_LIMIT = 1 << 20
MAX_FILE_BYTES = 200_000
REASON_CHARS = 500


@dataclass(frozen=True)
class Verdict:
    id: str
    weight: int
    description: str
    passed: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "weight": self.weight,
            "description": self.description,
            "passed": self.passed,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        return cls(
            str(data["id"]),
            int(data["weight"]),
            str(data.get("description", "")),
            bool(data["passed"]),
            str(data.get("reason", "")),
        )


@dataclass(frozen=True)
class TaskGrade:
    verdicts: list[Verdict]

    @property
    def points(self) -> int:
        """The weights of the passed criteria: 0 to 100."""
        return sum(v.weight for v in self.verdicts if v.passed)

    @property
    def score(self) -> float:
        return self.points / 100

    def outcome(self) -> list[tuple[str, bool, str]]:
        """(id, passed, reason) per criterion: what two gradings must agree on."""
        return [(v.id, v.passed, v.reason) for v in self.verdicts]


def _read(confined: Confined, rel: str) -> str | None:
    try:
        return confined.read_file(rel, READ_LIMIT).decode("utf-8", "replace")
    except (OSError, UnsafePath, TooLarge):
        return None


class TaskRun:
    """A run of the task in the sandbox, as a check sees it."""

    def __init__(self, run: LabRun):
        self.status = run.status
        self.report = run.report
        self.seconds = run.seconds
        self.log = run.log
        self._artifacts = run.artifacts

    @property
    def jobs(self) -> dict[str, str]:
        """Job id -> result (success, failure, cancelled or skipped)."""
        out = {}
        for job in (self.report or {}).get("jobs") or []:
            if isinstance(job, dict) and job.get("id"):
                out[str(job["id"])] = str(job.get("result") or "unknown")
        return out

    def artifact_text(self, rel: str) -> str | None:
        """A file of the run's artifacts (`<artifact name>/<file>`), or None."""
        if not self._artifacts.is_dir():
            return None
        try:
            with Confined(self._artifacts) as confined:
                return _read(confined, rel)
        except UnsafePath:
            return None

    def has_artifact(self, rel: str) -> bool:
        return self.artifact_text(rel) is not None


class TaskContext:
    """What a criterion function of check.py is given (quizzes/tasks/README.md)."""

    def __init__(self, task: Task, folder: Path, runner: Callable[[Path], LabRun]):
        self.task = task
        self._folder = folder
        self._confined = Confined(folder)
        self._runner = runner
        self._runs: dict[str, TaskRun] = {}
        self._artifacts: list[Path] = []

    def close(self) -> None:
        self._confined.close()
        for folder in self._artifacts:
            shutil.rmtree(folder, ignore_errors=True)

    def text(self, rel: str) -> str | None:
        return _read(self._confined, rel)

    def yaml(self, rel: str) -> Any:
        text = self.text(rel)
        if text is None:
            return None
        try:
            return parse_yaml(text, limits=LEARNER_YAML).data
        except YamlSyntaxError:
            return None

    def exists(self, rel: str) -> bool:
        return self.text(rel) is not None

    def run(self) -> TaskRun:
        """The task's run on the candidate's files (once per grading)."""
        return self._run_with({})

    def rerun(self, files: dict[str, str]) -> TaskRun:
        """The task's run with `files` written over a copy of the candidate's files."""
        return self._run_with(dict(files))

    def _run_with(self, files: dict[str, str]) -> TaskRun:
        key = json.dumps(sorted(files.items()))
        if key in self._runs:
            return self._runs[key]
        if not files:
            run = self._runner(self._folder)
        else:
            with tempfile.TemporaryDirectory(prefix="triops-task-rerun-") as scratch:
                copy = Path(scratch) / "files"
                shutil.copytree(self._folder, copy, symlinks=True)
                with Confined(copy) as confined:
                    for rel, text in files.items():
                        confined.write_file(rel, text.encode("utf-8"))
                run = self._runner(copy)
        self._artifacts.append(run.artifacts)
        result = TaskRun(run)
        self._runs[key] = result
        return result


def editable_files(task: Task, files: dict[str, Any] | None) -> dict[str, str]:
    """The candidate's saved files, each editable path once (the starter's text where none was
    saved); anything else is refused."""
    files = files or {}
    if not isinstance(files, dict):
        raise InvalidInputError("a task's answer is a mapping of file paths to text")
    unknown = sorted(set(files) - set(task.spec.editable))
    if unknown:
        raise InvalidInputError(f"{', '.join(unknown)} is not an editable file of this task")
    out = {}
    for rel in task.spec.editable:
        text = files.get(rel)
        if text is None:
            text = task.starter_text(rel)
        if not isinstance(text, str):
            raise InvalidInputError(f"{rel}: a file's content is text")
        if len(text.encode("utf-8")) > MAX_FILE_BYTES:
            raise InvalidInputError(f"{rel} is larger than {MAX_FILE_BYTES // 1000} KB")
        out[rel] = text
    return out


def build_folder(task: Task, files: dict[str, Any] | None, target: Path) -> Path:
    """The candidate's end state in `target`: the starter, then the saved editable files."""
    texts = editable_files(task, files)
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(task.starter, target)
    with Confined(target) as confined:
        for rel, text in texts.items():
            confined.write_file(rel, text.encode("utf-8"))
    return target


def solution_files(task: Task) -> dict[str, str]:
    """The solution's text of each editable file (tests and `triops tasks check` only)."""
    out = {}
    for rel in task.spec.editable:
        path = task.solution / rel
        out[rel] = path.read_text(encoding="utf-8") if path.is_file() else task.starter_text(rel)
    return out


class GradingUnavailable(TriopsError):
    """The machine cannot run the task (the sandbox, the labs' tool environment): no verdict
    may be given, rather than failing the candidate for it."""


def sandbox_runner(
    task: Task, *, sandbox: Sandbox, labs_venv: Path, on_line: OnLine = None
) -> Callable[[Path], LabRun]:
    """A runner that runs the task on a folder as a lab run of its run.kind. A run the
    candidate's files break (a workflow that does not load, an eval config in error) is a
    failed run whose report says why; a problem of the machine raises GradingUnavailable."""
    lab = task.as_lab()
    if task.spec.run.kind == "workflow" and not (labs_venv / "bin" / "python").exists():
        raise GradingUnavailable(
            f"The labs' tool environment is missing at {labs_venv}: run `make install`."
        )

    def run(folder: Path) -> LabRun:
        try:
            return runs.execute(lab, folder, sandbox=sandbox, labs_venv=labs_venv, on_line=on_line)
        except (SandboxError, WorkflowUnreadable) as exc:
            raise GradingUnavailable(str(getattr(exc, "user_message", None) or exc)) from exc
        except InvalidInputError as exc:
            message = visible(str(exc))
            return LabRun(
                status="failure",
                report={"status": "failure", "message": message, "jobs": []},
                artifacts=Path(tempfile.mkdtemp(prefix="triops-task-none-")),
                seconds=0.0,
                log=message,
            )

    return run


def grade_folder(task: Task, folder: Path, runner: Callable[[Path], LabRun]) -> TaskGrade:
    """Every criterion of the task on the end state in `folder`. A criterion whose function is
    missing or raises fails with the reason; the others are still graded."""
    module = runs.load_lab_module(task.as_lab(), "check.py")
    try:
        ctx = TaskContext(task, folder, runner)
    except UnsafePath as exc:
        reason = f"the candidate's folder cannot be read safely: {exc}"
        return TaskGrade(
            [Verdict(c.id, c.weight, c.description, False, reason) for c in task.spec.criteria]
        )
    verdicts = []
    try:
        for c in task.spec.criteria:
            function = getattr(module, c.function, None)
            if not callable(function):
                passed, reason = False, f"check.py has no {c.function}(ctx)"
            else:
                try:
                    passed, reason = function(ctx)
                except GradingUnavailable:
                    raise
                except Exception as exc:  # a broken criterion fails alone
                    passed, reason = False, f"the check could not decide: {exc}"
            text = visible(str(reason))[:REASON_CHARS]
            verdicts.append(Verdict(c.id, c.weight, c.description, bool(passed), text))
    finally:
        ctx.close()
    return TaskGrade(verdicts)


def grade_files(
    task: Task,
    files: dict[str, Any] | None,
    *,
    sandbox_root: Path,
    labs_venv: Path,
    on_line: OnLine = None,
) -> TaskGrade:
    """Grade saved editable files: rebuild the end state in a fresh folder, then grade it."""
    with tempfile.TemporaryDirectory(prefix="triops-task-grade-") as scratch:
        folder = build_folder(task, files, Path(scratch) / "files")
        try:
            box = Sandbox(root=sandbox_root)
        except SandboxError as exc:
            raise GradingUnavailable(str(getattr(exc, "user_message", None) or exc)) from exc
        try:
            runner = sandbox_runner(task, sandbox=box, labs_venv=labs_venv, on_line=on_line)
            return grade_folder(task, folder, runner)
        finally:
            box.close()


def fingerprint(task: Task) -> str:
    """A digest of what decides a verdict besides the answer (`Task.fingerprint`)."""
    return task.fingerprint()


__all__ = [
    "GradingUnavailable",
    "TaskContext",
    "TaskGrade",
    "TaskRun",
    "Verdict",
    "build_folder",
    "editable_files",
    "fingerprint",
    "grade_files",
    "grade_folder",
    "sandbox_runner",
    "solution_files",
]
