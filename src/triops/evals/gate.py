"""The regression gate and the comparison of two runs.

The gate lives in the config, as a mapping from metric names to rules::

    gate:
      baseline: v1                    # optional: a prompt id or label of this config...
      candidate: v2                   # ...and the prompt that must not regress against it
      pass_rate: {min_delta: 0}       # may not drop
      cost: {max_increase_pct: 10}    # may rise by at most 10 %
      latency_p95_ms: {max: 250}      # within a budget
      groundedness: {min: 0.8}        # at least a threshold

Metrics: pass_rate, score, tokens, tokens_prompt, tokens_completion, cost, latency_p50_ms,
latency_p95_ms, groundedness, answer_relevance, context_recall, abstain_rate (each defined in
triops.evals.runner), or any `metric` name an assertion gives (its mean score).

Rules, with candidate value c and baseline value b (every limit given must hold):

    min: x               c >= x
    max: x               c <= x
    min_delta: x         c - b >= x          (0: may not drop; -0.05: may drop by 0.05)
    max_delta: x         c - b <= x          (0: may not rise)
    max_increase_pct: x  (c - b) / |b| * 100 <= x   (b = 0: c must not exceed 0)
    max_decrease_pct: x  (b - c) / |b| * 100 <= x   (b = 0: c must not fall below 0)

Comparisons allow a tolerance of 1e-9. A rule on a metric the candidate did not measure fails.

What is compared with what:

- `gate.baseline` and `gate.candidate` (two prompts of one config): the candidate prompt's
  column against the baseline prompt's, for each provider. This is how a lab compares v1 and v2.
- `triops eval run CONFIG --compare BASELINE.json`: every column of the run against the column
  of the saved run with the same prompt id and provider label.
- Neither: only the absolute rules (min, max) are checked, on every column; relative rules are
  reported as skipped.

A comparison matches tests by key: the test's description, else its vars (see TestCase.key).
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel

from triops.evals.models import GATE_METRICS, EvalConfig, Gate
from triops.evals.results import EvalRun, GateResult, GateRow, Totals

TOLERANCE = 1e-9
ABSOLUTE = ("min", "max")
NO_BASELINE = "no baseline: give --compare FILE, or gate.baseline and gate.candidate"


def _check(name: str, limit: float, b: float | None, c: float) -> tuple[bool, str]:
    if name == "min":
        return c >= limit - TOLERANCE, f"{c:.6g} vs min {limit:g}"
    if name == "max":
        return c <= limit + TOLERANCE, f"{c:.6g} vs max {limit:g}"
    delta = c - b
    if name == "min_delta":
        return delta >= limit - TOLERANCE, f"change {delta:+.6g} vs min_delta {limit:g}"
    if name == "max_delta":
        return delta <= limit + TOLERANCE, f"change {delta:+.6g} vs max_delta {limit:g}"
    if name == "max_increase_pct":
        pct = delta / abs(b) * 100 if b else (0.0 if c <= 0 else math.inf)
        return pct <= limit + TOLERANCE, f"increase {pct:.3g} % vs max {limit:g} %"
    pct = -delta / abs(b) * 100 if b else (0.0 if c >= 0 else math.inf)
    return pct <= limit + TOLERANCE, f"decrease {pct:.3g} % vs max {limit:g} %"


def evaluate_gate(
    gate: Gate, baseline_totals: Totals | None, candidate_totals: Totals
) -> GateResult:
    """Check every rule of `gate` on the candidate's totals, against the baseline's when given
    (relative rules are skipped without one)."""
    rows = []
    for metric, rule in gate.rules.items():
        c = candidate_totals.value(metric)
        b = baseline_totals.value(metric) if baseline_totals is not None else None
        for name, limit in rule.limits():
            row = GateRow(
                metric=metric,
                rule=f"{name} {limit:g}",
                limit=limit,
                baseline=b,
                candidate=c,
                delta=c - b if c is not None and b is not None else None,
                verdict="fail",
            )
            if name not in ABSOLUTE and baseline_totals is None:
                row.verdict, row.reason = "skipped", NO_BASELINE
            elif c is None:
                row.reason = f"{metric} was not measured in the candidate"
            elif name not in ABSOLUTE and b is None:
                row.reason = f"{metric} was not measured in the baseline"
            else:
                ok, row.reason = _check(name, limit, b, c)
                row.verdict = "pass" if ok else "fail"
            rows.append(row)
    return GateResult(
        baseline=baseline_totals.column if baseline_totals is not None else None,
        candidate=candidate_totals.column,
        rows=rows,
    )


def gate_within(config: EvalConfig, run: EvalRun) -> list[GateResult]:
    """The gate checked within one run: the candidate prompt against the baseline prompt on
    each provider, or (no baseline named) the absolute rules on every column."""
    gate = config.gate
    if gate is None or not gate.rules:
        return []
    if gate.baseline is not None and gate.candidate is not None:
        base, cand = config.prompt(gate.baseline), config.prompt(gate.candidate)
        out = []
        for provider in config.providers:
            b = run.column(base.id, provider.label)
            c = run.column(cand.id, provider.label)
            if b is not None and c is not None:
                out.append(evaluate_gate(gate, b, c))
        return out
    if not any(name in ABSOLUTE for rule in gate.rules.values() for name, _ in rule.limits()):
        return []
    return [evaluate_gate(gate, None, totals) for totals in run.totals]


# --------------------------------------------------------------------------- comparison

COMPARED = (
    "pass_rate",
    "score",
    "tokens",
    "cost",
    "latency_p50_ms",
    "latency_p95_ms",
    "groundedness",
    "answer_relevance",
    "context_recall",
    "abstain_rate",
)


class MetricRow(BaseModel):
    """One metric of one column in both runs, with the gate's rule and verdict if it has one."""

    metric: str
    baseline: float | None = None
    current: float | None = None
    delta: float | None = None
    rule: str = ""
    verdict: str = ""


class TestChange(BaseModel):
    """A test whose status changed between the runs."""

    __test__ = False  # not a pytest class

    key: str
    description: str = ""
    baseline: str
    current: str
    reason: str = ""


class ColumnComparison(BaseModel):
    """One column of the current run against the same column of the baseline run."""

    column: str
    prompt_id: str
    provider_label: str
    metrics: list[MetricRow] = []
    newly_failing: list[TestChange] = []
    newly_passing: list[TestChange] = []
    added: list[str] = []
    """Keys of tests only the current run has."""
    removed: list[str] = []
    """Keys of tests only the baseline run has."""
    gate: GateResult | None = None


class Comparison(BaseModel):
    """The regression report of a run against a saved one."""

    baseline_hash: str = ""
    current_hash: str = ""
    columns: list[ColumnComparison] = []
    unmatched: list[str] = []
    """Columns of the current run that the baseline run does not have."""

    @property
    def same_config(self) -> bool:
        return self.baseline_hash == self.current_hash

    @property
    def passed(self) -> bool:
        """Every gate checked in the comparison held."""
        return all(c.gate.passed for c in self.columns if c.gate is not None)


def compare(baseline_run: EvalRun, current_run: EvalRun, gate: Gate | None = None) -> Comparison:
    """Compare each column of `current_run` with the same column (prompt id and provider label)
    of `baseline_run`: metrics with their deltas, tests newly failing or passing, and the gate
    (when given) checked on every column."""
    out = Comparison(baseline_hash=baseline_run.config_hash, current_hash=current_run.config_hash)
    for cur in current_run.totals:
        base = baseline_run.column(cur.prompt_id, cur.provider_label)
        if base is None:
            out.unmatched.append(cur.column)
            continue
        checked = evaluate_gate(gate, base, cur) if gate is not None and gate.rules else None
        column = ColumnComparison(
            column=cur.column,
            prompt_id=cur.prompt_id,
            provider_label=cur.provider_label,
            metrics=_metric_rows(base, cur, checked),
            gate=checked,
        )
        _test_changes(column, baseline_run, current_run)
        out.columns.append(column)
    return out


def _metric_rows(base: Totals, cur: Totals, checked: GateResult | None) -> list[MetricRow]:
    names = list(COMPARED) + sorted(set(base.metrics) | set(cur.metrics))
    if checked is not None:
        names += [r.metric for r in checked.rows if r.metric not in names]
    rows = []
    for name in dict.fromkeys(names):
        b, c = base.value(name), cur.value(name)
        gated = [r for r in checked.rows if r.metric == name] if checked is not None else []
        if b is None and c is None and not gated:
            continue
        delta = c - b if b is not None and c is not None else None
        for r in gated or [None]:
            rows.append(
                MetricRow(
                    metric=name,
                    baseline=b,
                    current=c,
                    delta=delta,
                    rule=r.rule if r else "",
                    verdict=r.verdict if r else "",
                )
            )
    return rows


def _test_changes(column: ColumnComparison, baseline_run: EvalRun, current_run: EvalRun) -> None:
    def rows(run: EvalRun) -> dict[str, Any]:
        return {
            r.test_key: r
            for r in run.results
            if r.prompt_id == column.prompt_id and r.provider_label == column.provider_label
        }

    before, after = rows(baseline_run), rows(current_run)
    bad = ("fail", "error")
    for key, row in after.items():
        old = before.get(key)
        if old is None:
            column.added.append(key)
            continue
        change = TestChange(
            key=key,
            description=row.description,
            baseline=old.status,
            current=row.status,
            reason=row.reason,
        )
        if old.status == "pass" and row.status in bad:
            column.newly_failing.append(change)
        elif old.status in bad and row.status == "pass":
            column.newly_passing.append(change)
    column.removed = [key for key in before if key not in after]


__all__ = [
    "GATE_METRICS",
    "Comparison",
    "GateResult",
    "GateRow",
    "compare",
    "evaluate_gate",
    "gate_within",
]
