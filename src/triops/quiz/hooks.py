"""What the exam engine needs from the task package above it, handed down at start-up.

Hands-on tasks (triops.tasks) sit above the labs, which sit above triops.quiz, so the engine
may not import them: `triops.tasks.register()` puts the course's task loader and grader here,
once per process, from the entry points (the app, the `triops` command, `triops validate`).
This module imports nothing, so registering costs an entry point nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

# root -> the course's task folders (triops.tasks.spec.Task), or None: not registered.
task_loader: Callable[[Path], list] | None = None
# (task item, saved response) -> the task's result entry, or None: not registered.
task_grader: Callable[[Any, Any], dict[str, Any]] | None = None
