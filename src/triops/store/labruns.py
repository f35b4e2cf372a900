"""Lab runs and checks per profile, with capped logs."""

from __future__ import annotations

import json
from datetime import datetime

import duckdb
from pydantic import BaseModel

LOG_CAP = 200_000


class LabRunRow(BaseModel):
    job_id: str
    user_id: str
    lab_id: str
    kind: str
    status: str
    seconds: float
    passed: bool | None
    criteria: list[list] | None
    log: str
    finished_at: datetime


def record(db: duckdb.DuckDBPyConnection, row: LabRunRow) -> None:
    log = row.log if len(row.log) <= LOG_CAP else row.log[:LOG_CAP] + "\n[log capped]"
    db.execute(
        "INSERT INTO lab_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            row.job_id,
            row.user_id,
            row.lab_id,
            row.kind,
            row.status,
            row.seconds,
            row.passed,
            None if row.criteria is None else json.dumps(row.criteria),
            log,
            row.finished_at,
        ],
    )


def history(
    db: duckdb.DuckDBPyConnection, user_id: str, lab_id: str | None = None
) -> list[LabRunRow]:
    sql = (
        "SELECT job_id, user_id, lab_id, kind, status, seconds, passed, criteria_json, log, "
        "finished_at FROM lab_runs WHERE user_id = ?"
    )
    params: list = [user_id]
    if lab_id is not None:
        sql += " AND lab_id = ?"
        params.append(lab_id)
    rows = db.execute(sql + " ORDER BY finished_at", params).fetchall()
    return [
        LabRunRow(
            job_id=r[0],
            user_id=r[1],
            lab_id=r[2],
            kind=r[3],
            status=r[4],
            seconds=r[5],
            passed=r[6],
            criteria=None if r[7] is None else json.loads(r[7]),
            log=r[8],
            finished_at=r[9],
        )
        for r in rows
    ]


def failed_checks(db: duckdb.DuckDBPyConnection, user_id: str, lab_id: str) -> int:
    return db.execute(
        "SELECT count(*) FROM lab_runs WHERE user_id = ? AND lab_id = ? AND kind = 'check' "
        "AND NOT passed",
        [user_id, lab_id],
    ).fetchone()[0]


def passed_labs(db: duckdb.DuckDBPyConnection, user_ids: list[str]) -> dict[str, set[str]]:
    """User id -> the labs whose check it has passed at least once, for these users only."""
    rows = db.execute(
        "SELECT DISTINCT user_id, lab_id FROM lab_runs WHERE kind = 'check' AND passed "
        "AND user_id IN (SELECT unnest(?::VARCHAR[]))",
        [user_ids],
    ).fetchall()
    found: dict[str, set[str]] = {}
    for user_id, lab_id in rows:
        found.setdefault(user_id, set()).add(lab_id)
    return found
