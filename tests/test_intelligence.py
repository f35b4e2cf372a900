"""Content intelligence with the real model: near-duplicates and far-away lesson links are
warned about with file and line; lessons with too few questions are named."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from conftest import REPO
from triops.quiz.itemwriting import is_item_writing
from triops.validate import validate

DUPLICATE = """
  - id: devops-zz-reworded-frequency
    type: numeric
    domain: measurement-and-improvement
    difficulty: foundation
    lesson: devops-dora-metrics
    stem: Over 20 working days a team shipped to production 12 times. What is the deployment frequency per working day?
    answers: [{value: 0.6, tolerance: 0.01}]
    explanation: Twelve deployments over twenty working days is 0.6 a day.
  - id: devops-zz-original-frequency
    type: numeric
    domain: measurement-and-improvement
    difficulty: foundation
    lesson: devops-dora-metrics
    stem: A team deploys 12 times in 20 working days. What is its deployment frequency per working day?
    answers: [{value: 0.6, tolerance: 0.01}]
    explanation: Twelve deployments over twenty working days is 0.6 a day.
  - id: devops-zz-mislinked
    type: true_false
    domain: measurement-and-improvement
    difficulty: foundation
    lesson: triad-careers-and-market
    stem: What does the Kolmogorov-Smirnov statistic D measure between two samples?
    answer: true
    explanation: A question linked to the wrong lesson on purpose.
"""


class Remembering:
    """The session's real model, remembering each text it encoded: validate encodes every
    question's stem, so the module's second validation encodes only the stems it adds. (The
    model's vectors of the stems are also kept between runs: tests/conftest.py StoredVectors.)"""

    def __init__(self, model):
        self.model, self.seen = model, {}

    def __getattr__(self, name):
        return getattr(self.model, name)

    def encode(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.seen]
        if missing:
            self.seen.update(zip(missing, self.model.encode(missing), strict=True))
        return np.stack([self.seen[t] for t in texts]) if texts else self.model.encode(texts)


@pytest.fixture(scope="module")
def remembering(stored_embedder):
    return Remembering(stored_embedder)


@pytest.fixture
def derived(derived_copy):
    """A copy of the session's course index (tests/conftest.py): the lesson vectors are reused,
    only the question stems are encoded (with the session's `embedder`)."""
    return derived_copy


@pytest.fixture
def root(tmp_path):
    for name in ("content", "quizzes", "data", "labs"):
        shutil.copytree(REPO / name, tmp_path / name)
    return tmp_path


def test_the_real_course_has_no_intelligence_warnings(remembering, derived):
    report = validate(REPO, remembering, derived)
    # Item-writing warnings have their own test in tests/test_itemwriting.py.
    assert [str(p) for p in report.problems if not is_item_writing(p)] == []


def test_near_duplicates_and_far_links_are_warned_with_both_files_and_lines(
    remembering, root, derived
):
    extra = root / "quizzes" / "devops" / "zz-extra.yaml"
    extra.write_text("questions:" + DUPLICATE)
    report = validate(root, remembering, derived)
    warnings = [str(p) for p in report.problems if p.severity == "warning"]
    assert any(
        w.startswith(
            "quizzes/devops/zz-extra.yaml:2: warning: question "
            "'devops-zz-reworded-frequency' nearly duplicates "
            "'devops-zz-original-frequency' at quizzes/devops/zz-extra.yaml:10"
        )
        for w in warnings
    ), warnings
    assert any(
        w.startswith(
            "quizzes/devops/zz-extra.yaml:18: warning: question 'devops-zz-mislinked' "
            "seems far from its lesson 'triad-careers-and-market'"
        )
        for w in warnings
    ), warnings
    assert report.errors == 0


def test_lessons_with_fewer_than_three_questions_are_named(root):
    bank_file = root / "quizzes" / "devops" / "practice.yaml"
    import yaml

    data = yaml.safe_load(bank_file.read_text())
    data["questions"] = [q for q in data["questions"] if q["lesson"] != "devops-dora-metrics"]
    bank_file.write_text(yaml.safe_dump(data, sort_keys=False))
    report = validate(root)
    assert (
        "content/devops/practice/01-dora-metrics.md:1: warning: lesson 'devops-dora-metrics' "
        "has 0 question(s); at least 3 are expected" in [str(p) for p in report.problems]
    )
