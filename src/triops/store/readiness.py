"""Readiness reads and writes: every graded answer (practice, exam, placement), the stored item
calibration, placement sessions, and lab passes per profile."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd
from pydantic import BaseModel

from triops.store.connection import retry_on_conflict, rollback
from triops.store.schema import dialect

ANSWER_COLUMNS = ["user_id", "question_id", "score", "answered_at", "source"]

# Every graded answer. A finished exam's answered questions are scored as graded at submission
# and dated at the finish; an unanswered question is left out: a blank is no evidence of what
# the candidate knows.
_ANSWERS = """
WITH a AS (
    SELECT id, user_id, finished_at, result_json FROM exam_attempts
    WHERE state = 'finished' AND result_json IS NOT NULL {exam_user}
),
graded AS (
    SELECT id AS attempt_id, user_id, finished_at, {questions}
),
scores AS (
    SELECT attempt_id, user_id, finished_at,
           CAST(q ->> 'position' AS INTEGER) AS position,
           CAST(q ->> 'score' AS DOUBLE PRECISION) AS score
    FROM graded
),
latest AS (
    SELECT attempt_id, position, response_json FROM (
        SELECT attempt_id, position, response_json, row_number() OVER (
            PARTITION BY attempt_id, position ORDER BY saved_at DESC, rowid DESC) AS n
        FROM attempt_responses WHERE attempt_id IN (SELECT id FROM a)
    ) AS r WHERE n = 1
)
SELECT user_id, question_id, score, answered_at, 'practice' AS source
FROM practice_log {practice_user}
UNION ALL
SELECT s.user_id, aq.question_id, s.score, s.finished_at AS answered_at, 'exam' AS source
FROM scores s
JOIN attempt_questions aq ON aq.attempt_id = s.attempt_id AND aq.position = s.position
JOIN latest l ON l.attempt_id = s.attempt_id AND l.position = s.position
WHERE l.response_json IS NOT NULL AND l.response_json <> 'null' AND s.score IS NOT NULL
UNION ALL
SELECT s.user_id, r.question_id, r.score, r.answered_at, 'placement' AS source
FROM placement_responses r JOIN placement_sessions s ON s.id = r.session_id {placement_user}
ORDER BY answered_at, user_id, question_id
"""
# The one part the dialects spell differently: each graded question of a result, as JSON.
_QUESTIONS = {
    "duckdb": "unnest(from_json(result_json -> '$.questions', '[\"JSON\"]')) AS q FROM a",
    "postgres": "q FROM a, jsonb_array_elements(CAST(result_json AS JSONB) -> 'questions') AS q",
}


def _answers_sql(db, **users: str) -> str:
    return _ANSWERS.format(questions=_QUESTIONS[dialect(db)], **users)


def answers(db: duckdb.DuckDBPyConnection, user_id: str | None = None) -> pd.DataFrame:
    """Every graded answer (of one profile, or everyone's): user_id, question_id, score (0..1),
    answered_at, source (practice, exam or placement), oldest first."""
    one = user_id is not None
    sql = _answers_sql(
        db,
        exam_user="AND user_id = ?" if one else "",
        practice_user="WHERE user_id = ?" if one else "",
        placement_user="WHERE s.user_id = ?" if one else "",
    )
    frame = db.execute(sql, [user_id] * 3 if one else []).df()
    return frame[ANSWER_COLUMNS] if len(frame) else pd.DataFrame(columns=ANSWER_COLUMNS)


def answers_of(db: duckdb.DuckDBPyConnection, user_ids: list[str]) -> pd.DataFrame:
    """The graded answers of these profiles only (a cohort's, in one read), as `answers`."""
    sql = _answers_sql(
        db,
        exam_user="AND user_id IN (SELECT unnest(?::VARCHAR[]))",
        practice_user="WHERE user_id IN (SELECT unnest(?::VARCHAR[]))",
        placement_user="WHERE s.user_id IN (SELECT unnest(?::VARCHAR[]))",
    )
    frame = db.execute(sql, [list(user_ids)] * 3).df()
    return frame[ANSWER_COLUMNS] if len(frame) else pd.DataFrame(columns=ANSWER_COLUMNS)


def placed_tracks(db: duckdb.DuckDBPyConnection, user_ids: list[str]) -> dict[str, set[str]]:
    """User id -> the tracks where it has finished a placement test, for these users only."""
    rows = db.execute(
        "SELECT DISTINCT user_id, track FROM placement_sessions "
        "WHERE state = 'finished' AND user_id IN (SELECT unnest(?::VARCHAR[]))",
        [list(user_ids)],
    ).fetchall()
    found: dict[str, set[str]] = {}
    for user_id, track in rows:
        found.setdefault(user_id, set()).add(track)
    return found


def evidence_count(db: duckdb.DuckDBPyConnection) -> int:
    """Graded answers on the installation (cheap: for deciding when to recalibrate)."""
    return int(
        db.execute(
            "SELECT (SELECT count(*) FROM practice_log) "
            "+ (SELECT coalesce(sum(question_count), 0) FROM exam_attempts "
            "   WHERE state = 'finished') "
            "+ (SELECT count(*) FROM placement_responses)"
        ).fetchone()[0]
    )


# --- item calibration ----------------------------------------------------------------------


class CalibrationRow(BaseModel):
    id: str
    created_at: datetime
    answers: int
    learners: int
    evidence: int
    seconds: float
    level_means: list[float]


PARAMETER_COLUMNS = ["question_id", "a", "b", "model", "answers"]


def save_calibration(
    db: duckdb.DuckDBPyConnection, row: CalibrationRow, parameters: pd.DataFrame
) -> None:
    """Store a calibration and its item parameters, replacing the previous parameters."""

    def write() -> None:
        db.execute("BEGIN TRANSACTION")
        try:
            db.execute(
                "INSERT INTO item_calibrations VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    row.id,
                    row.created_at,
                    row.answers,
                    row.learners,
                    row.evidence,
                    row.seconds,
                    json.dumps(row.level_means),
                ],
            )
            db.execute("DELETE FROM item_parameters")
            # Lists unnested side by side: one statement, on DuckDB and PostgreSQL alike.
            if len(parameters):
                db.execute(
                    "INSERT INTO item_parameters "
                    "(calibration_id, question_id, a, b, model, answers) "
                    "SELECT ?, unnest(?::VARCHAR[]), unnest(?::DOUBLE PRECISION[]), "
                    "unnest(?::DOUBLE PRECISION[]), unnest(?::VARCHAR[]), unnest(?::INTEGER[])",
                    [row.id, *(parameters[c].tolist() for c in PARAMETER_COLUMNS)],
                )
            db.execute("COMMIT")
        except BaseException:
            rollback(db)
            raise

    retry_on_conflict(write)


def latest_calibration(
    db: duckdb.DuckDBPyConnection,
) -> tuple[CalibrationRow | None, pd.DataFrame]:
    """The newest calibration and its parameters (None and an empty frame before the first)."""
    found = db.execute(
        "SELECT id, created_at, answers, learners, evidence, seconds, level_means "
        "FROM item_calibrations ORDER BY created_at DESC, id DESC LIMIT 1"
    ).fetchone()
    if found is None:
        return None, pd.DataFrame(columns=PARAMETER_COLUMNS)
    values = dict(zip(CalibrationRow.model_fields, found, strict=True))
    values["level_means"] = json.loads(values["level_means"])
    row = CalibrationRow(**values)
    frame = db.execute(
        "SELECT question_id, a, b, model, answers FROM item_parameters "
        "WHERE calibration_id = ? ORDER BY question_id",
        [row.id],
    ).df()
    return row, frame


# --- placement sessions --------------------------------------------------------------------


class PlacementRow(BaseModel):
    id: str
    user_id: str
    track: str
    state: str
    started_at: datetime
    finished_at: datetime | None = None
    theta: float | None = None
    se: float | None = None
    stop_reason: str | None = None


class PlacementAnswer(BaseModel):
    position: int
    question_id: str
    domain: str
    response: Any
    score: float
    answered_at: datetime


_SESSION = list(PlacementRow.model_fields)


def _session(row) -> PlacementRow:
    return PlacementRow(**dict(zip(_SESSION, row, strict=True)))


def open_placement(db: duckdb.DuckDBPyConnection, user_id: str, track: str) -> PlacementRow | None:
    """The profile's open placement in a track, if any."""
    row = db.execute(
        f"SELECT {', '.join('s.' + c for c in _SESSION)} FROM open_placements o "
        "JOIN placement_sessions s ON s.id = o.session_id WHERE o.user_id = ? AND o.track = ?",
        [user_id, track],
    ).fetchone()
    return _session(row) if row else None


def start_placement(db: duckdb.DuckDBPyConnection, row: PlacementRow) -> PlacementRow:
    """Open a placement unless one is open for the profile and track: return the open one."""

    def write() -> PlacementRow:
        db.execute("BEGIN TRANSACTION")
        try:
            existing = open_placement(db, row.user_id, row.track)
            if existing is not None:
                db.execute("COMMIT")
                return existing
            db.execute(
                f"INSERT INTO placement_sessions ({', '.join(_SESSION)}) "
                f"VALUES ({', '.join('?' for _ in _SESSION)})",
                [getattr(row, c) for c in _SESSION],
            )
            db.execute(
                "INSERT INTO open_placements VALUES (?, ?, ?)", [row.user_id, row.track, row.id]
            )
            db.execute("COMMIT")
            return row
        except BaseException:
            rollback(db)
            raise

    return retry_on_conflict(write)


def get_placement(
    db: duckdb.DuckDBPyConnection, session_id: str, user_id: str
) -> PlacementRow | None:
    row = db.execute(
        f"SELECT {', '.join(_SESSION)} FROM placement_sessions WHERE id = ? AND user_id = ?",
        [session_id, user_id],
    ).fetchone()
    return _session(row) if row else None


def placement_answers(db: duckdb.DuckDBPyConnection, session_id: str) -> list[PlacementAnswer]:
    rows = db.execute(
        "SELECT position, question_id, domain, response_json, score, answered_at "
        "FROM placement_responses WHERE session_id = ? ORDER BY position",
        [session_id],
    ).fetchall()
    return [
        PlacementAnswer(
            position=r[0],
            question_id=r[1],
            domain=r[2],
            response=json.loads(r[3]),
            score=r[4],
            answered_at=r[5],
        )
        for r in rows
    ]


def add_placement_answer(
    db: duckdb.DuckDBPyConnection, session_id: str, answer: PlacementAnswer
) -> bool:
    """Record an answer at its position while the session is open; False when the position is
    taken or the session is no longer open (a second click, a stale tab)."""

    def write() -> bool:
        db.execute("BEGIN TRANSACTION")
        try:
            inserted = db.execute(
                "INSERT INTO placement_responses "
                "SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM open_placements "
                "WHERE session_id = ?) ON CONFLICT DO NOTHING RETURNING position",
                [
                    session_id,
                    answer.position,
                    answer.question_id,
                    answer.domain,
                    json.dumps(answer.response),
                    answer.score,
                    answer.answered_at,
                    session_id,
                ],
            ).fetchall()
            db.execute("COMMIT")
            return bool(inserted)
        except BaseException:
            rollback(db)
            raise

    return retry_on_conflict(write)


def finish_placement(
    db: duckdb.DuckDBPyConnection,
    session_id: str,
    theta: float,
    se: float,
    reason: str,
    finished_at: datetime,
) -> None:
    """Close a placement with its result (once: a finished session is left as it is)."""

    def write() -> None:
        db.execute("BEGIN TRANSACTION")
        try:
            db.execute(
                "UPDATE placement_sessions SET state = 'finished', finished_at = ?, theta = ?, "
                "se = ?, stop_reason = ? WHERE id = ? AND state = 'open'",
                [finished_at, theta, se, reason, session_id],
            )
            db.execute("DELETE FROM open_placements WHERE session_id = ?", [session_id])
            db.execute("COMMIT")
        except BaseException:
            rollback(db)
            raise

    retry_on_conflict(write)


def placements(
    db: duckdb.DuckDBPyConnection, user_id: str, track: str | None = None
) -> list[PlacementRow]:
    """The profile's placements (one track, or all), newest first."""
    sql = f"SELECT {', '.join(_SESSION)} FROM placement_sessions WHERE user_id = ?"
    params: list[Any] = [user_id]
    if track is not None:
        sql += " AND track = ?"
        params.append(track)
    rows = db.execute(sql + " ORDER BY started_at DESC, id DESC", params).fetchall()
    return [_session(r) for r in rows]


# --- labs ----------------------------------------------------------------------------------


def lab_passes(
    db: duckdb.DuckDBPyConnection, user_id: str
) -> dict[str, tuple[datetime, datetime, int]]:
    """Lab id -> (first passed check, latest passed check, passed checks) for the profile."""
    rows = db.execute(
        "SELECT lab_id, min(finished_at), max(finished_at), count(*) FROM lab_runs "
        "WHERE user_id = ? AND kind = 'check' AND passed GROUP BY lab_id",
        [user_id],
    ).fetchall()
    return {r[0]: (r[1], r[2], int(r[3])) for r in rows}
