"""Open DuckDB files with explicit resource limits."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import duckdb

from triops.errors import StoreError
from triops.store.schema import migrate


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


def open_state(
    path: Path, *, memory_limit: str = "1GB", threads: int = 2
) -> duckdb.DuckDBPyConnection:
    """The learner-state database, migrated to the current schema."""
    conn = connect(path, memory_limit=memory_limit, threads=threads)
    migrate(conn)
    return conn


def checkpoint(conn: duckdb.DuckDBPyConnection) -> None:
    """Fold the WAL into the database file so that a restart replays little."""
    conn.execute("CHECKPOINT")


# Concurrent script runs share one database: two of them may update the same row at once.
# DuckDB resolves that optimistically, failing one commit. Writes that update shared rows are
# serialized in this process by one lock (each takes about a millisecond), and retried should
# a write from elsewhere still conflict. Appends (answers, visits) do not conflict and skip this.
_CONFLICTS = (duckdb.TransactionException, duckdb.ConstraintException)
_WRITE_LOCK = threading.RLock()


def retry_on_conflict(write, attempts: int = 8):
    """Run `write()` under the process's write lock; retry when a concurrent commit won."""
    for attempt in range(attempts):
        try:
            with _WRITE_LOCK:
                return write()
        except _CONFLICTS as exc:
            if attempt == attempts - 1:
                raise StoreError(
                    f"the database stayed busy with a conflicting write: {exc}"
                ) from exc
            time.sleep(random.uniform(0.001, 0.005) * (attempt + 1))  # noqa: S311
    return None


def rollback(db: duckdb.DuckDBPyConnection) -> None:
    """Roll back if a transaction is still open (a failed COMMIT has already ended it)."""
    try:
        db.execute("ROLLBACK")
    except duckdb.Error:
        pass
