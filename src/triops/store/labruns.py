"""Lab runs and checks per profile, with capped logs; a queued run's report and artifacts
(lab_run_files), kept in the database so that every replica can show them."""

from __future__ import annotations

import json
from datetime import datetime

import duckdb
from pydantic import BaseModel

from triops.store.connection import retry_on_conflict, rollback

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
    """Record a finished run; a run recorded again under the same job id (a queued job whose
    worker died after recording it, run again by another) replaces the first record."""
    log = row.log if len(row.log) <= LOG_CAP else row.log[:LOG_CAP] + "\n[log capped]"
    values = [
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
    ]

    def write() -> None:
        db.execute("BEGIN TRANSACTION")
        try:
            db.execute("DELETE FROM lab_runs WHERE job_id = ?", [row.job_id])
            db.execute("INSERT INTO lab_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values)
            db.execute("COMMIT")
        except BaseException:
            rollback(db)
            raise

    retry_on_conflict(write)


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


def keep_files(db: duckdb.DuckDBPyConnection, job_id: str, files: dict[str, bytes]) -> None:
    """Keep a run's files (path under its run folder -> bytes), replacing any kept before."""

    def write() -> None:
        db.execute("BEGIN TRANSACTION")
        try:
            db.execute("DELETE FROM lab_run_files WHERE job_id = ?", [job_id])
            for path, data in sorted(files.items()):
                db.execute("INSERT INTO lab_run_files VALUES (?, ?, ?)", [job_id, path, data])
            db.execute("COMMIT")
        except BaseException:
            rollback(db)
            raise

    retry_on_conflict(write)


def run_files(db: duckdb.DuckDBPyConnection, job_id: str) -> dict[str, bytes]:
    """The files kept for a run (empty when it kept none, or ran in the app's process)."""
    rows = db.execute(
        "SELECT path, data FROM lab_run_files WHERE job_id = ? ORDER BY path", [job_id]
    ).fetchall()
    return {path: bytes(data) for path, data in rows}
