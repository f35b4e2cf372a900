"""Question reports ("report a problem"): a learner's report on a question as they saw it, the
instructor's resolution, and the write of a regraded exam result (see triops.quiz.reports)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb
from pydantic import BaseModel

from triops.store.connection import retry_on_conflict, rollback


class ReportRow(BaseModel):
    id: str
    question_id: str
    version: str
    bank_file: str
    track: str
    snapshot_json: str
    user_id: str
    category: str
    comment: str
    source: str
    attempt_id: str | None
    created_at: datetime
    updated_at: datetime
    verdict: str | None
    note: str | None
    resolved_by: str | None
    resolver_name: str | None
    resolved_at: datetime | None
    remedy_json: str | None

    @property
    def is_open(self) -> bool:
        return self.verdict is None


_COLUMNS = list(ReportRow.model_fields)
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM question_reports"


def _row(row) -> ReportRow:
    return ReportRow(**dict(zip(_COLUMNS, row, strict=True)))


def submit(db: duckdb.DuckDBPyConnection, row: ReportRow) -> tuple[ReportRow, bool]:
    """Open `row`, or, when the profile already has an open report on the question, update that
    one's category, comment and time. Returns the report and whether it was an update."""

    def write() -> tuple[str, bool]:
        db.execute("BEGIN TRANSACTION")
        try:
            claimed = db.execute(
                "INSERT INTO open_reports (user_id, question_id, report_id) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                [row.user_id, row.question_id, row.id],
            ).fetchone()[0]
            if claimed:
                db.execute(
                    f"INSERT INTO question_reports ({', '.join(_COLUMNS)}) "
                    f"VALUES ({', '.join('?' for _ in _COLUMNS)})",
                    [getattr(row, c) for c in _COLUMNS],
                )
                report_id, updated = row.id, False
            else:
                report_id = db.execute(
                    "SELECT report_id FROM open_reports WHERE user_id = ? AND question_id = ?",
                    [row.user_id, row.question_id],
                ).fetchone()[0]
                db.execute(
                    "UPDATE question_reports SET category = ?, comment = ?, updated_at = ? "
                    "WHERE id = ?",
                    [row.category, row.comment, row.updated_at, report_id],
                )
                updated = True
            db.execute("COMMIT")
        except BaseException:
            rollback(db)
            raise
        return report_id, updated

    report_id, updated = retry_on_conflict(write)
    found = get(db, report_id)
    assert found is not None
    return found, updated


def get(db: duckdb.DuckDBPyConnection, report_id: str) -> ReportRow | None:
    row = db.execute(f"{_SELECT} WHERE id = ?", [report_id]).fetchone()
    return _row(row) if row else None


def find(
    db: duckdb.DuckDBPyConnection,
    *,
    state: str | None = None,
    categories: list[str] | None = None,
    tracks: list[str] | None = None,
    user_id: str | None = None,
    question_id: str | None = None,
    verdict: str | None = None,
) -> list[ReportRow]:
    """Reports matching every filter given (state 'open' or 'resolved'), oldest first."""
    where = ["true"]
    params: list[Any] = []
    if state == "open":
        where.append("verdict IS NULL")
    elif state == "resolved":
        where.append("verdict IS NOT NULL")
    if categories:
        where.append(f"category IN ({', '.join('?' for _ in categories)})")
        params += categories
    if tracks:
        where.append(f"track IN ({', '.join('?' for _ in tracks)})")
        params += tracks
    for column, value in (("user_id", user_id), ("question_id", question_id), ("verdict", verdict)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    rows = db.execute(
        f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY created_at, id", params
    ).fetchall()
    return [_row(r) for r in rows]


def resolve(
    db: duckdb.DuckDBPyConnection,
    report_id: str,
    *,
    verdict: str,
    note: str,
    resolved_by: str | None,
    resolver_name: str,
    now: datetime,
    remedy_json: str | None,
) -> bool:
    """Resolve an open report (and free its profile's slot); False if it was resolved already."""

    def write() -> bool:
        db.execute("BEGIN TRANSACTION")
        try:
            changed = db.execute(
                "UPDATE question_reports SET verdict = ?, note = ?, resolved_by = ?, "
                "resolver_name = ?, resolved_at = ?, remedy_json = ? "
                "WHERE id = ? AND verdict IS NULL",
                [verdict, note, resolved_by, resolver_name, now, remedy_json, report_id],
            ).fetchone()[0]
            if changed:
                db.execute("DELETE FROM open_reports WHERE report_id = ?", [report_id])
            db.execute("COMMIT")
        except BaseException:
            rollback(db)
            raise
        return changed == 1

    return retry_on_conflict(write)


def _has_table(db: duckdb.DuckDBPyConnection) -> bool:
    # A database written before migration 0010 (an old simulated demo opened read-only) has none.
    return bool(
        db.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'question_reports'"
        ).fetchone()[0]
    )


def flag_counts(db: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, int]]:
    """(question id, 'open' or 'upheld', category, reports) for open and upheld reports."""
    if not _has_table(db):
        return []
    return db.execute(
        "SELECT question_id, CASE WHEN verdict IS NULL THEN 'open' ELSE 'upheld' END AS state, "
        "category, count(*) FROM question_reports "
        "WHERE verdict IS NULL OR starts_with(verdict, 'upheld') "
        "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    ).fetchall()


def fingerprint(db: duckdb.DuckDBPyConnection) -> tuple[int, int, str]:
    """Changes when a report is made, updated or resolved (for caches)."""
    if not _has_table(db):
        return 0, 0, ""
    count, resolved, latest = db.execute(
        "SELECT count(*), count(verdict), coalesce(max(greatest(updated_at, "
        "coalesce(resolved_at, updated_at)))::VARCHAR, '') FROM question_reports"
    ).fetchone()
    return count, resolved, latest


def finished_attempts_with(db: duckdb.DuckDBPyConnection, question_id: str) -> list[str]:
    """Ids of the finished (graded) attempts that drew this question, oldest first."""
    rows = db.execute(
        "SELECT a.id FROM exam_attempts a WHERE a.state = 'finished' AND a.result_json IS NOT "
        "NULL AND EXISTS (SELECT 1 FROM attempt_questions q WHERE q.attempt_id = a.id AND "
        "q.question_id = ?) ORDER BY a.started_at, a.id",
        [question_id],
    ).fetchall()
    return [r[0] for r in rows]


def save_regrade(
    db: duckdb.DuckDBPyConnection,
    attempt_id: str,
    *,
    score: float,
    passed: bool,
    result_json: str,
) -> bool:
    """Replace a finished attempt's grade (its answers are never touched)."""
    changed = retry_on_conflict(
        lambda: db.execute(
            "UPDATE exam_attempts SET score = ?, passed = ?, result_json = ? "
            "WHERE id = ? AND state = 'finished'",
            [score, passed, result_json, attempt_id],
        ).fetchone()[0]
    )
    return changed == 1
