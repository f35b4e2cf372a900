"""Passwords, emails and failed sign-ins of the users who sign in (TRIOPS_SIGN_IN=password).

A user is a row of `users` (the same rows local profiles use); an account adds a password hash
and an optional email. Hashing and the lockout policy live in triops.accounts."""

from __future__ import annotations

from datetime import datetime

import duckdb
from pydantic import BaseModel

from triops.store import users
from triops.store.connection import retry_on_conflict, rollback
from triops.store.users import Role, User


class Account(BaseModel):
    """A user and what signing in needs, without the hash."""

    id: str
    name: str
    role: Role
    email: str | None
    has_password: bool
    password_set_at: datetime | None
    created_at: datetime


class Failures(BaseModel):
    """Consecutive failed sign-ins under one typed name."""

    failures: int
    last_failed_at: datetime
    locked_until: datetime | None


_SELECT = (
    "SELECT u.id, u.name, u.role, a.email, a.password_hash IS NOT NULL, a.password_set_at, "
    "u.created_at FROM users u LEFT JOIN accounts a ON a.user_id = u.id"
)


def _account(row) -> Account:
    keys = ("id", "name", "role", "email", "has_password", "password_set_at", "created_at")
    return Account(**dict(zip(keys, row, strict=True)))


def get_account(db: duckdb.DuckDBPyConnection, user_id: str) -> Account | None:
    row = db.execute(f"{_SELECT} WHERE u.id = ?", [user_id]).fetchone()
    return _account(row) if row else None


def find_by_email(db: duckdb.DuckDBPyConnection, email_key: str) -> Account | None:
    row = db.execute(f"{_SELECT} WHERE a.email_key = ?", [email_key]).fetchone()
    return _account(row) if row else None


def list_accounts(db: duckdb.DuckDBPyConnection) -> list[Account]:
    return [_account(r) for r in db.execute(f"{_SELECT} ORDER BY u.name_key").fetchall()]


def password_hash(db: duckdb.DuckDBPyConnection, user_id: str) -> str | None:
    row = db.execute("SELECT password_hash FROM accounts WHERE user_id = ?", [user_id]).fetchone()
    return row[0] if row else None


def count_role(db: duckdb.DuckDBPyConnection, role: Role) -> int:
    return db.execute("SELECT count(*) FROM users WHERE role = ?", [role]).fetchone()[0]


def create(
    db: duckdb.DuckDBPyConnection,
    name: str,
    *,
    role: Role,
    email: str | None,
    email_key: str | None,
    hashed: str,
    now: datetime,
) -> User:
    """A new user with its account, both or neither."""

    def write() -> User:
        db.execute("BEGIN TRANSACTION")
        try:
            user = users.create_user(db, name, now, role)
            db.execute(
                "INSERT INTO accounts (user_id, email, email_key, password_hash, "
                "password_set_at, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                [user.id, email, email_key, hashed, now, now],
            )
            db.execute("COMMIT")
        except BaseException:
            rollback(db)
            raise
        return user

    return retry_on_conflict(write)


def set_password(db: duckdb.DuckDBPyConnection, user_id: str, hashed: str, now: datetime) -> None:
    """Store a new hash (a profile without an account gets one)."""

    def write() -> None:
        if password_hash(db, user_id) is None:
            db.execute(
                "INSERT INTO accounts (user_id, password_hash, password_set_at, created_at) "
                "VALUES (?, ?, ?, ?)",
                [user_id, hashed, now, now],
            )
        else:
            db.execute(
                "UPDATE accounts SET password_hash = ?, password_set_at = ? WHERE user_id = ?",
                [hashed, now, user_id],
            )

    retry_on_conflict(write)


def replace_hash(db: duckdb.DuckDBPyConnection, user_id: str, hashed: str) -> None:
    """A rehash with newer parameters of the same password (its set time stays)."""
    retry_on_conflict(
        lambda: db.execute(
            "UPDATE accounts SET password_hash = ? WHERE user_id = ?", [hashed, user_id]
        )
    )


def set_role(db: duckdb.DuckDBPyConnection, user_id: str, role: Role) -> None:
    retry_on_conflict(lambda: db.execute("UPDATE users SET role = ? WHERE id = ?", [role, user_id]))


def failures(db: duckdb.DuckDBPyConnection, login_key: str) -> Failures | None:
    row = db.execute(
        "SELECT failures, last_failed_at, locked_until FROM sign_in_failures WHERE login_key = ?",
        [login_key],
    ).fetchone()
    return Failures(failures=row[0], last_failed_at=row[1], locked_until=row[2]) if row else None


def record_failure(
    db: duckdb.DuckDBPyConnection,
    login_key: str,
    now: datetime,
    *,
    lock_after: int,
    locked_until: datetime,
) -> Failures:
    """Count one more failure; the `lock_after`-th in a row locks the name until `locked_until`.

    A count whose lock has run out starts again from one."""

    def write() -> Failures:
        before = failures(db, login_key)
        count = 1
        if before is not None and not (before.locked_until and before.locked_until <= now):
            count = before.failures + 1
        lock = locked_until if count >= lock_after else None
        db.execute(
            "INSERT INTO sign_in_failures (login_key, failures, last_failed_at, locked_until) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (login_key) DO UPDATE SET "
            "failures = excluded.failures, last_failed_at = excluded.last_failed_at, "
            "locked_until = excluded.locked_until",
            [login_key, count, now, lock],
        )
        return Failures(failures=count, last_failed_at=now, locked_until=lock)

    return retry_on_conflict(write)


def clear_failures(db: duckdb.DuckDBPyConnection, login_key: str) -> None:
    if failures(db, login_key) is not None:
        retry_on_conflict(
            lambda: db.execute("DELETE FROM sign_in_failures WHERE login_key = ?", [login_key])
        )


class AddressFailures(BaseModel):
    """Failed sign-ins from one client address (any name) since `window_started`."""

    failures: int
    window_started: datetime
    locked_until: datetime | None


def address_failures(db: duckdb.DuckDBPyConnection, address_key: str) -> AddressFailures | None:
    row = db.execute(
        "SELECT failures, window_started, locked_until FROM sign_in_addresses "
        "WHERE address_key = ?",
        [address_key],
    ).fetchone()
    if row is None:
        return None
    return AddressFailures(failures=row[0], window_started=row[1], locked_until=row[2])


def record_address_failure(
    db: duckdb.DuckDBPyConnection,
    address_key: str,
    now: datetime,
    *,
    window_from: datetime,
    lock_after: int,
    locked_until: datetime,
) -> AddressFailures:
    """Count one more failure from an address; the `lock_after`-th since the window began
    locks it until `locked_until`. A window that began before `window_from`, or whose lock has
    run out, starts again from one. A success does not clear the count, so signing in to an
    account of one's own cannot buy more guesses at others."""

    def write() -> AddressFailures:
        before = address_failures(db, address_key)
        fresh = (
            before is None
            or before.window_started < window_from
            or (before.locked_until is not None and before.locked_until <= now)
        )
        count, started = (1, now) if fresh else (before.failures + 1, before.window_started)
        lock = locked_until if count >= lock_after else None
        db.execute(
            "INSERT INTO sign_in_addresses (address_key, failures, window_started, locked_until) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (address_key) DO UPDATE SET "
            "failures = excluded.failures, window_started = excluded.window_started, "
            "locked_until = excluded.locked_until",
            [address_key, count, started, lock],
        )
        return AddressFailures(failures=count, window_started=started, locked_until=lock)

    return retry_on_conflict(write)
