"""`triops worker`: runs the lab runs, lab checks and search index builds that app processes
queued with procrastinate (triops.labs.queue; docs/WORKERS.md), until SIGINT or SIGTERM.

Each job runs through triops.jobs.run_job on the job's own row, its log kept on the row. A
worker killed mid-run (kill -9, a lost machine) stops sending procrastinate's worker heartbeat.
Every worker runs the library's stalled-job check (JobManager.get_stalled_jobs, which finds the
jobs of workers whose heartbeat is older than `stalled_after`) every `check_every` seconds: a
stalled job is queued again (JobManager.retry_job) for another worker while it has attempts
left, and otherwise ends failed, its row saying why. Never silently lost."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import procrastinate
from procrastinate import Blueprint, JobContext
from procrastinate.exceptions import ProcrastinateException

from triops import jobs
from triops.errors import StoreError
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
    """A procrastinate app with Triops's tasks (named triops:lab_job and triops:index_build)."""
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
    settle(ctx, live)
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
    settle(ctx, live)
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
            job_store.note(db, job_id, line, progress_json(0, 0, f"retrying: {WAITING}"))
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
    app = worker_app(url)
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
