"""Hands-on tasks (performance-based exam items): the folder format and its loader (`spec`),
the grader (`grader`), the exam page's runs (`service`) and `triops tasks check` (`selfcheck`).

The exam engine (triops.quiz) sits below the labs and so below this package: it neither loads
task folders nor grades them itself. `register()` hands it both, once per process, from the
entry points that sit above (the app's resources, the CLI, `triops validate`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def register() -> None:
    """Give the exam engine the course's task loader and grader (triops.quiz.hooks), and a
    `triops worker` the body of a queued task run (triops.labs.hooks); cheap and idempotent.
    A test or the bench may still set triops.quiz.exam.TASK_GRADER over it."""
    from triops.labs import hooks as lab_hooks
    from triops.quiz import hooks

    hooks.task_loader = _load
    hooks.task_grader = course_grader
    lab_hooks.task_run = _run_queued


def _run_queued(job, **arguments) -> dict[str, Any]:
    from triops.tasks.service import run_queued

    return run_queued(job, **arguments)


def _load(root: Path) -> list:
    from triops.tasks.spec import load_tasks

    return load_tasks(root).tasks


def course_grader(item, response) -> dict[str, Any]:
    """Grade one task item of an attempt on its saved files with the course's task folder, in
    the sandbox of the settings (TRIOPS_ROOT, TRIOPS_SANDBOX_ROOT, TRIOPS_LABS_VENV)."""
    from triops.config import get_settings
    from triops.quiz.exam import ungraded_result
    from triops.tasks.grader import GradingUnavailable, grade_files
    from triops.tasks.spec import load_tasks

    settings = get_settings()
    task = {t.key: t for t in load_tasks(settings.root).tasks}.get(item.task)
    if task is None:
        return ungraded_result(
            item, f"not graded: the task {item.task} is no longer in quizzes/tasks/"
        )
    try:
        g = grade_files(
            task,
            item.files(response),
            sandbox_root=settings.sandbox_root,
            labs_venv=settings.labs_venv,
        )
    except GradingUnavailable as exc:
        return ungraded_result(item, f"not graded: the machine could not run the task ({exc})")
    return {
        "points": g.points,
        "criteria": [v.to_dict() for v in g.verdicts],
        "ungraded": False,
        "note": "" if task.fingerprint() == item.fingerprint else "changed since drawn",
    }
