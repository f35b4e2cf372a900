"""`triops worker`: runs the lab runs, lab checks, hands-on task runs and search index builds
that app processes queued with procrastinate (triops.labs.queue; docs/WORKERS.md), until SIGINT
or SIGTERM.

Each job runs through triops.jobs.run_job on the job's own row, its log kept on the row. A task
run's body comes from triops.tasks, a floor above, through triops.labs.hooks. A worker that
cannot take a job's row (a database error before the run starts) ends the row failed with the
reason; when even that write fails, a later pass of any worker's check ends it (`recover_ended`):
a row whose procrastinate job has ended but which still says running.

A worker killed mid-run (kill -9, a lost machine) stops sending procrastinate's worker
heartbeat. Every worker runs the library's stalled-job check (JobManager.get_stalled_jobs, which
finds the jobs of workers whose heartbeat is older than `stalled_after`) every `check_every`
seconds: a stalled job is queued again (JobManager.retry_job) for another worker while it has
attempts left, and otherwise ends failed, its row saying why. Never silently lost."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import procrastinate
from procrastinate import Blueprint, JobContext
from procrastinate.exceptions import ProcrastinateException

from triops import jobs
from triops.errors import StoreError
from triops.labs import hooks
from triops.labs.queue import (
    INDEX,
    LABS,
    WAITING,
    course_fingerprint,
    ensure_schema,
    make_app,
    progress_json,
    utc_now,
)
from triops.store import jobs as job_store
from triops.store.connection import database_url

log = logging.getLogger("triops.worker")

tasks = Blueprint()


def worker_app(url: str) -> procrastinate.App:
    """A procrastinate app with Triops's tasks (triops:lab_job, triops:task_run and
    triops:index_build)."""
    app = make_app(url)
    app.add_tasks_from(tasks, namespace="triops")
    return app


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
    take_tries: int = 3
    take_pause: float = 1.0
    running: set[str] = field(default_factory=set)
    """The ids of the jobs this worker runs now (the check leaves their rows alone)."""


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


def _run(context: JobContext, job_id: str, doing: str, work: jobs.Work) -> dict:
    """A queued job's task, on a worker thread: take its row, run `work` on it through
    run_job, make sure the row ended as the job did. A database error while taking the row
    (before anything ran) is tried again `take_tries` times, then the row ends failed with the
    reason and the error goes on to procrastinate, which records its job failed."""
    ctx: WorkerContext = context.additional_context["triops"]
    live = None
    for attempt in range(ctx.take_tries):
        if attempt:
            time.sleep(ctx.take_pause)
        try:
            live = _take(context, job_id, doing)
            break
        except Exception as exc:  # the database refused or is away: the run has not started
            error = exc
            log.warning("job %s: its row could not be taken: %s", job_id, exc)
    else:
        reason = f"worker {ctx.name} could not start the job: the database refused ({error})"
        try:
            fail_row(ctx, job_id, reason, only_untaken=True)
        except Exception:  # still away: the check of a later pass ends the row
            log.exception("job %s: its row could not say it failed", job_id)
        raise StoreError(reason) from error
    if live is None:
        return {"skipped": True}
    ctx.running.add(live.id)
    try:
        jobs.run_job(live, work, ctx.state.cursor, ctx.now)
        settle(ctx, live)
    finally:
        ctx.running.discard(live.id)
    return {"state": live.state}


def settle(ctx: WorkerContext, live: jobs.LiveJob, *, tries: int = 30, pause: float = 1.0) -> bool:
    """Make sure the row ended as the job did: run_job's write of the end can fail when the
    database is away at that moment (a restart). While the row still names this worker as
    running it, the end is written again, once a `pause` for up to `tries` times; a row another
    worker has taken since (this one was taken for dead) is left to that worker. True when the
    row is settled; StoreError when the database stayed away, so procrastinate records the job
    failed and the log of this worker says why."""
    last: Exception | None = None
    for attempt in range(tries):
        if attempt:
            time.sleep(pause)
        db = ctx.state.cursor()
        try:
            row = job_store.get(db, live.id)
            if row is None or row.state != "running" or row.worker != ctx.name:
                return row is not None and row.state == live.state
            job_store.finish(
                db, live.id, live.state, ctx.now(), live._result_json(live.result), live.log_text()
            )
            return True
        except Exception as exc:  # the database is away: try again after the pause
            last = exc
        finally:
            db.close()
    raise StoreError(f"job {live.id} ended {live.state}, but its row could not say so: {last}")


def _sandbox(ctx: WorkerContext) -> dict[str, Path]:
    """Where a run's sandbox and the labs' tool environment are on this worker."""
    return {"sandbox_root": ctx.sandbox_root, "labs_venv": ctx.labs_venv}


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

    def work(job: jobs.LiveJob) -> dict:
        job.beat()
        lab = ctx.labs().get(lab_id)
        if lab is None:
            _fail(job, f"this worker's course has no lab '{lab_id}'")
        return service.run_queued(job, lab=lab, kind=kind, files=files, **_sandbox(ctx))

    return _run(context, job_id, "running", work)


@tasks.task(name="task_run", queue=LABS, pass_context=True)
def task_run(context: JobContext, *, job_id: str, key: str, fingerprint: str, files: dict) -> dict:
    """Run a queued run of a hands-on task's saved files (an exam's Run in the sandbox),
    through the task package's body that triops.tasks.register() handed down."""
    ctx: WorkerContext = context.additional_context["triops"]

    def work(job: jobs.LiveJob) -> dict:
        job.beat()
        if hooks.task_run is None:
            _fail(job, f"worker {ctx.name} cannot run tasks: triops.tasks.register() never ran")
        course = {"root": ctx.root, "key": key, "fingerprint": fingerprint}
        return hooks.task_run(job, files=files, **course, **_sandbox(ctx))

    return _run(context, job_id, "running", work)


@tasks.task(name="index_build", queue=INDEX, pass_context=True)
def index_build(context: JobContext, *, job_id: str, fingerprint: str, model: str) -> dict:
    """Build the search index of this worker's course (which must be the app's: the same
    fingerprint) and keep the artifact in the database for the replicas to copy."""
    ctx: WorkerContext = context.additional_context["triops"]

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

    return _run(context, job_id, "building", work)


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
    if outcome == "failed":
        reason = f"{why}; it had run {ran} time(s), the most allowed, so it ends failed."
        fail_row(ctx, job_id, reason)
        return
    db = ctx.state.cursor()
    try:
        line = f"{why}: queued again at {ctx.now():%H:%M:%S} UTC ({WAITING})."
        job_store.note(db, job_id, line, progress_json(0, 0, f"retrying: {WAITING}"))
    finally:
        db.close()


def fail_row(ctx: WorkerContext, job_id: str, reason: str, *, only_untaken: bool = False) -> bool:
    """End a queued job's row failed with `reason` (the error line appended to its log) while
    it still says running; `only_untaken`: only while no worker has taken it since (its row
    names none, or this one). True when this call ended it."""
    db = ctx.state.cursor()
    try:
        row = job_store.get(db, job_id)
        if row is None or row.state != "running":
            return False
        if only_untaken and row.worker not in (None, ctx.name):
            return False
        text = (row.log_text or "") + f"error: {reason}\n"
        job_store.finish(db, job_id, "failed", ctx.now(), json.dumps({"error": reason}), text)
        return True
    finally:
        db.close()


def recover_ended(ctx: WorkerContext, *, grace: float) -> list[str]:
    """One pass of the check for rows left running by a job that has ended in procrastinate
    (its worker could not write the row's end: a database error before the run started, or
    the database away as it ended): each such row without a heartbeat for `grace` seconds,
    and not a job of this worker, ends failed with the reason. Returns their ids."""
    db = ctx.state.cursor()
    try:
        moment = ctx.now()
        found = job_store.ended_in_queue(db, moment - timedelta(seconds=grace))
    finally:
        db.close()
    ended = []
    for row, status in found:
        if row.id in ctx.running:
            continue
        reason = (
            f"Its queue job ended {status} but the job's row was never ended (the worker lost "
            f"the database before or as the run ended); noticed by worker {ctx.name}, so it "
            "ends failed."
        )
        if fail_row(ctx, row.id, reason):
            log.warning("job %s: %s", row.id, reason)
            ended.append(row.id)
    return ended


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Options:
    """How a worker works (the options of `triops worker`)."""

    concurrency: int = 1
    """Jobs run at once."""
    heartbeat: float = 10.0
    """Seconds between this worker's heartbeats (procrastinate's)."""
    stalled_after: float = 30.0
    """Seconds without a heartbeat after which a worker counts as dead; also how long a row
    left running by an ended job waits before the check ends it."""
    attempts: int = 2
    """Runs a job gets when its workers die, before it ends failed."""
    check_every: float = 10.0
    """Seconds between passes of the checks."""
    take_pause: float = 1.0
    """Seconds between the tries to take a job's row while the database refuses it."""
    queues: tuple[str, ...] = (LABS, INDEX)
    """The queues whose jobs this worker runs."""

    def check(self) -> None:
        """StoreError, with the reason, for options a worker must refuse."""
        if self.heartbeat <= 0 or self.stalled_after <= self.heartbeat:
            raise StoreError(
                f"--stalled-after ({self.stalled_after:g} s) must be longer than --heartbeat "
                f"({self.heartbeat:g} s), or a live worker would be taken for a dead one"
            )
        unknown = sorted(set(self.queues) - {LABS, INDEX})
        if unknown or not self.queues:
            raise StoreError(f"unknown queue {', '.join(unknown)} (queues: {LABS}, {INDEX})")


async def run_worker(url: str, ctx: WorkerContext, options: Options = Options()) -> None:
    """A worker until SIGINT or SIGTERM (a running job is finished first): runs the jobs of
    its queues (lab and task runs, index builds), and every `check_every` seconds the checks
    for stalled jobs and for rows left running by jobs that ended."""
    app = worker_app(url)
    ensure_schema(ctx.state, app)

    async def check() -> None:
        while True:
            try:
                await recover_stalled(
                    app, ctx, stalled_after=options.stalled_after, attempts=options.attempts
                )
                await asyncio.to_thread(recover_ended, ctx, grace=options.stalled_after)
            except Exception:  # the database is restarting, say: the next pass tries again
                log.exception(
                    "the stalled-job check failed; next pass in %g s", options.check_every
                )
            await asyncio.sleep(options.check_every)

    async with app.open_async():
        checker = asyncio.create_task(check())
        try:
            await app.run_worker_async(
                queues=list(options.queues),
                name=ctx.name,
                concurrency=options.concurrency,
                update_heartbeat_interval=options.heartbeat,
                stalled_worker_timeout=options.stalled_after,
                additional_context={"triops": ctx},
            )
        finally:
            checker.cancel()


def work(**options: Any) -> None:
    """`triops worker` with `options` (the fields of Options): open the learner state in
    PostgreSQL and work until stopped."""
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
    chosen = Options(**options)
    chosen.check()
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
        take_pause=chosen.take_pause,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    log.info("worker %s on %s: queues %s", ctx.name, state.where, ", ".join(chosen.queues))
    try:
        asyncio.run(run_worker(url, ctx, chosen))
    finally:
        state.close()
