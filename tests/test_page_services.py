"""The services the pages call instead of the store: the learner summary and lesson progress
(triops.learner), profiles (triops.profiles) and a practice answer (triops.quiz.practice_answers:
graded in the session and, for a profile, kept in the practice log and on the question's review
card). On a real DuckDB file, the fixture course and the real bank."""

from contextlib import closing
from datetime import datetime, timedelta

import pytest

from conftest import FIXTURES, REPO, fresh_state
from triops import learner, profiles
from triops.content.loader import load_course
from triops.errors import InvalidInputError
from triops.quiz import practice
from triops.quiz.bank import load_bank
from triops.quiz.practice_answers import answer, latest_scores
from triops.quiz.practice_session import GAPS, Session, show
from triops.store import reviews

T0 = datetime(2026, 12, 6, 9, 0)


@pytest.fixture
def db(tmp_path):
    with closing(fresh_state(tmp_path / "state.duckdb")) as conn:
        yield conn


@pytest.fixture(scope="module")
def course():
    return load_course(FIXTURES / "mini")


def test_without_a_profile_nothing_is_done_and_the_first_lesson_is_next(db, course):
    summary = learner.summary(db, course, None)
    assert summary.completed == {} and summary.last_visited is None
    assert summary.tracks == {"devops": (0, 2)}
    assert [(m.module_id, m.done, m.total) for m in summary.modules] == [("basics", 0, 2)]
    assert summary.next_lesson.id == "first-lesson"
    assert learner.completed(db, None) == {}


def test_the_summary_reads_completions_and_the_last_visit_of_that_learner_only(db, course):
    ada = profiles.create(db, "Ada", T0)
    bob = profiles.create(db, "Bob", T0)
    learner.record_visit(db, ada.id, "first-lesson", T0)
    learner.mark_complete(db, ada.id, "first-lesson", T0 + timedelta(minutes=5))

    summary = learner.summary(db, course, ada.id)
    assert summary.completed == {"first-lesson": T0 + timedelta(minutes=5)}
    assert summary.modules[0].done == 1 and summary.modules[0].percent == 50.0
    assert summary.tracks == {"devops": (1, 2)}
    assert summary.last_visited == "first-lesson"
    # The last lesson opened is done, so Continue moves on to the next unfinished one.
    assert summary.next_lesson.id == "second-lesson"

    untouched = learner.summary(db, course, bob.id)
    assert untouched.completed == {} and untouched.last_visited is None
    assert untouched.next_lesson.id == "first-lesson"

    learner.mark_incomplete(db, ada.id, "first-lesson")
    taken_back = learner.summary(db, course, ada.id)
    assert taken_back.tracks == {"devops": (0, 2)} and taken_back.next_lesson.id == "first-lesson"


def test_an_unfinished_last_visit_is_where_the_learner_continues(db, course):
    ada = profiles.create(db, "Ada", T0)
    learner.record_visit(db, ada.id, "first-lesson", T0)
    learner.record_visit(db, ada.id, "second-lesson", T0 + timedelta(minutes=1))
    assert learner.summary(db, course, ada.id).next_lesson.id == "second-lesson"


def test_every_lesson_done_leaves_nothing_to_continue(db, course):
    ada = profiles.create(db, "Ada", T0)
    for lesson in course.lessons():
        learner.mark_complete(db, ada.id, lesson.id, T0)
    summary = learner.summary(db, course, ada.id)
    assert summary.tracks == {"devops": (2, 2)} and summary.next_lesson is None


def test_profiles_are_listed_by_name_and_a_taken_name_is_refused(db):
    profiles.create(db, "grace", T0)
    profiles.create(db, "Ada", T0)
    assert [p.name for p in profiles.all_profiles(db)] == ["Ada", "grace"]
    with pytest.raises(InvalidInputError, match="already exists"):
        profiles.create(db, "  GRACE ", T0)
    assert len(profiles.all_profiles(db)) == 2


# --------------------------------------------------------------------------- practice answers


@pytest.fixture(scope="module")
def single():
    """A practice question with one key and at least one wrong option."""
    bq = next(bq for bq in practice.pool(load_bank(REPO)) if bq.question.type == "single")
    weights = bq.question.weights()
    key = next(i for i, w in enumerate(weights) if w >= 100)
    wrong = next(i for i, w in enumerate(weights) if w <= 0)
    return bq, key, wrong


def test_an_answer_with_a_profile_is_logged_and_updates_its_review_card(db, single):
    bq, key, wrong = single
    ada = profiles.create(db, "Ada", T0)
    session = Session()
    show(session, bq.id)

    missed = answer(db, ada.id, session, bq, wrong, T0)
    assert missed.verdict == "wrong" and missed.right_answer
    assert session.reviews[bq.id].due == 1 + GAPS[0]
    assert latest_scores(db, ada.id) == {bq.id: (0.0, T0)}
    card = reviews.get_card(db, ada.id, bq.id)
    assert card is not None and card.track == bq.track

    show(session, bq.id)
    later = T0 + timedelta(minutes=3)
    right = answer(db, ada.id, session, bq, key, later)
    assert right.verdict == "correct" and right.right_answer == ""
    assert latest_scores(db, ada.id) == {bq.id: (1.0, later)}
    assert len(reviews.card_logs(db, ada.id, bq.id)) == 2


def test_without_a_profile_the_answer_is_graded_but_nothing_is_written(db, single):
    bq, _, wrong = single
    session = Session()
    show(session, bq.id)
    checked = answer(db, None, session, bq, wrong, T0)
    assert checked.verdict == "wrong" and session.scores[bq.id] == (0.0, T0)
    assert latest_scores(db, None) == {}
    counts = [
        db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("practice_log", "review_cards", "review_logs")
    ]
    assert counts == [0, 0, 0]


def test_the_log_keeps_each_learners_answers_apart(db, single):
    bq, key, wrong = single
    ada, bob = profiles.create(db, "Ada", T0), profiles.create(db, "Bob", T0)
    answer(db, ada.id, Session(shown=[bq.id]), bq, wrong, T0)
    answer(db, bob.id, Session(shown=[bq.id]), bq, key, T0)
    assert latest_scores(db, ada.id) == {bq.id: (0.0, T0)}
    assert latest_scores(db, bob.id) == {bq.id: (1.0, T0)}
