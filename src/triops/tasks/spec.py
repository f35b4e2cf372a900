"""Task specs: quizzes/tasks/<track>/<id>/task.yaml beside starter/, solution/ and check.py.

A task is a performance-based exam item (quizzes/tasks/README.md): starter files the candidate
edits, a run in the labs' sandbox (the lab run kinds), and weighted criteria that check.py
recomputes from the candidate's end state. Everything `triops validate` says about a task is
found here, each problem at the file and line it concerns."""

from __future__ import annotations

import ast
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from triops.content.loader import ParseCache
from triops.content.models import Strict
from triops.content.problems import Problem, display_path, error
from triops.content.yamlsource import YamlSyntaxError, parse_yaml, validate_model
from triops.labs.spec import (
    LAB_ID,
    LabLimits,
    LabSpec,
    LabStep,
    RunSpec,
    StarterSolution,
    folder_problems,
)

TRACKS = ("triad", "devops", "mlops", "llmops")
# The ctx methods whose first argument names a file of the candidate's folder (README, check.py).
READERS = ("text", "yaml", "exists")


class Criterion(Strict):
    id: str = Field(pattern=LAB_ID.pattern)
    weight: int = Field(ge=1, le=100)
    description: str = Field(min_length=1)

    @property
    def function(self) -> str:
        """The name of its function in check.py."""
        return self.id.replace("-", "_")


class TaskSpec(Strict):
    id: str = Field(pattern=LAB_ID.pattern)
    title: str = Field(min_length=1)
    track: Literal["triad", "devops", "mlops", "llmops"]
    domain: str = Field(pattern=r"^[a-z0-9-]+$")
    minutes: int = Field(ge=1, le=60)
    instruction: str = Field(min_length=1)
    editable: list[str] = Field(min_length=1)
    run: RunSpec
    limits: LabLimits = Field(default_factory=LabLimits)
    criteria: list[Criterion] = Field(min_length=1)

    @field_validator("editable")
    @classmethod
    def _relative(cls, value: list[str]) -> list[str]:
        for rel in value:
            parts = rel.replace("\\", "/").split("/")
            if rel.startswith("/") or ".." in parts or "" in parts:
                raise ValueError(f"'{rel}' is not a plain path inside starter/")
        if len(set(value)) != len(value):
            raise ValueError("an editable file is listed twice")
        return value

    @property
    def key(self) -> str:
        """`track/id`, how exam profiles and attempts name the task."""
        return f"{self.track}/{self.id}"

    @property
    def course_domain(self) -> str:
        return f"{self.track}/{self.domain}"


@dataclass(frozen=True)
class Task(StarterSolution):
    spec: TaskSpec
    folder: Path

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def check_file(self) -> Path:
        return self.folder / "check.py"

    def fingerprint(self) -> str:
        """A digest of what decides a verdict besides the answer: task.yaml, check.py, starter/
        (kept in an attempt's snapshot of the task, so a review can say it changed since)."""
        digest = hashlib.sha256()
        for path in sorted([self.folder / "task.yaml", self.check_file, *self.starter.rglob("*")]):
            if path.is_file() and not path.is_symlink():
                digest.update(path.relative_to(self.folder).as_posix().encode())
                digest.update(path.read_bytes())
        return digest.hexdigest()[:16]

    def as_lab(self):
        """The task as a lab, so that its runs are the lab runs of its run.kind."""
        from triops.labs.spec import Lab

        spec = LabSpec(
            title=self.spec.title,
            track=self.spec.track,
            minutes=max(5, self.spec.minutes),
            objectives=[self.spec.title],
            steps=[LabStep(title=self.spec.title, instructions=self.spec.instruction)],
            editable=self.spec.editable,
            run=self.spec.run,
            limits=self.spec.limits,
        )
        return Lab(f"task-{self.spec.track}-{self.spec.id}", spec, self.folder)

    def starter_text(self, rel: str) -> str:
        return self.file_text(f"starter/{rel}")


@dataclass
class Tasks:
    tasks: list[Task] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def get(self, key: str) -> Task | None:
        """A task by `track/id`."""
        return next((t for t in self.tasks if t.key == key), None)


def tasks_dir(root: Path) -> Path:
    return root / "quizzes" / "tasks"


def load_tasks(
    root: Path, domains: dict[str, set[str]] | None = None, cache: ParseCache | None = None
) -> Tasks:
    """Every task folder under quizzes/tasks/<track>/, with the problems found; a task with an
    error is left out. `domains` (track -> course domain ids) checks each task's domain."""
    result = Tasks()
    base = tasks_dir(root)
    if not base.is_dir():
        return result
    for track_dir in sorted(p for p in base.iterdir() if p.is_dir()):
        shown_track = display_path(track_dir, root)
        if track_dir.name not in TRACKS:
            result.problems.append(
                error(shown_track, 1, f"'{track_dir.name}' is not a track ({', '.join(TRACKS)})")
            )
            continue
        for folder in sorted(p for p in track_dir.iterdir() if p.is_dir()):
            if folder.name == "__pycache__":
                continue
            task, problems = _cached_task(folder, root, domains)
            result.problems += problems
            if task is not None:
                result.tasks.append(task)
    return result


_LOADED: dict[tuple, tuple[tuple, tuple[Task | None, list[Problem]]]] = {}


def _stamp(folder: Path) -> tuple:
    """What identifies a version of a task folder without reading it: the name, time and size
    of task.yaml, check.py and every file of starter/ and solution/."""
    out = []
    for name in ("task.yaml", "check.py"):
        try:
            st = (folder / name).stat()
            out.append((name, st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((name, None))
    for part in ("starter", "solution"):
        for top, dirs, files in os.walk(folder / part):
            dirs.sort()
            for name in sorted(files):
                try:
                    st = os.stat(os.path.join(top, name), follow_symlinks=False)
                except OSError:
                    continue
                out.append((os.path.join(top, name), st.st_mtime_ns, st.st_size))
    return tuple(out)


def _cached_task(
    folder: Path, root: Path, domains: dict[str, set[str]] | None
) -> tuple[Task | None, list[Problem]]:
    """load_task, kept until the folder's task.yaml or check.py changes (the exam list loads the
    profiles' task pools on every page run)."""
    key = (str(folder), str(root), None if domains is None else repr(sorted(domains.items())))
    stamp = _stamp(folder)
    hit = _LOADED.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    loaded = load_task(folder, root, domains)
    _LOADED[key] = (stamp, loaded)
    return loaded


def load_task(
    folder: Path, root: Path, domains: dict[str, set[str]] | None = None
) -> tuple[Task | None, list[Problem]]:
    """One task folder: the task (None when any error was found) and every problem."""
    shown = display_path(folder, root)
    spec_path = folder / "task.yaml"
    shown_spec = f"{shown}/task.yaml"
    if not LAB_ID.match(folder.name):
        return None, [error(shown, 1, "task folder names are kebab-case ids")]
    if not spec_path.is_file():
        return None, [error(shown_spec, 1, "missing task.yaml")]
    try:
        doc = parse_yaml(spec_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return None, [error(shown_spec, 1, f"cannot read file: {exc}")]
    except YamlSyntaxError as exc:
        return None, [error(shown_spec, exc.line, exc.message)]
    spec, problems = validate_model(TaskSpec, doc, shown_spec)
    if spec is None:
        return None, problems

    def at(*loc) -> int:
        return doc.line_of(loc)

    if spec.id != folder.name:
        problems.append(error(shown_spec, at("id"), f"id '{spec.id}' is not the folder's name"))
    if spec.track != folder.parent.name:
        problems.append(
            error(shown_spec, at("track"), f"track '{spec.track}' is not the parent folder's name")
        )
    if domains is not None and spec.domain not in domains.get(spec.track, set()):
        problems.append(
            error(
                shown_spec,
                at("domain"),
                f"domain '{spec.domain}' is not a {spec.track} domain of quizzes/vocabulary.yaml",
            )
        )
    total = sum(c.weight for c in spec.criteria)
    if total != 100:
        problems.append(
            error(
                shown_spec,
                at("criteria"),
                f"criteria weights are percents and must add up to 100, not {total}",
            )
        )
    seen: set[str] = set()
    for i, c in enumerate(spec.criteria):
        if c.id in seen:
            problems.append(error(shown_spec, at("criteria", i), f"criterion '{c.id}' is repeated"))
        seen.add(c.id)
    problems += folder_problems(folder, spec.editable, spec.run, shown, shown_spec, at)
    problems += check_problems(folder, spec, doc, shown)
    if any(p.severity == "error" for p in problems):
        return None, problems
    return Task(spec, folder), problems


def check_problems(folder: Path, spec: TaskSpec, doc, shown: str) -> list[Problem]:
    """check.py's problems: it must parse, define one function per criterion, and read only
    files that the starter has (every string literal given to ctx.text/yaml/exists)."""
    path = folder / "check.py"
    shown_check = f"{shown}/check.py"
    if not path.is_file():
        return [error(shown_check, 1, "missing")]
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, UnicodeDecodeError) as exc:
        return [error(shown_check, 1, f"cannot read file: {exc}")]
    except SyntaxError as exc:
        return [error(shown_check, exc.lineno or 1, f"does not parse: {exc.msg}")]
    out: list[Problem] = []
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    for i, c in enumerate(spec.criteria):
        if c.function not in functions:
            out.append(
                error(
                    f"{shown}/task.yaml",
                    doc.line_of(("criteria", i)),
                    f"criterion '{c.id}' has no function {c.function}(ctx) in check.py",
                )
            )
    constants = _string_constants(tree)
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in READERS
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "ctx"
            and node.args
        ):
            continue
        arg = node.args[0]
        rel = None
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            rel = arg.value
        elif isinstance(arg, ast.Name):
            rel = constants.get(arg.id)
        if rel is not None and not (folder / "starter" / rel).is_file():
            out.append(
                error(
                    shown_check,
                    node.lineno,
                    f"ctx.{node.func.attr}('{rel}') reads a file that starter/ does not have",
                )
            )
    return out


def _string_constants(tree: ast.Module) -> dict[str, str]:
    """Module-level NAME = "text" assignments, so `ctx.yaml(WORKFLOW)` is checked too."""
    out = {}
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            out[node.targets[0].id] = node.value.value
    return out


def course_domains(root: Path) -> dict[str, set[str]]:
    """track -> the domain ids of quizzes/vocabulary.yaml."""
    from triops.quiz.vocabulary import load_vocabulary

    vocab = load_vocabulary(root)
    return {track: set(vocab.track_domains(track)) for track in TRACKS}
