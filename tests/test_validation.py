"""Each class of bad input is reported as path:line: severity: message, and the rest still loads."""

import os
import shutil
import subprocess
import sys

import pytest

from conftest import FIXTURES
from triops.content.loader import ParseCache, load_course, shared_cache
from triops.validate import validate

BASE = "content/devops/basics"
CASES = {
    "yaml_syntax": [
        f"{BASE}/03-broken.md:4: error: YAML syntax error: expected ',' or ']', but got ':'",
    ],
    "missing_field": [
        f"{BASE}/03-no-objectives.md:2: error: missing required field 'objectives'",
    ],
    "wrong_type": [
        f"{BASE}/03-wrong-type.md:4: error: field 'minutes': Input should be a valid integer, "
        "unable to parse string as an integer",
    ],
    "duplicate_id": [
        f"{BASE}/03-duplicate.md:2: error: duplicate lesson id 'first-lesson' "
        f"(first used in {BASE}/01-first.md)",
    ],
    "dangling_prerequisite": [
        f"{BASE}/03-dangling-prereq.md:8: error: prerequisite 'kubernetes-basics' "
        "is not a lesson id",
    ],
    "dangling_link": [
        f"{BASE}/03-dangling-link.md:10: error: link to unknown lesson 'no-such-lesson'",
        f"{BASE}/03-dangling-link.md:11: error: link to 'first-lesson#no-such-section': "
        f"no such section in {BASE}/01-first.md",
    ],
    "unknown_track": [
        "content/kubernetes:1: error: unknown track 'kubernetes' (tracks.yaml lists: devops)",
    ],
    "malformed_csv": [
        "data/salaries.csv:3: error: column 'amount': Input should be a valid number, "
        "unable to parse string as a number; row skipped",
        "data/salaries.csv:4: error: expected 11 fields, found 5; row skipped",
        "data/salaries.csv:5: error: row: Value error, source_url may be empty only when via "
        "is 'seed article'; row skipped",
    ],
    "bad_module": [
        f"{BASE}/module.yaml:3: error: field 'order': Input should be a valid integer, "
        "unable to parse string as an integer",
        f"{BASE}/module.yaml:4: error: unknown field 'colour'",
    ],
}


def _overlay(root, case):
    shutil.copytree(FIXTURES / "bad" / case, root, dirs_exist_ok=True)


def _errors(report, prefix):
    return [str(p) for p in report.problems if p.severity == "error" and p.path.startswith(prefix)]


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_reported_with_file_and_line(mini_root, case):
    _overlay(mini_root, case)
    report = validate(mini_root)
    prefix = (
        "data/"
        if case == "malformed_csv"
        else "content/devops"
        if case != "unknown_track"
        else "content/kubernetes"
    )
    assert _errors(report, prefix) == CASES[case]


@pytest.mark.parametrize("case", ["yaml_syntax", "missing_field", "wrong_type", "duplicate_id"])
def test_a_broken_lesson_leaves_the_others_served(mini_root, case):
    _overlay(mini_root, case)
    course = load_course(mini_root)
    assert [lesson.id for lesson in course.lessons()] == ["first-lesson", "second-lesson"]


def test_dangling_prerequisite_still_serves_the_lesson(mini_root):
    _overlay(mini_root, "dangling_prerequisite")
    course = load_course(mini_root)
    assert course.lesson("dangling-prereq") is not None


def test_malformed_rows_are_skipped_and_valid_rows_kept(mini_root):
    from triops.market.data import load_market_data

    _overlay(mini_root, "malformed_csv")
    data = load_market_data(mini_root / "data")
    assert [s.role for s in data.salaries] == ["DevOps Engineer"]
    assert len(data.figures) == 1 and len(data.claims) == 1


def test_csv_with_a_missing_column_is_an_error_on_line_1(mini_root):
    (mini_root / "data" / "market_claims.csv").write_text("claim,market\nx,y\n")
    report = validate(mini_root)
    assert _errors(report, "data/market_claims") == [
        "data/market_claims.csv:1: error: missing columns: region, source, source_url, "
        "published, retrieved, via"
    ]


def test_unknown_front_matter_field_is_an_error(mini_root):
    path = mini_root / BASE / "01-first.md"
    path.write_text(path.read_text().replace("minutes: 5\n", "minutes: 5\nobjective: typo\n"))
    assert _errors(validate(mini_root), f"{BASE}/01") == [
        f"{BASE}/01-first.md:5: error: unknown field 'objective'"
    ]


def test_prerequisite_cycle_is_an_error(mini_root):
    path = mini_root / BASE / "01-first.md"
    path.write_text(
        path.read_text().replace("tags: [ci]", "tags: [ci]\nprerequisites: [second-lesson]")
    )
    errors = _errors(validate(mini_root), BASE)
    assert len(errors) == 1 and "prerequisites form a cycle" in errors[0]


def test_lesson_file_name_must_start_with_two_digits(mini_root):
    shutil.copy(mini_root / BASE / "01-first.md", mini_root / BASE / "intro.md")
    assert (
        f"{BASE}/intro.md:1: error: lesson file names start with two digits and a dash, "
        "then a kebab-case slug: NN-slug.md" in _errors(validate(mini_root), BASE)
    )


def test_labs_are_checked_once_a_labs_folder_exists(mini_root):
    path = mini_root / BASE / "01-first.md"
    path.write_text(path.read_text().replace("tags: [ci]", "tags: [ci]\nlabs: [ci-build]"))
    assert _errors(validate(mini_root), BASE) == []
    (mini_root / "labs").mkdir()
    assert _errors(validate(mini_root), BASE) == [
        f"{BASE}/01-first.md:8: error: lab 'ci-build' not found (expected labs/ci-build/lab.yaml)"
    ]


def test_parse_cache_parses_unchanged_files_once(mini_root):
    cache = ParseCache()
    load_course(mini_root, cache)
    first = cache.parses
    load_course(mini_root, cache)
    assert cache.parses == first
    lesson = mini_root / BASE / "02-second.md"
    lesson.write_text(lesson.read_text().replace("Second lesson", "Second lesson, edited"))
    course = load_course(mini_root, cache)
    assert cache.parses == first + 1
    assert course.lesson("second-lesson").title == "Second lesson, edited"


def test_the_shared_cache_sees_an_edit_that_keeps_the_size_and_time(mini_root):
    """Loaders called without a cache share one per root, known by each file's bytes: an edit
    of the same length inside the file system's timestamp granularity is still read, and an
    unchanged file is not parsed again."""
    assert load_course(mini_root).lesson("second-lesson").title == "Second lesson"
    cache = shared_cache(mini_root)
    first = cache.parses
    assert load_course(mini_root).lesson("second-lesson").title == "Second lesson"
    assert cache.parses == first
    lesson = mini_root / BASE / "02-second.md"
    before = lesson.stat()
    text = lesson.read_text()
    lesson.write_text(text.replace("Second lesson", "Second lessoN"))
    os.utime(lesson, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert lesson.stat().st_size == before.st_size
    assert load_course(mini_root).lesson("second-lesson").title == "Second lessoN"
    assert cache.parses == first + 1
    # A cache known by time and size alone would have kept the old parse.
    stale = ParseCache()
    lesson.write_text(text)
    os.utime(lesson, ns=(before.st_atime_ns, before.st_mtime_ns))
    load_course(mini_root, stale)
    lesson.write_text(text.replace("Second lesson", "Second lessoN"))
    os.utime(lesson, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert load_course(mini_root, stale).lesson("second-lesson").title == "Second lesson"


def test_cli_validate_prints_problems_and_summary_and_exits_1(mini_root):
    _overlay(mini_root, "dangling_link")
    result = subprocess.run(
        [sys.executable, "-m", "triops.cli", "validate", "--fast", str(mini_root)],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 1
    assert CASES["dangling_link"][0] in lines
    assert lines[-1].startswith("lessons: 3  questions: 0  exams: 0  labs: 0  errors: ")


def test_cli_validate_reports_missing_knowledge_files(mini_root):
    result = subprocess.run(
        [sys.executable, "-m", "triops.cli", "validate", "--fast", str(mini_root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (
        "content/knowledge/lifecycles.yaml:1: error: missing structured-knowledge file"
        in result.stdout
    )
    assert result.returncode == 1


def test_a_broken_lesson_is_the_root_cause_of_the_references_to_it(mini_root):
    from triops.content.problems import group_problems

    first = mini_root / "content/devops/basics/01-first.md"
    first.write_text(first.read_text().replace("objectives:", "objectives: [unclosed", 1))
    course = load_course(mini_root)
    assert ("first-lesson", "content/devops/basics/01-first.md") in course.unavailable
    groups = group_problems(course.problems, course.unavailable)
    root = groups[0]
    assert root.root.path == "content/devops/basics/01-first.md"
    assert root.root.message.startswith("YAML syntax error")
    knock_on = {(p.path, p.message) for p in root.knock_on}
    assert (
        "content/devops/basics/02-second.md",
        "prerequisite 'first-lesson' is not a lesson id",
    ) in knock_on
    assert all(p.path != root.root.path for p in root.knock_on)
    assert not any(p in g.knock_on for g in groups[1:] for p in root.knock_on)


def test_content_health_puts_the_root_cause_first_and_folds_its_knock_on_errors(
    mini_root, use_root
):
    from streamlit.testing.v1 import AppTest

    from conftest import REPO

    first = mini_root / "content/devops/basics/01-first.md"
    first.write_text(first.read_text().replace("objectives:", "objectives: [unclosed", 1))
    use_root(mini_root)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=30).run()
    at.switch_page("app_pages/content_health.py").run()
    assert not at.exception
    frame = at.dataframe[0].value
    assert frame["where"][0].startswith("content/devops/basics/01-first.md:")
    assert frame["causes"][0] >= 1
    assert not any(frame["message"].str.contains("'first-lesson' is not a lesson id"))
    assert any("follow from 1 root cause" in w.value for w in at.warning)
    assert any(e.label.startswith("content/devops/basics/01-first.md:") for e in at.expander)
