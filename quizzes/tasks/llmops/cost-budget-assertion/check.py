"""Check of llmops/cost-budget-assertion: costs priced per million tokens, a budget per answer.

The candidate's own run must price every case at the provider's list prices per million tokens
and give every test a cost assertion. Then the check replaces answers.yaml with six logged
answers of its own (three short, three padded with about 200 tokens of pleasantries) and reruns
the candidate's config: each case's cost assertion must hold the budget of 0.0004 USD per answer
and fail exactly the answers that cost more. Costs are recomputed here from the token counts of
the run (Triops' tokenizer, in Triops' own code: the candidate's files are only YAML).
"""

from __future__ import annotations

import json

import yaml

RESULTS = "eval/results.json"
TESTS = "answers.yaml"
PROMPT_PER_M, COMPLETION_PER_M = 0.50, 2.00
BUDGET = 0.0004
TOLERANCE = 1e-12

FILLER = (
    "Thank you so much for getting in touch with us, and please accept our apologies for any "
    "inconvenience you may have experienced along the way. We truly value you as a customer and "
    "we want to make sure that every one of your questions is answered clearly and completely. "
    "Our dedicated team of specialists works around the clock to review every request carefully, "
    "in line with the terms and conditions of your policy and the applicable regulations. "
    "Should you need any further assistance, do not hesitate to reach out again through the "
    "app, by email or by phone, and one of our friendly advisers will be glad to help you with "
    "whatever you need, whenever you need it. Please also remember that you can follow the "
    "progress of every request in the app at any time, where you will find all the documents, "
    "messages and decisions related to your policy in one convenient place. We wish you a "
    "pleasant day and thank you again for choosing us as your insurer."
)
ANSWERS = [
    ("glass", "Is a broken side window covered?", "Yes, all car glass is covered with no excess."),
    ("pet", "Does my policy cover vet bills?", "Vet bills are covered only with the pet add-on."),
    ("renewal", "When does my policy renew?", "It renews on the date on your schedule."),
    ("storm", "Is storm damage to my fence covered?", "Fences are not covered for storm damage."),
    ("bike", "Is my e-bike insured at home?", "E-bikes up to 3,000 EUR are covered at home."),
    (
        "flight",
        "Does travel cover a missed flight?",
        "A missed connection is covered up to 500 EUR.",
    ),
]
PADDED = {"storm", "bike", "flight"}


def answers_text() -> str:
    tests = [
        {
            "description": name,
            "vars": {
                "question": question,
                "answer": f"{FILLER} {answer}" if name in PADDED else answer,
            },
        }
        for name, question, answer in ANSWERS
    ]
    return yaml.safe_dump(tests, sort_keys=False, width=1000)


def _results(run) -> tuple[list[dict] | None, str]:
    text = run.artifact_text(RESULTS)
    if text is None:
        reasons = (run.report or {}).get("reasons") or [(run.report or {}).get("message")]
        return None, f"the eval run left no results ({'; '.join(str(r) for r in reasons if r)})"
    try:
        results = json.loads(text).get("results")
    except (ValueError, AttributeError):
        return None, "the eval run's results are not readable"
    if not isinstance(results, list) or not results:
        return None, "the eval run graded no test"
    return [r for r in results if isinstance(r, dict)], ""


def _list_price(result: dict) -> float | None:
    prompt, completion = result.get("tokens_prompt"), result.get("tokens_completion")
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return (prompt * PROMPT_PER_M + completion * COMPLETION_PER_M) / 1_000_000


def _cost_checks(result: dict) -> list[dict]:
    return [
        a for a in result.get("assertions") or [] if isinstance(a, dict) and a.get("type") == "cost"
    ]


def prices_per_million(ctx):
    results, problem = _results(ctx.run())
    if problem:
        return False, problem
    wrong = []
    for result in results:
        expected, recorded = _list_price(result), result.get("cost")
        if expected is None or not isinstance(recorded, (int, float)):
            wrong.append(f"'{result.get('description')}' has no cost")
        elif abs(recorded - expected) > TOLERANCE + 1e-9 * expected:
            wrong.append(
                f"'{result.get('description')}' costs {recorded:.6g} USD, list price "
                f"{expected:.6g} USD"
            )
    if wrong:
        return False, "; ".join(wrong[:3]) + (
            f" (and {len(wrong) - 3} more)" if len(wrong) > 3 else ""
        )
    return True, f"all {len(results)} answers are priced at the list prices per million tokens"


def budget_on_every_test(ctx):
    results, problem = _results(ctx.run())
    if problem:
        return False, problem
    without = [str(r.get("description")) for r in results if not _cost_checks(r)]
    if without:
        return False, f"{len(without)} of {len(results)} tests have no cost assertion"
    return True, f"all {len(results)} tests have a cost assertion"


def budget_per_answer(ctx):
    results, problem = _results(ctx.rerun({TESTS: answers_text()}))
    if problem:
        return False, problem
    by_test = {str(r.get("description")): r for r in results}
    missing = [name for name, _, _ in ANSWERS if name not in by_test]
    if missing:
        return False, f"the check's {TESTS} was not graded: keep reading the tests from it"
    wrong, over = [], []
    for name, _, _ in ANSWERS:
        result = by_test[name]
        checks = _cost_checks(result)
        price = _list_price(result)
        if not checks or price is None:
            wrong.append(f"'{name}' has no cost assertion")
            continue
        thresholds = {a.get("threshold") for a in checks}
        if any(not isinstance(t, (int, float)) or abs(t - BUDGET) > TOLERANCE for t in thresholds):
            shown = ", ".join(
                f"{t:g}" if isinstance(t, (int, float)) else "none" for t in thresholds
            )
            wrong.append(f"'{name}': threshold {shown}, not {BUDGET} USD per answer")
            continue
        want = "fail" if price > BUDGET else "pass"
        if any(a.get("status") != want for a in checks):
            wrong.append(f"'{name}' at {price:.6f} USD did not {want}")
        elif want == "fail":
            over.append(f"{name} {price:.6f}")
    if wrong:
        return False, "; ".join(wrong)
    return (
        True,
        f"the budget of {BUDGET} USD per answer stops exactly the padded answers "
        f"({', '.join(over)})",
    )
