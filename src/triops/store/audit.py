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
    """Append one entry."""
    retry_on_conflict(
        lambda: db.execute(
            "INSERT INTO audit_log (happened_at, actor_id, actor_name, action, subject_id, "
            "subject_name, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [now, actor_id, actor_name, action, subject_id, subject_name, detail],
        )
    )


def entries(
    db: duckdb.DuckDBPyConnection, since: datetime | None = None, limit: int | None = None
) -> list[AuditEntry]:
    """Entries from `since` on (every one by default), oldest first; `limit` keeps the newest."""
    sql = f"SELECT {', '.join(_COLUMNS)} FROM audit_log WHERE happened_at >= ? ORDER BY id"
    params: list = [since or datetime.min]
    if limit is not None:
        sql = f"SELECT * FROM ({sql} DESC LIMIT ?) ORDER BY id"
        params.append(limit)
    rows = db.execute(sql, params).fetchall()
    return [AuditEntry(**dict(zip(_COLUMNS, r, strict=True))) for r in rows]
