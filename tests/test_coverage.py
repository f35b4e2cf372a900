"""Exam guides, covers references and the coverage report: the real guides, a small fixture
course with hand-checked numbers, the CLI and the Exam coverage page."""

from __future__ import annotations

import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import REPO
from triops.content.loader import load_course
from triops.quiz.bank import load_bank
from triops.quiz.blueprint import load_exams
from triops.quiz.coverage import coverage, format_coverage
from triops.quiz.guides import covers_problems, load_guides
from triops.validate import validate

# --- the real guides ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real():
    course = load_course(REPO)
    bank = load_bank(REPO, {lesson.id for lesson in course.lessons()})
    exams = load_exams(REPO, bank)
    return course, bank, exams, load_guides(REPO, exams)


def test_the_real_guides_load_without_problems_and_link_their_profiles(real):
    course, bank, exams, guides = real
    assert guides.problems == []
    assert {g.id: g.spec.profile for g in guides.guides} == {
        "dop-c02": "devops-aws-dop-c02",
        "genai-assoc": "llmops-databricks-genai-associate",
        "pmle": "mlops-google-pmle",
    }
    assert {g.id: len(g.tasks()) for g in guides.guides} == {
        "dop-c02": 19,
        "genai-assoc": 56,
        "pmle": 16,
    }
    for guide in guides.guides:
        assert sum(Fraction(str(d.weight)) for d in guide.domains) == 100
        assert exams.get(guide.spec.profile) is not None
        assert str(guide.spec.source.checked) == "2026-12-06"
        assert guide.spec.source.url.startswith("https://")


def test_the_real_guides_weights_match_their_profiles(real):
    _, _, exams, guides = real
    for guide in guides.guides:
        bp = exams.get(guide.spec.profile).blueprint
        assert [(d.title, d.weight) for d in bp.domains] == [
            (d.profile_title, d.weight) for d in guide.domains
        ]


def test_every_covers_reference_in_the_repository_resolves(real):
    course, bank, _, guides = real
    assert covers_problems(guides, course, bank) == []
    # The mapping exists: the finished MLOps lessons and bank name PMLE tasks.
    pmle = coverage(guides, course, bank, real[2], "pmle")[0]
    assert pmle.by_lesson >= 8


# --- a small course with bad references -----------------------------------------------------

TRACKS = """\
tracks:
  - id: devops
    title: DevOps
    summary: One module for the coverage tests.
"""

MODULE = """\
title: Basics
summary: Two lessons for the coverage tests.
order: 1
"""

LESSON_A = """\
---
id: lesson-a
title: Pipelines and tests
minutes: 5
objectives:
  - Build a pipeline
covers:
  pipelines: [mini/1.1]
  tests: [mini/1.1, mini/1.2]
---

A lesson with two sections.

## Pipelines

Every change goes through the pipeline.

## Tests

Tests run in the pipeline.

:::example One run
A run builds and tests a change.
:::

## Check yourself

1. What runs in a pipeline?
"""

LESSON_B = """\
---
id: lesson-b
title: Alerts
minutes: 5
objectives:
  - Write an alert
---

A lesson about alerts.

## Alerts

Page on symptoms.

:::example A page
The error rate passes its threshold.
:::

## Check yourself

1. What should page?
"""

GUIDE = """\
title: Mini exam
exam: MINI-01
issuer: Triops tests
track: devops
profile: mini-exam
source:
  title: Mini exam guide
  url: https://example.org/mini
  version: first edition
  checked: 2026-12-06
notes: [The weights are made up for the tests.]
domains:
  - number: 1
    title: Build
    weight: 60
    verified: {weight: false, tasks: true}
    tasks:
      - {id: "1.1", title: Build pipelines}
      - {id: "1.2", title: Test in the pipeline}
  - number: 2
    title: Run
    weight: 40
    verified: {weight: false, tasks: true}
    tasks:
      - {id: "2.1", title: Alert on symptoms}
"""

PROFILE = """\
title: Mini exam
tracks: [devops]
time_limit_minutes: 10
questions: 5
pass_mark: 70
item_types: [single, multiple]
domains:
  - {title: Build, weight: 60, draws_from: [devops/integration-and-testing]}
  - {title: Run, weight: 40, draws_from: [devops/monitoring-and-feedback]}
"""


def _question(qid: str, domain: str, covers: str, kind: str = "single", extra: str = "") -> str:
    head = f"""\
  - id: {qid}
    type: {kind}
    domain: {domain}
    difficulty: foundation
    lesson: lesson-a
    covers: {covers}
{extra}    stem: Which option is right for {qid}?
    explanation: The first option is right.
"""
    if kind == "true_false":
        return head + "    answer: true\n"
    if kind == "multiple":
        keys = "      - {text: a, correct: true}\n      - {text: b, correct: true}\n"
        return head + "    options:\n" + keys + "      - {text: c}\n"
    return head + "    options:\n      - {text: a, correct: true}\n      - {text: b}\n"


IT, MF = "integration-and-testing", "monitoring-and-feedback"
BANK = "questions:\n" + "".join(
    [
        _question("q1", IT, "[mini/1.1]"),
        _question("q2", IT, "[mini/1.1]"),
        _question("q3", IT, "[mini/1.1]", "multiple"),
        _question("q4", IT, "[mini/1.1]", "true_false"),  # practice only: not an exam type
        _question("q5", IT, "[mini/1.1]", extra="    exam_only: true\n"),
        _question("q6", IT, "[mini/1.2]", extra="    practice_only: true\n"),
        _question("q7", MF, "[mini/2.1]"),
        _question("q8", MF, "[]"),
        _question("q9", MF, "[]"),
        _question("q10", MF, "[]"),
    ]
)


@pytest.fixture
def mini(tmp_path) -> Path:
    """Two lessons, a guide of three tasks, its exam profile and a bank of ten questions."""
    root = tmp_path / "mini"
    files = {
        "content/tracks.yaml": TRACKS,
        "content/devops/basics/module.yaml": MODULE,
        "content/devops/basics/01-lesson-a.md": LESSON_A,
        "content/devops/basics/02-lesson-b.md": LESSON_B,
        "quizzes/guides/mini.yaml": GUIDE,
        "quizzes/exams/mini-exam.yaml": PROFILE,
        "quizzes/devops/bank.yaml": BANK,
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    shutil.copy(REPO / "quizzes" / "vocabulary.yaml", root / "quizzes" / "vocabulary.yaml")
    return root


def _load(root: Path):
    course = load_course(root)
    bank = load_bank(root, {lesson.id for lesson in course.lessons()})
    exams = load_exams(root, bank)
    return course, bank, exams, load_guides(root, exams)


def _line(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_the_fixture_has_no_reference_problems(mini):
    course, bank, exams, guides = _load(mini)
    assert [str(p) for p in course.errors] == []
    assert [str(p) for p in bank.problems] == []
    assert guides.problems == []
    assert covers_problems(guides, course, bank) == []


def test_each_bad_covers_reference_is_an_error_at_its_line(mini):
    lesson = mini / "content/devops/basics/02-lesson-b.md"
    lesson.write_text(
        LESSON_B.replace(
            "  - Write an alert\n",
            "  - Write an alert\ncovers:\n  alerts:\n    - mini/2.1\n    - mini/9.9\n"
            "  no-such-section: [mini/2.1]\n",
        )
    )
    bank_file = mini / "quizzes/devops/bank.yaml"
    bank_file.write_text(
        BANK.replace("covers: []", "covers: [nope/1.1]", 1) + _question("q11", MF, "[other/1.1]")
    )
    (mini / "quizzes/guides/other.yaml").write_text(GUIDE.replace("track: devops", "track: mlops"))
    course, bank, exams, guides = _load(mini)
    found = [str(p) for p in covers_problems(guides, course, bank)]
    shown = "content/devops/basics/02-lesson-b.md"
    assert found == [
        f"{shown}:{_line(lesson, 'mini/9.9')}: error: covers: guide 'mini' has no task "
        "'mini/9.9' (its tasks: 1.1, 1.2, 2.1)",
        f"{shown}:{_line(lesson, 'no-such-section')}: error: covers: no section "
        "'#no-such-section' in this lesson (its sections: #alerts, #check-yourself)",
        f"quizzes/devops/bank.yaml:{_line(bank_file, 'nope/1.1')}: error: question 'q8': "
        "covers: unknown task 'nope/1.1': write <guide>/<task number> with a guide of "
        "quizzes/guides/ (guides: mini, other)",
        f"quizzes/devops/bank.yaml:{_line(bank_file, 'other/1.1')}: error: question 'q11': "
        "covers 'other/1.1', a task of the mlops guide 'other'; a devops question covers "
        "tasks of devops guides only (mini)",
    ]
    # The other guide's own problem: its profile is of another track.
    assert (
        "quizzes/guides/other.yaml:5: error: profile 'mini-exam' draws from devops, not from "
        "this guide's track mlops"
    ) in [str(p) for p in guides.problems]
    # triops validate reports the same, and the lesson and questions still serve.
    report = validate(mini)
    assert set(found) <= {str(p) for p in report.problems}
    assert course.lesson("lesson-b") is not None and "q8" in bank.by_id()


@pytest.mark.parametrize(
    ("change", "needle", "message"),
    [
        (
            ("weight: 40", "weight: 30"),
            "domains:",
            "domain weights are percentages and must add up to 100, not 90",
        ),
        (('{id: "2.1"', '{id: "3.1"'), '"3.1"', "task 3.1 is listed under domain 2"),
        (
            ("profile: mini-exam", "profile: no-exam"),
            "profile:",
            "profile 'no-exam' is not an exam profile in quizzes/exams/ (profiles: mini-exam)",
        ),
        (
            ("title: Run\n", "title: Operate\n"),
            "title: Operate",
            "domain 2: profile 'mini-exam' has no domain titled 'Operate' (its domains: Build, "
            "Run); set profile_domain to one of them",
        ),
        (
            ("notes: [The weights are made up for the tests.]\n", ""),
            "verified:",
            "domain 1 is marked unverified: say in `notes` where its weight or tasks came from",
        ),
    ],
)
def test_a_broken_guide_is_an_error_at_its_line(mini, change, needle, message):
    path = mini / "quizzes/guides/mini.yaml"
    path.write_text(GUIDE.replace(*change))
    *_, guides = _load(mini)
    line = _line(path, needle)
    assert f"quizzes/guides/mini.yaml:{line}: error: {message}" in [str(p) for p in guides.problems]


def test_coverage_of_the_fixture_matches_the_hand_count(mini):
    course, bank, exams, guides = _load(mini)
    [cov] = coverage(guides, course, bank, exams, "mini")
    by_task = {t.task.id: t for t in cov.tasks}
    # 1.1: two sections of lesson-a; practice q1-q4 (q5 is exam-only); exam q1, q2, q3, q5
    # (q4 is true/false, which the profile does not draw).
    t11 = by_task["mini/1.1"]
    assert [s.url for s in t11.sections] == [
        "/learn?lesson=lesson-a#pipelines",
        "/learn?lesson=lesson-a#tests",
    ]
    assert t11.practice == ("q1", "q2", "q3", "q4")
    assert t11.exam == ("q1", "q2", "q3", "q5")
    assert t11.gaps == []
    # 1.2: one section, one practice-only question.
    assert by_task["mini/1.2"].gaps == ["1 of 3 practice questions", "0 of 3 exam questions"]
    # 2.1: no section, q7 in both pools.
    assert by_task["mini/2.1"].gaps == [
        "no lesson section",
        "1 of 3 practice questions",
        "1 of 3 exam questions",
    ]
    assert (cov.by_lesson, cov.by_questions) == (2, 1)
    # 5 scored questions at 60/40: 3 from Build, 2 from Run. Build's pool is q1, q2, q3, q5
    # (4 < 6); Run's is q7-q10 (4 = 2 x 2).
    build, run = cov.domains
    assert (build.fill.per_attempt, build.fill.pool, build.fill.twice) == (3, 4, False)
    assert build.fill.short == 2
    assert (run.fill.per_attempt, run.fill.pool, run.fill.twice) == (2, 4, True)
    assert cov.fills_twice == 1


def test_format_names_the_gaps_and_the_fill_check(mini):
    course, bank, exams, guides = _load(mini)
    text = format_coverage(coverage(guides, course, bank, exams, "mini")[0])
    assert text.splitlines()[:3] == [
        "mini: Mini exam (MINI-01) (first edition; checked 2026-12-06)",
        "  task statements: 3  covered by a lesson section: 2/3 (67 %)  with 3+ practice and "
        "3+ exam questions: 1/3 (33 %)",
        "  profile mini-exam: 1 of 2 domains can fill two attempts without reusing a question",
    ]
    assert "    fill: pool 4, one attempt draws 3, two need 6: short by 2" in text
    assert (
        "      1.2 Test in the pipeline: 1 of 3 practice questions; 0 of 3 exam questions" in text
    )
    assert (
        "      2.1 Alert on symptoms: no lesson section; 1 of 3 practice questions; "
        "1 of 3 exam questions" in text
    )


# --- the command and the page ---------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "triops.cli", "coverage", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_cli_coverage_prints_the_gaps_and_exits_0(mini):
    result = _cli("--guide", "mini", str(mini))
    assert result.returncode == 0, result.stderr
    assert "mini: Mini exam (MINI-01)" in result.stdout
    assert "      2.1 Alert on symptoms: no lesson section;" in result.stdout


def test_cli_coverage_of_an_unknown_guide_exits_1(mini):
    result = _cli("--guide", "nope", str(mini))
    assert result.returncode == 1
    assert "no guide 'nope' in quizzes/guides/ (guides: mini)" in result.stderr


def test_cli_coverage_on_the_repository_reports_every_guide():
    result = subprocess.run(
        [sys.executable, "-m", "triops.cli", "coverage"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    heads = [line.split(":")[0] for line in result.stdout.splitlines() if line[:1].isalpha()]
    assert heads == ["dop-c02", "genai-assoc", "pmle"]


def test_exam_coverage_page_shows_the_heatmap_gaps_and_links(mini, use_root):
    (mini / "data").mkdir()
    use_root(mini)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    at.switch_page("app_pages/exam_coverage.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Exam coverage" in [t.value for t in at.title]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Task statements"] == "3"
    assert metrics["Taught in a lesson section"] == "2 of 3 (67 %)"
    assert metrics["Domains that fill two attempts"] == "1 of 2 (50 %)"
    markdown = "\n".join(m.value for m in at.markdown)
    assert "(/learn?lesson=lesson-a#pipelines)" in markdown
    assert "no lesson section; 1 of 3 practice questions; 1 of 3 exam questions" in markdown
    domains = at.dataframe[0].value
    assert list(domains["two attempts"]) == ["short by 2", "fills twice"]
