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
        "measurement-and-improvement, security-and-compliance, configuration-and-iac, "
        "resilience-and-recovery)",
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


def test_choose_must_match_the_number_of_correct_options():
    from pydantic import ValidationError

    from triops.quiz.models import Multiple

    base = {
        "id": "q-choose",
        "type": "multiple",
        "stem": "Pick the two.",
        "options": [{"text": "a", "correct": True}, {"text": "b", "correct": True}, "c"],
    }
    assert Multiple.model_validate({**base, "choose": 2}).choose == 2
    with pytest.raises(ValidationError, match="choose is 3 but the question has 2 correct"):
        Multiple.model_validate({**base, "choose": 3})


def test_a_practice_only_question_is_never_in_an_exam_pool():
    from triops.quiz.bank import Bank, BankQuestion
    from triops.quiz.models import TrueFalse

    def tf(qid, **extra):
        q = TrueFalse.model_validate(
            {"id": qid, "type": "true_false", "stem": "s", "answer": True, "domain": "d", **extra}
        )
        return BankQuestion(question=q, track="devops", path="quizzes/devops/x.yaml", line=1)

    bank = Bank(questions=[tf("in-exams"), tf("formative", practice_only=True)])
    assert [q.id for q in bank.exam_pools()["devops/d"]] == ["in-exams"]
    assert {q.id for q in bank.practice()} == {"in-exams", "formative"}
