"""Learner profiles: the pages list and create them here (the rows live in triops.store.users)."""

from __future__ import annotations

from datetime import datetime

from triops.store import users
from triops.store.users import User


def all_profiles(db) -> list[User]:
    """Every profile, by name regardless of case."""
    return users.list_users(db)


def create(db, name: str, now: datetime) -> User:
    """A new learner profile; InvalidInputError names what is wrong with the name (empty, too
    long, control characters, or taken regardless of case)."""
    return users.create_user(db, name, now)
