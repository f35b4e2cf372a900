"""Open DuckDB files with explicit resource limits."""

from __future__ import annotations

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
