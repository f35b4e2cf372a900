"""Spaced review with FSRS: the rating mapping, cards updated by practice, review and exam
answers, the due queue, exam dates, rating overrides, fitting a profile's parameters, the
command line and the Review page. A real DuckDB file and a fixed clock throughout."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from fsrs import Card, Rating, Scheduler
from fsrs.scheduler import DEFAULT_PARAMETERS

from conftest import REPO, fresh_state
from triops.errors import InvalidInputError
from triops.quiz import review
from triops.quiz.bank import Bank
from triops.store import reviews as store
from triops.store import users
from triops.store.connection import open_state
from triops.store.reviews import CardRow

pytest_plugins = ["tests.pgserver"]

T0 = datetime(2026, 12, 6, 9, 0)
TRACKS = ("triad", "devops", "mlops", "llmops")


@pytest.fixture
def db(tmp_path, state_backend):
    conn = fresh_state(tmp_path / "state.duckdb")
    yield conn
    conn.close()


@pytest.fixture
def ada(db):
    return users.create_user(db, "Ada", T0).id


@pytest.fixture
def bob(db):
    return users.create_user(db, "Bob", T0).id


def singles(bank, n: int = 5):
    return [q for q in bank.practice() if q.question.type == "single"][:n]


def answer(db, user, bq, score, at, seconds=None, source="practice"):
    return review.record_answer(
        db, user, bq.question, bq.track, score, at, seconds=seconds, source=source
    )


def card_row(bq, *, stability, last, due, state=2) -> CardRow:
    return CardRow(
        question_id=bq.id,
        track=bq.track,
        state=state,
        step=None,
        stability=stability,
        difficulty=5.0,
        last_review=last,
        fsrs_due=due,
        due=due,
        last_log_id="seeded",
    )


# --------------------------------------------------------------------------- the rating mapping


@pytest.mark.parametrize(
    ("score", "seconds", "typical", "rating"),
    [
        (0.0, None, None, Rating.Again),
        (0.49, 5.0, 20.0, Rating.Again),  # under half right: not recalled, however fast
        (0.5, 100.0, 20.0, Rating.Hard),  # partly right: Hard, however slow
        (0.99, 1.0, 20.0, Rating.Hard),  # partly right: Hard, however fast
        (1.0, None, 20.0, Rating.Good),  # time not measured
        (1.0, 3.0, None, Rating.Good),  # no typical time yet: time does not count
        (1.0, 10.0, 20.0, Rating.Easy),  # half the typical time
        (1.0, 10.5, 20.0, Rating.Good),
        (1.0, 39.0, 20.0, Rating.Good),
        (1.0, 40.0, 20.0, Rating.Hard),  # twice the typical time
    ],
)
def test_rating_from_score_and_time(score, seconds, typical, rating):
    assert review.rate(score, seconds, typical) == rating


def test_typical_time_is_the_profiles_own_median_then_everyones_then_none(db, bank, ada, bob):
    questions = [q for q in bank.practice() if q.question.type == "single"][:25]
    kind = "single"
    for i, bq in enumerate(questions[: review.MIN_TIMED - 1]):
        answer(db, bob, bq, 1.0, T0 + timedelta(minutes=i), seconds=30.0, source="review")
    assert review.typical_seconds(db, ada, kind) is None  # nine timed answers: not enough
    answer(db, bob, questions[9], 1.0, T0 + timedelta(minutes=9), seconds=30.0, source="review")
    assert review.typical_seconds(db, ada, kind) == 30.0  # everyone's
    done = answer(db, ada, questions[10], 1.0, T0, seconds=10.0, source="review")
    assert done.suggested == Rating.Easy and "typical 30 s" in done.reason
    for i, bq in enumerate(questions[11:21]):
        answer(db, ada, bq, 1.0, T0 + timedelta(minutes=i), seconds=8.0, source="review")
    assert review.typical_seconds(db, ada, kind) == 8.0  # her own, once she has ten
    assert review.typical_seconds(db, ada, "numeric") is None
    slow = answer(db, ada, questions[21], 1.0, T0, seconds=16.0, source="review")
    assert slow.suggested == Rating.Hard


# --------------------------------------------------------------------------- cards from answers


def test_a_practice_answer_creates_and_updates_the_profiles_card(db, bank, ada):
    right, wrong = singles(bank, 2)
    first = answer(db, ada, right, 1.0, T0)
    assert first.suggested == first.rating == Rating.Good
    card = store.get_card(db, ada, right.id)
    # No learning steps: a first Good goes straight to FSRS's initial stability for Good.
    assert card.stability == pytest.approx(DEFAULT_PARAMETERS[2])
    assert card.fsrs_due == card.due == T0 + timedelta(days=2) and card.last_review == T0
    missed = answer(db, ada, wrong, 0.0, T0)
    assert missed.rating == Rating.Again
    assert store.get_card(db, ada, wrong.id).due == T0 + timedelta(days=1)
    # Forgotten later: the relearning step brings it back ten minutes on.
    later = T0 + timedelta(days=3)
    lapse = answer(db, ada, right, 0.0, later)
    assert lapse.due == later + timedelta(minutes=10)
    logs = store.card_logs(db, ada, right.id)
    assert [(g.source, g.suggested, g.rating) for g in logs] == [
        ("practice", 3, 3),
        ("practice", 1, 1),
    ]
    assert logs[0].card_before is None and logs[1].card_before is not None


def test_cards_and_logs_belong_to_one_profile(db, bank, ada, bob):
    (bq,) = singles(bank, 1)
    done = answer(db, ada, bq, 0.0, T0)
    assert store.get_card(db, bob, bq.id) is None
    assert list(review.due_queue(db, bob, bank, T0 + timedelta(days=5))) == []
    assert [c.question.id for c in review.due_queue(db, ada, bank, T0 + timedelta(days=5))] == [
        bq.id
    ]
    with pytest.raises(InvalidInputError, match="does not exist for this profile"):
        review.change_rating(db, bob, done.log_id, Rating.Good)


def test_exam_only_questions_get_no_card(db, bank, ada):
    exam_only = next(q for q in bank.questions if q.question.exam_only)
    assert answer(db, ada, exam_only, 1.0, T0) is None
    assert store.get_card(db, ada, exam_only.id) is None


def test_an_answer_older_than_the_cards_last_review_is_applied_as_of_that_review(db, bank, ada):
    (bq,) = singles(bank, 1)
    answer(db, ada, bq, 1.0, T0)
    late = answer(db, ada, bq, 1.0, T0 - timedelta(hours=5))
    assert store.get_card(db, ada, bq.id).last_review == T0
    assert late.due >= T0


def test_exam_answers_update_cards_unanswered_and_exam_only_ones_do_not(db, bank, ada):
    """Through the exam engine: start the triad mock, answer some right, some wrong, leave
    some blank, submit."""
    from triops.quiz import exam as engine
    from triops.quiz.blueprint import load_exams
    from triops.quiz.grading import right_answer

    exam = load_exams(REPO, bank).get("triad-mock-certification")
    row = engine.start(db, exam, bank, ada, T0, random.Random(4))
    view = engine.load(db, row.token, ada, T0)
    expected: dict[str, Rating] = {}
    blank = set()
    for d in view.questions:
        if d.position % 3 == 2:
            blank.add(d.question.id)
            continue
        right = d.position % 3 == 0
        response = right_answer(d.question) if right else None
        if not right:
            response = wrong_response(d.question)
            if response is None:
                blank.add(d.question.id)
                continue
        engine.save_answer(db, row.token, ada, d.position, response, T0, d.question)
        if not d.question.exam_only:
            expected[d.question.id] = Rating.Good if right else Rating.Again
    engine.submit(db, row.token, ada, T0 + timedelta(minutes=30))
    logged = {g.question_id: g for g in store.logs(db, ada)}
    assert {q: Rating(g.rating) for q, g in logged.items()} == expected
    assert all(g.source == "exam" and g.seconds is None for g in logged.values())
    assert not blank & set(logged)
    assert any(d.question.exam_only for d in view.questions)  # some were left out for that
    # Submitting again changes nothing: the attempt is already finished.
    engine.submit(db, row.token, ada, T0 + timedelta(minutes=31))
    assert len(store.logs(db, ada)) == len(expected)


def wrong_response(question):
    """A response that scores 0, for the types where one is easy to build; else None."""
    if question.type == "single":
        weights = question.weights()
        return next(i for i, w in enumerate(weights) if w <= 0)
    if question.type == "true_false":
        return not question.answer
    return None


# --------------------------------------------------------------------------- the due queue


def test_due_queue_holds_due_cards_longest_overdue_first_ties_by_id(db, bank, ada):
    a, b, c, d = singles(bank, 4)
    answer(db, ada, a, 0.0, T0 + timedelta(hours=2))  # due T0 + 1 day 2 h
    answer(db, ada, b, 0.0, T0)  # due T0 + 1 day
    answer(db, ada, c, 1.0, T0)  # due T0 + 2 days
    answer(db, ada, d, 0.0, T0)  # due T0 + 1 day, a tie with b
    at = T0 + timedelta(days=1, hours=3)
    queue = review.due_queue(db, ada, bank, at)
    tied = sorted([b.id, d.id])
    assert [q.question.id for q in queue] == [*tied, a.id]
    assert [q.due for q in queue] == [T0 + timedelta(days=1)] * 2 + [
        T0 + timedelta(days=1, hours=2)
    ]
    later = review.due_queue(db, ada, bank, T0 + timedelta(days=3))
    assert [q.question.id for q in later] == [*tied, a.id, c.id]
    # A question that left the bank (or became exam-only) is never offered.
    smaller = Bank(questions=[q for q in bank.questions if q.id != d.id])
    assert d.id not in {q.question.id for q in review.due_queue(db, ada, smaller, at)}


def test_overview_counts_today_per_track_and_the_days_ahead(db, bank, ada):
    devops = [q for q in bank.practice() if q.track == "devops"][:3]
    mlops = [q for q in bank.practice() if q.track == "mlops"][:2]
    for bq in devops:
        answer(db, ada, bq, 0.0, T0 - timedelta(days=2))  # overdue since yesterday
    answer(db, ada, mlops[0], 0.0, T0 + timedelta(hours=1) - timedelta(days=1))  # later today
    answer(db, ada, mlops[1], 1.0, T0)  # in two days
    summary = review.overview(db, ada, bank, T0, TRACKS)
    counts = {t.track: (t.due_now, t.later_today) for t in summary.tracks}
    assert counts == {"triad": (0, 0), "devops": (3, 0), "mlops": (0, 1), "llmops": (0, 0)}
    assert summary.due_today == 4 and summary.cards == 5
    assert summary.forecast == [
        (T0.date(), "devops", 3),
        (T0.date(), "mlops", 1),
        (T0.date() + timedelta(days=2), "mlops", 1),
    ]
    assert summary.next_due == T0 + timedelta(hours=1)
    assert len(summary.queue) == 3


# --------------------------------------------------------------------------- exam dates


@pytest.mark.parametrize(
    ("before_exam", "retention"),
    [
        (timedelta(days=20), 0.90),
        (timedelta(days=14), 0.90),
        (timedelta(days=7), 0.925),
        (timedelta(0), 0.95),
        (-timedelta(hours=12), 0.95),  # during the exam day
        (-timedelta(days=1), 0.90),  # the day after: the exam is over
    ],
)
def test_target_retention_rises_from_090_to_095_over_the_last_14_days(before_exam, retention):
    day = date(2026, 12, 30)
    assert review.target_retention(day, review.exam_start(day) - before_exam) == pytest.approx(
        retention
    )
    assert review.target_retention(None, T0) == 0.90


def test_an_exam_date_pulls_forward_cards_that_would_fall_due_after_it(db, bank, ada):
    low, high, soon, other = [q for q in bank.practice() if q.track == "devops"][:3] + [
        next(q for q in bank.practice() if q.track == "mlops")
    ]
    store.save_cards(
        db,
        ada,
        [
            # Recall on the exam day (10 days on) would be 0.94: pulled forward.
            card_row(low, stability=20, last=T0, due=T0 + timedelta(days=20)),
            # 0.99 on the exam day: left alone.
            card_row(high, stability=200, last=T0, due=T0 + timedelta(days=200)),
            # Due before the exam anyway.
            card_row(soon, stability=5, last=T0, due=T0 + timedelta(days=5)),
            card_row(other, stability=20, last=T0, due=T0 + timedelta(days=20)),
        ],
    )
    exam = (T0 + timedelta(days=10)).date()
    assert review.set_exam_date(db, ada, "devops", exam, T0, TRACKS) == 1
    cards = {c.question_id: c for c in store.cards(db, ada)}
    # Due when predicted recall falls to 0.95: 0.4025 of the stability, in whole days.
    days = review.days_to_retention(20, DEFAULT_PARAMETERS, 0.95)
    assert days == pytest.approx(8.05, abs=0.01)
    assert cards[low.id].due == T0 + timedelta(days=8) < review.exam_start(exam)
    assert cards[low.id].fsrs_due == T0 + timedelta(days=20)
    assert cards[high.id].due == T0 + timedelta(days=200)
    assert cards[soon.id].due == T0 + timedelta(days=5)
    assert cards[other.id].due == T0 + timedelta(days=20)  # another track, no exam date
    queue = review.due_queue(db, ada, bank, T0 + timedelta(days=9))
    assert [(c.question.id, c.pulled) for c in queue] == [(soon.id, False), (low.id, True)]
    # Once the exam day has begun the pull stops acting: FSRS's own due again.
    after = review.due_queue(db, ada, bank, review.exam_start(exam) + timedelta(hours=1))
    assert low.id not in {c.question.id for c in after}
    # Clearing the date puts every card back on FSRS's due.
    assert review.set_exam_date(db, ada, "devops", None, T0, TRACKS) == 0
    assert store.get_card(db, ada, low.id).due == T0 + timedelta(days=20)


def test_a_review_near_the_exam_schedules_a_shorter_interval(db, bank, ada, bob):
    (bq,) = singles(bank, 1)
    for user in (ada, bob):
        store.save_cards(
            db, user, [card_row(bq, stability=30, last=T0 - timedelta(days=30), due=T0)]
        )
    review.set_exam_date(db, ada, bq.track, (T0 + timedelta(days=2)).date(), T0, TRACKS)
    random.seed(5)  # py-fsrs fuzzes intervals with the global random
    near = answer(db, ada, bq, 1.0, T0)
    far = answer(db, bob, bq, 1.0, T0)
    assert review.target_retention((T0 + timedelta(days=2)).date(), T0) > 0.94
    assert (near.fsrs_due - T0) < 0.6 * (far.fsrs_due - T0)


def test_an_exam_date_in_the_past_or_an_unknown_track_is_refused(db, ada):
    with pytest.raises(InvalidInputError, match="2026-12-05 is in the past"):
        review.set_exam_date(db, ada, "devops", date(2026, 12, 5), T0, TRACKS)
    with pytest.raises(InvalidInputError, match="Unknown track 'kubernetes'"):
        review.set_exam_date(db, ada, "kubernetes", date(2026, 12, 20), T0, TRACKS)
    assert review.exam_dates(db, ada) == {}
    review.set_exam_date(db, ada, "devops", T0.date(), T0, TRACKS)  # today is allowed
    assert review.exam_dates(db, ada) == {"devops": T0.date()}


# --------------------------------------------------------------------------- overriding


def test_changing_the_rating_recomputes_the_card_from_before_that_review(db, bank, ada):
    (bq,) = singles(bank, 1)
    done = answer(db, ada, bq, 0.0, T0)
    assert done.rating == Rating.Again and done.due == T0 + timedelta(days=1)
    changed = review.change_rating(db, ada, done.log_id, Rating.Good)
    assert changed.suggested == Rating.Again and changed.rating == Rating.Good
    card = store.get_card(db, ada, bq.id)
    assert card.stability == pytest.approx(DEFAULT_PARAMETERS[2])  # as a first Good
    assert card.due == T0 + timedelta(days=2)
    (log,) = store.card_logs(db, ada, bq.id)
    assert (log.suggested, log.rating) == (1, 3)
    # Reviewed again since: the earlier rating can no longer change.
    answer(db, ada, bq, 1.0, T0 + timedelta(days=2))
    with pytest.raises(InvalidInputError, match="reviewed again since"):
        review.change_rating(db, ada, done.log_id, Rating.Easy)


# --------------------------------------------------------------------------- fitting

# The tests that import py-fsrs's optimizer run in one xdist worker: importing it (torch and its
# optimizer modules) costs each process 3-4 CPU s.
optimizer_group = pytest.mark.xdist_group("fsrs-optimizer")


@optimizer_group
def test_the_minimum_is_py_fsrs_optimizers_own():
    from fsrs import optimizer

    assert review.MINIMUM_REVIEWS == optimizer.mini_batch_size
    assert review.MAX_SEQUENCE == optimizer.max_seq_len


def test_counted_reviews_are_those_a_day_or_more_after_the_previous_one(db, bank, ada):
    (bq,) = singles(bank, 1)
    for at in (
        T0,
        T0 + timedelta(hours=5),
        T0 + timedelta(days=1, hours=4),
        T0 + timedelta(days=3),
    ):
        answer(db, ada, bq, 1.0, at)
    # T0+5h is the same day as T0; T0+1d4h is 23 h after T0+5h (not a whole day); T0+3d counts.
    assert review.evidence(db, ada) == (1, review.MINIMUM_REVIEWS)


def test_optimize_refuses_a_profile_with_no_answers(db, ada):
    with pytest.raises(InvalidInputError, match="no answers yet"):
        review.optimize(db, ada, T0)
    assert review.fitted(db, ada) is None


def test_optimize_refuses_below_the_minimum_and_says_how_many_more(db, bank, ada):
    for i, bq in enumerate(singles(bank, 10)):
        answer(db, ada, bq, 1.0, T0 + timedelta(minutes=i))
        answer(db, ada, bq, 1.0, T0 + timedelta(days=2, minutes=i))
    with pytest.raises(InvalidInputError, match=r"has 10 \(502 more needed\)"):
        review.optimize(db, ada, T0 + timedelta(days=3))
    assert review.fitted(db, ada) is None


def simulate_learner(db, user, questions, start, seed=3):
    """Reviews of a learner who forgets faster than FSRS's defaults assume: each question
    answered on days 0, 1, 3, 7, 14 and 30, recalled with the probability a known FSRS model
    gives."""
    truth_params = list(DEFAULT_PARAMETERS)
    truth_params[:4] = [0.1, 0.3, 0.6, 2.0]
    truth = Scheduler(truth_params, enable_fuzzing=False, learning_steps=())
    rng = random.Random(seed)
    cards: dict[str, Card] = {}
    for day in (0, 1, 3, 7, 14, 30):
        at = start + timedelta(days=day)
        aware = at.replace(tzinfo=UTC)
        answers = []
        for bq in questions:
            card = cards.get(bq.id)
            p = 0.7 if card is None else truth.get_card_retrievability(card, aware)
            recalled = rng.random() < p
            rating = Rating.Good if recalled else Rating.Again
            cards[bq.id] = truth.review_card(card or Card(card_id=0, due=aware), rating, aware)[0]
            answers.append(review.Answer(bq.question, bq.track, 1.0 if recalled else 0.0))
        review.record(db, user, answers, at, "practice")
    return start + timedelta(days=31)


@optimizer_group
def test_optimize_fits_above_the_minimum_and_reschedules_the_cards(db, bank, ada):
    questions = bank.practice()[:160]
    end = simulate_learner(db, ada, questions, T0 - timedelta(days=40))
    counted, needed = review.evidence(db, ada)
    assert counted == 160 * 5 >= needed
    before = {c.question_id: c for c in store.cards(db, ada)}
    fit = review.optimize(db, ada, end)
    assert fit.reviews == 800 and fit.cards == 160
    assert fit.kept and fit.loss_fitted < fit.loss_default
    stored = review.fitted(db, ada)
    assert stored.parameters == pytest.approx(fit.parameters) and stored.reviews == 800
    # This learner forgets faster than the defaults say: the fitted first-answer stabilities
    # are lower, and so the rescheduled cards come back sooner.
    assert fit.parameters[2] < DEFAULT_PARAMETERS[2]
    after = {c.question_id: c for c in store.cards(db, ada)}
    sooner = sum(after[q].fsrs_due < before[q].fsrs_due for q in before)
    assert sooner > len(before) / 2


# --------------------------------------------------------------------------- the command line


def test_review_optimize_command_names_the_problem(bank):
    from typer.testing import CliRunner

    from triops.cli import app
    from triops.config import get_settings

    runner = CliRunner()
    missing = runner.invoke(app, ["review", "optimize", "--profile", "Nobody"])
    assert missing.exit_code == 1
    assert "no profile named 'Nobody'" in missing.output
    conn = fresh_state(get_settings().state_db)
    ada = users.create_user(conn, "Ada", T0).id
    answer(conn, ada, singles(bank, 1)[0], 1.0, T0)
    conn.close()
    few = runner.invoke(app, ["review", "optimize", "--profile", "ada"])
    assert few.exit_code == 1
    assert "needs 512 reviews" in few.output and "has 0 (512 more needed)" in few.output
    due = runner.invoke(app, ["review", "due", "--profile", "Ada"])
    assert due.exit_code == 0, due.output
    assert "cards: 1" in due.output


# --------------------------------------------------------------------------- the page


def review_app(user_id: str | None = None):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    if user_id:
        at.query_params["profile"] = user_id
    at.run()
    return at.switch_page("app_pages/review.py").run()


def texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [str(e.value) for e in [*at.info, *at.success, *at.warning, *at.error]]
    parts += [f"{m.label}: {m.value}" for m in at.metric]
    return "\n".join(parts)


def state_with_profile():
    from triops.config import get_settings

    conn = fresh_state(get_settings().state_db)
    user = users.create_user(conn, "Ada", T0).id
    return conn, user


def test_an_answer_on_the_practice_page_updates_the_profiles_card(bank):
    from streamlit.testing.v1 import AppTest

    conn, ada = state_with_profile()
    conn.close()
    bq = singles(bank, 1)[0]
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.query_params["profile"] = ada
    at.query_params["question"] = bq.id  # a deep link opens this question
    at.run()
    at.switch_page("app_pages/practice.py").run()
    assert at.session_state["practice_current"] == bq.id
    key = f"practice-{at.session_state['practice_seq']}"
    order = at.session_state[f"{key}-order"]
    weights = bq.question.weights()
    at.radio(key=key).set_value(next(i for i in range(len(order)) if weights[order[i]] <= 0))
    at.button(key=f"{key}-check").click().run()
    assert not at.exception, [e.value for e in at.exception]
    from triops.config import get_settings

    conn = fresh_state(get_settings().state_db)
    (log,) = store.card_logs(conn, ada, bq.id)
    assert (log.source, log.rating, log.score) == ("practice", int(Rating.Again), 0.0)
    assert store.get_card(conn, ada, bq.id).due - log.reviewed_at == timedelta(days=1)
    conn.close()


def test_the_review_page_without_a_profile_or_without_answers_says_what_to_do():
    at = review_app()
    assert not at.exception
    assert "Create a profile" in texts(at)
    conn, ada = state_with_profile()
    conn.close()
    at = review_app(ada)
    assert not at.exception, [e.value for e in at.exception]
    assert "No reviews yet" in texts(at)
    assert not at.get("arrow_vega_lite_chart") and not at.metric


def test_the_review_page_runs_a_session_with_feedback_and_a_rating_to_change(bank):
    from triops.ui.identity import now

    conn, ada = state_with_profile()
    questions = [q for q in bank.practice() if q.question.type == "single"][:3]
    for i, bq in enumerate(questions):
        answer(conn, ada, bq, 0.0, now() - timedelta(days=3, minutes=i))
    conn.close()
    at = review_app(ada)
    assert not at.exception, [e.value for e in at.exception]
    shown = texts(at)
    assert "3 card(s) due today" in shown
    assert {m.label: m.value for m in at.metric}["DevOps"] == "3"
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")

    current = at.session_state["review_current"]
    bq = next(q for q in questions if q.id == current)
    assert current == questions[-1].id  # the longest overdue first
    key = f"review-{at.session_state['review_seq']}"
    order = at.session_state[f"{key}-order"]
    weights = bq.question.weights()
    at.radio(key=key).set_value(max(range(len(order)), key=lambda i: weights[order[i]]))
    at.button(key=f"{key}-check").click().run()
    assert not at.exception, [e.value for e in at.exception]
    shown = texts(at)
    assert "Correct." in shown
    assert "**Rated Good**: suggested Good (right in" in shown
    # The learner found it easy: the rating changes, and so does the card.
    at.button(key=f"{key}-rate-Easy").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "**Rated Easy**: you changed it from the suggested Good" in texts(at)
    conn = open_state(__import__("triops.config").config.get_settings().state_db)
    log = store.card_logs(conn, ada, current)[-1]
    assert (log.source, log.suggested, log.rating) == ("review", 3, 4)
    conn.close()

    at.button(key=f"{key}-next").click().run()
    assert at.session_state["review_current"] not in (None, current)
    assert {m.label: m.value for m in at.metric}["DevOps"] == "2"


def test_an_exam_date_in_the_past_gets_a_clear_message_on_the_page(bank):
    from triops.ui.identity import now

    conn, ada = state_with_profile()
    answer(conn, ada, singles(bank, 1)[0], 1.0, now())
    conn.close()
    at = review_app(ada)
    at.selectbox(key="review_exam_track").set_value("devops")
    yesterday = now().date() - timedelta(days=1)
    at.date_input(key="review_exam_day").set_value(yesterday)
    at.button[[b.label for b in at.button].index("Set exam date")].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert f"{yesterday.isoformat()} is in the past" in texts(at)
    nxt = now().date() + timedelta(days=20)
    at.date_input(key="review_exam_day").set_value(nxt)
    at.button[[b.label for b in at.button].index("Set exam date")].click().run()
    assert f"DevOps: exam on {nxt:%d %b %Y}" in texts(at)
