"""Exam attempts: the attempt row, the questions it drew, answers and flags. All writes that a
candidate makes are guarded in SQL by token, owner, state and deadline."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import duckdb
from pydantic import BaseModel

from triops.store import audit
from triops.store.connection import retry_on_conflict, rollback


class AttemptRow(BaseModel):
    id: str
    token: str
    user_id: str
    exam_id: str
    blueprint_json: str
    question_count: int
    state: str
    accommodation: str
    started_at: datetime
    deadline: datetime | None
    grace_until: datetime | None
    finished_at: datetime | None
    score: float | None
    passed: bool | None
    result_json: str | None


_COLUMNS = list(AttemptRow.model_fields)
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM exam_attempts"


def _row(row) -> AttemptRow:
    return AttemptRow(**dict(zip(_COLUMNS, row, strict=True)))


class QuestionRow(BaseModel):
    position: int
    question_id: str
    track: str
    snapshot: dict[str, Any]
    option_order: list[int]
    pilot: bool = False  # an unscored pilot item (shown like the others, never counted)


def create_attempt(
    db: duckdb.DuckDBPyConnection,
    row: AttemptRow,
    questions: list[QuestionRow],
    audit_entry: audit.NewEntry | None = None,
) -> AttemptRow:
    """Create an attempt unless the user already has one open for this exam; return the open one.

    Two tabs starting the same exam at once race on open_attempts' key: one wins, the other
    retries and gets the winner's attempt. `audit_entry` is appended in the same transaction,
    by the winner only."""

    def write() -> AttemptRow:
        db.execute("BEGIN TRANSACTION")
        try:
            claimed = db.execute(
                "INSERT INTO open_attempts (user_id, exam_id, attempt_id) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                [row.user_id, row.exam_id, row.id],
            ).fetchone()[0]
            if not claimed:
                rollback(db)
                existing = open_attempt(db, row.user_id, row.exam_id)
                assert existing is not None
                return existing
            db.execute(
                f"INSERT INTO exam_attempts ({', '.join(_COLUMNS)}) "
                f"VALUES ({', '.join('?' for _ in _COLUMNS)})",
                [getattr(row, c) for c in _COLUMNS],
            )
            db.execute(
                "INSERT INTO attempt_guards VALUES (?, ?, coalesce(?, 'infinity'::TIMESTAMP), ?)",
                [_guard_key(row.token, row.user_id), row.id, row.deadline, row.question_count],
            )
            # One INSERT of lists unnested side by side. executemany pays a statement per
            # question (14 ms for 65), and one VALUES row per question binds 390 parameters
            # (5-7 ms); a few list parameters take 2 ms.
            if questions:
                db.execute(
                    "INSERT INTO attempt_questions (attempt_id, position, question_id, track, "
                    "snapshot_json, option_order, pilot) SELECT ?, unnest(?::INTEGER[]), "
                    "unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), "
                    "unnest(?::VARCHAR[]), unnest(?::BOOLEAN[])",
                    [
                        row.id,
                        [q.position for q in questions],
                        [q.question_id for q in questions],
                        [q.track for q in questions],
                        [json.dumps(q.snapshot) for q in questions],
                        [json.dumps(q.option_order) for q in questions],
                        [q.pilot for q in questions],
                    ],
                )
            if audit_entry is not None:
                audit.insert(db, audit_entry)
            db.execute("COMMIT")
        except BaseException:
            rollback(db)
            raise
        return row

    return retry_on_conflict(write)


def _guard_key(token: str, user_id: str) -> str:
    return f"{token}:{user_id}"


def open_attempt(db: duckdb.DuckDBPyConnection, user_id: str, exam_id: str) -> AttemptRow | None:
    row = db.execute(
        f"{_SELECT} WHERE id = (SELECT attempt_id FROM open_attempts "
        "WHERE user_id = ? AND exam_id = ?)",
        [user_id, exam_id],
    ).fetchone()
    return _row(row) if row else None


def by_token(db: duckdb.DuckDBPyConnection, token: str) -> AttemptRow | None:
    # The token is the attempt's primary key: an opaque random value, so one index lookup.
    row = db.execute(f"{_SELECT} WHERE id = ?", [token]).fetchone()
    return _row(row) if row else None


def by_token_with_writes(
    db: duckdb.DuckDBPyConnection, token: str
) -> tuple[AttemptRow, int] | None:
    """The attempt row and how many answer and flag rows have been written to it, in one
    statement. Those rows are only ever appended, so the count moves with every save from any
    tab: the exam clock compares it to tell whether anything changed since the page was drawn."""
    row = db.execute(
        f"SELECT {', '.join(_COLUMNS)}, "
        "(SELECT count(*) FROM attempt_responses WHERE attempt_id = ?) "
        "+ (SELECT count(*) FROM attempt_flags WHERE attempt_id = ?) "
        "FROM exam_attempts WHERE id = ?",
        [token, token, token],
    ).fetchone()
    return (_row(row[:-1]), row[-1]) if row else None


def history(
    db: duckdb.DuckDBPyConnection, user_id: str, exam_id: str | None = None
) -> list[AttemptRow]:
    sql = f"{_SELECT} WHERE user_id = ?"
    params: list[Any] = [user_id]
    if exam_id is not None:
        sql += " AND exam_id = ?"
        params.append(exam_id)
    return [_row(r) for r in db.execute(sql + " ORDER BY started_at", params).fetchall()]


def count_attempts(db: duckdb.DuckDBPyConnection, user_id: str, exam_id: str) -> int:
    """Attempts that count against the allowance (abandoned ones included, as in Moodle)."""
    return db.execute(
        "SELECT count(*) FROM exam_attempts WHERE user_id = ? AND exam_id = ?",
        [user_id, exam_id],
    ).fetchone()[0]


def questions(db: duckdb.DuckDBPyConnection, attempt_id: str) -> list[QuestionRow]:
    rows = db.execute(
        "SELECT position, question_id, track, snapshot_json, option_order, pilot "
        "FROM attempt_questions WHERE attempt_id = ? ORDER BY position",
        [attempt_id],
    ).fetchall()
    return [
        QuestionRow(
            position=p,
            question_id=q,
            track=t,
            snapshot=json.loads(s),
            option_order=json.loads(o),
            pilot=pilot,
        )
        for p, q, t, s, o, pilot in rows
    ]


def save_response(
    db: duckdb.DuckDBPyConnection,
    token: str,
    user_id: str,
    position: int,
    response_json: str | None,
    now: datetime,
) -> bool:
    """Append an answer if, at `now`, the attempt is the user's, open, and before its deadline.

    `token` is the attempt's id (see triops.quiz.exam.start).

    The guard is part of the INSERT, so a late or foreign write is refused by the database."""
    if position < 0:
        return False
    inserted = db.execute(
        "INSERT INTO attempt_responses (attempt_id, position, response_json, saved_at) "
        "SELECT attempt_id, ?, ?, ? FROM attempt_guards "
        "WHERE guard_key = ? AND write_until > ? AND question_count > ?",
        [position, response_json, now, _guard_key(token, user_id), now, position],
    ).fetchone()[0]
    return inserted == 1


def save_flag(
    db: duckdb.DuckDBPyConnection,
    token: str,
    user_id: str,
    position: int,
    flagged: bool,
    now: datetime,
) -> bool:
    """Flags may change while the attempt can still be submitted (in progress or overdue)."""
    inserted = db.execute(
        "INSERT INTO attempt_flags (attempt_id, position, flagged, saved_at) "
        "SELECT id, ?, ?, ? FROM exam_attempts "
        "WHERE id = ? AND user_id = ? AND state IN ('in_progress', 'overdue') "
        "AND ? >= 0 AND ? < question_count",
        [position, flagged, now, token, user_id, position, position],
    ).fetchone()[0]
    return inserted == 1


def responses(db: duckdb.DuckDBPyConnection, attempt_id: str) -> dict[int, str | None]:
    """The latest answer per position."""
    # A subquery rather than DuckDB's QUALIFY, which PostgreSQL lacks; on PostgreSQL `rowid` is
    # the table's identity column (migration 0002's PostgreSQL text), in DuckDB its row id.
    rows = db.execute(
        "SELECT position, response_json FROM (SELECT position, response_json, row_number() "
        "OVER (PARTITION BY position ORDER BY saved_at DESC, rowid DESC) AS n "
        "FROM attempt_responses WHERE attempt_id = ?) AS latest WHERE n = 1",
        [attempt_id],
    ).fetchall()
    return dict(rows)


def response(db: duckdb.DuckDBPyConnection, attempt_id: str, position: int) -> str | None:
    """The latest answer at one position (None when there is none, or it was cleared): what a
    save checks before it writes, without reading the whole attempt."""
    row = db.execute(
        "SELECT response_json FROM attempt_responses WHERE attempt_id = ? AND position = ? "
        "ORDER BY saved_at DESC, rowid DESC LIMIT 1",
        [attempt_id, position],
    ).fetchone()
    return row[0] if row else None


def flags(db: duckdb.DuckDBPyConnection, attempt_id: str) -> set[int]:
    rows = db.execute(
        "SELECT position, flagged FROM (SELECT position, flagged, row_number() "
        "OVER (PARTITION BY position ORDER BY saved_at DESC, rowid DESC) AS n "
        "FROM attempt_flags WHERE attempt_id = ?) AS latest WHERE n = 1",
        [attempt_id],
    ).fetchall()
    return {p for p, f in rows if f}


def set_state(
    db: duckdb.DuckDBPyConnection,
    attempt_id: str,
    state: str,
    *,
    expect: tuple[str, ...],
    finished_at: datetime | None = None,
    score: float | None = None,
    passed: bool | None = None,
    result_json: str | None = None,
    audit_entry: audit.NewEntry | None = None,
) -> bool:
    """Move an attempt to a new state if it is still in one of `expect`; closing frees the slot.

    Two tabs (or a tab and the sweep) may finalize the same attempt at once: the loser of the
    race retries, finds the state already moved, and changes nothing. `audit_entry` is appended
    in the same transaction when the state moved, so the change and its entry stand or fall
    together."""
    placeholders = ", ".join("?" for _ in expect)

    def write() -> bool:
        db.execute("BEGIN TRANSACTION")
        try:
            changed = db.execute(
                f"UPDATE exam_attempts SET state = ?, finished_at = coalesce(?, finished_at), "
                f"score = coalesce(?, score), passed = coalesce(?, passed), "
                f"result_json = coalesce(?, result_json) "
                f"WHERE id = ? AND state IN ({placeholders})",
                [state, finished_at, score, passed, result_json, attempt_id, *expect],
            ).fetchone()[0]
            if changed and state != "in_progress":
                db.execute("DELETE FROM attempt_guards WHERE attempt_id = ?", [attempt_id])
            if changed and state in ("finished", "abandoned"):
                db.execute("DELETE FROM open_attempts WHERE attempt_id = ?", [attempt_id])
            if changed and audit_entry is not None:
                audit.insert(db, audit_entry)
            db.execute("COMMIT")
        except BaseException:
            rollback(db)
            raise
        return changed == 1

    return retry_on_conflict(write)


def expired(db: duckdb.DuckDBPyConnection, now: datetime) -> list[AttemptRow]:
    """Open attempts whose deadline (or grace period) has passed."""
    rows = db.execute(
        f"{_SELECT} WHERE (state = 'in_progress' AND deadline IS NOT NULL AND deadline <= ?) "
        "OR (state = 'overdue' AND grace_until <= ?)",
        [now, now],
    ).fetchall()
    return [_row(r) for r in rows]


def get_accommodation(db: duckdb.DuckDBPyConnection, user_id: str) -> str:
    row = db.execute("SELECT factor FROM accommodations WHERE user_id = ?", [user_id]).fetchone()
    return row[0] if row else "1"


def set_accommodation(
    db: duckdb.DuckDBPyConnection, user_id: str, factor: str, now: datetime
) -> None:
    db.execute(
        "INSERT INTO accommodations (user_id, factor, set_at) VALUES (?, ?, ?) "
        "ON CONFLICT (user_id) DO UPDATE SET factor = excluded.factor, set_at = excluded.set_at",
        [user_id, factor, now],
    )
