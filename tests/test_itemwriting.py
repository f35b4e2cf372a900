"""Item-writing checks and blind strategies: each check fires on an item written to show its flaw
and stays silent once the item is corrected; strategy scores match hand-computed values."""

from __future__ import annotations

import pytest
import yaml
from pydantic import TypeAdapter
from typer.testing import CliRunner

from conftest import REPO
from triops.cli import app
from triops.content.loader import load_course
from triops.quiz import itemcache
from triops.quiz.bank import load_bank
from triops.quiz.blueprint import load_exams
from triops.quiz.itemcache import cached_item_writing_problems
from triops.quiz.itemwriting import (
    CHECKS,
    STRATEGY_MARGIN,
    blind_strategies,
    check_bank,
    expected_scores,
    is_item_writing,
    item_writing_problems,
    length,
    release_caches,
    strategy_findings,
)
from triops.quiz.models import Question
from triops.validate import validate

VOCABULARY = """\
difficulties: [foundation, practitioner, expert]
domains:
  devops:
    - {id: integration-and-testing, title: Integration and testing}
    - {id: delivery-and-deployment, title: Delivery and deployment}
"""
DOMAIN = "integration-and-testing"
SHORT = ["Retry it until it passes", "Delete it right away", "Ignore it for a while"]
MATCHED = [
    "Retry it up to three times in the pipeline and merge once it passes",
    "Delete the test at once, since a flaky test gives no useful signal",
    "Keep it in the gate and ask developers to rerun the pipeline by hand",
]
FLAKY_KEY = "Quarantine it, open a ticket with the failure log, and fix it within a week"
FLAKY_STEM = "A test fails on one run in twenty with no code change. What should the team do?"


def single(qid: str, stem: str, key: str, distractors: list[str], at: int = 1, **extra) -> dict:
    """A single-choice item with the key at position `at` (0 is first)."""
    options: list = list(distractors)
    options.insert(at, {"text": key, "correct": True})
    return _item(qid, "single", stem, options=options, **extra)


def multiple(qid: str, stem: str, keys: list[str], wrong: list[str], **extra) -> dict:
    """A multiple-response item: a wrong option first, then keys and wrong options alternating."""
    options: list = [wrong[0]]
    for i, key in enumerate(keys):
        options.append({"text": key, "correct": True})
        options += wrong[i + 1 : i + 2]
    options += wrong[len(keys) + 1 :]
    return _item(qid, "multiple", stem, options=options, **extra)


def _item(qid: str, kind: str, stem: str, **fields) -> dict:
    item = {"id": qid, "type": kind, "domain": fields.pop("domain", DOMAIN)}
    item |= {"difficulty": "practitioner", "lesson": "first-lesson", "stem": stem}
    item |= fields
    item.setdefault("explanation", "Why the key is right.")
    return item


def true_false(qid: str, answer: bool, **extra) -> dict:
    stem = f"Statement {qid} about pipelines."
    return _item(qid, "true_false", stem, answer=answer, **extra)


def make_root(tmp_path, items: list[dict], exams: dict[str, dict] | None = None):
    """A content root with one devops bank file (and blueprints), loaded by the real loaders."""
    (tmp_path / "quizzes" / "devops").mkdir(parents=True)
    (tmp_path / "quizzes" / "vocabulary.yaml").write_text(VOCABULARY)
    bank_file = tmp_path / "quizzes" / "devops" / "bank.yaml"
    bank_file.write_text(yaml.safe_dump({"questions": items}, sort_keys=False))
    (tmp_path / "quizzes" / "exams").mkdir()
    for name, blueprint in (exams or {}).items():
        (tmp_path / "quizzes" / "exams" / f"{name}.yaml").write_text(
            yaml.safe_dump(blueprint, sort_keys=False)
        )
    bank = load_bank(tmp_path)
    assert [str(p) for p in bank.problems] == []
    loaded = load_exams(tmp_path, bank)
    assert [str(p) for p in loaded.problems if p.severity == "error"] == []
    return bank, loaded


def codes_for(tmp_path, items, exams=None) -> dict[str, set[str]]:
    """Question id (or "" for file- and track-wide findings) -> the codes that fired."""
    bank, loaded = make_root(tmp_path, items, exams)
    out: dict[str, set[str]] = {}
    for f in check_bank(bank, loaded):
        out.setdefault(f.question, set()).add(f.code)
    return out


# --------------------------------------------------------------------------- per-item checks

ITEM_CASES = {
    "key-longest": (
        single("q-long", FLAKY_STEM, FLAKY_KEY, SHORT),
        single("q-long", FLAKY_STEM, FLAKY_KEY, MATCHED),
    ),
    "key-longest-multiple": (
        multiple(
            "q-long-many",
            "Which two practices keep a shared main branch releasable?",
            [
                "Run the full unit and integration suite on every pull request before merge",
                "Revert a change that turns main red before anyone merges anything else",
            ],
            ["Weekly merges", "Manual QA", "Code freezes"],
        ),
        multiple(
            "q-long-many",
            "Which two practices keep a shared main branch releasable?",
            [
                "Run the unit and integration suite on each pull request",
                "Revert a change that turns main red before more merges",
            ],
            [
                "Merge feature branches once a week after a manual review",
                "Let a QA team test main by hand before each release",
                "Freeze merges for a week before every planned release",
            ],
        ),
    ),
    "absolute-words": (
        single(
            "q-absolute",
            FLAKY_STEM,
            "Quarantine it and fix it within a week",
            ["Always retry it until it passes", "Delete it from the suite", "Rerun the job"],
        ),
        single(
            "q-absolute",
            FLAKY_STEM,
            "Quarantine it and fix it within a week",
            ["Retry it up to three times", "Delete it from the suite", "Rerun the job"],
        ),
    ),
    "stem-echo": (
        single(
            "q-echo",
            "A price widget released behind a feature flag to 20 % of users shows wrong prices. "
            "What is the fastest safe way back?",
            "Turn the flag off",
            ["Redeploy last week's build", "Roll forward with a fix", "Switch the router back"],
        ),
        single(
            "q-echo",
            "A price widget released behind a feature flag to 20 % of users shows wrong prices. "
            "What is the fastest safe way back?",
            "Turn the flag off",
            ["Redeploy last week's build", "Keep the flag, roll forward", "Switch the router"],
        ),
    ),
    "all-none-above": (
        single(
            "q-above",
            "Which practice shortens the wait for a first code review?",
            "A same-day first-response target",
            ["Larger pull requests", "A second approver", "All of the above"],
        ),
        single(
            "q-above",
            "Which practice shortens the wait for a first code review?",
            "A same-day first-response target",
            ["Larger pull requests", "A second approver", "A weekly review meeting"],
        ),
    ),
    "near-identical-options": (
        single(
            "q-near",
            "A canary shows a doubled error rate after ten minutes. What should happen?",
            "Abort the canary and send all traffic back to the old version",
            [
                "Roll back the release to the previous version",
                "Roll back the releases to the previous versions",
                "Wait another hour for more data",
            ],
        ),
        single(
            "q-near",
            "A canary shows a doubled error rate after ten minutes. What should happen?",
            "Abort the canary and send all traffic back to the old version",
            [
                "Roll back the release to the previous version",
                "Promote it, because ten minutes is too short to judge",
                "Wait another hour for more data",
            ],
        ),
    ),
    "course-recall": (
        single(
            "q-recall",
            "According to the lesson, what should a team do with a flaky test?",
            "Quarantine it and fix it within a week",
            ["Retry it up to three times", "Delete it from the suite", "Rerun the job"],
        ),
        single(
            "q-recall",
            FLAKY_STEM,
            "Quarantine it and fix it within a week",
            ["Retry it up to three times", "Delete it from the suite", "Rerun the job"],
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(ITEM_CASES))
def test_each_item_check_fires_on_the_flaw_and_not_on_the_corrected_item(tmp_path, case):
    code = case.removesuffix("-multiple")
    flawed, corrected = ITEM_CASES[case]
    assert code in codes_for(tmp_path / "flawed", [flawed]).get(flawed["id"], set())
    assert code not in codes_for(tmp_path / "fixed", [corrected]).get(corrected["id"], set())


def test_key_longest_names_the_ratio_and_both_lengths_at_the_items_line(tmp_path):
    bank, exams = make_root(tmp_path, [single("q-long", FLAKY_STEM, FLAKY_KEY, SHORT)])
    [finding] = [f for f in check_bank(bank, exams) if f.code == "key-longest"]
    key, longest = len(FLAKY_KEY), max(len(d) for d in SHORT)
    assert finding.line == bank.questions[0].line == 2
    assert str(finding.problem()).startswith(
        "quizzes/devops/bank.yaml:2: warning: [key-longest] question 'q-long': the key is "
        f"{key / longest:.2f}× as long as the longest distractor ({key} vs {longest} characters)"
    )


def test_length_ignores_markdown_marks():
    assert length("**Roll back** the `release` with [the runbook](https://x.test/a)") == len(
        "Roll back the release with the runbook"
    )
    assert length("Set `is_fraud` to _true_") == len("Set is_fraud to true")


def test_a_schedule_word_after_every_is_not_an_absolute(tmp_path):
    item = single(
        "q-every",
        "How often should the dependency scanner run?",
        "On each pull request and once a day",
        ["Every night only after a release", "Every week on Monday", "Once a quarter"],
    )
    found = codes_for(tmp_path, [item]).get("q-every", set())
    assert "absolute-words" in found  # "only" is a claim; "every night" alone would not be
    item["options"][0] = "Every night after a release"
    assert "absolute-words" not in codes_for(tmp_path / "again", [item]).get("q-every", set())


def test_options_that_differ_only_in_their_figures_are_not_near_identical(tmp_path):
    item = single(
        "q-figures",
        "Fifty pushes a day each run a 9-minute suite. What does running it on every push cost?",
        "About 7.5 hours of runner time a day (50 × 9 minutes)",
        [
            "About 12.5 hours of runner time a day (50 × 15 minutes)",
            "About 4.5 hours of runner time a day (30 × 9 minutes)",
            "Nothing extra, since runners are billed per month",
        ],
    )
    assert "near-identical-options" not in codes_for(tmp_path, [item]).get("q-figures", set())


RECALL_STEMS = {
    "r-lesson": ("According to the lesson, what should a team do first?", True),
    "r-seed": ("Which four concerns does the seed article name?", True),
    "r-triops": ("How does the Triops LLMOps lifecycle order its phases?", True),
    "r-author": ("According to Muschko, which exam comes first?", True),
    "r-module": ("What does this module call the loop?", True),
    "r-priority": ("Alerts are sorted according to priority. Which one pages first?", False),
    "r-course-of": ("Over the course of a week, error rates double. What changed?", False),
    "r-scenario": ("A team's p99 latency doubles after a release. What should it check?", False),
}


def test_course_recall_flags_references_to_the_course_and_named_authors_only(tmp_path):
    items = [
        single(qid, stem, "Quarantine it", ["Retry it", "Delete it", "Rerun it"])
        for qid, (stem, _) in RECALL_STEMS.items()
    ]
    found = codes_for(tmp_path, items)
    flagged = {qid for qid in RECALL_STEMS if "course-recall" in found.get(qid, set())}
    assert flagged == {qid for qid, (_, recall) in RECALL_STEMS.items() if recall}


def test_course_recall_is_silent_for_a_practice_only_item(tmp_path):
    flawed, _ = ITEM_CASES["course-recall"]
    practice = dict(flawed, practice_only=True)
    assert "course-recall" not in codes_for(tmp_path, [practice]).get("q-recall", set())


# An exam profile that scores multiple response all-or-nothing.
STRICT_EXAM = {
    "title": "Strict",
    "tracks": ["devops"],
    "time_limit_minutes": 10,
    "pass_mark": 70,
    "domains": [{"domain": f"devops/{DOMAIN}", "count": 1}],
    "multiple_response": "all-or-nothing",
}


def test_choose_missing_fires_only_where_an_exam_scores_all_or_nothing(tmp_path):
    item = multiple(
        "q-choose",
        "Which practices keep main releasable? Select all that apply.",
        ["Run the suite on each pull request", "Revert a red main at once"],
        ["Merge once a week", "Test by hand before release", "Freeze merges"],
    )
    blueprint = STRICT_EXAM
    partial = dict(blueprint, multiple_response="partial")
    assert "choose-missing" in codes_for(tmp_path / "a", [item], {"strict": blueprint})["q-choose"]
    assert "choose-missing" not in codes_for(tmp_path / "b", [item], {"lenient": partial}).get(
        "q-choose", set()
    )
    worded = dict(item, choose=2)
    assert (
        "choose-missing" in codes_for(tmp_path / "c", [worded], {"strict": blueprint})["q-choose"]
    )  # choose: 2 but the stem still says "select all that apply"
    fixed = dict(worded, stem="Which two practices keep main releasable?")
    assert "choose-missing" not in codes_for(tmp_path / "d", [fixed], {"strict": blueprint}).get(
        "q-choose", set()
    )


# --------------------------------------------------------------------------- bank-wide checks


def _five_singles(longest_keys: int) -> list[dict]:
    """Five single-choice items, the key strictly the longest option in `longest_keys`."""
    items = []
    for i in range(5):
        key = "Quarantine it and fix it soon" if i < longest_keys else "Quarantine it"
        items.append(
            single(
                f"q-share-{i}",
                f"Case {i}: {FLAKY_STEM}",
                key,
                ["Retry it three times", "Delete it outright", "Rerun the whole job"],
                at=i % 4,
            )
        )
    return items


def test_key_longest_share_fires_per_file_and_per_track_above_35_percent(tmp_path):
    bank, exams = make_root(tmp_path, _five_singles(2))
    shares = [f for f in check_bank(bank, exams) if f.code == "key-longest-share"]
    assert [(f.path, f.line) for f in shares] == [("quizzes/devops/bank.yaml", 2)] * 2
    assert sorted(f.message.split(":")[0] for f in shares) == [
        "quizzes/devops/bank.yaml",
        "track devops",
    ]
    assert "in 2 of 5 single-choice items (40 %" in shares[0].message
    assert "key-longest-share" not in codes_for(tmp_path / "fixed", _five_singles(1)).get("", [])


def test_tf_balance_fires_outside_35_to_65_percent_true(tmp_path):
    flawed = [true_false(f"q-tf-{i}", False) for i in range(3)]
    bank, exams = make_root(tmp_path, flawed)
    [finding] = [f for f in check_bank(bank, exams) if f.code == "tf-balance"]
    assert finding.message.startswith("track devops: 0 of 3 true/false items are keyed true")
    assert "rewrite at least 1 false statement as a true one" in finding.message
    fixed = [true_false("q-tf-0", True)] + flawed[1:]
    assert "tf-balance" not in codes_for(tmp_path / "fixed", fixed).get("", set())


def test_key_first_fires_when_most_keys_are_written_first(tmp_path):
    options = ["Retry it three times", "Delete it outright", "Rerun the whole job"]
    flawed = [
        single(f"q-first-{i}", f"Case {i}: {FLAKY_STEM}", "Quarantine it", options, at=0)
        for i in range(4)
    ]
    bank, exams = make_root(tmp_path, flawed)
    [finding] = [f for f in check_bank(bank, exams) if f.code == "key-first"]
    assert "a key is written first in 4 of 4 choice items, where chance gives 1.0" in (
        finding.message
    )
    fixed = [dict(item) for item in flawed]
    for i, item in enumerate(fixed):
        fixed[i] = single(item["id"], item["stem"], "Quarantine it", options, at=i)
    assert "key-first" not in codes_for(tmp_path / "fixed", fixed).get("", set())


def test_every_check_is_documented_in_the_quizzes_readme():
    readme = (REPO / "quizzes" / "README.md").read_text()
    section = readme.split("## Item-writing checks", 1)[1].split("\n## ", 1)[0]
    assert "Haladyna" in section
    for code in CHECKS:
        assert f"`{code}`" in section, code


# --------------------------------------------------------------------------- blind strategies

# Pool of domain A (the exam draws 1): S1 and T1. Pool of domain B (it draws 2): M1, N1, O1, X1.
STRATEGY_ITEMS = [
    _item(
        "s1",
        "single",
        "Which deployment strategy shifts a small share of traffic to the new version?",
        options=[
            "Blue-green",
            {"text": "Canary release with automated rollback on alarms", "correct": True},
            "Recreate",
            "Rolling update of pods",
        ],
    ),
    _item("t1", "true_false", "A rollback is never needed with canaries.", answer=False),
    _item(
        "m1",
        "multiple",
        "Pick the signals of a healthy canary.",
        options=[
            {"text": "Error rate within the baseline band of the old version", "correct": True},
            "Pod count unchanged at a steady ten",
            {"text": "Latency p99 within ten percent of baseline", "correct": True},
            "Image size",
            {"text": "Saturation", "correct": True},
        ],
        domain="delivery-and-deployment",
    ),
    _item(
        "n1",
        "numeric",
        "Error budget in minutes for 99.9 % over 30 days?",
        answers=[{"value": 43.2, "tolerance": 0.1}],
        domain="delivery-and-deployment",
    ),
    _item(
        "o1",
        "ordering",
        "Order the release steps.",
        items=["Build", "Test", "Deploy", "Monitor"],
        domain="delivery-and-deployment",
    ),
    _item(
        "x1",
        "matching",
        "Match each strategy to its trait.",
        pairs=[
            {"left": "Canary", "right": "Small share first"},
            {"left": "Blue-green", "right": "Two full environments"},
            {"left": "Rolling", "right": "Pods replaced in batches"},
        ],
        distractors=["Everything at once"],
        domain="delivery-and-deployment",
    ),
]
STRATEGY_EXAM = {
    "title": "Strategies",
    "tracks": ["devops"],
    "time_limit_minutes": 10,
    "pass_mark": 70,
    "domains": [
        {"domain": f"devops/{DOMAIN}", "count": 1},
        {"domain": "devops/delivery-and-deployment", "count": 2},
    ],
}


def test_expected_scores_of_each_item_type_by_hand():
    q = {i["id"]: TypeAdapter(Question).validate_python(i) for i in STRATEGY_ITEMS}
    # S1: 4 options, the key is the longest and written second; no option shares a content
    # word with the stem, so "most words in common" is a four-way tie: a guess.
    s1 = expected_scores(q["s1"])
    assert s1["guessing"] == pytest.approx(1 / 4)
    assert s1["longest"] == 1.0 and s1["first"] == 0.0
    assert s1["false"] == s1["overlap"] == pytest.approx(1 / 4)
    # T1 is keyed false: only "always answer false" gains.
    assert expected_scores(q["t1"]) == {
        "guessing": 0.5,
        "longest": 0.5,
        "first": 0.5,
        "false": 1.0,
        "overlap": 0.5,
    }
    # M1: 5 options, 3 keys, pick 3. Partial credit: each key +1/3, each wrong -1/3, floor 0.
    # C(5,3) = 10 picks: 1 with all keys (1), 6 with two keys (1/3), 3 with one key (0).
    m1 = expected_scores(q["m1"])
    assert m1["guessing"] == pytest.approx((1 + 6 / 3) / 10)
    # The three longest: the two long keys and "Pod count unchanged ..." -> 1/3.
    assert m1["longest"] == pytest.approx(1 / 3)
    # The first three as written: key, wrong, key -> 1/3.
    assert m1["first"] == pytest.approx(1 / 3)
    # All or nothing: only the exact key set scores, 1 of 10 picks.
    aon = expected_scores(q["m1"], all_or_nothing=True)
    assert aon["guessing"] == pytest.approx(1 / 10)
    assert aon["longest"] == 0.0 and aon["first"] == 0.0
    # Numeric 0; ordering of 4 items 1/4; matching with 4 right-hand choices 1/4.
    assert set(expected_scores(q["n1"]).values()) == {0.0}
    assert set(expected_scores(q["o1"]).values()) == {0.25}
    assert set(expected_scores(q["x1"]).values()) == {0.25}


def test_the_overlap_strategy_picks_the_option_sharing_most_stem_words():
    item = single(
        "q-overlap",
        "Which check stops a pipeline when the container image has a critical vulnerability?",
        "An image scan that fails the build on critical findings",
        [
            "A container vulnerability check on the pipeline's image",  # 4 stem words
            "A weekly review of dependencies",
            "A lint step",
        ],
    )
    q = TypeAdapter(Question).validate_python(item)
    assert expected_scores(q)["overlap"] == 0.0
    item["options"][0] = "A manual sign-off by the security team"
    q = TypeAdapter(Question).validate_python(item)
    assert expected_scores(q)["overlap"] == 1.0  # now the key shares most ("image", "critical")


def test_blind_strategy_scores_of_a_tiny_exam_equal_the_hand_computed_values(tmp_path):
    bank, exams = make_root(tmp_path, STRATEGY_ITEMS, {"tiny": STRATEGY_EXAM})
    [result] = blind_strategies(bank, exams)
    # Domain A (1 drawn of S1, T1), domain B (2 drawn of M1, N1, O1, X1):
    #   score = (1 x mean(A) + 2 x mean(B)) / 3
    a = {"guessing": (1 / 4 + 1 / 2) / 2, "longest": (1 + 1 / 2) / 2, "first": (0 + 1 / 2) / 2}
    a |= {"false": (1 / 4 + 1) / 2}
    b = {"guessing": (0.3 + 0 + 1 / 4 + 1 / 4) / 4}
    b |= {"longest": (1 / 3 + 0 + 1 / 4 + 1 / 4) / 4, "first": (1 / 3 + 0 + 1 / 4 + 1 / 4) / 4}
    b |= {"false": b["guessing"]}
    expected = {k: 100 * (a[k] + 2 * b[k]) / 3 for k in a}
    assert result.guessing == pytest.approx(expected["guessing"])  # 25.83 %
    assert result.strategies["longest"] == pytest.approx(expected["longest"])  # 38.89 %
    assert result.strategies["first"] == pytest.approx(expected["first"])  # 22.22 %
    assert result.strategies["false"] == pytest.approx(expected["false"])  # 34.17 %
    assert result.strategies["overlap"] == pytest.approx(expected["guessing"])  # all ties
    assert (result.questions, result.pool, result.pass_mark) == (3, 6, 70.0)
    # All or nothing, M1's guess falls from 3/10 to 1/10 and its picks from 1/3 to 0.
    strict = dict(STRATEGY_EXAM, multiple_response="all-or-nothing")
    bank, exams = make_root(tmp_path / "strict", STRATEGY_ITEMS, {"strict": strict})
    [aon] = blind_strategies(bank, exams)
    assert aon.scoring == "all-or-nothing"
    assert aon.guessing == pytest.approx(100 * (a["guessing"] + 2 * (0.1 + 0.5) / 4) / 3)
    assert aon.strategies["longest"] == pytest.approx(100 * (a["longest"] + 2 * 0.5 / 4) / 3)
    # Only "longest" gains more than 10 points (+13.1); "false" gains 8.3.
    [warning] = strategy_findings([result])
    assert warning.path == "quizzes/exams/tiny.yaml" and warning.line == 1
    assert "pick the longest option" in warning.message
    assert f"{expected['longest']:.1f} % against {expected['guessing']:.1f} %" in warning.message


def test_validate_strategies_prints_a_table_per_exam(mini_root):
    make_root(mini_root, STRATEGY_ITEMS, {"tiny": STRATEGY_EXAM})
    result = CliRunner().invoke(app, ["validate", "--fast", "--strategies", str(mini_root)])
    out = result.output
    assert (
        "tiny (3 questions drawn from 6, multiple response partial, options shuffled, "
        "pass mark 70 %)" in out
    )
    assert "pure guessing" in out and "25.8%" in out
    assert "pick the longest option" in out and "38.9%" in out and "+13.1  over limit" in out
    assert out.strip().splitlines()[-1].startswith("lessons: 2  questions: 6  exams: 1")


# --------------------------------------------------------------------------- the facts cache

# Every check's flaw in one bank (the per-item cases, a tf imbalance, keys written first, a
# multiple-response item an all-or-nothing exam draws without `choose`), with every item type.
FLAWED_BANK = [
    *(flawed for flawed, _ in ITEM_CASES.values()),
    *STRATEGY_ITEMS,
    *(true_false(f"q-tf-{i}", False) for i in range(3)),
    *(single(f"q-first-{i}", f"Case {i}: {FLAKY_STEM}", FLAKY_KEY, SHORT, at=0) for i in range(12)),
    multiple(
        "q-choose",
        "Which practices keep main releasable? Select all that apply.",
        ["Run the suite on each pull request", "Revert a red main at once"],
        ["Merge once a week", "Test by hand before release", "Freeze merges"],
    ),
]
FLAWED_EXAMS = {"tiny": STRATEGY_EXAM, "strict": STRICT_EXAM}


def _codes(problems) -> set[str]:
    return {p.message[1 : p.message.index("]")] for p in problems}


def _reload(root):
    bank = load_bank(root)
    return bank, load_exams(root, bank)


def test_a_cached_run_finds_exactly_what_an_uncached_run_finds(tmp_path):
    bank, exams = make_root(tmp_path / "root", FLAWED_BANK, FLAWED_EXAMS)
    folder = tmp_path / "derived"
    uncached = item_writing_problems(bank, exams)
    assert _codes(uncached[0]) == set(CHECKS)  # the bank shows every flaw
    first = cached_item_writing_problems(bank, exams, folder)
    assert (folder / itemcache.FILE_NAME).is_file()
    release_caches()  # nothing of the first pass left in memory
    memo = itemcache.load(folder)
    second = item_writing_problems(bank, exams, memo)
    # Every question's facts came from the file, none was worked out again.
    assert (memo.computed, len(memo.used)) == (0, len(bank.questions))
    assert first == second == uncached  # findings and strategy scores, to the last bit
    assert not itemcache.save(folder, memo)  # nothing changed: the file is not rewritten


def test_an_edited_question_is_checked_again_and_the_cache_cannot_go_stale(tmp_path):
    root = tmp_path / "root"
    flawed, fixed = ITEM_CASES["key-longest"]
    others = [ITEM_CASES["absolute-words"][0], ITEM_CASES["stem-echo"][0]]
    make_root(root, [flawed, *others])
    folder = tmp_path / "derived"
    bank_file = root / "quizzes" / "devops" / "bank.yaml"

    def run(items) -> tuple[list[str], int]:
        bank_file.write_text(yaml.safe_dump({"questions": items}, sort_keys=False))
        bank, exams = _reload(root)
        memo = itemcache.load(folder)
        problems, strategies = item_writing_problems(bank, exams, memo)
        itemcache.save(folder, memo)
        assert (problems, strategies) == item_writing_problems(bank, exams)
        return [str(p) for p in problems if "question 'q-long'" in p.message], memo.computed

    [warning], computed = run([flawed, *others])
    assert "[key-longest]" in warning and computed == 3  # an empty cache: every question
    # Same texts, another key (the short first option): the key is part of the cache key.
    rekeyed = single("q-long", FLAKY_STEM, SHORT[0], [FLAKY_KEY, *SHORT[1:]], at=0)
    assert run([rekeyed, *others]) == ([], 1)
    # Back to the flawed key: the warning returns, from facts worked out again.
    [warning], computed = run([flawed, *others])
    assert "[key-longest]" in warning and computed == 1
    # The instructor rewrites the distractors: only that question is worked out again, its
    # warning is gone, and the other questions' warnings stay.
    assert run([fixed, *others]) == ([], 1)
    assert {"absolute-words", "stem-echo"} <= _codes(item_writing_problems(*_reload(root))[0])


def _damage(path, how: str) -> None:
    data = path.read_bytes()
    if how == "garbage":
        path.write_bytes(b"not a cache at all")
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "one byte flipped":
        path.write_bytes(data[:-10] + bytes([data[-10] ^ 0xFF]) + data[-9:])
    elif how == "other code":
        head = len(itemcache._MAGIC)
        path.write_bytes(data[:head] + bytes(16) + data[head + 16 :])
    elif how == "a folder in its place":
        path.unlink()
        path.mkdir()


@pytest.mark.parametrize(
    "how",
    ["garbage", "empty", "truncated", "one byte flipped", "other code", "a folder in its place"],
)
def test_a_damaged_cache_file_is_ignored_and_replaced(tmp_path, how):
    bank, exams = make_root(tmp_path / "root", FLAWED_BANK, FLAWED_EXAMS)
    folder = tmp_path / "derived"
    expected = item_writing_problems(bank, exams)
    cached_item_writing_problems(bank, exams, folder)
    _damage(folder / itemcache.FILE_NAME, how)
    assert itemcache.load(folder).known == {}
    assert cached_item_writing_problems(bank, exams, folder) == expected
    if how != "a folder in its place":  # that one cannot be replaced, and the run goes uncached
        assert len(itemcache.load(folder).known) == len(bank.questions)


def test_a_cache_folder_that_cannot_be_written_leaves_the_run_uncached(tmp_path):
    bank, exams = make_root(tmp_path / "root", FLAWED_BANK, FLAWED_EXAMS)
    blocker = tmp_path / "home"
    blocker.write_text("a file where the home folder should be")
    folder = blocker / "derived"
    assert cached_item_writing_problems(bank, exams, folder) == item_writing_problems(bank, exams)
    assert blocker.read_text() == "a file where the home folder should be"


def test_validate_keeps_the_facts_in_the_derived_folder_and_says_the_same_twice(
    mini_root, triops_home
):
    make_root(mini_root, FLAWED_BANK, FLAWED_EXAMS)
    runs = [CliRunner().invoke(app, ["validate", "--fast", str(mini_root)]) for _ in range(2)]
    assert (triops_home / "derived" / itemcache.FILE_NAME).is_file()
    assert runs[0].output == runs[1].output
    assert "[key-longest]" in runs[0].output and "[blind-strategy]" in runs[0].output
    assert not list(mini_root.rglob(itemcache.FILE_NAME))  # nothing written in the course


# --------------------------------------------------------------------------- the real repository


@pytest.fixture(scope="module")
def real():
    lesson_ids = {lesson.id for lesson in load_course(REPO).lessons()}
    bank = load_bank(REPO, lesson_ids)
    return bank, load_exams(REPO, bank)


def test_no_blind_strategy_beats_guessing_by_more_than_10_points_on_any_exam(real):
    results = blind_strategies(*real)
    assert results
    # Far below the pass mark too: under half of it on every profile.
    assert {
        (r.exam_id, name): round(score, 1)
        for r in results
        for name, score in r.strategies.items()
        if score >= r.pass_mark / 2
    } == {}
    assert {
        (r.exam_id, name): round(score - r.guessing, 1)
        for r in results
        for name, score in r.strategies.items()
        if score - r.guessing > STRATEGY_MARGIN
    } == {}


def test_validate_reports_no_item_writing_warnings_on_the_repository():
    report = validate(REPO)
    assert [str(p) for p in report.problems if is_item_writing(p)] == []


# --------------------------------------------------------------------------- Content health


def test_content_health_lists_item_writing_warnings_with_counts_and_filters(course_copy, use_root):
    from streamlit.testing.v1 import AppTest

    items = [dict(i, lesson="devops-continuous-integration") for i in STRATEGY_ITEMS]
    items.append(
        single(
            "q-long",
            FLAKY_STEM,
            FLAKY_KEY,
            SHORT,
            lesson="devops-continuous-integration",
            practice_only=True,  # checked, but outside the exam's pools
        )
    )
    make_root(course_copy, items, {"tiny": STRATEGY_EXAM})
    use_root(course_copy)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    at.switch_page("app_pages/content_health.py").run()
    assert not at.exception, [e.value for e in at.exception]
    # Learners' reports (issue 20) come first, then the item-writing checks and strategies.
    assert [h.value for h in at.header] == ["Reports", "Item-writing checks", "Blind strategies"]
    # The page's own problems list comes first when the copied course has any.
    frames = {tuple(d.value.columns)[:2]: d.value for d in at.dataframe}
    counts = frames[("check", "flags")]
    table = frames[("check", "track")]
    strategies = frames[("exam", "questions")]
    by_check = dict(zip(counts["check"], counts["warnings"], strict=True))
    assert list(counts["check"]) == list(CHECKS)
    assert by_check["key-longest"] == 3 and by_check["blind-strategy"] >= 1  # s1, m1, q-long
    assert len(table) == sum(by_check.values())
    row = table[table["question"] == "q-long"].iloc[0]
    assert (row["check"], row["track"], row["file"]) == (
        "key-longest",
        "devops",
        "quizzes/devops/bank.yaml",
    )
    assert row["line"] == load_bank(course_copy).by_id()["q-long"].line
    at.multiselect(key="health_iw_checks").set_value(["blind-strategy"]).run()
    [filtered] = [d.value for d in at.dataframe if tuple(d.value.columns)[:2] == ("check", "track")]
    assert set(filtered["check"]) == {"blind-strategy"}
    assert set(filtered["file"]) == {"quizzes/exams/tiny.yaml"}
    assert list(strategies["exam"]) == ["tiny"]
    assert strategies.loc[0, "pure guessing"] == pytest.approx(25.8, abs=0.05)
    assert strategies.loc[0, "pick the longest option"] > strategies.loc[0, "pure guessing"] + 10
