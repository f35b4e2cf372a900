"""`triops tasks check FOLDER`: grade one task's starter and solution, each twice.

A sound task scores below 100 from its starter, exactly 100 from its solution, and gives the
same verdicts on a second grading."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from triops.tasks.grader import TaskGrade, grade_files, solution_files
from triops.tasks.spec import Task


@dataclass
class SelfCheck:
    task: Task
    starter: TaskGrade
    solution: TaskGrade
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def self_check(
    task: Task,
    *,
    sandbox_root: Path,
    labs_venv: Path,
    twice: bool = True,
    on_grade: Callable[[str, TaskGrade], None] | None = None,
) -> SelfCheck:
    """Grade the starter and the solution (each twice unless `twice` is off)."""

    def grade(label: str, files: dict[str, str] | None) -> list[TaskGrade]:
        first = grade_files(task, files, sandbox_root=sandbox_root, labs_venv=labs_venv)
        if on_grade is not None:
            on_grade(label, first)
        grades = [first]
        if twice:
            grades.append(grade_files(task, files, sandbox_root=sandbox_root, labs_venv=labs_venv))
        return grades

    starter = grade("starter", None)
    solution = grade("solution", solution_files(task))
    problems = []
    if starter[0].points >= 100:
        problems.append("the starter scores 100: the task has nothing left to do")
    if solution[0].points != 100:
        failed = ", ".join(v.id for v in solution[0].verdicts if not v.passed)
        problems.append(f"the solution scores {solution[0].points}, not 100 (failed: {failed})")
    for label, grades in (("starter", starter), ("solution", solution)):
        if len(grades) == 2 and grades[0].outcome() != grades[1].outcome():
            changed = [
                a[0]
                for a, b in zip(grades[0].outcome(), grades[1].outcome(), strict=True)
                if a != b
            ]
            problems.append(
                f"the {label}'s second grading disagrees with the first on {', '.join(changed)}"
            )
    return SelfCheck(task, starter[0], solution[0], problems)
