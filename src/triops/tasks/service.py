"""A task inside an exam: its folder for the page, and Run as a background job.

Run builds the candidate's end state from the saved answer (the starter and the saved editable
files), runs it in the sandbox as a lab run of the task's run.kind, and streams the log; it
never grades. One run at a time per profile (the labs' rule), so a run of a task and a lab run
of the same person wait for each other.

With PostgreSQL the run is queued as lab runs are (triops.labs.queue, `queue_for`): the saved
files travel with the job, and a `triops worker` with the sandbox runs them (`run_queued`,
handed to the worker by triops.tasks.register() through triops.labs.hooks), its log kept on
the job's row where every replica reads it. The worker refuses, with the reason, a task whose
folder is not the app's (another fingerprint)."""

from __future__ import annotations

import shutil
import tempfile
import traceback
from functools import partial
from pathlib import Path
from typing import Any, NoReturn

from triops import jobs
from triops.errors import InvalidInputError
from triops.labs import runs
from triops.labs.queue import TASK_RUN, queue_for
from triops.labs.sandbox import Sandbox
from triops.store import jobs as job_store
from triops.store.jobs import Job
from triops.tasks.grader import build_folder, editable_files
from triops.tasks.spec import Task, load_task, tasks_dir

_CACHE: dict[str, tuple[tuple[int, int], Task]] = {}
BUSY = "A run of yours is still going: wait for it to finish."


def task_by_key(root: Path, key: str) -> Task:
    """The task `track/id` of the course under `root` (cached until its task.yaml or check.py
    changes); InvalidInputError when there is none."""
    track, _, task_id = key.partition("/")
    folder = tasks_dir(root) / track / task_id
    try:
        stamp = (
            (folder / "task.yaml").stat().st_mtime_ns,
            (folder / "check.py").stat().st_mtime_ns,
        )
    except OSError:
        raise InvalidInputError(f"The task {key} is not in quizzes/tasks/ any more.") from None
    hit = _CACHE.get(str(folder))
    if hit is not None and hit[0] == stamp:
        return hit[1]
    task, problems = load_task(folder, root)
    if task is None:
        first = problems[0] if problems else f"{folder}: not a task folder"
        raise InvalidInputError(f"The task {key} does not load: {first}")
    _CACHE[str(folder)] = (stamp, task)
    return task


def subject(task: Task) -> str:
    return f"task:{task.key}"


def start_run(
    runner: jobs.Jobs,
    *,
    sandbox_root: Path,
    labs_venv: Path,
    user_id: str,
    task: Task,
    files: dict[str, Any] | None,
) -> jobs.LiveJob | Job:
    """Start a run of the saved files as a background job; refused while the profile has a
    lab or task run going. With a queue (PostgreSQL) the run is queued for a worker instead:
    a Job row, running while it waits (its progress says so)."""
    queue = queue_for(runner)
    if queue is not None:
        texts = editable_files(task, files)  # refused here, not on the worker
        try:
            return queue.submit(
                runner,
                TASK_RUN,
                kind="task-run",
                owner=user_id,
                subject=subject(task),
                arguments={"key": task.key, "fingerprint": task.fingerprint(), "files": texts},
                one_per_owner=True,
            )
        except jobs.Busy:
            raise InvalidInputError(BUSY) from None
    snapshot = Path(tempfile.mkdtemp(prefix="triops-task-run-")) / "files"
    try:
        build_folder(task, files, snapshot)
        work = partial(
            _work, task=task, files=snapshot, sandbox_root=sandbox_root, labs_venv=labs_venv
        )
        return runner.submit(
            "task-run", work, owner=user_id, subject=subject(task), one_per_owner=True, log=True
        )
    except jobs.Busy:
        shutil.rmtree(snapshot.parent, ignore_errors=True)
        raise InvalidInputError(BUSY) from None
    except BaseException:
        shutil.rmtree(snapshot.parent, ignore_errors=True)
        raise


def run_queued(
    job: jobs.LiveJob,
    *,
    root: Path,
    key: str,
    fingerprint: str,
    files: dict[str, str],
    sandbox_root: Path,
    labs_venv: Path,
) -> dict:
    """A queued run's body, on a worker: the task `key` of the worker's course under `root`
    (which must be the app's: the same fingerprint) run on the saved `files`, as `start_run`
    runs it in-process."""
    try:
        task = task_by_key(root, key)
    except InvalidInputError as exc:
        _refuse(job, f"this worker's course at {root}: {exc.user_message}")
    found = task.fingerprint()
    if found != fingerprint:
        _refuse(
            job,
            f"this worker's copy of the task {key} (fingerprint {found}) is not the app's "
            f"(fingerprint {fingerprint}): deploy the same course on the workers",
        )
    snapshot = Path(tempfile.mkdtemp(prefix="triops-task-run-")) / "files"
    try:
        build_folder(task, files, snapshot)
    except BaseException:
        shutil.rmtree(snapshot.parent, ignore_errors=True)
        raise
    return _work(job, task=task, files=snapshot, sandbox_root=sandbox_root, labs_venv=labs_venv)


def _refuse(job: jobs.LiveJob, reason: str) -> NoReturn:
    job.log(f"error: {reason}")
    raise jobs.Failed(reason, {"status": "error", "error": reason})


def _work(
    job: jobs.LiveJob, *, task: Task, files: Path, sandbox_root: Path, labs_venv: Path
) -> dict:
    box = Sandbox(root=sandbox_root)
    try:
        run = runs.execute(task.as_lab(), files, sandbox=box, labs_venv=labs_venv, on_line=job.log)
        shutil.rmtree(run.artifacts, ignore_errors=True)
        job.log(f"run: {run.status} in {run.seconds:.1f} s")
        return {"status": run.status}
    except Exception as exc:
        job.log(f"error: {getattr(exc, 'user_message', None) or exc}")
        job.log(traceback.format_exc().rstrip("\n"))
        raise jobs.Failed(str(exc), {"status": "error"}) from exc
    finally:
        box.close()
        shutil.rmtree(files.parent, ignore_errors=True)


def latest_run(db, user_id: str, task: Task) -> Job | None:
    return job_store.latest(db, user_id, subject(task))


def current_job(db, user_id: str) -> Job | None:
    return job_store.active_for(db, user_id)
