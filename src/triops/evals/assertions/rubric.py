"""llm-rubric: a judge model grades the output against a rubric (the value). The judge is the
assertion's `provider`, else the test's `options.provider`; the runner calls it (see
`triops.evals.assertions.judge` for the prompt and the reply it reads)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from triops.evals.assertions.outcome import EPSILON, Case, Outcome
from triops.evals.assertions.record import AssertionType, Checked, ValueProblem

if TYPE_CHECKING:
    from triops.evals.models import Assertion


def _llm_rubric(a: Assertion, value: Any, case: Case) -> Outcome:
    if case.judge is None:
        return Outcome(False, 0.0, "no judge")
    verdict = case.judge(a, value)
    score = float(verdict.get("score", 1.0 if verdict.get("pass") else 0.0))
    if a.threshold is not None:
        passed = score >= a.threshold - EPSILON
    else:
        passed = bool(verdict.get("pass", score >= 0.5))
    reason = str(verdict.get("reason", "")) or ("passes" if passed else "fails") + " the rubric"
    return Outcome(passed, score, f"judge: {reason}", score, True, a.threshold)


def _check_rubric(name: str, value: Any, threshold: float | None) -> Checked:
    if not isinstance(value, str):
        return Checked(value, [ValueProblem("value", f"{name} needs the rubric as a string")])
    return Checked(value, [])


DEFINITIONS = [AssertionType("llm-rubric", "rubric", _llm_rubric, _check_rubric, needs_judge=True)]
