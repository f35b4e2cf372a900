"""Spaced review: cards, review logs, fitted FSRS parameters and exam dates, per profile.

Every read and write takes the profile's user id and keeps to its rows. Times are naive UTC."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

import duckdb
from pydantic import BaseModel

from triops.store.connection import retry_on_conflict, rollback


class CardRow(BaseModel):
    """A profile's FSRS card for one question, as stored."""

    question_id: str
    track: str
    state: int
    step: int | None
    stability: float
    difficulty: float
    last_review: datetime
    fsrs_due: datetime
    due: datetime
    last_log_id: str


class LogRow(BaseModel):
    """One review of a card: how it was answered, the rating suggested and the one applied."""

    id: str
    question_id: str
    question_type: str
    source: str
    score: float
    seconds: float | None
    suggested: int
    rating: int
    reviewed_at: datetime
    card_before: str | None = None


@dataclass(frozen=True)
class DueColumns:
    """Cards due before a moment, soonest first (then by question id), as columns: the Review
    page reads thousands per view, and one tuple and datetime per card would double its cost."""

    question_id: list[str]
    track: list[str]
    due_us: list[int]  # microseconds since 1970-01-01 (UTC)
    pulled: list[bool]  # due earlier than FSRS's own due, because of an exam date


class Params(BaseModel):
    parameters: list[float]
    reviews: int
    fitted_at: datetime


_CARD = list(CardRow.model_fields)
_LOG = list(LogRow.model_fields)
_CARD_TYPES = [
    "VARCHAR",
    "VARCHAR",
    "SMALLINT",
    "INTEGER",
    "DOUBLE PRECISION",
    "DOUBLE PRECISION",
    "TIMESTAMP",
    "TIMESTAMP",
    "TIMESTAMP",
    "VARCHAR",
]
_LOG_TYPES = [
    "VARCHAR",
    "VARCHAR",
    "VARCHAR",
    "VARCHAR",
    "DOUBLE PRECISION",
    "DOUBLE PRECISION",
    "SMALLINT",
    "SMALLINT",
    "TIMESTAMP",
    "VARCHAR",
]


def _card(row) -> CardRow:
    return CardRow(**dict(zip(_CARD, row, strict=True)))


def _log(row) -> LogRow:
    return LogRow(**dict(zip(_LOG, row, strict=True)))


def get_card(db: duckdb.DuckDBPyConnection, user_id: str, question_id: str) -> CardRow | None:
    row = db.execute(
        f"SELECT {', '.join(_CARD)} FROM review_cards WHERE user_id = ? AND question_id = ?",
        [user_id, question_id],
    ).fetchone()
    return _card(row) if row else None


def cards(db: duckdb.DuckDBPyConnection, user_id: str, track: str | None = None) -> list[CardRow]:
    """The profile's cards (of one track, if given)."""
    rows = db.execute(
        f"SELECT {', '.join(_CARD)} FROM review_cards WHERE user_id = ? "
        "AND (CAST(? AS VARCHAR) IS NULL OR track = ?) ORDER BY question_id",
        [user_id, track, track],
    ).fetchall()
    return [_card(r) for r in rows]


def get_cards(
    db: duckdb.DuckDBPyConnection, user_id: str, question_ids: list[str]
) -> dict[str, CardRow]:
    """Question id -> the profile's card, for those of `question_ids` that have one."""
    rows = db.execute(
        f"SELECT {', '.join(_CARD)} FROM review_cards "
        "WHERE user_id = ? AND question_id IN (SELECT unnest(?::VARCHAR[]))",
        [user_id, question_ids],
    ).fetchall()
    return {r[0]: _card(r) for r in rows}


def get_log(db: duckdb.DuckDBPyConnection, user_id: str, log_id: str) -> LogRow | None:
    row = db.execute(
        f"SELECT {', '.join(_LOG)} FROM review_logs WHERE user_id = ? AND id = ?",
        [user_id, log_id],
    ).fetchone()
    return _log(row) if row else None


def save_reviews(
    db: duckdb.DuckDBPyConnection, user_id: str, rows: list[CardRow], reviews: list[LogRow]
) -> None:
    """Log reviews and store the cards they produced, in one transaction."""
    if not reviews:
        return

    def write() -> None:
        db.execute("BEGIN TRANSACTION")
        try:
            lists = ", ".join(f"unnest(?::{t}[])" for t in _LOG_TYPES)
            db.execute(
                f"INSERT INTO review_logs (user_id, {', '.join(_LOG)}) SELECT ?, {lists}",
                [user_id, *([getattr(r, c) for r in reviews] for c in _LOG)],
            )
            _upsert(db, user_id, rows)
            db.execute("COMMIT")
        except BaseException:
            rollback(db)
            raise

    retry_on_conflict(write)


def override(
    db: duckdb.DuckDBPyConnection, user_id: str, log_id: str, rating: int, card: CardRow
) -> bool:
    """Change the rating of a card's latest review and store the card it now produces.

    False (and nothing changed) when `log_id` is no longer the card's latest review."""

    def write() -> bool:
        db.execute("BEGIN TRANSACTION")
        try:
            changed = db.execute(
                f"UPDATE review_cards SET {', '.join(f'{c} = ?' for c in _CARD[1:])} "
                "WHERE user_id = ? AND question_id = ? AND last_log_id = ?",
                [
                    *(getattr(card, c) for c in _CARD[1:]),
                    user_id,
                    card.question_id,
                    log_id,
                ],
            ).fetchone()[0]
            if changed:
                db.execute(
                    "UPDATE review_logs SET rating = ? WHERE user_id = ? AND id = ?",
                    [rating, user_id, log_id],
                )
            db.execute("COMMIT")
        except BaseException:
            rollback(db)
            raise
        return changed == 1

    return retry_on_conflict(write)


def save_cards(db: duckdb.DuckDBPyConnection, user_id: str, rows: list[CardRow]) -> None:
    """Store many cards at once (after an exam date changes, or a refit)."""
    if not rows:
        return

    def write() -> None:
        db.execute("BEGIN TRANSACTION")
        try:
            _upsert(db, user_id, rows)
            db.execute("COMMIT")
        except BaseException:
            rollback(db)
            raise

    retry_on_conflict(write)


def _upsert(db: duckdb.DuckDBPyConnection, user_id: str, rows: list[CardRow]) -> None:
    # One statement of lists unnested side by side: a VALUES row per card binds ten parameters
    # each, and executemany pays a statement per card.
    columns = ", ".join(_CARD)
    lists = ", ".join(f"unnest(?::{t}[])" for t in _CARD_TYPES)
    updates = ", ".join(f"{c} = excluded.{c}" for c in _CARD[1:])
    db.execute(
        f"INSERT INTO review_cards (user_id, {columns}) SELECT ?, {lists} "
        f"ON CONFLICT (user_id, question_id) DO UPDATE SET {updates}",
        [user_id, *([getattr(r, c) for r in rows] for c in _CARD)],
    )


def due_before(
    db: duckdb.DuckDBPyConnection, user_id: str, until: datetime, pulled: list[str]
) -> DueColumns:
    """The profile's cards due before `until`. A card of a track in `pulled` (those whose exam
    is still ahead) is due at its pulled-forward time, any other at FSRS's own due."""
    cols = db.execute(
        "SELECT question_id, track,"
        " (extract(epoch FROM effective) * 1000000)::BIGINT AS due_us,"
        " effective < fsrs_due AS pulled FROM ("
        " SELECT question_id, track, fsrs_due,"
        " CASE WHEN track IN (SELECT unnest(?::VARCHAR[])) THEN due ELSE fsrs_due END"
        " AS effective FROM review_cards WHERE user_id = ? AND due < ?"
        ") AS cards WHERE effective < ? ORDER BY effective, question_id",
        [pulled, user_id, until, until],
    ).fetchnumpy()
    return DueColumns(*(cols[c].tolist() for c in ("question_id", "track", "due_us", "pulled")))


def next_due(db: duckdb.DuckDBPyConnection, user_id: str, after: datetime) -> datetime | None:
    """When the profile's next card falls due after `after`."""
    row = db.execute(
        "SELECT min(due) FROM review_cards WHERE user_id = ? AND due >= ?", [user_id, after]
    ).fetchone()
    return row[0] if row else None


def count_cards(db: duckdb.DuckDBPyConnection, user_id: str) -> int:
    return db.execute("SELECT count(*) FROM review_cards WHERE user_id = ?", [user_id]).fetchone()[
        0
    ]


def logs(db: duckdb.DuckDBPyConnection, user_id: str) -> list[LogRow]:
    """Every review of the profile, oldest first."""
    rows = db.execute(
        f"SELECT {', '.join(_LOG)} FROM review_logs WHERE user_id = ? "
        "ORDER BY reviewed_at, question_id",
        [user_id],
    ).fetchall()
    return [_log(r) for r in rows]


def card_logs(db: duckdb.DuckDBPyConnection, user_id: str, question_id: str) -> list[LogRow]:
    rows = db.execute(
        f"SELECT {', '.join(_LOG)} FROM review_logs WHERE user_id = ? AND question_id = ? "
        "ORDER BY reviewed_at",
        [user_id, question_id],
    ).fetchall()
    return [_log(r) for r in rows]


def median_seconds(
    db: duckdb.DuckDBPyConnection, question_type: str, user_id: str | None = None
) -> tuple[float | None, int]:
    """The median time to answer a question of this type, and over how many timed answers:
    the profile's own, or everyone's on this installation when `user_id` is None."""
    row = db.execute(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds), count(seconds) "
        "FROM review_logs WHERE question_type = ? AND seconds IS NOT NULL "
        "AND (CAST(? AS VARCHAR) IS NULL OR user_id = ?)",
        [question_type, user_id, user_id],
    ).fetchone()
    return row[0], row[1]


def get_params(db: duckdb.DuckDBPyConnection, user_id: str) -> Params | None:
    row = db.execute(
        "SELECT parameters, reviews, fitted_at FROM review_params WHERE user_id = ?", [user_id]
    ).fetchone()
    if row is None:
        return None
    return Params(parameters=json.loads(row[0]), reviews=row[1], fitted_at=row[2])


def save_params(db: duckdb.DuckDBPyConnection, user_id: str, params: Params | None) -> None:
    """Store the profile's fitted parameters; None goes back to the package's defaults."""

    def write() -> None:
        if params is None:
            db.execute("DELETE FROM review_params WHERE user_id = ?", [user_id])
            return
        db.execute(
            "INSERT INTO review_params (user_id, parameters, reviews, fitted_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET "
            "parameters = excluded.parameters, reviews = excluded.reviews, "
            "fitted_at = excluded.fitted_at",
            [user_id, json.dumps(params.parameters), params.reviews, params.fitted_at],
        )

    retry_on_conflict(write)


def exam_dates(db: duckdb.DuckDBPyConnection, user_id: str) -> dict[str, date]:
    """Track -> the profile's exam date."""
    rows = db.execute(
        "SELECT track, exam_date FROM review_exam_dates WHERE user_id = ?", [user_id]
    ).fetchall()
    return dict(rows)


def set_exam_date(
    db: duckdb.DuckDBPyConnection, user_id: str, track: str, day: date | None, now: datetime
) -> None:
    """Set (or with None, clear) the profile's exam date for a track."""

    def write() -> None:
        if day is None:
            db.execute(
                "DELETE FROM review_exam_dates WHERE user_id = ? AND track = ?", [user_id, track]
            )
            return
        db.execute(
            "INSERT INTO review_exam_dates (user_id, track, exam_date, set_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (user_id, track) DO UPDATE SET "
            "exam_date = excluded.exam_date, set_at = excluded.set_at",
            [user_id, track, day, now],
        )

    retry_on_conflict(write)
