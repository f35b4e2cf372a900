"""Practice selection: filters, exam-only exclusion, missed questions returning."""

import random
from datetime import datetime, timedelta

import pytest

from conftest import REPO
from triops.quiz import practice
from triops.quiz.bank import load_bank

T0 = datetime(2026, 11, 28, 9, 0)


@pytest.fixture(scope="module")
def bank():
    return load_bank(REPO)


def test_exam_only_questions_never_appear_in_practice(bank):
    exam_only = {q.id for q in bank.questions if q.question.exam_only}
    assert exam_only
    assert not exam_only & {q.id for q in practice.pool(bank)}


def test_pool_filters_by_track_domain_and_lesson(bank):
    pool = practice.pool(bank, "mlops", "governance")
    assert pool and all(q.track == "mlops" and q.question.domain == "governance" for q in pool)
    lesson = practice.pool(bank, lesson="devops-dora-metrics")
    assert lesson and all(q.question.lesson == "devops-dora-metrics" for q in lesson)


def test_a_missed_question_comes_back_after_three_others(bank):
    pool = practice.pool(bank, "devops")
    rng = random.Random(3)
    missed = pool[0]
    latest = {missed.id: (0.0, T0)}
    recent = [missed.id]
    shown = []
    for step in range(4):
        q = practice.next_question(pool, latest, recent, rng)
        shown.append(q.id)
        recent.append(q.id)
        latest[q.id] = latest.get(q.id, (1.0, T0 + timedelta(minutes=step + 1)))
    assert missed.id not in shown[:3]
    assert shown[3] == missed.id


def test_missed_questions_from_an_earlier_session_come_first(bank):
    pool = practice.pool(bank, "llmops")
    old_miss = pool[5]
    latest = {old_miss.id: (0.5, T0 - timedelta(days=2)), pool[6].id: (1.0, T0)}
    assert practice.next_question(pool, latest, [], random.Random(1)).id == old_miss.id


def test_fresh_questions_before_repeats_once_nothing_is_missed(bank):
    pool = practice.pool(bank, "triad")[:5]
    latest = {q.id: (1.0, T0 + timedelta(minutes=i)) for i, q in enumerate(pool[:4])}
    assert practice.next_question(pool, latest, [], random.Random(1)).id == pool[4].id
    latest[pool[4].id] = (1.0, T0 + timedelta(minutes=9))
    recent = [q.id for q in pool[1:]]
    assert practice.next_question(pool, latest, recent, random.Random(1)).id == pool[0].id


def test_another_like_this_stays_on_the_same_lesson(bank):
    pool = practice.pool(bank)
    current = next(q for q in pool if q.question.lesson == "mlops-governance")
    other = practice.like(pool, current, [current.id], random.Random(2))
    assert other.id != current.id and other.question.lesson == "mlops-governance"


def test_empty_pool_gives_none():
    assert practice.next_question([], {}, [], random.Random(1)) is None
