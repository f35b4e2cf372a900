"""The practice log: every practice answer, so missed questions can come back later."""

from __future__ import annotations

from datetime import datetime

import duckdb


def log_answer(
    db: duckdb.DuckDBPyConnection, user_id: str, question_id: str, score: float, now: datetime
) -> None:
    db.execute(
        "INSERT INTO practice_log (user_id, question_id, score, answered_at) VALUES (?, ?, ?, ?)",
        [user_id, question_id, score, now],
    )


def latest_scores(db: duckdb.DuckDBPyConnection, user_id: str) -> dict[str, tuple[float, datetime]]:
    """Question id -> (its latest score, when) for this user."""
    # row_number() rather than DuckDB's arg_max, which PostgreSQL lacks.
    rows = db.execute(
        "SELECT question_id, score, answered_at FROM (SELECT question_id, score, answered_at, "
        "row_number() OVER (PARTITION BY question_id ORDER BY answered_at DESC) AS n "
        "FROM practice_log WHERE user_id = ?) AS latest WHERE n = 1",
        [user_id],
    ).fetchall()
    return {q: (s, at) for q, s, at in rows}


def answer_counts(
    db: duckdb.DuckDBPyConnection, user_ids: list[str], since: datetime
) -> dict[str, tuple[int, int]]:
    """User id -> (practice answers since `since`, practice answers in all), for these users
    only; a user with none is absent."""
    rows = db.execute(
        "SELECT user_id, count(*) FILTER (WHERE answered_at >= ?), count(*) FROM practice_log "
        "WHERE user_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY user_id",
        [since, user_ids],
    ).fetchall()
    return {r[0]: (int(r[1]), int(r[2])) for r in rows}
