"""Limits on what a call measured: latency (milliseconds) and cost (the price table's currency).
Each needs its threshold, the most the case may take."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from triops.evals.assertions.outcome import EPSILON, Case, Outcome, binary
from triops.evals.assertions.record import AssertionType, Checked, ValueProblem

if TYPE_CHECKING:
    from triops.evals.models import Assertion


def _latency(a: Assertion, value: Any, case: Case) -> Outcome:
    passed = case.latency_ms <= a.threshold + EPSILON
    out = binary(
        passed,
        f"latency {case.latency_ms:.1f} ms > {a.threshold:g} ms",
        f"latency {case.latency_ms:.1f} ms <= {a.threshold:g} ms",
    )
    out.measure, out.threshold = case.latency_ms, a.threshold
    return out


def _cost(a: Assertion, value: Any, case: Case) -> Outcome:
    if case.cost is None:
        return Outcome(False, 0.0, "cost unknown (no price for this provider)")
    passed = case.cost <= a.threshold + EPSILON
    shown = f"cost {case.cost:.6g}"
    out = binary(passed, f"{shown} > {a.threshold:g}", f"{shown} <= {a.threshold:g}")
    out.measure, out.threshold = case.cost, a.threshold
    return out


def _check_limit(name: str, value: Any, threshold: float | None) -> Checked:
    if threshold is None:
        problem = ValueProblem("", f"{name} needs a threshold (the run's totals record {name})")
        return Checked(value, [problem])
    return Checked(value, [])


DEFINITIONS = [
    AssertionType("latency", "none", _latency, _check_limit),
    AssertionType("cost", "none", _cost, _check_limit),
]
