"""What an assertion sees (`Case`) and decides (`Outcome`, `AssertionResult`), and how a test's
verdict follows from its assertions'."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from triops.evals.assertions.vectors import Vectors
    from triops.evals.models import Assertion

EPSILON = 1e-9  # a measure within this of its threshold counts as reaching it


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
