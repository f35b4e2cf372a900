"""Errors that carry a message a user can act on; one guard in triops.ui renders them."""

from __future__ import annotations


class TriopsError(Exception):
    """Base class: `user_message` is shown to the user as it is."""

    def __init__(self, user_message: str):
        super().__init__(user_message)
        self.user_message = user_message


class NotFoundError(TriopsError):
    """A lesson, profile or other named thing does not exist."""


class InvalidInputError(TriopsError):
    """Input from a user or a file that cannot be accepted."""


class StoreError(TriopsError):
    """The learner-state database cannot be opened or migrated."""
