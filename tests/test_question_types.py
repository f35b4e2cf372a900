"""Question types as one registry: every type complete, and behaviour as it was before the
registry (a golden exam attempt over one question of each type)."""

import dataclasses
import inspect
import json
import random
import re
import shutil
from datetime import datetime, timedelta

import pytest
import yaml
from pydantic import TypeAdapter

from conftest import FIXTURES, REPO
from triops.quiz import exam as engine
from triops.quiz.bank import load_bank
from triops.quiz.blueprint import load_exams
from triops.quiz.grading import (
    InvalidResponse,
    describe,
    grade,
    right_answer,
    validate_response,
)
from triops.quiz.models import QUESTION_TYPES, TYPES, Question, QuestionBase
from triops.quiz.presentation import labels, option_count, to_authored, to_screen
from triops.store import users
from triops.store.connection import open_state

T0 = datetime(2026, 12, 6, 9, 0, 0)
GOLDEN = FIXTURES / "golden" / "grade_attempt.json"

# Responses by question id, in authored indices: all right, partly right, wrong.
ANSWERS = {
    "right": {
        "types-single-red-main": 0,
        "types-multiple-pr-checks": [0, 1],
        "types-true-false-flaky": True,
        "types-numeric-queue": 15.0,
        "types-short-text-trunk": "  Trunk Based   Development ",
        "types-ordering-pipeline": [0, 1, 2, 3],
        "types-matching-test-kinds": [0, 1, 2],
    },
    "partly": {
        "types-single-red-main": 2,
        "types-multiple-pr-checks": [0],
        "types-true-false-flaky": False,
        "types-numeric-queue": 15.000000001,
        "types-short-text-trunk": "trunk",
        "types-ordering-pipeline": [1, 0, 2, 3],
        "types-matching-test-kinds": [0, 3, None],
    },
    "wrong": {
        "types-single-red-main": 3,
        "types-multiple-pr-checks": [0, 1, 2],
        "types-true-false-flaky": False,
        "types-numeric-queue": 12,
        "types-short-text-trunk": "gitflow",
        "types-ordering-pipeline": [3, 2, 1, 0],
        "types-matching-test-kinds": [2, 0, 1],
    },
}


@pytest.fixture(scope="module")
def all_types(tmp_path_factory):
    """The exam_types fixture (one question of each type) next to the course vocabulary."""
    root = tmp_path_factory.mktemp("types")
    shutil.copytree(FIXTURES / "exam_types" / "quizzes", root / "quizzes")
    shutil.copy(REPO / "quizzes" / "vocabulary.yaml", root / "quizzes" / "vocabulary.yaml")
    bank = load_bank(root)
    exam = load_exams(root, bank).get("all-types")
    return bank, exam


def finished_attempts(all_types, tmp_path) -> dict:
    """Each answer set, saved and submitted on a real state file under both multiple-response
    rules: the drawn option orders and the stored result."""
    bank, exam = all_types
    out = {}
    for mode in ("partial", "all-or-nothing"):
        bp = exam.blueprint.model_copy(update={"multiple_response": mode})
        exam_mode = dataclasses.replace(exam, blueprint=bp)
        for name, answers in ANSWERS.items():
            db = open_state(tmp_path / f"{mode}-{name}.duckdb")
            user = users.create_user(db, "Ada", T0).id
            row = engine.start(db, exam_mode, bank, user, T0, random.Random(15))
            view = engine.load(db, row.token, user, T0)
            for d in view.questions:
                response = answers[d.question.id]
                engine.save_answer(
                    db, row.token, user, d.position, response, T0 + timedelta(minutes=1), d.question
                )
            engine.submit(db, row.token, user, T0 + timedelta(minutes=2))
            done = engine.load(db, row.token, user, T0 + timedelta(minutes=3))
            out[f"{mode}/{name}"] = {
                "orders": {d.question.id: d.option_order for d in done.questions},
                "result": json.loads(done.row.result_json),
            }
            db.close()
    return out


def test_a_fixed_draw_of_every_type_grades_as_recorded(all_types, tmp_path):
    recorded = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert finished_attempts(all_types, tmp_path) == recorded


# ------------------------------------------------------------------ the registry


def test_every_type_name_has_a_complete_entry_and_a_widget():
    from triops.ui.question_view import WIDGETS

    assert set(QUESTION_TYPES) == set(TYPES) == set(WIDGETS)
    for name in QUESTION_TYPES:
        model = TYPES[name]
        assert issubclass(model, QuestionBase) and model.type_name() == name
        assert not inspect.isabstract(model), (name, model.__abstractmethods__)


@pytest.fixture(scope="module")
def one_of_each():
    """One question of every type, as a bank file gives them."""
    data = yaml.safe_load((FIXTURES / "exam_types/quizzes/devops/types.yaml").read_text())
    return [TypeAdapter(Question).validate_python(item) for item in data["questions"]]


def test_the_fixture_holds_one_question_of_each_registered_type(one_of_each):
    assert sorted(q.type for q in one_of_each) == sorted(QUESTION_TYPES)
    assert all(type(q) is TYPES[q.type] for q in one_of_each)


@pytest.mark.parametrize("mode", ["partial", "all-or-nothing"])
def test_each_types_right_answer_scores_1_and_survives_a_shuffled_screen(one_of_each, mode):
    for q in one_of_each:
        right = right_answer(q)
        assert grade(q, right, multiple_response=mode).correct, q.type
        order = list(reversed(range(option_count(q))))
        assert to_authored(q, order, to_screen(q, order, right)) == right, q.type
        assert len(labels(q, order)) == option_count(q)
        assert describe(q, right) != "not answered"


def test_checking_an_answers_shape_grades_nothing(one_of_each):
    """The exam checks an answer's shape before it saves it; grading waits for the submit."""
    single = next(q for q in one_of_each if q.type == "single")

    class Ungradable(type(single)):
        def score(self, response, **kw):
            raise AssertionError("graded while only its shape was to be checked")

    q = Ungradable.model_validate(single.model_dump())
    validate_response(q, 1)
    validate_response(q, None)
    with pytest.raises(InvalidResponse, match="choose one option"):
        validate_response(q, 7)


# Branching on a type name belongs in the type's module; item-writing checks and the simulated
# candidate study choice items in particular, so they may name them.
MAY_NAME_TYPES = {"quiz/itemwriting.py", "quiz/simulate.py"}
TYPE_BRANCH = re.compile(
    r"(t|\.type) (==|in) ?\(?\"(single|multiple|true_false|numeric|short_text|ordering|matching)"
)


def test_only_the_type_modules_branch_on_a_question_type():
    src = REPO / "src" / "triops"
    found = [
        f"{path.relative_to(src)}:{n}"
        for path in src.rglob("*.py")
        if path.relative_to(src).as_posix() not in MAY_NAME_TYPES
        and "quiz/types" not in path.as_posix()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if TYPE_BRANCH.search(line)
    ]
    assert found == []
