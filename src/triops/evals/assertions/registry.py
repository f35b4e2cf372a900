"""Every assertion type Triops runs, by name: the one table the config loader, the models and
the runner read (promptfoo's ASSERTION_DEFINITIONS)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from triops.evals.assertions import json_checks, measured, rubric, semantic, strings
from triops.evals.assertions.outcome import AssertionResult, Case
from triops.evals.assertions.record import AssertionType
from triops.evals.text import render_value

if TYPE_CHECKING:
    from triops.evals.models import Assertion

# In the order error messages have always listed them.
ASSERTION_DEFINITIONS: dict[str, AssertionType] = {
    d.name: d
    for d in [
        *strings.DEFINITIONS,
        *json_checks.DEFINITIONS,
        semantic.SIMILAR,
        *measured.DEFINITIONS,
        *semantic.RAG,
        *rubric.DEFINITIONS,
    ]
}
ASSERTION_TYPES = tuple(ASSERTION_DEFINITIONS)
SEMANTIC = tuple(d.name for d in ASSERTION_DEFINITIONS.values() if d.semantic)
ALIASES = {alias: d.name for d in ASSERTION_DEFINITIONS.values() for alias in d.aliases}


def evaluate(assertion: Assertion, case: Case) -> AssertionResult:
    """Run one assertion on one output."""
    base = AssertionResult(
        type=assertion.name,
        status="skipped",
        weight=assertion.weight,
        metric=assertion.metric,
        value=assertion.value,
        threshold=assertion.threshold,
    )
    if assertion.skip:
        return base.model_copy(update={"reason": assertion.skip})
    value = render_value(assertion.value, case.vars)
    outcome = ASSERTION_DEFINITIONS[assertion.type].evaluate(assertion, value, case)
    passed, score = outcome.passed, outcome.score
    reason = outcome.reason
    if assertion.negate:
        passed = not passed
        score = 1.0 - score if outcome.graded else float(passed)
        reason = f"not: {reason}"
    return base.model_copy(
        update={
            "status": "pass" if passed else "fail",
            "score": max(0.0, min(1.0, score)),
            "measure": outcome.measure,
            "threshold": outcome.threshold,
            "value": value,
            "reason": reason,
        }
    )


def texts_to_encode(assertion: Assertion, case: Case) -> list[str]:
    """The texts an assertion will look up in case.vectors (its type decides), so that a
    case's assertions can be encoded in one batch."""
    definition = ASSERTION_DEFINITIONS.get(assertion.type)
    if assertion.skip or definition is None or definition.texts_to_encode is None:
        return []
    try:
        value = render_value(assertion.value, case.vars)
    except ValueError:
        return []  # evaluate() reports it
    return definition.texts_to_encode(assertion, value, case)
