"""Open the learner-state database: a DuckDB file with explicit resource limits (the default),
or PostgreSQL when TRIOPS_DATABASE_URL names one (see triops.store.postgres)."""

from __future__ import annotations

import os
import random
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from triops.errors import StoreError
from triops.store.schema import database_errors, dialect, migrate

if TYPE_CHECKING:
    from triops.store.postgres import PostgresState

DATABASE_URL = "TRIOPS_DATABASE_URL"


def connect(
    path: Path, *, memory_limit: str = "1GB", threads: int = 2, read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    """A connection to a DuckDB file; a lock held by another process is a clear error."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return duckdb.connect(
            str(path),
            read_only=read_only,
            config={"memory_limit": memory_limit, "threads": threads},
        )
    except duckdb.IOException as exc:
        raise StoreError(
            f"cannot open {path}: {exc}. Is another Triops process using this TRIOPS_HOME?"
        ) from exc


def database_url() -> str | None:
    """The PostgreSQL URL from TRIOPS_DATABASE_URL, or None for the DuckDB file."""
    url = os.environ.get(DATABASE_URL, "").strip()
    return url or None


def open_state(
    path: Path, *, memory_limit: str = "1GB", threads: int = 2
) -> duckdb.DuckDBPyConnection | PostgresState:
    """The learner-state database, migrated to the current schema: PostgreSQL when
    TRIOPS_DATABASE_URL is set (then `path` is not used), else the DuckDB file at `path`."""
    url = database_url()
    if url is None:
        return open_state_file(path, memory_limit=memory_limit, threads=threads)
    from triops.store.postgres import PostgresState

    conn = PostgresState.open(url)
    try:
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def check_startup() -> str | None:
    """Why this process cannot start on the learner-state database, as one line naming the
    host and the cause, or None. With TRIOPS_DATABASE_URL the server is reached and the
    schema migrated (a migration that fails leaves the database as it was); the DuckDB file is
    opened by the app itself (its lock belongs to the one process that serves it)."""
    if database_url() is None:
        return None
    try:
        conn = open_state(Path("unused"))
    except StoreError as exc:
        return exc.user_message
    conn.close()
    return None


def ping(db: duckdb.DuckDBPyConnection | PostgresState, timeout: float = 2.0) -> float:
    """Milliseconds for one trivial query on `db`; StoreError (DatabaseUnavailable on
    PostgreSQL, waiting at most `timeout` seconds for a connection) when it cannot answer."""
    started = time.perf_counter()
    if dialect(db) == "postgres":
        db.ping(timeout)
    else:
        try:
            db.execute("SELECT 1").fetchone()
        except duckdb.Error as exc:
            raise StoreError(f"the learner-state database did not answer: {exc}") from exc
    return (time.perf_counter() - started) * 1000


def where(db: duckdb.DuckDBPyConnection | PostgresState, path: Path) -> str:
    """What a health report names as the database: host:port/database, or the DuckDB file."""
    return db.where if dialect(db) == "postgres" else str(path)


def open_state_file(
    path: Path, *, memory_limit: str = "1GB", threads: int = 2
) -> duckdb.DuckDBPyConnection:
    """A learner-state schema in the DuckDB file at `path`, whatever TRIOPS_DATABASE_URL says
    (a demo database of simulated candidates, say)."""
    conn = connect(path, memory_limit=memory_limit, threads=threads)
    migrate(conn)
    return conn


def checkpoint(conn: duckdb.DuckDBPyConnection | PostgresState) -> None:
    """Fold DuckDB's WAL into the database file so that a restart replays little. PostgreSQL
    runs its own checkpoints: nothing to do there."""
    if dialect(conn) == "postgres":
        return
    conn.execute("CHECKPOINT")


# Concurrent script runs share one database: two of them may update the same row at once.
# DuckDB resolves that optimistically, failing one commit. Writes that update shared rows are
# serialized in this process by one lock (each takes about a millisecond), and retried should
# a write from elsewhere still conflict. Appends (answers, visits) do not conflict and skip this.
_WRITE_LOCK = threading.RLock()


def _conflicts() -> tuple[type[BaseException], ...]:
    """DuckDB's conflicts; on PostgreSQL (psycopg loaded) a conflicting write mostly waits for
    the other instead, and a unique key claimed by a concurrent transaction, a serialization
    failure or a deadlock is retried the same way."""
    found: list[type[BaseException]] = [duckdb.TransactionException, duckdb.ConstraintException]
    pg = sys.modules.get("psycopg.errors")
    if pg is not None:
        found += [pg.UniqueViolation, pg.SerializationFailure, pg.DeadlockDetected]
    return tuple(found)


def retry_on_conflict(write, attempts: int = 8):
    """Run `write()` under the process's write lock; retry when a concurrent commit won."""
    for attempt in range(attempts):
        try:
            with _WRITE_LOCK:
                return write()
        except _conflicts() as exc:
            if attempt == attempts - 1:
                raise StoreError(
                    f"the database stayed busy with a conflicting write: {exc}"
                ) from exc
            time.sleep(random.uniform(0.001, 0.005) * (attempt + 1))  # noqa: S311
    return None


def rollback(db: duckdb.DuckDBPyConnection | PostgresState) -> None:
    """Roll back if a transaction is still open (a failed COMMIT has already ended it)."""
    try:
        db.execute("ROLLBACK")
    except database_errors():
        pass
