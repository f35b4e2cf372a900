"""Cohorts, their members, assigned exams with their windows, per-assignment accommodations, and
the exam attempts started for an assignment. Rules (windows, allowances, codes) live in
triops.cohorts."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import duckdb
from pydantic import BaseModel

from triops.store.connection import retry_on_conflict
from triops.store.users import Role


class Cohort(BaseModel):
    id: str
    name: str
    join_code: str
    created_at: datetime
    members: int = 0
    created_by: str | None = None  # the instructor who owns it (None: made on the command line)


class Member(BaseModel):
    user_id: str
    name: str
    role: Role
    email: str | None
    joined_at: datetime
    how: str


class Assignment(BaseModel):
    id: str
    cohort_id: str
    exam_id: str
    title: str
    opens_at: datetime
    closes_at: datetime
    attempts_allowed: int
    created_at: datetime


_COHORT = (
    "SELECT c.id, c.name, c.join_code, c.created_at, "
    "(SELECT count(*) FROM cohort_members m WHERE m.cohort_id = c.id), c.created_by FROM cohorts c"
)
_ASSIGNMENT_COLUMNS = list(Assignment.model_fields)
_ASSIGNMENT = f"SELECT {', '.join('a.' + c for c in _ASSIGNMENT_COLUMNS)} FROM assignments a"


def _cohort(row) -> Cohort:
    return Cohort(
        id=row[0],
        name=row[1],
        join_code=row[2],
        created_at=row[3],
        members=row[4],
        created_by=row[5],
    )


def _assignment(row) -> Assignment:
    return Assignment(**dict(zip(_ASSIGNMENT_COLUMNS, row, strict=True)))


def create_cohort(
    db: duckdb.DuckDBPyConnection,
    cohort_id: str,
    name: str,
    join_code: str,
    created_by: str | None,
    now: datetime,
) -> Cohort:
    retry_on_conflict(
        lambda: db.execute(
            "INSERT INTO cohorts (id, name, name_key, join_code, created_by, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [cohort_id, name, name.casefold(), join_code, created_by, now],
        )
    )
    return Cohort(
        id=cohort_id, name=name, join_code=join_code, created_at=now, created_by=created_by
    )


def get_cohort(db: duckdb.DuckDBPyConnection, cohort_id: str) -> Cohort | None:
    row = db.execute(f"{_COHORT} WHERE c.id = ?", [cohort_id]).fetchone()
    return _cohort(row) if row else None


def find_by_name(db: duckdb.DuckDBPyConnection, name: str) -> Cohort | None:
    row = db.execute(f"{_COHORT} WHERE c.name_key = ?", [name.casefold()]).fetchone()
    return _cohort(row) if row else None


def find_by_code(db: duckdb.DuckDBPyConnection, join_code: str) -> Cohort | None:
    row = db.execute(f"{_COHORT} WHERE c.join_code = ?", [join_code]).fetchone()
    return _cohort(row) if row else None


def list_cohorts(db: duckdb.DuckDBPyConnection, owner_id: str | None = None) -> list[Cohort]:
    """Every cohort, or only those `owner_id` created, by name."""
    if owner_id is None:
        return [_cohort(r) for r in db.execute(f"{_COHORT} ORDER BY c.name_key").fetchall()]
    rows = db.execute(f"{_COHORT} WHERE c.created_by = ? ORDER BY c.name_key", [owner_id])
    return [_cohort(r) for r in rows.fetchall()]


def member_ids(db: duckdb.DuckDBPyConnection, owner_id: str) -> set[str]:
    """The users who are members of a cohort `owner_id` created."""
    rows = db.execute(
        "SELECT DISTINCT m.user_id FROM cohort_members m JOIN cohorts c ON c.id = m.cohort_id "
        "WHERE c.created_by = ?",
        [owner_id],
    ).fetchall()
    return {r[0] for r in rows}


def cohorts_of(db: duckdb.DuckDBPyConnection, user_id: str) -> list[Cohort]:
    rows = db.execute(
        f"{_COHORT} WHERE c.id IN (SELECT cohort_id FROM cohort_members WHERE user_id = ?) "
        "ORDER BY c.name_key",
        [user_id],
    ).fetchall()
    return [_cohort(r) for r in rows]


def add_member(
    db: duckdb.DuckDBPyConnection, cohort_id: str, user_id: str, now: datetime, how: str
) -> bool:
    """Add a member; False when the user already was one."""
    return bool(
        retry_on_conflict(
            lambda: db.execute(
                "INSERT INTO cohort_members (cohort_id, user_id, joined_at, how) "
                "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [cohort_id, user_id, now, how],
            ).fetchone()[0]
        )
    )


def is_member(db: duckdb.DuckDBPyConnection, cohort_id: str, user_id: str) -> bool:
    row = db.execute(
        "SELECT 1 FROM cohort_members WHERE cohort_id = ? AND user_id = ?", [cohort_id, user_id]
    ).fetchone()
    return row is not None


def members(db: duckdb.DuckDBPyConnection, cohort_id: str) -> list[Member]:
    rows = db.execute(
        "SELECT u.id, u.name, u.role, a.email, m.joined_at, m.how FROM cohort_members m "
        "JOIN users u ON u.id = m.user_id LEFT JOIN accounts a ON a.user_id = u.id "
        "WHERE m.cohort_id = ? ORDER BY u.name_key",
        [cohort_id],
    ).fetchall()
    keys = ("user_id", "name", "role", "email", "joined_at", "how")
    return [Member(**dict(zip(keys, r, strict=True))) for r in rows]


def create_assignment(db: duckdb.DuckDBPyConnection, row: Assignment, created_by: str | None):
    retry_on_conflict(
        lambda: db.execute(
            f"INSERT INTO assignments ({', '.join(_ASSIGNMENT_COLUMNS)}, created_by) "
            f"VALUES ({', '.join('?' for _ in _ASSIGNMENT_COLUMNS)}, ?)",
            [getattr(row, c) for c in _ASSIGNMENT_COLUMNS] + [created_by],
        )
    )


def get_assignment(db: duckdb.DuckDBPyConnection, assignment_id: str) -> Assignment | None:
    row = db.execute(f"{_ASSIGNMENT} WHERE a.id = ?", [assignment_id]).fetchone()
    return _assignment(row) if row else None


def assignments(db: duckdb.DuckDBPyConnection, cohort_id: str) -> list[Assignment]:
    rows = db.execute(
        f"{_ASSIGNMENT} WHERE a.cohort_id = ? ORDER BY a.closes_at, a.title", [cohort_id]
    ).fetchall()
    return [_assignment(r) for r in rows]


def assignments_for(db: duckdb.DuckDBPyConnection, user_id: str) -> list[Assignment]:
    """The assignments of every cohort the user is a member of, soonest closing first."""
    rows = db.execute(
        f"{_ASSIGNMENT} JOIN cohort_members m ON m.cohort_id = a.cohort_id "
        "WHERE m.user_id = ? ORDER BY a.closes_at, a.title",
        [user_id],
    ).fetchall()
    return [_assignment(r) for r in rows]


def accommodation(db: duckdb.DuckDBPyConnection, assignment_id: str, user_id: str) -> str | None:
    """The learner's accommodation for this assignment, None when none was set for it."""
    row = db.execute(
        "SELECT factor FROM assignment_accommodations WHERE assignment_id = ? AND user_id = ?",
        [assignment_id, user_id],
    ).fetchone()
    return row[0] if row else None


def accommodations_set(db: duckdb.DuckDBPyConnection, assignment_id: str) -> dict[str, str]:
    """The accommodations set for this assignment, by user id (only those set)."""
    rows = db.execute(
        "SELECT user_id, factor FROM assignment_accommodations WHERE assignment_id = ?",
        [assignment_id],
    ).fetchall()
    return dict(rows)


def set_accommodation(
    db: duckdb.DuckDBPyConnection, assignment_id: str, user_id: str, factor: str, now: datetime
) -> None:
    retry_on_conflict(
        lambda: db.execute(
            "INSERT INTO assignment_accommodations (assignment_id, user_id, factor, set_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (assignment_id, user_id) DO UPDATE SET "
            "factor = excluded.factor, set_at = excluded.set_at",
            [assignment_id, user_id, factor, now],
        )
    )


def link_attempt(
    db: duckdb.DuckDBPyConnection, attempt_id: str, assignment_id: str, user_id: str
) -> None:
    retry_on_conflict(
        lambda: db.execute(
            "INSERT INTO assignment_attempts (attempt_id, assignment_id, user_id) "
            "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [attempt_id, assignment_id, user_id],
        )
    )


def assignment_of(db: duckdb.DuckDBPyConnection, attempt_id: str) -> str | None:
    row = db.execute(
        "SELECT assignment_id FROM assignment_attempts WHERE attempt_id = ?", [attempt_id]
    ).fetchone()
    return row[0] if row else None


def attempt_ids(
    db: duckdb.DuckDBPyConnection, assignment_id: str, user_id: str | None = None
) -> list[tuple[str, str]]:
    """(user id, attempt id) of the attempts started for an assignment, oldest first."""
    sql = (
        "SELECT l.user_id, l.attempt_id FROM assignment_attempts l "
        "JOIN exam_attempts e ON e.id = l.attempt_id WHERE l.assignment_id = ?"
    )
    params: list = [assignment_id]
    if user_id is not None:
        sql += " AND l.user_id = ?"
        params.append(user_id)
    return [(r[0], r[1]) for r in db.execute(sql + " ORDER BY e.started_at", params).fetchall()]


class AttemptResult(NamedTuple):
    """One attempt of an assigned exam as the gradebook reads it (a tuple: a class of 500 has
    thousands of these per gradebook read)."""

    assignment_id: str
    user_id: str
    attempt_id: str
    state: str
    started_at: datetime
    deadline: datetime | None
    grace_until: datetime | None
    score: float | None
    passed: bool | None
    domains_json: str | None
    """The result's per-domain list (JSON), read out of the attempt's result in SQL."""


def cohort_attempts(db: duckdb.DuckDBPyConnection, cohort_id: str) -> list[AttemptResult]:
    """Every attempt started for an assignment of the cohort, oldest first."""
    rows = db.execute(
        "SELECT l.assignment_id, l.user_id, e.id, e.state, e.started_at, e.deadline, "
        "e.grace_until, e.score, e.passed, "
        "CAST(CAST(e.result_json AS JSON) -> 'domains' AS VARCHAR) "
        "FROM assignment_attempts l "
        "JOIN assignments a ON a.id = l.assignment_id JOIN exam_attempts e ON e.id = l.attempt_id "
        "WHERE a.cohort_id = ? ORDER BY e.started_at",
        [cohort_id],
    ).fetchall()
    return [AttemptResult._make(r) for r in rows]
