"""Practice: the pool (filters, exam-only exclusion) and the session service that picks the next
question (missed questions come back spaced out, mixed with new ones) and grades answers."""

import random
from datetime import datetime, timedelta

from conftest import REPO
from triops.quiz import practice
from triops.quiz.bank import load_bank
from triops.quiz.practice_session import (
    CHOSEN,
    GAPS,
    NEW,
    REPEAT,
    RETURNING,
    Session,
    check,
    next_question,
    record,
    show,
)

T0 = datetime(2026, 11, 28, 9, 0)


def play(pool, answers, *, logged=None, seed=7, session=None):
    """Run a session: `answers(position, question_id, session)` gives each shown question's
    score. Returns the session and the ids shown, in order."""
    rng = random.Random(seed)
    session = session or Session()
    at = T0
    for position in range(len(answers) if isinstance(answers, list) else answers[0]):
        pick = next_question(pool, session, logged or {}, rng)
        show(session, pick.question.id, pick.reason)
        at += timedelta(minutes=1)
        score = answers[position] if isinstance(answers, list) else answers[1](position, pick)
        record(session, pick.question.id, score, at)
    return session, list(session.shown)


# --------------------------------------------------------------------------- the pool


def test_exam_only_questions_never_appear_in_practice(bank):
    exam_only = {q.id for q in bank.questions if q.question.exam_only}
    assert exam_only
    assert not exam_only & {q.id for q in practice.pool(bank)}


def test_pool_filters_by_track_domain_and_lesson(bank):
    pool = practice.pool(bank, "mlops", "governance")
    assert pool and all(q.track == "mlops" and q.question.domain == "governance" for q in pool)
    lesson = practice.pool(bank, lesson="devops-dora-metrics")
    assert lesson and all(q.question.lesson == "devops-dora-metrics" for q in lesson)


def test_another_like_this_stays_on_the_same_lesson(bank):
    pool = practice.pool(bank)
    current = next(q for q in pool if q.question.lesson == "mlops-governance")
    other = practice.like(pool, current, [current.id], random.Random(2))
    assert other.id != current.id and other.question.lesson == "mlops-governance"


# --------------------------------------------------------------------------- spacing


def test_four_misses_do_not_turn_practice_into_a_loop(bank):
    """The browser walk: four misses, then 14 questions showed only 5 distinct ones."""
    pool = practice.pool(bank, "devops")
    session, shown = play(pool, [0.0] * 4 + [1.0] * 10)
    assert len(shown) == 14
    # Each miss returns once within these 14 (after 3 others), and the first one a second time
    # (after 8 more): 9 distinct questions, where the walk saw 5.
    assert len(set(shown)) >= 9, shown
    for a, b in zip(shown, shown[1:], strict=False):
        assert a != b, "the same question twice in a row"
    returned = [session.shown[i] for i, r in enumerate(session.reasons) if r == RETURNING]
    assert set(returned) == set(shown[:4]), "every miss came back"
    # Returning questions are mixed with new ones: never two returning questions in a row.
    pairs = zip(session.reasons, session.reasons[1:], strict=False)
    assert not any(a == b == RETURNING for a, b in pairs), session.reasons


def test_a_missed_question_comes_back_after_three_others_then_after_eight_more(bank):
    pool = practice.pool(bank, "llmops")
    first = {}

    def score(position, pick):
        first.setdefault("id", pick.question.id)
        return 0.0 if position == 0 else 1.0

    session, shown = play(pool, (20, score))
    missed = first["id"]
    seen = [i for i, q in enumerate(shown) if q == missed]
    assert seen == [0, 1 + GAPS[0], 1 + GAPS[0] + 1 + GAPS[1]], seen
    assert missed not in session.reviews, "answered right at both gaps: done for the session"


def test_a_question_missed_again_starts_its_gaps_over(bank):
    pool = practice.pool(bank, "mlops")
    ids = {}

    def score(position, pick):
        ids.setdefault("missed", pick.question.id)
        if pick.question.id == ids["missed"]:
            ids["times"] = ids.get("times", 0) + 1
            return 0.0 if ids["times"] <= 2 else 1.0
        return 1.0

    _, shown = play(pool, (16, score))
    seen = [i for i, q in enumerate(shown) if q == ids["missed"]]
    # missed at 0, back after 3 (missed again), back after 3 more, then after 8 more.
    assert seen == [0, 4, 8, 17][: len(seen)] and seen[:3] == [0, 4, 8], seen


def test_never_the_same_question_twice_in_a_row_even_when_everything_was_missed(bank):
    pool = practice.pool(bank, lesson="devops-dora-metrics")
    assert len(pool) >= 3
    _, shown = play(pool, [0.0] * 30)
    assert all(a != b for a, b in zip(shown, shown[1:], strict=False)), shown
    assert set(shown) == {q.id for q in pool}


def test_a_pool_of_one_question_repeats_it(bank):
    pool = practice.pool(bank, lesson="devops-dora-metrics")[:1]
    _, shown = play(pool, [0.0, 1.0, 1.0])
    assert shown == [pool[0].id] * 3


def test_missed_questions_from_an_earlier_session_come_first_then_mix_with_new_ones(bank):
    pool = practice.pool(bank, "llmops")
    old = [pool[5], pool[9]]
    logged = {
        old[0].id: (0.5, T0 - timedelta(days=2)),
        old[1].id: (0.0, T0 - timedelta(days=1)),
        pool[6].id: (1.0, T0 - timedelta(days=1)),
    }
    session, shown = play(pool, [1.0] * 4, logged=logged)
    assert shown[0] == old[0].id, "the oldest miss first"
    assert session.reasons[:4] == [RETURNING, NEW, RETURNING, NEW]
    assert shown[2] == old[1].id
    assert pool[6].id not in shown, "answered right before: not before the new ones"


def test_once_every_question_was_answered_the_oldest_answer_comes_first(bank):
    pool = practice.pool(bank, "triad")[:5]
    logged = {q.id: (1.0, T0 + timedelta(minutes=i)) for i, q in enumerate(pool)}
    pick = next_question(pool, Session(), logged, random.Random(1))
    assert pick.question.id == pool[0].id and pick.reason == REPEAT
    session = Session()
    show(session, pool[0].id, REPEAT)
    record(session, pool[0].id, 1.0, T0 + timedelta(hours=1))
    assert next_question(pool, session, logged, random.Random(1)).question.id == pool[1].id


def test_a_seeded_session_replays_exactly(bank):
    pool = practice.pool(bank)
    answers = [0.0, 1.0, 0.0, 0.5, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    assert play(pool, answers, seed=11)[1] == play(pool, answers, seed=11)[1]
    assert play(pool, answers, seed=11)[1] != play(pool, answers, seed=12)[1]


def test_empty_pool_gives_none():
    assert next_question([], Session(), {}, random.Random(1)) is None


# --------------------------------------------------------------------------- grading


def test_check_grades_records_and_says_the_right_answer_only_when_wrong(bank):
    q = next(bq for bq in practice.pool(bank) if bq.question.type == "single").question
    key = next(i for i, w in enumerate(q.weights()) if w >= 100)
    wrong = next(i for i, w in enumerate(q.weights()) if w <= 0)
    session = Session()
    show(session, q.id, CHOSEN)
    missed = check(session, q, wrong, T0)
    assert missed.verdict == "wrong" and missed.score == 0
    assert missed.right_answer == q.options[key].text or q.options[key].text in missed.right_answer
    assert session.scores[q.id] == (0.0, T0)
    assert session.reviews[q.id].due == 1 + GAPS[0]
    show(session, q.id, RETURNING)
    right = check(session, q, key, T0 + timedelta(minutes=5))
    assert right.verdict == "correct" and right.right_answer == ""
    assert session.reviews[q.id].due == 2 + GAPS[1] and session.reviews[q.id].stage == 1


# --------------------------------------------------------------------------- the page


def answer_wrong(at, question, key: str) -> None:
    """Give an answer that is not fully right, whatever the question's type."""
    order = at.session_state[f"{key}-order"]
    t = question.type
    if t == "single":
        weights = question.weights()
        at.radio(key=key).set_value(next(i for i, o in enumerate(order) if weights[o] <= 0))
    elif t == "true_false":
        at.radio(key=key).set_value(not question.answer)
    elif t in ("numeric", "short_text"):
        at.text_input(key=key).input("-987654321" if t == "numeric" else "zzz qqq")
    elif t == "ordering":
        at.multiselect(key=key).set_value(list(range(len(order)))[::-1])
    elif t == "multiple":
        for box in at.checkbox:
            box.check()
    else:
        for box in at.selectbox:
            if box.key and box.key.startswith(key):
                box.set_value(0)


def answer_right_if_simple(at, question, key: str) -> None:
    """The key for single-answer and true/false questions; some answer for the others."""
    if question.type == "true_false":
        at.radio(key=key).set_value(question.answer)
    elif question.type == "single":
        order = at.session_state[f"{key}-order"]
        weights = question.weights()
        at.radio(key=key).set_value(max(range(len(order)), key=lambda i: weights[order[i]]))
    else:
        answer_wrong(at, question, key)


def test_the_practice_page_spaces_out_missed_questions():
    """Through the page, as in the browser walk: four misses, then ten more questions."""
    from streamlit.testing.v1 import AppTest

    bank = load_bank(REPO).by_id()
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    at.switch_page("app_pages/practice.py").run()
    at.selectbox(key="practice_track").set_value("devops").run()
    shown, missed = [], []
    for n in range(14):
        assert not at.exception, [e.value for e in at.exception]
        key = f"practice-{at.session_state['practice_seq']}"
        shown.append(at.session_state["practice_current"])
        question = bank[shown[-1]].question
        (answer_wrong if n < 4 else answer_right_if_simple)(at, question, key)
        at.button(key=f"{key}-check").click().run()
        said = [e.value for e in [*at.error, *at.warning, *at.success]]
        if any("come back after at least 3 other questions" in v for v in said):
            missed.append(n)
        else:
            assert "Correct." in said, said
        at.button(key=f"{key}-next").click().run()
    assert missed[:4] == [0, 1, 2, 3]
    assert all(a != b for a, b in zip(shown, shown[1:], strict=False)), shown
    assert len(set(shown)) >= 9, shown  # the walk saw 5 distinct questions in 14
    for i in range(4):
        again = [j for j in range(i + 1, len(shown)) if shown[j] == shown[i]]
        assert again, f"missed question {shown[i]} never came back: {shown}"
        assert again[0] - i - 1 >= GAPS[0], f"{shown[i]} came back too soon: {shown}"
    # The first question shown was drawn before the track was chosen.
    assert shown == at.session_state["practice_session"].shown[1:15]
