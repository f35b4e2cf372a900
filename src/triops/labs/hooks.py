"""What a `triops worker` needs from the floor above the labs, handed down at start-up.

Hands-on tasks (triops.tasks) sit above the labs, so the worker (triops.labs.worker) may not
import them: `triops.tasks.register()` puts the task package's body of a queued task run here,
once per process, from the entry points (the `triops` command, which runs `triops worker`, the
app, the tests' conftest), as it puts the task loader and grader in triops.quiz.hooks. This
module imports nothing, so registering costs an entry point nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# (job, *, root, key, fingerprint, files, sandbox_root, labs_venv) -> the job's result: a
# queued run of a task's saved files (triops.tasks.service.run_queued), or None: not registered.
task_run: Callable[..., dict[str, Any]] | None = None
