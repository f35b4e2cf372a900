"""The course's own question bank and exams: complete, linked, and able to fill every exam."""

from collections import Counter

import pytest

from conftest import REPO
from triops.content.loader import load_course
from triops.quiz.bank import load_bank
from triops.quiz.blueprint import load_exams
from triops.quiz.models import QUESTION_TYPES


@pytest.fixture(scope="module")
def bank():
    return load_bank(REPO, {lesson.id for lesson in load_course(REPO).lessons()})


def test_the_bank_has_no_problems_and_at_least_180_questions(bank):
    assert [str(p) for p in bank.problems] == []
    assert len(bank.questions) >= 180


def test_every_lesson_has_at_least_three_questions():
    course = load_course(REPO)
    counts = Counter(q.question.lesson for q in load_bank(REPO).questions)
    assert {
        lesson.id: counts[lesson.id] for lesson in course.lessons() if counts[lesson.id] < 3
    } == {}


def test_all_seven_types_are_used(bank):
    assert {q.question.type for q in bank.questions} == set(QUESTION_TYPES)


def test_every_question_has_explanation_lesson_domain_and_difficulty(bank):
    for q in bank.questions:
        assert q.question.explanation and q.question.lesson, q.id
        assert q.question.domain and q.question.difficulty, q.id


@pytest.mark.parametrize(("track", "phases"), [("devops", 7), ("mlops", 5), ("llmops", 5)])
def test_an_ordering_question_for_each_lifecycle(bank, track, phases):
    from triops.content.knowledge import load_knowledge

    lifecycle = load_knowledge(REPO).lifecycle(track)
    names = [p.name.lower() for p in lifecycle.phases]
    orderings = [
        q.question
        for q in bank.questions
        if q.track == track and q.question.type == "ordering" and len(q.question.items) == phases
    ]
    assert any(
        all(
            any(word in item.lower() for word in name.split()[:2])
            for item, name in zip(o.items, names, strict=True)
        )
        for o in orderings
    ), f"no ordering question lists the {track} lifecycle's phases in order"


def test_every_exam_can_be_filled_and_the_mock_is_a_full_certification(bank):
    exams = load_exams(REPO, bank)
    # Real-exam profiles wait for questions in the new domains: only those shortfalls warn.
    assert [str(p) for p in exams.problems if "cannot be started yet" not in p.message] == []
    assert all(e.startable for e in exams.exams if e.blueprint.source is None)
    assert len(exams.exams) >= 4
    mock = next(
        e for e in exams.exams if set(e.blueprint.tracks) == {"triad", "devops", "mlops", "llmops"}
    )
    assert mock.blueprint.total >= 60 and mock.blueprint.time_limit_minutes == 90


def test_validate_names_the_shortfall_per_domain(tmp_path):
    import shutil

    from triops.validate import validate

    shutil.copytree(REPO / "content", tmp_path / "content")
    shutil.copytree(REPO / "quizzes", tmp_path / "quizzes")
    shutil.copytree(REPO / "data", tmp_path / "data")
    from triops.quiz.bank import load_bank

    have = len(load_bank(tmp_path).exam_pools()["devops/monitoring-and-feedback"])
    exam = tmp_path / "quizzes/exams/devops-practitioner.yaml"
    text = exam.read_text()
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "Monitoring and feedback" in t)
    exam.write_text(
        text.replace("questions: 30", f"questions: {30 - 5 + have + 12}").replace(
            "Monitoring and feedback, count: 5", f"Monitoring and feedback, count: {have + 12}"
        )
    )
    report = validate(tmp_path)
    messages = [str(p) for p in report.problems]
    assert (
        f"quizzes/exams/devops-practitioner.yaml:{line}: warning: cannot be started yet: domain "
        f"'Monitoring and feedback' needs {have + 12} from devops/monitoring-and-feedback, "
        f"the bank has {have} (short by 12)"
    ) in messages
    # A profile the bank cannot fill is still listed (the Exams page says why it cannot start).
    assert report.exams == len(list((tmp_path / "quizzes/exams").glob("*.yaml")))
