"""Reads for item analysis (submitted attempts, their snapshots, answers, scores and times; the
practice log) and the bulk writes of the simulated-candidates demo database.

Every read returns a pandas frame: the analysis is vectorised over them (see
triops.quiz.analysis)."""

from __future__ import annotations

import json
from typing import Any

import duckdb
import pandas as pd

from triops.store.connection import rollback
from triops.store.schema import dialect

SIMULATED_KEY = "simulated_items"

# Submitted attempts: 'finished' is the only state with a grade (an abandoned attempt is never
# graded, an open one is not over).
_ATTEMPTS = (
    "SELECT id, exam_id, user_id, started_at, finished_at, result_json FROM exam_attempts "
    "WHERE state = 'finished' AND result_json IS NOT NULL"
)


def _where_exam(exam_id: str | None) -> tuple[str, list[Any]]:
    return (" AND exam_id = ?", [exam_id]) if exam_id is not None else ("", [])


def exam_ids(db: duckdb.DuckDBPyConnection) -> list[str]:
    """Exams with at least one submitted attempt."""
    rows = db.execute(
        f"SELECT DISTINCT exam_id FROM ({_ATTEMPTS}) AS s ORDER BY exam_id"
    ).fetchall()
    return [r[0] for r in rows]


def fingerprint(db: duckdb.DuckDBPyConnection) -> tuple[int, str, int]:
    """Cheap change detector for caches: submitted attempts, the latest finish, practice rows."""
    attempts, latest = db.execute(
        f"SELECT count(*), coalesce(max(finished_at)::VARCHAR, '') FROM ({_ATTEMPTS}) AS s"
    ).fetchone()
    practice = db.execute("SELECT count(*) FROM practice_log").fetchone()[0]
    return attempts, latest, practice


def submitted_attempts(db: duckdb.DuckDBPyConnection, exam_id: str | None = None) -> pd.DataFrame:
    """One row per submitted attempt: attempt_id, exam_id, user_id, started_at, finished_at."""
    where, params = _where_exam(exam_id)
    return db.execute(
        "SELECT id AS attempt_id, exam_id, user_id, started_at, finished_at "
        f"FROM ({_ATTEMPTS}) AS s WHERE true{where} ORDER BY started_at, id",
        params,
    ).df()


def attempt_items(db: duckdb.DuckDBPyConnection, exam_id: str | None = None) -> pd.DataFrame:
    """One row per question of every submitted attempt.

    Columns: attempt_id, exam_id, position, question_id, track, snap (a hash of the stored
    snapshot, to look it up in `snapshots`), score (as graded at submission, 0..1), scored (False
    for an item the result marks unscored, e.g. a pilot item), answered (the latest saved answer
    is not empty), choice (a single-choice answer: the option's authored index), choices (a
    multiple-response answer: authored indices), truth (a true/false answer), seconds (see
    below).

    `seconds` is measured from answer saves, the only timestamps stored: each save of an answer is
    credited with the time since the previous save in the same attempt (any question), or since
    the attempt started for its first save; an item's time is the sum over its saves. Time spent
    reading an item that was never answered is credited to the next answer saved; an unanswered
    item has no time (NULL)."""
    where, params = _where_exam(exam_id)
    if dialect(db) == "postgres":
        return db.execute(_POSTGRES_ITEMS.format(attempts=_ATTEMPTS, where=where), params).df()
    sql = f"""
    WITH a AS (SELECT * FROM ({_ATTEMPTS}) WHERE true{where}),
    graded AS (
        SELECT id AS attempt_id, exam_id,
               unnest(from_json(result_json -> '$.questions', '["JSON"]')) AS q
        FROM a
    ),
    scores AS (
        SELECT attempt_id, exam_id,
               CAST(q ->> 'position' AS INTEGER) AS position,
               CAST(q ->> 'score' AS DOUBLE) AS score,
               NOT (coalesce(TRY_CAST(q ->> 'scored' AS BOOLEAN), true) = false
                    OR coalesce(TRY_CAST(q ->> 'pilot' AS BOOLEAN), false)) AS scored
        FROM graded
    ),
    saves AS (
        SELECT r.attempt_id, r.position, r.response_json, r.saved_at, r.rowid AS rid,
               epoch(r.saved_at) - epoch(coalesce(
                   lag(r.saved_at) OVER (PARTITION BY r.attempt_id ORDER BY r.saved_at, r.rowid),
                   a.started_at)) AS gap
        FROM attempt_responses r JOIN a ON a.id = r.attempt_id
    ),
    timed AS (
        SELECT attempt_id, position, sum(gap) AS seconds FROM saves GROUP BY ALL
    ),
    latest AS (
        SELECT attempt_id, position, response_json FROM saves
        QUALIFY row_number() OVER (
            PARTITION BY attempt_id, position ORDER BY saved_at DESC, rid DESC) = 1
    )
    SELECT s.attempt_id, s.exam_id, s.position, aq.question_id, aq.track,
           (hash(aq.snapshot_json) >> 1)::BIGINT AS snap, s.score, s.scored,
           (l.response_json IS NOT NULL AND l.response_json <> 'null') AS answered,
           TRY_CAST(l.response_json AS INTEGER) AS choice,
           CASE WHEN starts_with(l.response_json, '[')
                THEN TRY_CAST(from_json(l.response_json, '["INTEGER"]') AS INTEGER[]) END
               AS choices,
           CASE l.response_json WHEN 'true' THEN true WHEN 'false' THEN false END AS truth,
           CASE WHEN l.response_json IS NOT NULL AND l.response_json <> 'null'
                THEN t.seconds END AS seconds
    FROM scores s
    JOIN attempt_questions aq ON aq.attempt_id = s.attempt_id AND aq.position = s.position
    LEFT JOIN latest l ON l.attempt_id = s.attempt_id AND l.position = s.position
    LEFT JOIN timed t ON t.attempt_id = s.attempt_id AND t.position = s.position
    ORDER BY s.attempt_id, s.position
    """
    return db.execute(sql, params).df()


# attempt_items in PostgreSQL's words: jsonb_array_elements for from_json, a pattern match
# before a cast for TRY_CAST, a row_number() subquery for QUALIFY, extract(epoch) for epoch,
# hashtextextended for hash, and the `rowid` identity column of its migration 0002.
_POSTGRES_ITEMS = r"""
    WITH a AS (SELECT * FROM ({attempts}) AS s WHERE true{where}),
    graded AS (
        SELECT id AS attempt_id, exam_id, q
        FROM a, jsonb_array_elements(CAST(result_json AS JSONB) -> 'questions') AS q
    ),
    scores AS (
        SELECT attempt_id, exam_id,
               CAST(q ->> 'position' AS INTEGER) AS position,
               CAST(q ->> 'score' AS DOUBLE PRECISION) AS score,
               NOT (coalesce(q ->> 'scored', 'true') = 'false'
                    OR coalesce(q ->> 'pilot', 'false') = 'true') AS scored
        FROM graded
    ),
    saves AS (
        SELECT r.attempt_id, r.position, r.response_json, r.saved_at, r.rowid AS rid,
               extract(epoch FROM r.saved_at) - extract(epoch FROM coalesce(
                   lag(r.saved_at) OVER (PARTITION BY r.attempt_id ORDER BY r.saved_at, r.rowid),
                   a.started_at)) AS gap
        FROM attempt_responses r JOIN a ON a.id = r.attempt_id
    ),
    timed AS (
        SELECT attempt_id, position, sum(gap) AS seconds FROM saves GROUP BY attempt_id, position
    ),
    latest AS (
        SELECT attempt_id, position, response_json FROM (
            SELECT attempt_id, position, response_json, row_number() OVER (
                PARTITION BY attempt_id, position ORDER BY saved_at DESC, rid DESC) AS n
            FROM saves
        ) AS ranked WHERE n = 1
    )
    SELECT s.attempt_id, s.exam_id, s.position, aq.question_id, aq.track,
           hashtextextended(aq.snapshot_json, 0) AS snap, s.score, s.scored,
           (l.response_json IS NOT NULL AND l.response_json <> 'null') AS answered,
           CASE WHEN l.response_json ~ '^-?[0-9]{{1,9}}$'
                THEN CAST(l.response_json AS INTEGER) END AS choice,
           CASE WHEN l.response_json ~ '^\[\s*(-?[0-9]{{1,9}}\s*(,\s*-?[0-9]{{1,9}}\s*)*)?\]$'
                THEN ARRAY(SELECT CAST(x AS INTEGER) FROM jsonb_array_elements_text(
                    CAST(l.response_json AS JSONB)) AS x) END AS choices,
           CASE l.response_json WHEN 'true' THEN true WHEN 'false' THEN false END AS truth,
           CASE WHEN l.response_json IS NOT NULL AND l.response_json <> 'null'
                THEN t.seconds END AS seconds
    FROM scores s
    JOIN attempt_questions aq ON aq.attempt_id = s.attempt_id AND aq.position = s.position
    LEFT JOIN latest l ON l.attempt_id = s.attempt_id AND l.position = s.position
    LEFT JOIN timed t ON t.attempt_id = s.attempt_id AND t.position = s.position
    ORDER BY s.attempt_id, s.position
"""


def snapshots(db: duckdb.DuckDBPyConnection, exam_id: str | None = None) -> dict[int, dict]:
    """The distinct question snapshots of submitted attempts, by the hash `attempt_items` gives."""
    where, params = _where_exam(exam_id)
    snap = (
        "hashtextextended(snapshot_json, 0)"
        if dialect(db) == "postgres"
        else "(hash(snapshot_json) >> 1)::BIGINT"
    )
    rows = db.execute(
        f"SELECT {snap} AS snap, min(snapshot_json) FROM attempt_questions "
        f"WHERE attempt_id IN (SELECT id FROM ({_ATTEMPTS}) AS s WHERE true{where}) GROUP BY 1",
        params,
    ).fetchall()
    return {int(h): json.loads(s) for h, s in rows}


def practice_answers(db: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every practice answer: user_id, question_id, score, answered_at."""
    return db.execute(
        "SELECT user_id, question_id, score, answered_at FROM practice_log "
        "ORDER BY answered_at, user_id"
    ).df()


def simulated_marker(db: duckdb.DuckDBPyConnection) -> dict | None:
    """The marker row of a simulated-candidates database, or None for real learner state."""
    row = db.execute("SELECT value FROM app_state WHERE key = ?", [SIMULATED_KEY]).fetchone()
    return json.loads(row[0]) if row else None


def write_simulated(
    db: duckdb.DuckDBPyConnection,
    marker: dict | None,
    users: pd.DataFrame,
    attempts: pd.DataFrame,
    questions: pd.DataFrame,
    responses: pd.DataFrame,
) -> None:
    """Write part of a simulated cohort in one transaction; the first part brings the marker
    row that labels the database as simulated.

    The frames carry columns of users, exam_attempts, attempt_questions and attempt_responses
    (see the 0001 and 0002 migrations)."""
    db.execute("BEGIN TRANSACTION")
    try:
        if marker is not None:
            db.execute(
                "INSERT INTO app_state (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [SIMULATED_KEY, json.dumps(marker)],
            )
        for table, frame in (
            ("users", users),
            ("exam_attempts", attempts),
            ("attempt_questions", questions),
            ("attempt_responses", responses),
        ):
            db.register("_simulated", frame)
            try:
                columns = ", ".join(frame.columns)
                db.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _simulated")
            finally:
                db.unregister("_simulated")
        db.execute("COMMIT")
    except BaseException:
        rollback(db)
        raise


def has_rows(db: duckdb.DuckDBPyConnection) -> bool:
    """Whether the database already holds profiles or attempts (a demo file is written once)."""
    users, attempts = db.execute(
        "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM exam_attempts)"
    ).fetchone()
    return bool(users or attempts)
