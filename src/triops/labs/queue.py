"""Lab runs and search index builds on `triops worker` processes, through procrastinate (a
PostgreSQL task queue).

With PostgreSQL as the learner-state database (TRIOPS_DATABASE_URL), a lab run or check is not
run by the app process that the learner's click reached: `Queue.submit_lab` writes the job's row
(triops.store.jobs, state running, progress "waiting for a worker") and defers a procrastinate
job carrying the learner's editable files; a `triops worker` on any machine with the sandbox
and the course takes it, runs it through triops.jobs.run_job (the same row, progress and log as
in-process jobs) and keeps the log, the report and the artifacts in PostgreSQL, where every
replica reads them (docs/WORKERS.md says why the database rather than a shared folder).

An index build goes the same way (`Queue.index_from_worker`): the app process's build job queues
the course's fingerprint, a worker builds the index artifact from its own copy of the course
(refusing, with the reason, a course that is not the app's), keeps the artifact in PostgreSQL,
and each replica copies it into its own derived folder and opens it read-only. A replica that
finds the artifact of its course already kept copies it without queueing anything.

A worker killed mid-run (kill -9, a lost machine) stops sending procrastinate's worker
heartbeat. Every worker runs the library's stalled-job check (JobManager.get_stalled_jobs,
which finds the jobs of workers whose heartbeat is older than `stalled_after`) every
`check_every` seconds: a stalled job is queued again (JobManager.retry_job) for another worker
while it has attempts left, and otherwise ends failed, its row saying why. Never silently lost.

With DuckDB there is no queue: triops.jobs runs everything in the app's process, as before."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import procrastinate
from procrastinate import Blueprint, JobContext
from procrastinate.exceptions import ProcrastinateException

from triops import jobs
from triops.errors import StoreError
from triops.store import jobs as job_store
from triops.store.connection import database_url

log = logging.getLogger("triops.queue")

LABS = "labs"
"""The procrastinate queue of lab runs and checks."""
LAB_TASK = "triops:lab_job"
INDEX = "index"
"""The procrastinate queue of search index builds."""
INDEX_TASK = "triops:index_build"
INDEX_KIND = "index-build"
POLL_SECONDS = 0.5
# Taken while procrastinate's tables are created, so that processes starting at once create them
# once (the migrations' lock is 7_304_019).
_SCHEMA_LOCK = 7_304_020
WAITING = "waiting for a worker"

tasks = Blueprint()


def utc_now() -> datetime:
    """Naive UTC, as the job rows keep time."""
    return datetime.now(UTC).replace(tzinfo=None)


def make_app(url: str) -> procrastinate.App:
    """A procrastinate app on the learner-state database, with Triops's tasks."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))
    app.add_tasks_from(tasks, namespace="triops")
    return app


def ensure_schema(db, app: procrastinate.App) -> bool:
    """Create procrastinate's tables when the database lacks them; True when created here."""
    return job_store.ensure_queue_schema(db, _SCHEMA_LOCK, app.schema_manager.get_schema())


class Queue:
    """The app side: defers jobs to the workers (synchronous, from a page's callback)."""

    def __init__(self, url: str):
        self.url = url
        self.app = make_app(url)
        self._opened = False

    @classmethod
    def from_environment(cls) -> Queue:
        url = database_url()
        if url is None:
            raise StoreError("the lab queue needs TRIOPS_DATABASE_URL (PostgreSQL)")
        return cls(url)

    def _open(self, db) -> None:
        if not self._opened:
            ensure_schema(db, self.app)
            self.app.open()
            self._opened = True

    def submit_lab(
        self, runner: jobs.Jobs, *, user_id: str, lab_id: str, kind: str, files: dict[str, str]
    ) -> job_store.Job:
        """Record the lab job (one at a time per profile: jobs.Busy otherwise) and queue it."""
        moment = runner._now()
        row = job_store.Job(
            id=jobs.new_job_id(),
            kind=f"lab-{kind}",
            owner=user_id,
            subject=lab_id,
            state="running",
            started_at=moment,
            heartbeat=moment,
            finished_at=None,
            log_path=None,
            result_json=_progress_json(0, 0, WAITING),
            log_text=f"Queued at {moment:%H:%M:%S} UTC: {WAITING}.\n",
        )
        db = runner._connect()
        try:
            self._open(db)
            if job_store.start(db, row, one_per_owner=True) is None:
                raise jobs.Busy(f"{user_id} already has a job running.")
            try:
                queue_id = self.app.configure_task(LAB_TASK, queue=LABS).defer(
                    job_id=row.id, user_id=user_id, lab_id=lab_id, kind=kind, files=files
                )
            except Exception as exc:  # not queued: the row must not say it waits
                job_store.finish(
                    db,
                    row.id,
                    "failed",
                    runner._now(),
                    json.dumps({"error": f"the run could not be queued: {exc}"}),
                )
                raise StoreError(f"the lab run could not be queued: {exc}") from exc
            job_store.set_queue_id(db, row.id, queue_id)
            return job_store.get(db, row.id)
        finally:
            db.close()

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
                queued = self._submit_index(db, subject, fingerprint, model, job.now())
            job.log(f"index build queued for a worker: job {queued.id}")
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

    def _submit_index(
        self, db, subject: str, fingerprint: str, model: str, moment: datetime
    ) -> job_store.Job:
        row = job_store.Job(
            id=jobs.new_job_id(),
            kind=INDEX_KIND,
            owner=jobs.SYSTEM,
            subject=subject,
            state="running",
            started_at=moment,
            heartbeat=moment,
            finished_at=None,
            log_path=None,
            result_json=_progress_json(0, 0, WAITING),
            log_text=f"Queued at {moment:%H:%M:%S} UTC: {WAITING}.\n",
        )
        job_store.start(db, row)
        try:
            queue_id = self.app.configure_task(INDEX_TASK, queue=INDEX).defer(
                job_id=row.id, fingerprint=fingerprint, model=model
            )
        except Exception as exc:
            job_store.finish(
                db, row.id, "failed", moment, json.dumps({"error": f"not queued: {exc}"})
            )
            raise
        job_store.set_queue_id(db, row.id, queue_id)
        return job_store.get(db, row.id)

    def close(self) -> None:
        if self._opened:
            self.app.close()
            self._opened = False


def course_fingerprint(chunks) -> str:
    """What an index was built from: the passages' hashes, in order (the app's build keys its
    in-memory index on the same digest)."""
    return hashlib.sha256("".join(c.hash for c in chunks).encode()).hexdigest()[:16]


def _progress_json(done: int, total: int, message: str, **more: Any) -> str:
    return json.dumps({**more, "progress": {"done": done, "total": total, "message": message}})


# --------------------------------------------------------------------------- the worker side


@dataclass
class WorkerContext:
    """What a worker's tasks need: the state database, the course's labs, the sandbox."""

    state: Any  # triops.store.postgres.PostgresState
    labs: Callable[[], Any]  # () -> triops.labs.spec.Labs
    sandbox_root: Path
    labs_venv: Path
    name: str
    root: Path | None = None
    derived_dir: Path | None = None
    beat_seconds: float = 1.0
    now: Callable[[], datetime] = utc_now


def _take(context: JobContext, job_id: str, doing: str) -> jobs.LiveJob | None:
    """The queued job's row, taken by this worker for this attempt (its log says so), as a
    LiveJob keeping its log on the row; None when the job has ended meanwhile."""
    ctx: WorkerContext = context.additional_context["triops"]
    attempt = context.job.attempts + 1
    db = ctx.state.cursor()
    try:
        moment = ctx.now()
        current = job_store.get(db, job_id)
        if current is None or current.state != "running":
            log.warning("job %s is no longer running; nothing to do", job_id)
            return None
        lines = current.log_text or ""
        lines += f"Attempt {attempt} on worker {ctx.name} at {moment:%H:%M:%S} UTC.\n"
        row = job_store.take(db, job_id, ctx.name, moment, lines)
    finally:
        db.close()
    if row is None:
        return None
    live = jobs.LiveJob(row, ctx.now, ctx.beat_seconds, keep_log=True)
    live.progress = jobs.Progress(0, 0, f"{doing} on {ctx.name} (attempt {attempt})")
    return live


def _fail(job: jobs.LiveJob, reason: str) -> NoReturn:
    """End the job failed with `reason`, written to its log first."""
    job.log(f"error: {reason}")
    raise jobs.Failed(reason)


@tasks.task(name="lab_job", queue=LABS, pass_context=True)
def lab_job(
    context: JobContext, *, job_id: str, user_id: str, lab_id: str, kind: str, files: dict
) -> dict:
    """Run a queued lab job (in a worker thread): take its row, run it, end the row."""
    from triops.labs import service

    ctx: WorkerContext = context.additional_context["triops"]
    live = _take(context, job_id, "running")
    if live is None:
        return {"skipped": True}

    def work(job: jobs.LiveJob) -> dict:
        job.beat()
        lab = ctx.labs().get(lab_id)
        if lab is None:
            _fail(job, f"this worker's course has no lab '{lab_id}'")
        return service.run_queued(
            job,
            lab=lab,
            kind=kind,
            files=files,
            sandbox_root=ctx.sandbox_root,
            labs_venv=ctx.labs_venv,
        )

    jobs.run_job(live, work, ctx.state.cursor, ctx.now)
    return {"state": live.state}


@tasks.task(name="index_build", queue=INDEX, pass_context=True)
def index_build(context: JobContext, *, job_id: str, fingerprint: str, model: str) -> dict:
    """Build the search index of this worker's course (which must be the app's: the same
    fingerprint) and keep the artifact in the database for the replicas to copy."""
    ctx: WorkerContext = context.additional_context["triops"]
    live = _take(context, job_id, "building")
    if live is None:
        return {"skipped": True}

    def work(job: jobs.LiveJob) -> dict:
        from triops.labs.spec import load_labs
        from triops.search.embedder import default_embedder
        from triops.search.index import build_index
        from triops.search.service import course_chunks
        from triops.store.vectors import artifact_path

        chunks = course_chunks(ctx.root, load_labs)
        found = course_fingerprint(chunks)
        if found != fingerprint:
            _fail(
                job,
                f"this worker's course at {ctx.root} (fingerprint {found}) is not the app's "
                f"(fingerprint {fingerprint}): deploy the same course on the workers",
            )
        job.report(0, len(chunks), "passages with a vector")
        emb = default_embedder(model or None, ctx.derived_dir)
        _, stats = build_index(
            chunks,
            emb,
            ctx.derived_dir,
            on_progress=lambda done, total: job.report(done, total, "passages with a vector"),
            batch=32,
        )
        path = artifact_path(ctx.derived_dir, emb.model_id)
        job_store.keep_artifact(
            job.db, path.name, fingerprint, job.id, path.read_bytes(), ctx.now()
        )
        job.report(len(chunks), len(chunks), "passages with a vector")
        return {"passages": stats.chunks, "encoded": stats.encoded, "reused": stats.reused}

    jobs.run_job(live, work, ctx.state.cursor, ctx.now)
    return {"state": live.state}


async def recover_stalled(
    app: procrastinate.App, ctx: WorkerContext, *, stalled_after: float, attempts: int
) -> list[tuple[str, str]]:
    """One pass of the stalled-job check: each job whose worker's heartbeat is older than
    `stalled_after` seconds is queued again while it has run fewer than `attempts` times, and
    otherwise ends failed with the reason. Returns (job id, "retried" or "failed") for each."""
    done = []
    for stalled in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after):
        job_id = stalled.task_kwargs.get("job_id", "")
        ran = stalled.attempts + 1
        why = (
            f"The worker running attempt {ran} stopped sending its heartbeat for more than "
            f"{stalled_after:g} s (killed or lost)"
        )
        try:
            if ran < attempts:
                await app.job_manager.retry_job(stalled)
                outcome = "retried"
            else:
                await app.job_manager.finish_job_by_id_async(
                    stalled.id, status=procrastinate.jobs.Status.FAILED, delete_job=False
                )
                outcome = "failed"
        except ProcrastinateException:
            continue  # another worker's check handled it first
        if job_id:
            await asyncio.to_thread(_record_stalled, ctx, job_id, why, outcome, ran)
        log.warning("%s: %s; job %s %s", stalled.task_name, why, job_id, outcome)
        done.append((job_id, outcome))
    return done


def _record_stalled(ctx: WorkerContext, job_id: str, why: str, outcome: str, ran: int) -> None:
    db = ctx.state.cursor()
    try:
        moment = ctx.now()
        if outcome == "retried":
            line = f"{why}: queued again at {moment:%H:%M:%S} UTC ({WAITING})."
            job_store.note(db, job_id, line, _progress_json(0, 0, f"retrying: {WAITING}"))
            return
        reason = f"{why}; it had run {ran} time(s), the most allowed, so it ends failed."
        row = job_store.get(db, job_id)
        if row is None or row.state != "running":
            return
        text = (row.log_text or "") + f"error: {reason}\n"
        job_store.finish(db, job_id, "failed", moment, json.dumps({"error": reason}), text)
    finally:
        db.close()


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def run_worker(
    url: str,
    ctx: WorkerContext,
    *,
    concurrency: int = 1,
    heartbeat: float = 10.0,
    stalled_after: float = 30.0,
    attempts: int = 2,
    check_every: float = 10.0,
    queues: tuple[str, ...] = (LABS, INDEX),
) -> None:
    """A worker until SIGINT or SIGTERM (a running job is finished first): runs the jobs of
    `queues` (lab runs, index builds), and every `check_every` seconds the stalled-job check."""
    app = make_app(url)
    ensure_schema(ctx.state, app)

    async def check() -> None:
        while True:
            try:
                await recover_stalled(app, ctx, stalled_after=stalled_after, attempts=attempts)
            except Exception:  # the database is restarting, say: the next pass tries again
                log.exception("the stalled-job check failed; next pass in %g s", check_every)
            await asyncio.sleep(check_every)

    async with app.open_async():
        checker = asyncio.create_task(check())
        try:
            await app.run_worker_async(
                queues=list(queues),
                name=ctx.name,
                concurrency=concurrency,
                update_heartbeat_interval=heartbeat,
                stalled_worker_timeout=stalled_after,
                additional_context={"triops": ctx},
            )
        finally:
            checker.cancel()


def work(
    *,
    concurrency: int = 1,
    heartbeat: float = 10.0,
    stalled_after: float = 30.0,
    attempts: int = 2,
    check_every: float = 10.0,
    queues: tuple[str, ...] = (LABS, INDEX),
) -> None:
    """`triops worker`: open the learner state in PostgreSQL and work until stopped."""
    from functools import cache

    from triops.config import get_settings
    from triops.labs.spec import load_labs
    from triops.store.connection import open_state

    url = database_url()
    if url is None:
        raise StoreError(
            "triops worker needs TRIOPS_DATABASE_URL=postgresql://...: with the default DuckDB "
            "file, lab runs run in the app's own process and there is nothing to work on"
        )
    if heartbeat <= 0 or stalled_after <= heartbeat:
        raise StoreError(
            f"--stalled-after ({stalled_after:g} s) must be longer than --heartbeat "
            f"({heartbeat:g} s), or a live worker would be taken for a dead one"
        )
    unknown = sorted(set(queues) - {LABS, INDEX})
    if unknown or not queues:
        raise StoreError(f"unknown queue {', '.join(unknown)} (queues: {LABS}, {INDEX})")
    cfg = get_settings()
    state = open_state(cfg.state_db)
    ctx = WorkerContext(
        state=state,
        labs=cache(lambda: load_labs(cfg.root)),
        sandbox_root=cfg.sandbox_root,
        labs_venv=cfg.labs_venv,
        name=worker_name(),
        root=cfg.root,
        derived_dir=cfg.derived_dir,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    log.info("worker %s on %s: queues %s", ctx.name, state.where, ", ".join(queues))
    try:
        asyncio.run(
            run_worker(
                url,
                ctx,
                concurrency=concurrency,
                heartbeat=heartbeat,
                stalled_after=stalled_after,
                attempts=attempts,
                check_every=check_every,
                queues=queues,
            )
        )
    finally:
        state.close()
