"""A problem found in an authored file, printed as `path:line: severity: message`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Problem:
    """One error or warning, located by file and 1-based line."""

    path: str
    line: int
    severity: Severity
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.severity}: {self.message}"


@dataclass(frozen=True)
class ProblemGroup:
    """A problem and the problems it causes elsewhere (references to what it made unavailable)."""

    root: Problem
    knock_on: tuple[Problem, ...] = ()


def group_problems(
    problems: list[Problem] | tuple[Problem, ...], unavailable: tuple[tuple[str, str], ...]
) -> list[ProblemGroup]:
    """Root causes first (errors before warnings, in file order), each with the problems it
    causes: a problem in another file that names, in quotes, the id of a lesson whose own file
    has an error is a knock-on of that file's first error."""
    first_error: dict[str, Problem] = {}
    for p in sorted(problems):
        if p.severity == "error":
            first_error.setdefault(p.path, p)
    causes = {
        lesson_id: first_error[path] for lesson_id, path in unavailable if path in first_error
    }
    knock_on: dict[Problem, list[Problem]] = {}
    roots: list[Problem] = []
    for p in sorted(problems):
        cause = next(
            (c for lesson_id, c in causes.items() if f"'{lesson_id}'" in p.message and c != p),
            None,
        )
        if cause is not None and p.path != cause.path:
            knock_on.setdefault(cause, []).append(p)
        else:
            roots.append(p)
    order = {"error": 0, "warning": 1}
    roots.sort(key=lambda p: (order[p.severity], -len(knock_on.get(p, [])), p))
    return [ProblemGroup(p, tuple(knock_on.get(p, []))) for p in roots]


def display_path(path: Path, root: Path) -> str:
    """The path as an author knows it: relative to the content root when inside it."""
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def error(path: str, line: int, message: str) -> Problem:
    return Problem(path, line, "error", message)


def warning(path: str, line: int, message: str) -> Problem:
    return Problem(path, line, "warning", message)
