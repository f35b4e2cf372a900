"""Learner profiles and small app-level state (the last used profile)."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Literal

import duckdb
from pydantic import BaseModel

from triops.errors import InvalidInputError
from triops.store.connection import retry_on_conflict

Role = Literal["learner", "instructor", "admin"]
MAX_NAME = 60


class User(BaseModel):
    id: str
    name: str
    role: Role
    created_at: datetime


def _row(row) -> User:
    return User(id=row[0], name=row[1], role=row[2], created_at=row[3])


def clean_name(name: str) -> str:
    """A profile name as stored: trimmed, single-spaced, 1-60 printable characters."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidInputError("A profile name cannot be empty.")
    if len(cleaned) > MAX_NAME:
        raise InvalidInputError(f"A profile name has at most {MAX_NAME} characters.")
    if not cleaned.isprintable():
        raise InvalidInputError("A profile name cannot contain control characters.")
    return cleaned


def create_user(
    db: duckdb.DuckDBPyConnection, name: str, now: datetime, role: Role = "learner"
) -> User:
    """Create a profile; names are unique regardless of case."""
    cleaned = clean_name(name)
    if find_by_name(db, cleaned) is not None:
        raise InvalidInputError(f"A profile named '{cleaned}' already exists; pick it instead.")
    user_id = secrets.token_hex(6)
    db.execute(
        "INSERT INTO users (id, name, name_key, role, created_at) VALUES (?, ?, ?, ?, ?)",
        [user_id, cleaned, cleaned.casefold(), role, now],
    )
    return User(id=user_id, name=cleaned, role=role, created_at=now)


def get_user(db: duckdb.DuckDBPyConnection, user_id: str) -> User | None:
    row = db.execute(
        "SELECT id, name, role, created_at FROM users WHERE id = ?", [user_id]
    ).fetchone()
    return _row(row) if row else None


def find_by_name(db: duckdb.DuckDBPyConnection, name: str) -> User | None:
    row = db.execute(
        "SELECT id, name, role, created_at FROM users WHERE name_key = ?",
        [clean_name(name).casefold()],
    ).fetchone()
    return _row(row) if row else None


def list_users(db: duckdb.DuckDBPyConnection) -> list[User]:
    rows = db.execute("SELECT id, name, role, created_at FROM users ORDER BY name_key").fetchall()
    return [_row(r) for r in rows]


def get_state(db: duckdb.DuckDBPyConnection, key: str) -> str | None:
    row = db.execute("SELECT value FROM app_state WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def set_state(db: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    """Upsert a small app-level value; a write racing another session's is retried."""

    def write() -> None:
        if get_state(db, key) == value:
            return
        db.execute(
            "INSERT INTO app_state (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )

    retry_on_conflict(write)
