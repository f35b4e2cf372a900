"""Check of llmops/refusal-case-set: off-topic cases that the production prompt passes and an
over-eager prompt fails.

The candidate's own run (the production prompt) must refuse every off-topic case and still
answer every answerable one. Then the check replaces promptfooconfig.yaml with its own: the
same engine and tests, with abstain_threshold 0.0, a prompt that answers everything by quoting
the nearest sentences of the course. Each off-topic case must fail there, or it does not test
refusal at all.
"""

from __future__ import annotations

import json

RESULTS = "eval/results.json"
TESTS = "tests.yaml"
CONFIG = "promptfooconfig.yaml"
NEEDED = 5

EAGER = """\
description: the check's over-eager prompt
prompts:
  - id: eager
    label: eager
    raw: "{{question}}"
    config: {k: 5, abstain_threshold: 0.0, max_sentences: 3, citations: inline}
providers:
  - triops:extractive
tests: file://tests.yaml
"""


def _kind(description) -> str:
    return str(description or "").split(":", 1)[0].strip()


def _results(run) -> tuple[list[dict] | None, str]:
    text = run.artifact_text(RESULTS)
    if text is None:
        reasons = (run.report or {}).get("reasons") or [(run.report or {}).get("message")]
        return None, f"the eval run left no results ({'; '.join(str(r) for r in reasons if r)})"
    try:
        results = json.loads(text).get("results")
    except (ValueError, AttributeError):
        return None, "the eval run's results are not readable"
    if not isinstance(results, list):
        return None, "the eval run's results are not readable"
    return [r for r in results if isinstance(r, dict)], ""


def _off_topic(results: list[dict]) -> list[dict]:
    return [r for r in results if _kind(r.get("description")) == "off-topic"]


def five_off_topic_cases(ctx):
    tests = ctx.yaml(TESTS)
    if not isinstance(tests, list):
        return False, f"{TESTS} is not a list of tests"
    questions = set()
    for test in tests:
        if not isinstance(test, dict) or _kind(test.get("description")) != "off-topic":
            continue
        question = str((test.get("vars") or {}).get("question") or "").strip().lower()
        if question:
            questions.add(question)
    if len(questions) < NEEDED:
        return False, f"{TESTS} has {len(questions)} off-topic questions, fewer than {NEEDED}"
    return True, f"{TESTS} has {len(questions)} distinct off-topic questions"


def refused_in_production(ctx):
    results, problem = _results(ctx.run())
    if problem:
        return False, problem
    off_topic = _off_topic(results)
    answerable = [r for r in results if _kind(r.get("description")) == "answerable"]
    if len(off_topic) < NEEDED:
        return False, f"the run graded {len(off_topic)} off-topic cases, fewer than {NEEDED}"
    if len(answerable) < 4:
        return False, f"the run graded {len(answerable)} answerable cases; keep the four"
    failed = [
        str(r.get("description")) for r in off_topic + answerable if r.get("status") != "pass"
    ]
    if failed:
        return False, "with the production prompt these cases fail: " + "; ".join(failed)
    return True, (
        f"the production prompt passes all {len(off_topic)} off-topic and "
        f"{len(answerable)} answerable cases"
    )


def catches_eager_prompt(ctx):
    results, problem = _results(ctx.rerun({CONFIG: EAGER}))
    if problem:
        return False, problem
    off_topic = _off_topic(results)
    if len(off_topic) < NEEDED:
        return (
            False,
            f"the check's run graded {len(off_topic)} off-topic cases, fewer than {NEEDED}",
        )
    passed = [str(r.get("description")) for r in off_topic if r.get("status") == "pass"]
    if passed:
        return False, ("a prompt that answers everything still passes: " + "; ".join(passed))
    return True, f"a prompt that answers everything fails all {len(off_topic)} off-topic cases"
