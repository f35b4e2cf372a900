"""Exam blueprints: weights to whole items, pilot items, scaled scores, profiles the bank cannot
fill yet, and every bad input reported at its file and line."""

from __future__ import annotations

import functools
import random
import shutil
import textwrap
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import REPO
from triops.errors import InvalidInputError
from triops.quiz import exam as engine
from triops.quiz.bank import Bank, load_bank
from triops.quiz.blueprint import Blueprint, Scaled, apportion, load_exams
from triops.store import users

T0 = datetime(2026, 12, 6, 9, 0, 0)

# The DOP-C02 shape: 65 scored items, 10 pilot, six weighted domains.
DOP_C02 = """\
title: DOP-C02 shaped
tracks: [devops]
time_limit_minutes: 180
questions: 65
pilot: 10
pass_mark: 72
scaled: {min: 100, max: 1000, cut: 750}
domains:
  - {title: SDLC Automation, weight: 22, draws_from: [devops/integration-and-testing]}
  - {title: Configuration Management and IaC, weight: 17,
     draws_from: [devops/configuration-and-iac]}
  - {title: Resilient Cloud Solutions, weight: 15, draws_from: [devops/resilience-and-recovery]}
  - {title: Monitoring and Logging, weight: 15, draws_from: [devops/monitoring-and-feedback]}
  - {title: Incident and Event Response, weight: 14,
     draws_from: [devops/infrastructure-and-operations]}
  - {title: Security and Compliance, weight: 17, draws_from: [devops/security-and-compliance]}
"""

# A small profile the real bank can fill: two titled domains over four course domains, pilot
# items, all-or-nothing multiple response and a scaled report.
FILLABLE = """\
title: Pilot check
tracks: [devops]
time_limit_minutes: 30
questions: 8
pilot: 4
pass_mark: 60
scaled: {min: 100, max: 1000, cut: 700}
multiple_response: all-or-nothing
domains:
  - title: Build and release
    weight: 50
    draws_from: [devops/integration-and-testing, devops/delivery-and-deployment]
  - title: Run and observe
    weight: 50
    draws_from: [devops/monitoring-and-feedback, devops/culture-and-collaboration]
review: {score: true, domains: verdict, correctness: false, right_answer: false,
         explanation: false, feedback: false}
"""


def quizzes_root(tmp_path: Path, **exams: str) -> Path:
    """A copy of the real quizzes/ with the given exam files added (name -> YAML)."""
    root = tmp_path / "root"
    shutil.copytree(REPO / "quizzes", root / "quizzes")
    for name, text in exams.items():
        (root / "quizzes" / "exams" / f"{name}.yaml").write_text(textwrap.dedent(text))
    return root


@functools.cache
def real_bank() -> Bank:
    """The real bank, loaded once per test process: what load_bank gives for a quizzes_root copy
    whose question files are left as they are (its exam files are what a test changes)."""
    return load_bank(REPO)


def problems_of(root: Path, name: str) -> list[str]:
    exams = load_exams(root, real_bank())
    return [str(p) for p in exams.problems if p.path == f"quizzes/exams/{name}.yaml"]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# ------------------------------------------------------------------ weights to whole items


def test_dop_c02_weights_become_65_scored_and_10_pilot_items_by_largest_remainder(tmp_path):
    root = quizzes_root(tmp_path, dop=DOP_C02)
    bp = load_exams(root).get("dop").blueprint
    # 65 x 22/17/15/15/14/17 % = 14.3, 11.05, 9.75, 9.75, 9.1, 11.05: floors give 63, and the
    # two largest remainders (0.75, 0.75) get one more each.
    assert list(bp.counts().values()) == [14, 11, 10, 10, 9, 11]
    # 10 x the same = 2.2, 1.7, 1.5, 1.5, 1.4, 1.7: floors give 7; then 0.7, 0.7 and the first
    # of the two 0.5s (ties go to the domain listed first).
    assert list(bp.pilot_counts().values()) == [2, 2, 2, 1, 1, 2]
    assert bp.total == 65 and bp.shown == 75


@given(
    total=st.integers(min_value=0, max_value=300),
    weights=st.lists(st.integers(min_value=1, max_value=100), min_size=1, max_size=12),
)
def test_apportion_always_adds_up_and_stays_within_one_of_the_exact_share(total, weights):
    shares = apportion(total, [Fraction(w) for w in weights])
    assert sum(shares) == total
    for n, w in zip(shares, weights, strict=True):
        exact = Fraction(total * w, sum(weights))
        assert exact - 1 < n < exact + 1


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("old", "new", "at", "message"),
    [
        (
            "weight: 50\n    draws_from: [devops/monitoring",
            "weight: 40\n    draws_from: [devops/monitoring",
            "domains:",
            "domain weights are percentages and must add up to 100, not 90",
        ),
        (
            "cut: 700",
            "cut: 1200",
            "scaled:",
            "cut (1200) must lie strictly between min (100) and max (1000)",
        ),
        (
            "cut: 700",
            "cut: 100",
            "scaled:",
            "cut (100) must lie strictly between min (100) and max (1000)",
        ),
        ("pass_mark: 60", "pass_mark: 120", "pass_mark:", "less than or equal to 100"),
        ("pass_mark: 60", "pass_mark: -5", "pass_mark:", "greater than or equal to 0"),
        (
            "pass_mark: 60",
            "pass_mark: 0",
            "pass_mark:",
            "with scaled reporting the raw pass_mark (the percent that maps to the cut 700) "
            "must lie strictly between 0 and 100, not 0",
        ),
        (
            "pass_mark: 60",
            "pass_mark: 100",
            "pass_mark:",
            "otherwise the scaled score and pass or fail disagree",
        ),
        (
            "max: 1000",
            "max: 100",
            "scaled:",
            "max (100) must be greater than min (100)",
        ),
        (
            "devops/culture-and-collaboration]",
            "devops/integration-and-testing]",
            "title: Run and observe",
            "course domain devops/integration-and-testing already feeds the domain at line 10",
        ),
        (
            "  - title: Run and observe\n",
            "  - title: Run and observe\n    count: 4\n",
            "title: Run and observe",
            "give either count or weight",
        ),
        (
            "  - title: Build and release\n    weight: 50",
            "  - weight: 50",
            "- weight: 50",
            "a domain with draws_from needs a title",
        ),
        (
            "  - title: Build and release\n",
            "  - title: Build and release\n    domain: devops/culture-and-collaboration\n",
            "title: Build and release",
            "give either domain (one course domain) or title with draws_from",
        ),
        (
            "devops/culture-and-collaboration]",
            "devops/no-such-domain]",
            "title: Run and observe",
            "domain 'devops/no-such-domain' is not in quizzes/vocabulary.yaml",
        ),
        (
            "devops/culture-and-collaboration]",
            "mlops/governance]",
            "title: Run and observe",
            "domain mlops/governance is outside the exam's tracks",
        ),
        (
            "multiple_response: all-or-nothing",
            "multiple_response: none",
            "multiple_response",
            "'partial' or 'all-or-nothing'",
        ),
        ("pilot: 4", "pilot: -1", "pilot:", "greater than or equal to 0"),
    ],
)
def test_a_bad_blueprint_is_an_error_at_its_line(tmp_path, old, new, at, message):
    assert old in FILLABLE
    text = FILLABLE.replace(old, new, 1)
    root = quizzes_root(tmp_path, broken=text)
    found = problems_of(root, "broken")
    line = line_of(text, at)
    assert any(
        p.startswith(f"quizzes/exams/broken.yaml:{line}: error: ") and message in p for p in found
    ), found
    assert load_exams(root, real_bank()).get("broken") is None


def test_weights_mixed_with_counts_or_without_questions_are_errors(tmp_path):
    mixed = FILLABLE.replace(
        "  - title: Run and observe\n    weight: 50", "  - title: Run and observe\n    count: 4"
    )
    no_total = FILLABLE.replace("questions: 8\n", "")
    root = quizzes_root(tmp_path, mixed=mixed, nototal=no_total)
    assert problems_of(root, "mixed") == [
        f"quizzes/exams/mixed.yaml:{line_of(mixed, 'domains:')}: error: "
        "give every domain a count, or every domain a weight"
    ]
    assert problems_of(root, "nototal") == [
        f"quizzes/exams/nototal.yaml:{line_of(no_total, 'domains:')}: error: "
        "domains with weights need `questions`: the number of scored items"
    ]


def test_a_choose_n_that_does_not_match_the_key_is_an_error_at_its_line(tmp_path):
    root = quizzes_root(tmp_path)
    bank_file = root / "quizzes" / "devops" / "zz-choose.yaml"
    bank_file.write_text(
        textwrap.dedent(
            """\
            questions:
              - id: devops-choose-mismatch
                type: multiple
                domain: integration-and-testing
                difficulty: practitioner
                lesson: devops-continuous-integration
                choose: 3
                stem: Which two checks belong in the pull-request pipeline?
                options:
                  - {text: Unit tests, correct: true}
                  - {text: Lint, correct: true}
                  - {text: A manual sign-off by the CTO}
                  - {text: A nightly load test}
                  - {text: A quarterly audit}
                explanation: Fast automated checks run on every pull request.
            """
        )
    )
    bank = load_bank(root)
    assert any(
        str(p).startswith("quizzes/devops/zz-choose.yaml:2: error: ")
        and "choose is 3 but the question has 2 correct options" in str(p)
        for p in bank.problems
    ), [str(p) for p in bank.problems]


# --------------------------------------------------------------------------- scaled score


def test_scaled_mapping_puts_the_raw_pass_mark_on_the_cut_and_the_ends_on_min_and_max():
    scale = Scaled(min=100, max=1000, cut=750)
    assert scale.score(72, 72) == 750
    assert scale.score(0, 72) == 100
    assert scale.score(100, 72) == 1000
    assert scale.score(36, 72) == 425  # halfway up the lower piece
    assert scale.score(86, 72) == 875  # halfway up the upper piece


@given(
    percent=st.floats(min_value=0, max_value=100),
    pass_mark=st.floats(min_value=1, max_value=99),
    cut=st.integers(min_value=101, max_value=999),
)
def test_scaled_score_is_never_on_the_wrong_side_of_the_cut(percent, pass_mark, cut):
    scale = Scaled(min=100, max=1000, cut=cut)
    score = scale.score(percent, pass_mark)
    assert 100 <= score <= 1000
    assert (score >= cut) == engine.meets(percent, pass_mark)
    assert scale.score(min(100.0, percent + 1), pass_mark) >= score  # monotone


# ------------------------------------------------------------------ profiles not yet filled


# The bank grew to fill DOP-C02 itself twice over; a profile six times its length it cannot.
TOO_LONG = DOP_C02.replace("questions: 65", "questions: 390")


def test_a_profile_the_bank_cannot_fill_is_listed_warned_per_domain_and_cannot_start(tmp_path, db):
    root = quizzes_root(tmp_path, dop=TOO_LONG)
    bank = load_bank(root)
    exams = load_exams(root, bank)
    exam = exams.get("dop")
    assert exam is not None and not exam.startable
    pools = exam.blueprint.pools(bank)
    need = {
        k: exam.blueprint.counts()[k] + exam.blueprint.pilot_counts()[k]
        for k in exam.blueprint.counts()
    }
    short = {k for k in need if len(pools[k]) < need[k]}
    assert short, "the DevOps domains fill a profile of 390 questions"
    assert {s.domain for s in exam.shortfalls} == short
    warnings = [p for p in exams.problems if p.path == "quizzes/exams/dop.yaml"]
    assert all(p.severity == "warning" for p in warnings)
    for s in exam.shortfalls:
        line = line_of(TOO_LONG, f"title: {s.title},")
        expected = (
            f"quizzes/exams/dop.yaml:{line}: warning: cannot be started yet: domain "
            f"'{s.title}' needs {s.need} ("
        )
        assert any(str(p).startswith(expected) for p in warnings), [str(p) for p in warnings]
        assert any(f"the bank has {s.have} (short by {s.short})" in str(p) for p in warnings)
    missing = sum(need[k] - len(pools[k]) for k in short)
    assert exam.shortfall_text().startswith(
        f"cannot be started yet: the bank is short by {missing} question"
    )
    ada = users.create_user(db, "Ada", T0).id
    with pytest.raises(InvalidInputError, match="cannot be started yet"):
        engine.start(db, exam, bank, ada, T0, random.Random(1))
    with pytest.raises(InvalidInputError, match="cannot fill this exam"):
        engine.draw(exam.blueprint, bank, random.Random(1))


def test_the_real_exam_profiles_name_their_source_and_the_date_it_was_checked():
    exams = load_exams(REPO, load_bank(REPO))
    for exam_id in ("devops-aws-dop-c02", "mlops-google-pmle", "llmops-databricks-genai-associate"):
        bp = exams.get(exam_id).blueprint
        assert bp.source is not None and bp.source.url.startswith("https://")
        assert str(bp.source.checked) == "2026-12-06"
        assert sum(d.weight for d in bp.domains) == 100
        assert bp.multiple_response == "all-or-nothing"
        assert bp.review.domains == "verdict" and not bp.review.questions
    dop = exams.get("devops-aws-dop-c02").blueprint
    assert (dop.total, dop.pilot, dop.time_limit_minutes) == (65, 10, 180)
    assert (dop.scaled.min, dop.scaled.max, dop.scaled.cut) == (100, 1000, 750)
    assert [d.weight for d in dop.domains] == [22, 17, 15, 15, 14, 17]
    pmle = exams.get("mlops-google-pmle").blueprint
    assert (pmle.total, pmle.time_limit_minutes, pmle.source.pass_mark_basis) == (
        50,
        120,
        "study-target",
    )
    assert [d.weight for d in pmle.domains] == [13, 14, 18, 20, 22, 13]
    dbx = exams.get("llmops-databricks-genai-associate").blueprint
    assert (dbx.total, dbx.time_limit_minutes, dbx.pass_mark) == (45, 90, 70)
    assert dbx.source.pass_mark_basis == "third-party"
    assert [d.weight for d in dbx.domains] == [14, 14, 30, 22, 8, 12]


def test_a_blueprint_stored_by_an_old_attempt_still_loads():
    old = (
        '{"title":"DevOps practitioner mock exam","description":"","tracks":["devops"],'
        '"time_limit_minutes":45,"pass_mark":70.0,"questions":30,"domains":['
        '{"domain":"devops/culture-and-collaboration","count":null,"weight":1.0},'
        '{"domain":"devops/integration-and-testing","count":null,"weight":2.0}],'
        '"shuffle_questions":true,"shuffle_options":true,'
        '"expiry":{"policy":"auto-submit","grace_minutes":0},"attempts_allowed":0,'
        '"review":{"score":true,"correctness":true,"right_answer":true,"explanation":true,'
        '"feedback":true}}'
    )
    bp = Blueprint.model_validate_json(old)
    assert bp.counts() == {
        "devops/culture-and-collaboration": 10,
        "devops/integration-and-testing": 20,
    }
    assert (bp.pilot, bp.multiple_response, bp.scaled, bp.review.domains) == (
        0,
        "partial",
        None,
        "percent",
    )


def _blueprint_section() -> str:
    text = (REPO / "quizzes" / "README.md").read_text()
    return text[text.index("## Exam blueprints") : text.index("## Moodle GIFT")]


def test_the_readme_documents_every_blueprint_field():
    from triops.quiz.blueprint import DomainDraw, Expiry, Review, Source

    section = _blueprint_section()
    for model in (Blueprint, DomainDraw, Expiry, Review, Scaled, Source):
        for name in model.model_fields:
            assert f"{name}:" in section or f"`{name}`" in section, f"{model.__name__}.{name}"


def test_the_readme_example_is_a_valid_blueprint(tmp_path):
    section = _blueprint_section()
    example = section[
        section.index("```yaml\n") + 8 : section.index("```\n", section.index("```yaml"))
    ]
    root = quizzes_root(tmp_path, example=example)
    shutil.copytree(REPO / "labs" / "ci-build", root / "labs" / "ci-build")  # its `labs:` entry
    exams = load_exams(root, load_bank(root))
    assert [str(p) for p in exams.problems if p.severity == "error"] == []
    bp = exams.get("example").blueprint
    assert (bp.total, bp.shown, list(bp.counts().values())) == (65, 75, [14, 11, 10, 10, 9, 11])
