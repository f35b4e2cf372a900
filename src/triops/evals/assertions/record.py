"""The record that describes one assertion type, and the checks its value is put through
when a config loads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from triops.evals.assertions.outcome import Case, Outcome
    from triops.evals.models import Assertion


class ValueProblem(NamedTuple):
    """A value or threshold an assertion type cannot take; `key` is "value", "threshold" or
    "" (the assertion as a whole), for the config's file:line:key."""

    key: str
    message: str


class Checked(NamedTuple):
    """A value checked at load: the value to keep (a comma list split, a schema read) and
    what is wrong with it or with the threshold."""

    value: Any
    problems: list[ValueProblem]


def takes_anything(name: str, value: Any, threshold: float | None) -> Checked:
    """The check of a type whose value may be anything (or nothing)."""
    return Checked(value, [])


@dataclass(frozen=True)
class AssertionType:
    """One assertion type, everything about it in one record (as promptfoo's
    assertionDefinition): its name, the value it takes, the check of that value at load, the
    handler that evaluates an output, the texts it embeds, and what it needs to run.

    `check_value(name, value, threshold)` and `evaluate(assertion, value, case)` may serve
    several names (contains-any and contains-all), so they are given the name or the
    assertion."""

    name: str
    value: str
    """The value's shape: none, text, text or JSON, text list (a comma list splits), texts
    (one or a list), schema (a mapping, YAML text or a file://), question, rubric."""
    evaluate: Callable[[Assertion, Any, Case], Outcome]
    check_value: Callable[[str, Any, float | None], Checked] = takes_anything
    texts_to_encode: Callable[[Assertion, Any, Case], list[str]] | None = None
    """The texts `evaluate` will look up in case.vectors, decided the same way it decides,
    so that a case's texts are encoded in one batch."""
    semantic: bool = False
    """Measured with the embedder (a run needs one)."""
    needs_judge: bool = False
    """Graded by a judge model named by the assertion or the test."""
    aliases: tuple[str, ...] = ()
    """Other names promptfoo gives the same type."""

    def check(self, value: Any, threshold: float | None) -> Checked:
        """The value to keep and the problems of this value and threshold, at config load."""
        return self.check_value(self.name, value, threshold)


# --------------------------------------------------------------------------- value checks


def is_texts(value: Any) -> bool:
    """A non-empty string, or a non-empty list of strings."""
    if isinstance(value, str):
        return bool(value)
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)


def cosine_threshold(name: str, threshold: float | None) -> list[ValueProblem]:
    """A semantic type's threshold is a cosine or a share: within -1 and 1."""
    if threshold is not None and not -1 <= threshold <= 1:
        return [ValueProblem("threshold", f"{name} threshold must be within -1 and 1")]
    return []
