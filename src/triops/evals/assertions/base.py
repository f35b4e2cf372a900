"""What every assertion type shares: the record that describes a type, what an assertion sees
(`Case`), what it decides (`Outcome`, `AssertionResult`) and how a test's verdict follows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic import BaseModel

if TYPE_CHECKING:
    from triops.evals.assertions.vectors import Vectors
    from triops.evals.models import Assertion

EPSILON = 1e-9  # a measure within this of its threshold counts as reaching it


class AssertionResult(BaseModel):
    """The outcome of one assertion on one output."""

    type: str
    """As written, with the not- prefix."""
    status: str
    """pass, fail or skipped."""
    score: float | None = None
    measure: float | None = None
    """The raw measurement: cosine, share of sentences, milliseconds, cost..."""
    threshold: float | None = None
    """The threshold applied (the calibrated default when the config gave none)."""
    weight: float = 1.0
    metric: str | None = None
    value: Any = None
    reason: str = ""

    @property
    def counted(self) -> bool:
        """Whether it takes part in the test's score and verdict."""
        return self.status != "skipped"

    @property
    def passed(self) -> bool:
        return self.status == "pass"


@dataclass
class Case:
    """Everything an assertion may look at for one output."""

    output: str
    prompt: str
    vars: Mapping[str, Any]
    latency_ms: float
    cost: float | None
    context: list[str] | None
    abstained: bool | None
    vectors: Vectors
    judge: Callable[[Assertion, str], dict] | None = None


@dataclass
class Outcome:
    """An assertion's verdict before `not-` is applied."""

    passed: bool
    score: float
    reason: str
    measure: float | None = None
    graded: bool = False
    threshold: float | None = None


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


# --------------------------------------------------------------------------- helpers


def binary(passed: bool, reason_fail: str, reason_pass: str = "") -> Outcome:
    """A yes-or-no verdict: score 1 or 0."""
    return Outcome(passed, 1.0 if passed else 0.0, reason_pass if passed else reason_fail)


def graded(measure: float, threshold: float, what: str) -> Outcome:
    """A measured verdict: the measure is the score; it passes when it reaches the threshold."""
    passed = measure >= threshold - EPSILON
    sign = ">=" if passed else "<"
    return Outcome(
        passed,
        measure,
        f"{what} {measure:.3f} {sign} {threshold:g}",
        measure=measure,
        graded=True,
        threshold=threshold,
    )


def short(text: str, limit: int = 60) -> str:
    """Text on one line, cut to `limit` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


# --------------------------------------------------------------------------- a test's verdict


def case_verdict(results: list[AssertionResult], threshold: float | None) -> tuple[str, float, str]:
    """(status, score, reason) of a test from its assertions' results."""
    counted = [r for r in results if r.counted]
    if not counted:
        if results:
            return "skipped", 1.0, "every assertion was skipped"
        return "pass", 1.0, "no assertions"
    total = sum(r.weight for r in counted)
    score = sum((r.score or 0.0) * r.weight for r in counted) / total if total > 0 else 0.0
    if threshold is not None:
        passed = score >= threshold - EPSILON
        sign = ">=" if passed else "<"
        return ("pass" if passed else "fail"), score, f"score {score:.2f} {sign} {threshold:g}"
    failed = [r for r in counted if not r.passed and r.weight > 0]
    if failed:
        return "fail", score, f"{failed[0].type}: {failed[0].reason}"
    return "pass", score, "all assertions passed"
