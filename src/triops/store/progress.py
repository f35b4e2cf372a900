"""Lesson completion and visits, per user."""

from __future__ import annotations

from datetime import datetime

import duckdb
from pydantic import BaseModel

from triops.store.connection import retry_on_conflict


class Visit(BaseModel):
    lesson_id: str
    visited_at: datetime


def mark_complete(
    db: duckdb.DuckDBPyConnection, user_id: str, lesson_id: str, now: datetime
) -> None:
    """Record a completion; completing twice keeps the first time."""
    retry_on_conflict(
        lambda: db.execute(
            "INSERT INTO lesson_completions (user_id, lesson_id, completed_at) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            [user_id, lesson_id, now],
        )
    )


def mark_incomplete(db: duckdb.DuckDBPyConnection, user_id: str, lesson_id: str) -> None:
    db.execute(
        "DELETE FROM lesson_completions WHERE user_id = ? AND lesson_id = ?",
        [user_id, lesson_id],
    )


def completed_lessons(db: duckdb.DuckDBPyConnection, user_id: str) -> dict[str, datetime]:
    """Lesson id -> when it was completed."""
    rows = db.execute(
        "SELECT lesson_id, completed_at FROM lesson_completions WHERE user_id = ?", [user_id]
    ).fetchall()
    return {lesson_id: at for lesson_id, at in rows}


def record_visit(
    db: duckdb.DuckDBPyConnection, user_id: str, lesson_id: str, now: datetime
) -> None:
    db.execute(
        "INSERT INTO lesson_visits (user_id, lesson_id, visited_at) VALUES (?, ?, ?)",
        [user_id, lesson_id, now],
    )


def last_visit(db: duckdb.DuckDBPyConnection, user_id: str) -> Visit | None:
    """The most recent lesson the user opened."""
    row = db.execute(
        "SELECT lesson_id, visited_at FROM lesson_visits WHERE user_id = ? "
        "ORDER BY visited_at DESC LIMIT 1",
        [user_id],
    ).fetchone()
    return Visit(lesson_id=row[0], visited_at=row[1]) if row else None


def completions_of(db: duckdb.DuckDBPyConnection, user_ids: list[str]) -> dict[str, set[str]]:
    """User id -> the lesson ids it completed, for these users only (one read for a cohort)."""
    rows = db.execute(
        "SELECT user_id, lesson_id FROM lesson_completions "
        "WHERE user_id IN (SELECT unnest(?::VARCHAR[]))",
        [user_ids],
    ).fetchall()
    found: dict[str, set[str]] = {}
    for user_id, lesson_id in rows:
        found.setdefault(user_id, set()).add(lesson_id)
    return found
