"""Lab runs, hands-on task runs and search index builds on `triops worker` processes, through
procrastinate (a PostgreSQL task queue): the app side. The worker side is triops.labs.worker;
docs/WORKERS.md is the operator's guide.

With PostgreSQL as the learner-state database (TRIOPS_DATABASE_URL), a lab run or check is not
run by the app process that the learner's click reached: `Queue.submit_lab` writes the job's row
(triops.store.jobs, state running, progress "waiting for a worker") and defers a procrastinate
job carrying the learner's editable files; a `triops worker` on any machine with the sandbox
and the course takes it, runs it through triops.jobs.run_job (the same row, progress and log as
in-process jobs) and keeps the log, the report and the artifacts in PostgreSQL, where every
replica reads them (docs/WORKERS.md says why the database rather than a shared folder). A run
of a hands-on task in an exam (triops.tasks.service) is queued the same way, through
`Queue.submit` and the task TASK_RUN; every such task is named, with its queue, in TASKS.

An index build goes the same way (`Queue.index_from_worker`): the app process's build job queues
the course's fingerprint, a worker builds the index artifact from its own copy of the course
(refusing, with the reason, a course that is not the app's), keeps the artifact in PostgreSQL,
and each replica copies it into its own derived folder and opens it read-only. A replica that
finds the artifact of its course already kept copies it without queueing anything.

With DuckDB there is no queue (`queue_for` is None): triops.jobs runs everything in the app's
process, as before."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from triops import jobs
from triops.errors import StoreError
from triops.store import jobs as job_store
from triops.store.connection import database_url
from triops.store.schema import dialect

if TYPE_CHECKING:
    import procrastinate

LABS = "labs"
"""The procrastinate queue of lab runs and checks."""
LAB_TASK = "triops:lab_job"
INDEX = "index"
"""The procrastinate queue of search index builds."""
INDEX_TASK = "triops:index_build"
INDEX_KIND = "index-build"
TASK_RUN = "triops:task_run"
"""A hands-on task's run in an exam (triops.tasks.service), on the labs' queue: it needs the
sandbox, as a lab run does."""
TASKS = {
    LAB_TASK: (LABS, "lab run"),
    INDEX_TASK: (INDEX, "index build"),
    TASK_RUN: (LABS, "task run"),
}
"""Each procrastinate task an app process queues: its queue, and what it is (for messages)."""
POLL_SECONDS = 0.5
# Taken while procrastinate's tables are created, so that processes starting at once create them
# once (the migrations' lock is 7_304_019).
_SCHEMA_LOCK = 7_304_020
WAITING = "waiting for a worker"


def utc_now() -> datetime:
    """Naive UTC, as the job rows keep time."""
    return datetime.now(UTC).replace(tzinfo=None)


def make_app(url: str) -> procrastinate.App:
    """A procrastinate app on the learner-state database. The app side defers Triops's tasks
    by name; the workers' app registers them (triops.labs.worker.worker_app). procrastinate is
    imported here, on first use with PostgreSQL: it is not needed with DuckDB."""
    import procrastinate

    return procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))


def ensure_schema(db, app: procrastinate.App) -> bool:
    """Create procrastinate's tables when the database lacks them; True when created here."""
    return job_store.ensure_queue_schema(db, _SCHEMA_LOCK, app.schema_manager.get_schema())


class Queue:
    """The app side: defers jobs to the workers (synchronous, from a page's callback)."""

    def __init__(self, url: str):
        self.url = url
        self.app = make_app(url)
        self._opened = False
        self._lock = threading.Lock()  # script runs of several sessions submit at once

    @classmethod
    def from_environment(cls) -> Queue:
        url = database_url()
        if url is None:
            raise StoreError("the lab queue needs TRIOPS_DATABASE_URL (PostgreSQL)")
        return cls(url)

    def _open(self, db) -> None:
        with self._lock:
            if not self._opened:
                ensure_schema(db, self.app)
                self.app.open()
                self._opened = True

    def submit_lab(
        self, runner: jobs.Jobs, *, user_id: str, lab_id: str, kind: str, files: dict[str, str]
    ) -> job_store.Job:
        """Record the lab job (one at a time per profile: jobs.Busy otherwise) and queue it."""
        return self.submit(
            runner,
            LAB_TASK,
            kind=f"lab-{kind}",
            owner=user_id,
            subject=lab_id,
            one_per_owner=True,
            arguments={"user_id": user_id, "lab_id": lab_id, "kind": kind, "files": files},
        )

    def submit(
        self,
        runner: jobs.Jobs,
        task: str,
        *,
        kind: str,
        owner: str,
        subject: str,
        arguments: dict[str, Any],
        one_per_owner: bool = False,
    ) -> job_store.Job:
        """Record a job that waits for a worker (state running, progress WAITING) and queue
        the procrastinate task `task` (a name of TASKS) with `arguments` and the row's job_id.
        `one_per_owner`: jobs.Busy while `owner` has such a job running (a lab run or a task
        run). A task that could not be queued leaves its row failed with the reason, never
        waiting: StoreError."""
        db = runner._connect()
        try:
            self._open(db)
            moment = runner._now()
            return self._submit(db, task, kind, owner, subject, moment, one_per_owner, arguments)
        finally:
            db.close()

    def _submit(
        self,
        db,
        task: str,
        kind: str,
        owner: str,
        subject: str,
        moment: datetime,
        one_per_owner: bool,
        arguments: dict[str, Any],
    ) -> job_store.Job:
        row = job_store.Job(
            id=jobs.new_job_id(),
            kind=kind,
            owner=owner,
            subject=subject,
            state="running",
            started_at=moment,
            heartbeat=moment,
            finished_at=None,
            log_path=None,
            result_json=progress_json(0, 0, WAITING),
            log_text=f"Queued at {moment:%H:%M:%S} UTC: {WAITING}.\n",
        )
        if job_store.start(db, row, one_per_owner=one_per_owner) is None:
            raise jobs.Busy(f"{owner} already has a job running.")
        queue_name, _ = TASKS[task]
        try:
            queue_id = self.app.configure_task(task, queue=queue_name).defer(
                job_id=row.id, **arguments
            )
        except Exception as exc:  # not queued: the row must not say it waits
            reason = f"the {TASKS[task][1]} could not be queued: {exc}"
            job_store.finish(db, row.id, "failed", moment, json.dumps({"error": reason}))
            raise StoreError(reason) from exc
        job_store.set_queue_id(db, row.id, queue_id)
        return job_store.get(db, row.id)

    def index_from_worker(
        self,
        job: jobs.LiveJob,
        chunks: list,
        embedder,
        derived_dir: Path,
        *,
        model: str,
        on_progress: Callable[[int, int], None],
    ):
        """The search index of `chunks` built by a worker, as the app's build job's body does
        it in-process: copied from PostgreSQL when a worker has built this course's index
        already, else queued (or an index build of this course already queued is waited for),
        with the worker's progress reported through `on_progress`. Returns (VectorIndex,
        BuildStats); jobs.Failed when the worker's build failed, with its reason."""
        from triops.search.index import BuildStats, index_is_current, open_index
        from triops.store.vectors import artifact_path

        start = time.perf_counter()
        fingerprint = course_fingerprint(chunks)
        name = artifact_path(derived_dir, embedder.model_id).name
        db = job.db
        data = job_store.artifact(db, name, fingerprint)
        result: dict = {}
        if data is None:
            self._open(db)
            subject = f"search-index:{fingerprint}"
            queued = job_store.running_queued(db, INDEX_KIND, subject)
            if queued is None:
                queued = self._submit(
                    db,
                    INDEX_TASK,
                    INDEX_KIND,
                    jobs.SYSTEM,
                    subject,
                    job.now(),
                    False,
                    {"fingerprint": fingerprint, "model": model},
                )
            job.report(0, len(chunks), f"{WAITING} to build the index (job {queued.id})")
            while True:
                found = job_store.get(db, queued.id)
                progress = jobs.progress_of(found)
                if progress is not None and progress.total:
                    on_progress(progress.done, progress.total)
                if found is None or found.state == "failed":
                    error = "its job row is gone"
                    if found is not None and found.result_json:
                        error = json.loads(found.result_json).get("error", error)
                    raise jobs.Failed(f"the index build on a worker failed: {error}")
                if found.state == "succeeded":
                    result = json.loads(found.result_json or "{}")
                    break
                time.sleep(POLL_SECONDS)
            data = job_store.artifact(db, name, fingerprint)
            if data is None:
                raise jobs.Failed("the worker's index build kept no artifact")
        path = artifact_path(derived_dir, embedder.model_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, scratch = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(scratch, path)
        index = open_index(derived_dir, embedder.model_id)
        if index is None or not index_is_current(index, chunks):
            raise jobs.Failed(
                f"the index artifact copied from the database ({name}) is not current"
            )
        stats = BuildStats(
            len(chunks),
            int(result.get("encoded", 0)),
            int(result.get("reused", len(chunks))),
            time.perf_counter() - start,
        )
        on_progress(len(chunks), len(chunks))
        return index, stats

    def close(self) -> None:
        with self._lock:
            if self._opened:
                self.app.close()
                self._opened = False


def course_fingerprint(chunks) -> str:
    """What an index was built from: the passages' hashes, in order (the app's build keys its
    in-memory index on the same digest)."""
    return hashlib.sha256("".join(c.hash for c in chunks).encode()).hexdigest()[:16]


def progress_json(done: int, total: int, message: str, **more: Any) -> str:
    return json.dumps({**more, "progress": {"done": done, "total": total, "message": message}})


def queue_for(runner: jobs.Jobs) -> Queue | None:
    """The queue this runner's lab runs and index builds go to: one per runner, made on first
    use and closed with it; None when the state database is DuckDB (they run in-process)."""
    return runner.attached("queue", _make_queue)


def _make_queue(runner: jobs.Jobs) -> Queue | None:
    cursor = runner._connect()
    try:
        postgres = dialect(cursor) == "postgres"
    finally:
        cursor.close()
    return Queue.from_environment() if postgres else None
