"""Lab runs on `triops worker` processes, through procrastinate (a PostgreSQL task queue).

With PostgreSQL as the learner-state database (TRIOPS_DATABASE_URL), a lab run or check is not
run by the app process that the learner's click reached: `Queue.submit_lab` writes the job's row
(triops.store.jobs, state running, progress "waiting for a worker") and defers a procrastinate
job carrying the learner's editable files; a `triops worker` on any machine with the sandbox
and the course takes it, runs it through triops.jobs.run_job (the same row, progress and log as
in-process jobs) and keeps the log, the report and the artifacts in PostgreSQL, where every
replica reads them (docs/WORKERS.md says why the database rather than a shared folder).

A worker killed mid-run (kill -9, a lost machine) stops sending procrastinate's worker
heartbeat. Every worker runs the library's stalled-job check (JobManager.get_stalled_jobs,
which finds the jobs of workers whose heartbeat is older than `stalled_after`) every
`check_every` seconds: a stalled job is queued again (JobManager.retry_job) for another worker
while it has attempts left, and otherwise ends failed, its row saying why. Never silently lost.

With DuckDB there is no queue: triops.jobs runs everything in the app's process, as before."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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

    def close(self) -> None:
        if self._opened:
            self.app.close()
            self._opened = False


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
    beat_seconds: float = 1.0
    now: Callable[[], datetime] = utc_now


@tasks.task(name="lab_job", queue=LABS, pass_context=True)
def lab_job(
    context: JobContext, *, job_id: str, user_id: str, lab_id: str, kind: str, files: dict
) -> dict:
    """Run a queued lab job (in a worker thread): take its row, run it, end the row."""
    from triops.labs import service

    ctx: WorkerContext = context.additional_context["triops"]
    attempt = context.job.attempts + 1
    db = ctx.state.cursor()
    try:
        moment = ctx.now()
        current = job_store.get(db, job_id)
        if current is None or current.state != "running":
            log.warning("lab job %s is no longer running; nothing to do", job_id)
            return {"skipped": True}
        lines = current.log_text or ""
        lines += f"Attempt {attempt} on worker {ctx.name} at {moment:%H:%M:%S} UTC.\n"
        row = job_store.take(db, job_id, ctx.name, moment, lines)
    finally:
        db.close()
    if row is None:
        return {"skipped": True}
    live = jobs.LiveJob(row, ctx.now, ctx.beat_seconds, keep_log=True)
    live.progress = jobs.Progress(0, 0, f"running on {ctx.name} (attempt {attempt})")
    lab = ctx.labs().get(lab_id)

    def work(job: jobs.LiveJob) -> dict:
        job.beat()
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
) -> None:
    """A worker until SIGINT or SIGTERM (a running job is finished first): runs queued lab
    jobs, and every `check_every` seconds the stalled-job check."""
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
                queues=[LABS],
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
    cfg = get_settings()
    state = open_state(cfg.state_db)
    ctx = WorkerContext(
        state=state,
        labs=cache(lambda: load_labs(cfg.root)),
        sandbox_root=cfg.sandbox_root,
        labs_venv=cfg.labs_venv,
        name=worker_name(),
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    log.info("worker %s on %s: queue %s", ctx.name, state.where, LABS)
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
            )
        )
    finally:
        state.close()
