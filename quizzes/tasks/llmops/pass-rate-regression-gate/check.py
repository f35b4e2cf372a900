"""Check of llmops/pass-rate-regression-gate: v2 gated against v1; a lower pass rate stops it.

The candidate's own run must gate v2 against v1 and stop it (v2 passes 6 of 8 tests, v1 all 8).
Then the check replaces tests.yaml with two eval sets of its own, as if from other shadow runs,
and reruns the candidate's config on each: `regressed` (v1 passes 10 of 10, v2 9 of 10: a pass
rate of 0.9, high in absolute terms but lower than the baseline's) and `even` (each version
fails one different test: 0.9 each, no regression). Only string assertions: no model is loaded.
"""

from __future__ import annotations

import json

import yaml

RESULTS = "eval/results.json"
TESTS = "tests.yaml"

FACTS = [
    ("refund", "My train was cancelled. Can I get my money back?", "full refund"),
    ("delay", "My train was 70 minutes late. Do I get anything?", "25 percent"),
    ("bikes", "Can I take my bike on the intercity?", "bike reservation"),
    ("children", "Does my 4-year-old need a ticket?", "under 6"),
    ("seat", "How much is a seat reservation?", "5.20 EUR"),
    ("pets", "Can my dog come with me?", "half-price ticket"),
    ("luggage", "How many suitcases can I bring?", "carry yourself"),
    ("night train", "Is there a night train to Vienna?", "Nightjet"),
    ("wifi", "Is there wifi on board?", "free wifi"),
    ("lost property", "I left my bag on the train. What now?", "lost property form"),
]


def eval_set(v1_misses: str | None, v2_misses: str | None) -> str:
    """tests.yaml text: every answer holds its fact except the named test's, per version."""
    tests = []
    for name, question, fact in FACTS:
        good = f"The answer is: {fact}, as the conditions of carriage say."
        vague = "Please check the conditions of carriage on our website."
        tests.append(
            {
                "description": f"{name}",
                "vars": {
                    "question": question,
                    "answer_v1": vague if name == v1_misses else good,
                    "answer_v2": vague if name == v2_misses else good,
                },
                "assert": [{"type": "icontains", "value": fact}],
            }
        )
    return yaml.safe_dump(tests, sort_keys=False, width=1000)


REGRESSED = eval_set(None, "wifi")
EVEN = eval_set("seat", "pets")


def _gates(run) -> tuple[list[dict] | None, str]:
    text = run.artifact_text(RESULTS)
    if text is None:
        reasons = (run.report or {}).get("reasons") or [(run.report or {}).get("message")]
        return None, f"the eval run left no results ({'; '.join(str(r) for r in reasons if r)})"
    try:
        gates = json.loads(text).get("gates")
    except (ValueError, AttributeError):
        return None, "the eval run's results are not readable"
    return [g for g in gates or [] if isinstance(g, dict)], ""


def _v2_gate(gates: list[dict]) -> dict | None:
    return next((g for g in gates if str(g.get("candidate", "")).startswith("v2 /")), None)


def _pass_rate_verdict(gate: dict | None) -> str:
    rows = [r for r in (gate or {}).get("rows") or [] if r.get("metric") == "pass_rate"]
    if not rows:
        return "missing"
    if any(r.get("verdict") == "fail" for r in rows):
        return "fail"
    if all(r.get("verdict") == "skipped" for r in rows):
        return "skipped"
    return "pass"


def gate_compares_v2_with_v1(ctx):
    gates, problem = _gates(ctx.run())
    if problem:
        return False, problem
    gate = _v2_gate(gates)
    if gate is None:
        return False, "the run has no gate with v2 as its candidate"
    baseline = gate.get("baseline")
    if not str(baseline or "").startswith("v1 /"):
        return False, f"v2's gate compares it with {baseline or 'no baseline'}, not with v1"
    return True, "the gate compares v2 (candidate) with v1 (baseline)"


def blocks_lower_pass_rate(ctx):
    found = []
    for label, run in (
        ("the task's eval set (v1 8 of 8, v2 6 of 8)", ctx.run()),
        ("the check's eval set (v1 10 of 10, v2 9 of 10)", ctx.rerun({TESTS: REGRESSED})),
    ):
        gates, problem = _gates(run)
        if problem:
            return False, f"on {label}: {problem}"
        verdict = _pass_rate_verdict(_v2_gate(gates))
        if verdict != "fail":
            shown = {"missing": "has no pass_rate rule", "skipped": "skipped its pass_rate rule"}
            return False, f"on {label}, v2's gate {shown.get(verdict, 'let v2 through')}"
        found.append(label)
    return True, "v2's pass_rate rule failed on " + " and on ".join(found)


def passes_no_regression(ctx):
    gates, problem = _gates(ctx.rerun({TESTS: EVEN}))
    if problem:
        return False, problem
    gate = _v2_gate(gates)
    if gate is None:
        return False, "the run has no gate with v2 as its candidate"
    failed = [
        f"{r.get('metric')} ({r.get('reason')})"
        for r in gate.get("rows") or []
        if r.get("verdict") == "fail"
    ]
    if failed:
        return False, (
            "with v1 and v2 each passing 9 of 10 (no regression), the gate failed on "
            + ", ".join(failed)
        )
    if _pass_rate_verdict(gate) != "pass":
        return False, "with v1 and v2 each passing 9 of 10, v2's gate checked no pass_rate rule"
    return True, "with v1 and v2 each passing 9 of 10 (no regression), the gate passed"
