"""Learner profiles: the pages list and create them here (the rows live in triops.store.users).

An instructor on a class server sees only the learners of the cohorts they created; `scope` is
that instructor's user id, None for everyone (an admin, the local user of one laptop)."""

from __future__ import annotations

from datetime import datetime

from triops.errors import InvalidInputError
from triops.quiz import exam as engine
from triops.store import cohorts as cohort_store
from triops.store import users
from triops.store.users import User

NOT_YOUR_LEARNER = "Not allowed: this learner is in none of your cohorts."


def all_profiles(db) -> list[User]:
    """Every profile, by name regardless of case."""
    return users.list_users(db)


def visible_profiles(db, scope: str | None) -> list[User]:
    """The profiles the scope may see, by name: everyone's for None, else the members of the
    instructor's cohorts."""
    found = users.list_users(db)
    if scope is None:
        return found
    inside = cohort_store.member_ids(db, scope)
    return [u for u in found if u.id in inside]


def set_accommodation(
    db, user_id: str, factor: str, now: datetime, scope: str | None = None
) -> None:
    """Set a learner's time accommodation for every exam they start from now on; refused for a
    learner outside the scope's cohorts."""
    if scope is not None and user_id not in cohort_store.member_ids(db, scope):
        raise InvalidInputError(NOT_YOUR_LEARNER)
    engine.set_accommodation(db, user_id, factor, now)


def create(db, name: str, now: datetime) -> User:
    """A new learner profile; InvalidInputError names what is wrong with the name (empty, too
    long, control characters, or taken regardless of case)."""
    return users.create_user(db, name, now)
