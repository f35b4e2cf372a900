"""Malformed questions are reported as path:line and left out; the rest of the bank serves."""

import shutil

import pytest

from conftest import FIXTURES, REPO
from triops.quiz.bank import load_bank
from triops.validate import validate

BANK = FIXTURES / "bank"


@pytest.fixture
def root(mini_root):
    quizzes = mini_root / "quizzes"
    (quizzes / "devops").mkdir(parents=True)
    shutil.copy(REPO / "quizzes" / "vocabulary.yaml", quizzes / "vocabulary.yaml")
    for name in ("good.yaml", "bad.yaml", "broken.yaml"):
        shutil.copy(BANK / name, quizzes / "devops" / name)
    return mini_root


def test_each_malformed_question_is_reported_with_its_line(root):
    report = validate(root)
    errors = [
        str(p) for p in report.problems if p.severity == "error" and p.path.startswith("quizzes/")
    ]
    assert errors == [
        "quizzes/devops/bad.yaml:2: error: missing answer: mark one option `correct: true` "
        "or give `answer`",
        "quizzes/devops/bad.yaml:10: error: answer 'c' is not among the options",
        "quizzes/devops/bad.yaml:36: error: question 'devops-bad-domain': domain 'governance' "
        "is not a devops domain (culture-and-collaboration, integration-and-testing, "
        "delivery-and-deployment, infrastructure-and-operations, monitoring-and-feedback, "
        "measurement-and-improvement)",
        "quizzes/devops/bad.yaml:44: error: unknown type (use one of: single, multiple, "
        "true_false, numeric, short_text, ordering, matching)",
        "quizzes/devops/broken.yaml:4: error: YAML syntax error: while scanning a quoted "
        "scalar that is never closed",
        # Files load in name order, so the later file's copy is the duplicate.
        "quizzes/devops/good.yaml:2: error: duplicate question id 'devops-good-one' "
        "(first used at quizzes/devops/bad.yaml:19)",
    ]


def test_the_rest_of_the_bank_still_serves(root):
    bank = load_bank(root, {"first-lesson", "second-lesson"})
    assert sorted(q.id for q in bank.questions) == ["devops-good-one", "devops-still-fine"]
    assert bank.by_id()["devops-good-one"].question.type == "true_false"  # bad.yaml's, first
    assert validate(root).questions == 2


def test_imported_gaps_are_warnings_not_errors(root):
    path = root / "quizzes" / "devops" / "imported.yaml"
    path.write_text(
        "questions:\n  - id: imported-one\n    type: true_false\n"
        "    stem: Imported from GIFT.\n    answer: false\n"
    )
    warnings = [str(p) for p in validate(root).problems if p.path.endswith("imported.yaml")]
    assert warnings == [
        "quizzes/devops/imported.yaml:2: warning: question 'imported-one' has no difficulty",
        "quizzes/devops/imported.yaml:2: warning: question 'imported-one' has no domain",
        "quizzes/devops/imported.yaml:2: warning: question 'imported-one' has no explanation",
        "quizzes/devops/imported.yaml:2: warning: question 'imported-one' links no lesson",
    ]
    assert "imported-one" in load_bank(root).by_id()
