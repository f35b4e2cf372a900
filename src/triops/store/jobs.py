"""Background jobs: a row per job so a page can show progress after a refresh, and a restart
can mark jobs that were running when the process died as failed. triops.jobs writes them.

While a job runs, result_json carries its progress ({"progress": {"done", "total",
"message"}}); when it ends, what the work returned (with the last progress).

A job queued for a `triops worker` (PostgreSQL only, triops.labs.queue) has its procrastinate job's
id in queue_id, the worker running it in worker, and its log in log_text instead of a file; a
restart of an app process leaves it alone (its worker, or the stalled-job check, ends it)."""

from __future__ import annotations

from datetime import datetime

import duckdb
from pydantic import BaseModel

from triops.store.connection import retry_on_conflict, rollback


class Job(BaseModel):
    id: str
    kind: str
    owner: str
    subject: str
    state: str
    started_at: datetime
    heartbeat: datetime
    finished_at: datetime | None
    log_path: str | None
    result_json: str | None
    queue_id: int | None = None
    worker: str | None = None
    log_text: str | None = None


_COLUMNS = list(Job.model_fields)
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM jobs"
_CLAIM = "INSERT INTO active_lab_jobs (owner, job_id) VALUES (?, ?) ON CONFLICT DO NOTHING"


def _job(row) -> Job:
    return Job(**dict(zip(_COLUMNS, row, strict=True)))


def start(db: duckdb.DuckDBPyConnection, job: Job, *, one_per_owner: bool = False) -> Job | None:
    """Record a running job. `one_per_owner`: refused (None) while the owner has another such
    job running (the active_lab_jobs key holds the claim until finish)."""

    def write() -> Job | None:
        db.execute("BEGIN TRANSACTION")
        try:
            claimed = not one_per_owner or db.execute(_CLAIM, [job.owner, job.id]).fetchone()[0]
            if not claimed:
                rollback(db)
                return None
            db.execute(
                f"INSERT INTO jobs ({', '.join(_COLUMNS)}) "
                f"VALUES ({', '.join('?' for _ in _COLUMNS)})",
                [getattr(job, c) for c in _COLUMNS],
            )
            db.execute("COMMIT")
        except BaseException:
            rollback(db)
            raise
        return job

    return retry_on_conflict(write)


def heartbeat(
    db: duckdb.DuckDBPyConnection,
    job_id: str,
    now: datetime,
    result_json: str | None = None,
    log_text: str | None = None,
) -> None:
    """A running job is alive at `now`; `result_json`, when given, is its progress so far, and
    `log_text` its log so far (a queued job's)."""
    retry_on_conflict(
        lambda: db.execute(
            "UPDATE jobs SET heartbeat = ?, result_json = coalesce(?, result_json), "
            "log_text = coalesce(?, log_text) WHERE id = ? AND state = 'running'",
            [now, result_json, log_text, job_id],
        )
    )


def finish(
    db: duckdb.DuckDBPyConnection,
    job_id: str,
    state: str,
    now: datetime,
    result_json: str | None,
    log_text: str | None = None,
) -> None:
    def write() -> None:
        db.execute("BEGIN TRANSACTION")
        try:
            db.execute(
                "UPDATE jobs SET state = ?, finished_at = ?, heartbeat = ?, result_json = ?, "
                "log_text = coalesce(?, log_text) WHERE id = ?",
                [state, now, now, result_json, log_text, job_id],
            )
            db.execute("DELETE FROM active_lab_jobs WHERE job_id = ?", [job_id])
            db.execute("COMMIT")
        except BaseException:
            rollback(db)
            raise

    retry_on_conflict(write)


def get(db: duckdb.DuckDBPyConnection, job_id: str) -> Job | None:
    row = db.execute(f"{_SELECT} WHERE id = ?", [job_id]).fetchone()
    return _job(row) if row else None


def active_for(db: duckdb.DuckDBPyConnection, owner: str) -> Job | None:
    row = db.execute(
        f"{_SELECT} WHERE id = (SELECT job_id FROM active_lab_jobs WHERE owner = ?)", [owner]
    ).fetchone()
    return _job(row) if row else None


def latest(db: duckdb.DuckDBPyConnection, owner: str, subject: str) -> Job | None:
    row = db.execute(
        f"{_SELECT} WHERE owner = ? AND subject = ? ORDER BY started_at DESC LIMIT 1",
        [owner, subject],
    ).fetchone()
    return _job(row) if row else None


def fail_orphans(db: duckdb.DuckDBPyConnection, now: datetime, instance: str | None = None) -> int:
    """Jobs still 'running' when a process starts were orphaned by a crash: mark them failed.
    Queued jobs (queue_id set) are not the process's: their workers end them. With `instance`
    (an app replica's name, kept in `worker` on its in-process rows) only that replica's rows
    and unnamed ones: another replica's running jobs are alive."""
    mine = "" if instance is None else " AND (worker IS NULL OR worker = ?)"

    def write() -> int:
        db.execute("BEGIN TRANSACTION")
        try:
            n = db.execute(
                "UPDATE jobs SET state = 'failed', finished_at = ?, "
                'result_json = \'{"error": "the server stopped during the run"}\' '
                "WHERE state = 'running' AND queue_id IS NULL" + mine,
                [now] if instance is None else [now, instance],
            ).fetchone()[0]
            db.execute(
                "DELETE FROM active_lab_jobs WHERE job_id NOT IN "
                "(SELECT id FROM jobs WHERE state = 'running')"
            )
            db.execute("COMMIT")
        except BaseException:
            rollback(db)
            raise
        return n

    return retry_on_conflict(write)


def set_queue_id(db: duckdb.DuckDBPyConnection, job_id: str, queue_id: int) -> None:
    """The procrastinate job that carries this job's work."""
    db.execute("UPDATE jobs SET queue_id = ? WHERE id = ?", [queue_id, job_id])


def take(
    db: duckdb.DuckDBPyConnection, job_id: str, worker: str, now: datetime, log_text: str
) -> Job | None:
    """A worker starts (or starts again) a queued job: the row names it, with a fresh
    heartbeat and log; None when the job is no longer running (ended meanwhile)."""
    changed = retry_on_conflict(
        lambda: db.execute(
            "UPDATE jobs SET worker = ?, heartbeat = ?, log_text = ? "
            "WHERE id = ? AND state = 'running'",
            [worker, now, log_text, job_id],
        ).fetchone()[0]
    )
    return get(db, job_id) if changed else None


def note(db: duckdb.DuckDBPyConnection, job_id: str, line: str, result_json: str) -> bool:
    """Append a line to a running queued job's log and set its progress (the job was queued
    again, say); False when it is no longer running."""
    return bool(
        retry_on_conflict(
            lambda: db.execute(
                "UPDATE jobs SET log_text = coalesce(log_text, '') || ?, result_json = ?, "
                "worker = NULL WHERE id = ? AND state = 'running'",
                [line + "\n", result_json, job_id],
            ).fetchone()[0]
        )
    )


def ensure_queue_schema(db, lock_key: int, schema_sql: str) -> bool:
    """Create procrastinate's tables (its `schema_sql`) in a PostgreSQL database that lacks
    them, under an advisory lock so that processes starting at once create them once; True
    when this call created them. One transaction: a failure leaves the database as it was."""
    db.execute("BEGIN TRANSACTION")
    try:
        db.execute("SELECT pg_advisory_xact_lock(?)", [lock_key])
        found = db.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()[0]
        if not found:
            db.execute(schema_sql)
        db.execute("COMMIT")
    except BaseException:
        rollback(db)
        raise
    return not found


def running_queued(db: duckdb.DuckDBPyConnection, kind: str, subject: str) -> Job | None:
    """The latest queued job of this kind and subject that is still running, if any."""
    row = db.execute(
        f"{_SELECT} WHERE kind = ? AND subject = ? AND state = 'running' "
        "AND queue_id IS NOT NULL ORDER BY started_at DESC LIMIT 1",
        [kind, subject],
    ).fetchone()
    return _job(row) if row else None


def keep_artifact(
    db: duckdb.DuckDBPyConnection,
    name: str,
    fingerprint: str,
    job_id: str,
    data: bytes,
    now: datetime,
) -> None:
    """Keep a derived artifact a queued job built (replacing one of the same name and
    fingerprint)."""

    def write() -> None:
        db.execute("BEGIN TRANSACTION")
        try:
            db.execute(
                "DELETE FROM job_artifacts WHERE name = ? AND fingerprint = ?", [name, fingerprint]
            )
            db.execute(
                "INSERT INTO job_artifacts VALUES (?, ?, ?, ?, ?)",
                [name, fingerprint, job_id, data, now],
            )
            db.execute("COMMIT")
        except BaseException:
            rollback(db)
            raise

    retry_on_conflict(write)


def artifact(db: duckdb.DuckDBPyConnection, name: str, fingerprint: str) -> bytes | None:
    """A kept artifact's bytes, or None."""
    row = db.execute(
        "SELECT data FROM job_artifacts WHERE name = ? AND fingerprint = ?", [name, fingerprint]
    ).fetchone()
    return None if row is None else bytes(row[0])


def ended_in_queue(db: duckdb.DuckDBPyConnection, before: datetime) -> list[tuple[Job, str]]:
    """Queued jobs whose row still says running although their procrastinate job has ended
    (succeeded, failed, cancelled or aborted), with no heartbeat on the row since `before`:
    the worker could not write the row's end (a database error before the run started, say).
    Each with its procrastinate job's status. PostgreSQL only (procrastinate's tables)."""
    columns = ", ".join(f"j.{c}" for c in _COLUMNS)
    rows = db.execute(
        f"SELECT {columns}, p.status::text FROM jobs j "
        "JOIN procrastinate_jobs p ON p.id = j.queue_id "
        "WHERE j.state = 'running' AND j.heartbeat < ? "
        "AND p.status IN ('succeeded', 'failed', 'cancelled', 'aborted') ORDER BY j.started_at",
        [before],
    ).fetchall()
    return [(_job(row[:-1]), row[-1]) for row in rows]
