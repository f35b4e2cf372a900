"""The adaptive placement test: choice by maximum information with domain balance, the stopping
rule, exam-only questions kept out, its efficiency against a fixed 40-question form, a session
on a real DuckDB file that seeds readiness and review, and the page (AppTest)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import REPO
from triops.config import get_settings
from triops.errors import InvalidInputError
from triops.quiz import irt, placement, readiness
from triops.quiz import simulate_readiness as sim
from triops.quiz.bank import load_bank
from triops.quiz.blueprint import load_exams
from triops.quiz.grading import right_answer
from triops.store import readiness as store
from triops.store import users
from triops.store.connection import open_state

pytest_plugins = ["tests.pgserver"]

T0 = datetime(2026, 12, 6, 10, 0, 0)
BANK = load_bank(REPO)
EXAMS = load_exams(REPO, BANK)
MODEL = readiness.build_model(BANK, EXAMS)


@pytest.fixture
def db(tmp_path, state_backend):
    conn = open_state(tmp_path / "state.duckdb")
    yield conn
    conn.close()


def known(track: str, seed: int = 0) -> placement.Pool:
    """The track's real pool with known parameters drawn as in the readiness simulation."""
    p = placement.pool(BANK, MODEL, track)
    world = sim.truth(MODEL.items, 1, np.random.default_rng(seed))
    idx = np.array([c.item for c in p.candidates])
    return dataclasses.replace(p, a=world.a[idx], b=world.b[idx])


def hand_pool(a, b, domain) -> placement.Pool:
    n = len(a)
    return placement.Pool(
        "hand",
        tuple(placement.Candidate(None, i, int(d)) for i, d in enumerate(domain)),  # type: ignore[arg-type]
        np.asarray(a, float),
        np.asarray(b, float),
        np.asarray(domain, np.int64),
        tuple(f"q{i:02d}" for i in range(n)),
    )


def test_choice_takes_the_least_covered_domain_then_the_most_informative_question():
    p = hand_pool(
        a=[1.0, 2.0, 1.0, 1.5, 0.5],
        b=[0.0, 0.1, 3.0, 0.0, 0.0],
        domain=[0, 0, 0, 1, 1],
    )
    # Both domains at 0 asked: the best question overall (a = 2 at b = 0.1).
    assert placement.choose(p, [], 0.0) == 1
    # Domain 0 has one: domain 1 is due, its most informative question.
    assert placement.choose(p, [1], 0.0) == 3
    # Far above every question, the one at b = 3 informs most within domain 0.
    assert placement.choose(p, [1, 3], 3.0) == 2
    assert placement.choose(p, [0, 1, 2, 3, 4], 0.0) is None


def test_the_test_stops_at_the_standard_error_or_at_twenty_questions():
    rng = np.random.default_rng(5)
    sharp = hand_pool(a=np.full(60, 2.5), b=np.linspace(-3, 3, 60), domain=np.arange(60) % 3)
    used, _, se = placement.simulate(sharp, rng.standard_normal(50), rng)
    assert np.all(se <= placement.TARGET_SE) and used.max() < placement.MAX_ITEMS
    flat = hand_pool(a=np.full(60, 0.5), b=np.zeros(60), domain=np.arange(60) % 3)
    used, _, se = placement.simulate(flat, rng.standard_normal(20), rng)
    assert np.all(used == placement.MAX_ITEMS) and np.all(se > placement.TARGET_SE)
    start = placement.progress(flat, [], [])
    assert (start.theta, round(start.se, 2), start.asked) == (pytest.approx(0.0), 1.0, 0)


def test_the_pool_holds_no_exam_only_or_meaning_graded_question():
    for track in ("triad", "devops", "mlops", "llmops"):
        p = placement.pool(BANK, MODEL, track)
        assert p.candidates
        for c in p.candidates:
            assert c.question.track == track and not c.question.question.exam_only
            assert getattr(c.question.question, "semantic", None) is None
    exam_only = {q.id for q in BANK.questions if q.question.exam_only}
    assert exam_only and not exam_only & set(placement.pool(BANK, MODEL, "devops").ids)


def test_domains_stay_balanced_within_one_question():
    p = known("devops")
    rng = np.random.default_rng(1)
    asked, scores = [], []
    for _ in range(placement.MAX_ITEMS):
        nxt = placement.choose(p, asked, placement.estimate(p, asked, scores)[0])
        asked.append(nxt)
        scores.append(float(rng.random() < 0.6))
    counts = np.bincount(p.domain[asked])
    counts = counts[counts > 0]
    assert len(counts) == len(np.unique(p.domain)) and counts.max() - counts.min() <= 1


def test_adaptive_test_reaches_a_fixed_40_question_forms_precision_in_half_the_questions():
    """Simulated learners of known ability; the fixed form is 40 questions balanced over the
    domains, the same for everyone. The adaptive test runs until it reaches the form's
    root-mean-square standard error (at most 40 questions)."""
    p = known("devops")
    rng = np.random.default_rng(7)
    theta = rng.standard_normal(300)
    form = placement.fixed_form(p, 40, rng)
    assert len(form) == 40 and len(set(form)) == 40
    fixed_est, fixed_se = placement.simulate_form(p, form, theta, rng)
    target = float(np.sqrt(np.mean(fixed_se**2)))
    used, est, se = placement.simulate(p, theta, rng, target_se=target, max_items=40)
    assert used.mean() <= 20, used.mean()
    # As precise as the form in the end, and as accurate.
    assert np.sqrt(np.mean((est - theta) ** 2)) <= 1.15 * np.sqrt(np.mean((fixed_est - theta) ** 2))


def sharp_model() -> readiness.Model:
    """The real bank with calibrated-looking parameters: discriminating questions (a = 2.2)."""
    items = MODEL.items
    params = pd.DataFrame(
        {
            "question_id": items.ids.astype(str),
            "a": 2.2,
            "b": items.b,
            "model": irt.TWO_PL,
            "answers": 100,
        }
    )
    row = store.CalibrationRow(
        id="sharp",
        created_at=T0,
        answers=100,
        learners=100,
        evidence=100,
        seconds=0.0,
        level_means=list(irt.LEVEL_MEAN),
    )
    return readiness.build_model(BANK, EXAMS, row, params)


def test_a_session_records_answers_seeds_readiness_and_refuses_stale_answers(db):
    ada = users.create_user(db, "Ada", T0)
    model = sharp_model()
    p = placement.pool(BANK, model, "devops")
    session = placement.start(db, ada.id, p, T0)
    assert placement.start(db, ada.id, p, T0).id == session.id  # one open per track
    first, _ = placement.state(db, session, p)
    qid = p.ids[first.next]
    other = next(q for q in p.ids if q != qid)
    with pytest.raises(InvalidInputError, match="no longer the one"):
        placement.submit(db, session, p, other, 0, T0)
    at = T0
    current = first
    while not current.done:
        bq = p.candidates[current.next].question
        at += timedelta(seconds=30)
        # Right, right, wrong: a learner a little above the middle.
        response = right_answer(bq.question) if current.asked % 3 != 2 else None
        current = placement.submit(db, session, p, bq.id, response, at)
    done = store.get_placement(db, session.id, ada.id)
    assert done.state == "finished" and done.theta > 0 and done.se == pytest.approx(current.se)
    assert done.stop_reason == placement.DONE_SE and done.se <= placement.TARGET_SE
    assert placement.open_session(db, ada.id, "devops") is None
    with pytest.raises(InvalidInputError, match="finished"):
        placement.submit(db, done, p, qid, 0, at)

    answers = store.answers(db, ada.id)
    assert (answers["source"] == "placement").sum() == current.asked
    result = readiness.assess(model, answers, at, placed={"devops"})
    quick = result.exam("devops-practitioner")
    # Fewer than 20 answers, but a finished placement meets the minimum of evidence.
    assert quick.answers < readiness.MINIMUM_ANSWERS and quick.probability is not None
    without = readiness.assess(model, answers, at).exam("devops-practitioner")
    assert without.probability is None and without.needed > 0


def test_placement_answers_update_review_cards_when_the_review_service_is_there(db):
    review = pytest.importorskip("triops.quiz.review")
    from triops.store import reviews

    ada = users.create_user(db, "Ada", T0)
    p = placement.pool(BANK, MODEL, "mlops")
    session = placement.start(db, ada.id, p, T0)
    now, _ = placement.state(db, session, p)
    bq = p.candidates[now.next].question
    placement.submit(db, session, p, bq.id, right_answer(bq.question), T0)
    card = reviews.get_card(db, ada.id, bq.id)
    assert card is not None and card.track == "mlops"
    assert hasattr(review, "record_answer")


def test_estimate_moves_up_after_right_answers_and_down_after_wrong_ones():
    p = known("mlops")
    asked = [placement.choose(p, [], 0.0)]
    up, _ = placement.estimate(p, asked, [1.0])
    down, _ = placement.estimate(p, asked, [0.0])
    assert down < 0 < up
    weights = irt.grid_posterior(p.a[asked], p.b[asked], [1.0])
    assert irt.eap(weights)[0] == pytest.approx(up)


# --- the page --------------------------------------------------------------------------------


def app(**params) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=90)
    for key, value in params.items():
        at.query_params[key] = value
    return at


def test_placement_page_asks_one_question_and_shows_the_result_when_done():
    conn = open_state(get_settings().state_db)
    ada = users.create_user(conn, "Ada", T0)
    conn.close()
    at = app(profile=ada.id).run()
    at.switch_page("app_pages/placement.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Placement test" in [t.value for t in at.title]
    at.selectbox(key="placement_track").set_value("devops").run()
    at.button(key="placement_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [b.label for b in at.button if b.label == "Submit answer"] == ["Submit answer"]
    assert "Question 1 of at most 20" in str(at.get("progress")[0].proto)

    # Answer the rest through the service, as the page's button does, then reload the page.
    conn = open_state(get_settings().state_db)
    p = placement.pool(BANK, MODEL, "devops")
    session = placement.open_session(conn, ada.id, "devops")
    current, _ = placement.state(conn, session, p)
    while not current.done:
        bq = p.candidates[current.next].question
        current = placement.submit(conn, session, p, bq.id, right_answer(bq.question), T0)
    conn.close()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    finished = [str(s.value) for s in at.success]
    assert finished and finished[0].startswith("Placement finished")
    assert "90 % interval" in finished[0]
    assert "Your latest placement" in [s.value for s in at.subheader]
    assert [b.label for b in at.button if b.label == "Take it again"] == ["Take it again"]


def test_placement_page_without_a_profile_says_to_create_one():
    at = app().run()
    at.switch_page("app_pages/placement.py").run()
    assert not at.exception
    assert any("Create a profile" in str(i.value) for i in at.info)
