"""The audit log: role and password changes, failed sign-ins and lockouts, instructor actions on
cohorts, and exam events (start, submit, expiry, a refused late answer)."""

from __future__ import annotations

from datetime import datetime

import duckdb
from pydantic import BaseModel

from triops.store.connection import retry_on_conflict


class AuditEntry(BaseModel):
    id: int
    happened_at: datetime
    actor_id: str | None  # None: the command line, or someone not signed in
    actor_name: str
    action: str
    subject_id: str | None  # None: a name that belongs to no account
    subject_name: str
    detail: str


_COLUMNS = list(AuditEntry.model_fields)


class NewEntry(BaseModel):
    """An entry to append: what `record` writes, and what a store writes in the same
    transaction as the change it reports (see `insert`)."""

    happened_at: datetime
    actor_id: str | None
    actor_name: str
    action: str
    subject_id: str | None
    subject_name: str
    detail: str = ""


_NEW_COLUMNS = list(NewEntry.model_fields)
_INSERT = (
    f"INSERT INTO audit_log ({', '.join(_NEW_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _NEW_COLUMNS)})"
)


def insert(db: duckdb.DuckDBPyConnection, entry: NewEntry) -> None:
    """Append `entry` inside the caller's open transaction, so that the entry and the change it
    reports are committed together or not at all."""
    db.execute(_INSERT, [getattr(entry, c) for c in _NEW_COLUMNS])


def record(
    db: duckdb.DuckDBPyConnection,
    now: datetime,
    *,
    actor_id: str | None,
    actor_name: str,
    action: str,
    subject_id: str | None,
    subject_name: str,
    detail: str = "",
) -> None:
    """Append one entry on its own."""
    append(
        db,
        NewEntry(
            happened_at=now,
            actor_id=actor_id,
            actor_name=actor_name,
            action=action,
            subject_id=subject_id,
            subject_name=subject_name,
            detail=detail,
        ),
    )


def append(db: duckdb.DuckDBPyConnection, entry: NewEntry) -> None:
    """Append `entry` on its own (an event that changes nothing else, such as a refusal)."""
    retry_on_conflict(lambda: insert(db, entry))


def entries(
    db: duckdb.DuckDBPyConnection, since: datetime | None = None, limit: int | None = None
) -> list[AuditEntry]:
    """Entries from `since` on (every one by default), oldest first; `limit` keeps the newest."""
    sql = f"SELECT {', '.join(_COLUMNS)} FROM audit_log WHERE happened_at >= ? ORDER BY id"
    params: list = [since or datetime.min]
    if limit is not None:
        sql = f"SELECT * FROM ({sql} DESC LIMIT ?) AS newest ORDER BY id"
        params.append(limit)
    rows = db.execute(sql, params).fetchall()
    return [AuditEntry(**dict(zip(_COLUMNS, r, strict=True))) for r in rows]
