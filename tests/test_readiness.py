"""Readiness: item calibration with priors, abilities with intervals, pass probabilities that
are calibrated against simulated outcomes, what to study next, lab prerequisites, bad input,
and the panel on Home and Progress (AppTest), all on real DuckDB files with fixed seeds."""

from __future__ import annotations

import re
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import REPO
from triops.config import get_settings
from triops.quiz import exam as engine
from triops.quiz import irt, readiness
from triops.quiz import simulate_readiness as sim
from triops.quiz.bank import load_bank
from triops.quiz.blueprint import load_exams
from triops.quiz.grading import right_answer
from triops.store import labruns, practice, users
from triops.store import readiness as store
from triops.store.connection import open_state

pytest_plugins = ["tests.pgserver"]

T0 = datetime(2026, 12, 6, 9, 0, 0)
BANK = load_bank(REPO)
EXAMS = load_exams(REPO, BANK)


@pytest.fixture
def db(tmp_path, state_backend):
    conn = open_state(tmp_path / "state.duckdb")
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def model() -> readiness.Model:
    return readiness.build_model(BANK, EXAMS)


def synthetic(items=300, people=800, each=40, seed=3, shift=0.0):
    """Answers of `people` examinees (one domain each) to `each` of `items` items of known
    parameters; items 0..9 are never answered."""
    rng = np.random.default_rng(seed)
    level = rng.integers(0, 3, items)
    b = irt.LEVEL_MEAN[level] + shift + rng.normal(0, 0.5, items)
    a = np.exp(rng.normal(0.1, 0.3, items))
    theta = rng.standard_normal(people)
    person = np.repeat(np.arange(people), each)
    item = np.concatenate([rng.choice(np.arange(10, items), each, replace=False) for _ in theta])
    score = (rng.random(len(item)) < irt.prob(theta[person], a[item], b[item])).astype(float)
    return irt.Answers.of(person, item, score, items), level, a, b


def write_practice(db, user_id: str, rows: list[tuple[str, float]], start: datetime) -> None:
    for k, (qid, score) in enumerate(rows):
        practice.log_answer(db, user_id, qid, score, start + timedelta(minutes=k))


def practice_ids(track: str) -> list[str]:
    return sorted(q.id for q in BANK.practice() if q.track == track)


# --- calibration ---------------------------------------------------------------------------


def test_calibration_recovers_known_parameters_and_agrees_with_scipy_alone():
    data, level, a, b = synthetic()
    fit = irt.calibrate(data, level)
    answered = np.arange(10, len(b))
    assert fit.converged
    assert np.sqrt(np.mean((fit.b[answered] - b[answered]) ** 2)) < 0.3
    assert np.corrcoef(fit.a[answered], a[answered])[0, 1] > 0.4
    alone = irt.calibrate_scipy_only(data, level)
    # The same optimum by both routes: the EM start changes the time, not the answer.
    assert abs(fit.log_posterior - alone.log_posterior) < 1e-3 * abs(alone.log_posterior)
    assert np.abs(fit.b - alone.b).max() < 0.02
    assert np.abs(fit.a - alone.a).max() < 0.02


def test_thin_items_are_rasch_and_unanswered_items_keep_the_level_mean():
    data, level, _, _ = synthetic(items=60, people=40, each=20)
    fit = irt.calibrate(data, level)
    counts = np.bincount(data.item, minlength=60)
    assert set(fit.model[:10]) == {irt.PRIOR}
    assert np.all(fit.a[:10] == 1.0)
    assert np.allclose(fit.b[:10], fit.level_means[level[:10]])
    thin = counts < irt.RASCH_BELOW
    assert np.all(fit.model[thin & (counts > 0)] == irt.RASCH)
    assert np.all(fit.a[thin] == 1.0)
    assert np.all(fit.model[counts >= irt.RASCH_BELOW] == irt.TWO_PL)


def test_level_means_follow_the_answers_when_the_bank_is_harder_than_authored():
    data, level, _, b = synthetic(shift=0.8)
    fit = irt.calibrate(data, level)
    # Every level is 0.8 harder than its authored value; the means move most of the way.
    assert np.all(fit.level_means[:3] - irt.LEVEL_MEAN[:3] > 0.5)
    assert fit.level_means[3] == pytest.approx(irt.LEVEL_MEAN[3], abs=1e-6)  # nobody unlevelled
    day_one = irt.calibrate(irt.Answers.of([], [], [], 5), np.array([0, 1, 2, 3, 1]))
    assert day_one.model.tolist() == [irt.PRIOR] * 5
    assert day_one.b.tolist() == [-1.0, 0.0, 1.0, 0.0, 0.0]


def test_item_nobody_answered_shows_no_estimate_and_says_what_is_assumed(db):
    ada = users.create_user(db, "Ada", T0)
    answered = practice_ids("devops")[:3]
    write_practice(db, ada.id, [(q, 1.0) for q in answered], T0)
    row, parameters = readiness.ensure_calibration(db, BANK, T0)
    items = readiness.with_parameters(readiness.bank_items(BANK), parameters, row.level_means)
    table = readiness.item_table(items, row.level_means).set_index("question_id")
    for q in answered:
        assert table.loc[q, "model"] == irt.RASCH and np.isfinite(table.loc[q, "b"])
    never = next(q for q in practice_ids("mlops"))
    assert table.loc[never, "model"] == irt.PRIOR
    assert np.isnan(table.loc[never, "a"]) and np.isnan(table.loc[never, "b"])
    assert "nobody has answered it yet" in table.loc[never, "note"]


def test_calibration_is_stored_and_redone_only_when_answers_have_grown(db):
    ada = users.create_user(db, "Ada", T0)
    ids = practice_ids("devops")
    row, params = readiness.ensure_calibration(db, BANK, T0)
    assert row is None and params.empty  # nothing to calibrate from yet
    write_practice(db, ada.id, [(q, 1.0) for q in ids[:10]], T0)
    first, _ = readiness.ensure_calibration(db, BANK, T0)
    assert first is not None and first.answers == 10 and first.evidence == 10
    write_practice(db, ada.id, [(q, 0.0) for q in ids[10:20]], T0 + timedelta(hours=1))
    again, _ = readiness.ensure_calibration(db, BANK, T0 + timedelta(hours=1))
    assert again.id == first.id  # 10 more answers is under RECALIBRATE_MIN
    more = [(q, 0.0) for q in ids[20 : 20 + readiness.RECALIBRATE_MIN]]
    write_practice(db, ada.id, more, T0 + timedelta(hours=2))
    fresh, params = readiness.ensure_calibration(db, BANK, T0 + timedelta(hours=2))
    assert fresh.id != first.id and fresh.answers == 20 + readiness.RECALIBRATE_MIN
    assert store.latest_calibration(db)[0].id == fresh.id
    assert len(params) == len(readiness.bank_items(BANK).ids)


# --- evidence and abilities ------------------------------------------------------------------


def test_a_retry_within_a_day_does_not_replace_the_answer_but_a_later_one_does():
    frame = pd.DataFrame(
        {
            "user_id": ["u"] * 4,
            "question_id": ["q1", "q1", "q2", "q2"],
            "score": [0.0, 1.0, 0.0, 1.0],
            "answered_at": [T0, T0 + timedelta(minutes=5), T0, T0 + timedelta(days=2)],
            "source": "practice",
        }
    )
    kept = readiness.ability_evidence(frame).set_index("question_id")["score"].to_dict()
    assert kept == {"q1": 0.0, "q2": 1.0}
    first = readiness.calibration_evidence(frame).set_index("question_id")["score"].to_dict()
    assert first == {"q1": 0.0, "q2": 0.0}


def test_posterior_interval_narrows_with_evidence_and_follows_the_answers():
    a, b = np.full(40, 1.2), np.zeros(40)
    few = irt.posterior(np.zeros(5, int), a[:5], b[:5], np.ones(5), 3)
    many = irt.posterior(np.zeros(40, int), a, b, np.ones(40) * (np.arange(40) % 4 != 0), 3)
    assert few.sd[0] > many.sd[0]
    assert many.mean[0] > 0.3  # three in four right on items at 0
    # Unanswered domains borrow from the answered one through the correlation, less surely.
    assert 0 < many.mean[1] < many.mean[0] and many.sd[1] > many.sd[0]


def test_needed_right_agrees_with_the_exam_engines_pass_rule():
    for total in (10, 30, 45, 65):
        for mark in (50, 70, 72, 72.5, 100):
            k = readiness.needed_right(total, mark)
            assert engine.meets(100 * k / total, mark)
            assert k == 0 or not engine.meets(100 * (k - 1) / total, mark)


def test_pass_probability_rises_with_ability(model):
    shape = next(s for s in model.exams if s.exam_id == "devops-practitioner")
    thetas = np.linspace(-3, 3, 13)[:, None] * np.ones((1, len(model.items.domains)))
    p = readiness.pass_probability(shape, thetas)
    assert p[0] < 0.01 and p[-1] > 0.99
    assert np.all(np.diff(p) > 0)


def test_pass_probability_matches_simulated_sittings_of_the_mocks_random_draw(model):
    """For one ability, the probability (normal with the skewness term) against 20,000 sittings
    drawn the way the exam engine draws them, each question right with its P at that ability."""
    items = model.items
    grid_p = readiness.predictive_grid(items)
    rng = np.random.default_rng(5)
    for exam_id in ("devops-practitioner", "devops-aws-dop-c02"):
        shape = next(s for s in model.exams if s.exam_id == exam_id)
        exam = EXAMS.get(exam_id)
        pools = [
            (np.array([items.index[q.id] for q in pool], np.int64), shape_part.count)
            for (key, pool), shape_part in zip(
                exam.blueprint.pools(BANK).items(), shape.parts, strict=True
            )
        ]
        for theta in (-0.5, 0.5, 1.0, 1.5, 2.0, 2.5):
            p_item = np.array([np.interp(theta, irt.GRID, row) for row in grid_p])
            sittings = 20_000
            right = np.zeros(sittings)
            for pool, count in pools:
                drawn = np.argsort(rng.random((sittings, len(pool))), axis=1)[:, :count]
                right += (rng.random((sittings, count)) < p_item[pool][drawn]).sum(axis=1)
            simulated = float((right >= shape.needed).mean())
            theta_row = np.full((1, len(items.domains)), theta)
            predicted = float(readiness.pass_probability(shape, theta_row)[0])
            assert abs(predicted - simulated) < 0.012, (exam_id, theta, predicted, simulated)


def test_the_fixed_ability_draws_are_balanced():
    z = readiness.fixed_normals(400, 25)
    assert np.allclose(z.mean(axis=0), 0.0, atol=1e-12)
    assert np.allclose(z.T @ z / len(z), np.eye(25), atol=1e-9)
    assert np.allclose(z, readiness.fixed_normals(400, 25))  # the same on every build


# --- a profile -------------------------------------------------------------------------------


def test_a_profile_with_no_answers_gets_a_message_and_no_number(model):
    empty = pd.DataFrame(columns=store.ANSWER_COLUMNS)
    result = readiness.assess(model, empty, T0)
    assert result.message == readiness.NO_ANSWERS
    assert result.tracks == () and result.exams == ()


def test_below_the_minimum_it_says_how_many_more_answers_and_gives_no_probability(db, model):
    ada = users.create_user(db, "Ada", T0)
    write_practice(db, ada.id, [(q, 1.0) for q in practice_ids("devops")[:7]], T0)
    result = readiness.assess(model, store.answers(db, ada.id), T0)
    quick = result.exam("devops-practitioner")
    assert quick.probability is None and quick.low is None
    assert quick.needed == readiness.MINIMUM_ANSWERS - quick.answers > 0
    assert quick.verdict == "needs evidence"
    domains = {d.domain: d for d in result.track("devops").domains}
    thin = [d for d in domains.values() if d.answers < readiness.MINIMUM_DOMAIN]
    assert thin and all(d.mean is None and d.needed > 0 for d in thin)


def test_enough_answers_give_a_probability_with_its_interval_that_tracks_performance(db, model):
    strong = users.create_user(db, "Strong", T0)
    weak = users.create_user(db, "Weak", T0)
    ids = practice_ids("devops")[:60]
    write_practice(db, strong.id, [(q, 1.0 if k % 10 else 0.0) for k, q in enumerate(ids)], T0)
    write_practice(db, weak.id, [(q, 1.0 if k % 3 == 0 else 0.0) for k, q in enumerate(ids)], T0)
    good = readiness.assess(model, store.answers(db, strong.id), T0).exam("devops-practitioner")
    poor = readiness.assess(model, store.answers(db, weak.id), T0).exam("devops-practitioner")
    for exam in (good, poor):
        assert exam.needed == 0
        assert 0 <= exam.low <= exam.probability <= exam.high <= 1
        text = readiness.format_probability(exam.probability, exam.low, exam.high)
        assert "%" not in text.replace("90 % interval", "")
    assert good.probability > 0.8 > 0.2 > poor.probability
    assert good.verdict == "ready" and poor.verdict == "not yet"


def test_exam_answers_count_only_where_answered(db):
    ada = users.create_user(db, "Ada", T0)
    exam = EXAMS.get("devops-practitioner")
    row = engine.start(db, exam, BANK, ada.id, T0)
    view = engine.load(db, row.token, ada.id, T0)
    for d in view.questions[:10]:
        engine.save_answer(db, row.token, ada.id, d.position, right_answer(d.question), T0)
    engine.submit(db, row.token, ada.id, T0 + timedelta(minutes=20))
    practice.log_answer(db, ada.id, practice_ids("mlops")[0], 0.0, T0)
    got = store.answers(db, ada.id)
    from_exam = got[got["source"] == "exam"]
    assert sorted(from_exam["question_id"]) == sorted(d.question.id for d in view.questions[:10])
    assert (from_exam["score"] == 1.0).all()
    assert (got["source"] == "practice").sum() == 1
    assert store.answers(db, "someone-else").empty


def test_what_to_study_next_ranks_the_weak_heavy_domain_first_with_its_lessons(db, model):
    """Monitoring and feedback is a whole domain of the quick mock (5 of 30 questions); a
    learner who gets 4 in 10 of it right and 8 in 10 elsewhere gains most by studying it."""
    ada = users.create_user(db, "Ada", T0)
    weak = {
        q.id
        for q in BANK.practice()
        if q.track == "devops" and q.question.domain == "monitoring-and-feedback"
    }
    rows = [
        (q, float(k % 10 < (4 if q in weak else 8)))
        for k, q in enumerate(practice_ids("devops")[:150])
    ]
    write_practice(db, ada.id, rows, T0)
    result = readiness.assess(model, store.answers(db, ada.id), T0, due={})
    quick = result.exam("devops-practitioner")
    assert 0.05 < quick.probability < 0.95
    first = quick.study_next[0]
    assert first.domain == "devops/monitoring-and-feedback"
    assert all(n.gain > 0 for n in quick.study_next)
    gains = [n.gain for n in quick.study_next]
    assert gains == sorted(gains, reverse=True)
    linked = {q.question.lesson for q in BANK.questions if q.id in weak}
    assert first.lessons and set(first.lessons) <= linked
    assert first.due == 0  # a review service that has nothing due in the domain


def test_an_exam_date_that_has_passed_gets_a_message_not_a_countdown(db, model):
    ada = users.create_user(db, "Ada", T0)
    write_practice(db, ada.id, [(q, 1.0) for q in practice_ids("devops")[:5]], T0)
    past = readiness.assess(
        model, store.answers(db, ada.id), T0, exam_dates={"devops": date(2026, 11, 30)}
    )
    note = past.track("devops").exam_date_note
    assert "2026-11-30, has passed" in note and "Review page" in note
    ahead = readiness.assess(
        model, store.answers(db, ada.id), T0, exam_dates={"devops": date(2026, 12, 20)}
    )
    assert ahead.track("devops").exam_date_note == "DevOps exam: 2026-12-20, in 14 days."


# --- lab prerequisites -----------------------------------------------------------------------


def lab_root(tmp_path: Path, labs_line: str) -> Path:
    root = tmp_path / "root"
    shutil.copytree(REPO / "quizzes", root / "quizzes")
    for lab in ("ci-build", "drift-retrain"):
        (root / "labs" / lab).mkdir(parents=True)
        shutil.copy(REPO / "labs" / lab / "lab.yaml", root / "labs" / lab / "lab.yaml")
    source = (root / "quizzes/exams/devops-practitioner.yaml").read_text(encoding="utf-8")
    (root / "quizzes/exams/devops-practitioner.yaml").write_text(
        source + labs_line, encoding="utf-8"
    )
    return root


def test_blueprint_lab_prerequisites_must_name_known_labs_at_their_line(tmp_path):
    root = lab_root(tmp_path, "labs:\n  - ci-build\n  - no-such-lab\n  - ci-build\n")
    bank = load_bank(root)
    exams = load_exams(root, bank)
    assert exams.get("devops-practitioner") is None
    text = (root / "quizzes/exams/devops-practitioner.yaml").read_text().splitlines()
    line = next(i for i, t in enumerate(text, 1) if "no-such-lab" in t)
    problems = {(p.path, p.line, p.message) for p in exams.problems}
    assert (
        "quizzes/exams/devops-practitioner.yaml",
        line,
        "lab 'no-such-lab' is not a lab id (labs/ has: ci-build, drift-retrain)",
    ) in problems
    assert any(p.message == "lab 'ci-build' is listed twice" for p in exams.problems)


def test_ready_also_needs_the_prerequisite_labs_passed(tmp_path, db):
    root = lab_root(tmp_path, "labs: [ci-build]\n")
    bank = load_bank(root)
    exams = load_exams(root, bank)
    assert exams.get("devops-practitioner").blueprint.labs == ["ci-build"]
    m = readiness.build_model(bank, exams)
    ada = users.create_user(db, "Ada", T0)
    write_practice(db, ada.id, [(q, 1.0) for q in practice_ids("devops")[:80]], T0)
    labs = [("ci-build", "CI build", "devops"), ("drift-retrain", "Drift", "mlops")]

    def quick():
        r = readiness.assess(
            m, store.answers(db, ada.id), T0, labs=labs, passes=store.lab_passes(db, ada.id)
        )
        return r.exam("devops-practitioner"), r.track("devops")

    exam, track = quick()
    assert exam.probability >= readiness.READY and exam.verdict == "labs missing"
    assert [lab.lab_id for lab in track.labs] == ["ci-build"]
    assert track.labs[0].passed_at is None
    for passed, at in ((False, T0), (True, T0 + timedelta(hours=1))):
        labruns.record(
            db,
            labruns.LabRunRow(
                job_id=f"job-{passed}",
                user_id=ada.id,
                lab_id="ci-build",
                kind="check",
                status="success" if passed else "failure",
                seconds=3.0,
                passed=passed,
                criteria=None,
                log="",
                finished_at=at,
            ),
        )
    exam, track = quick()
    assert exam.verdict == "ready"
    assert track.labs[0].passed_at == T0 + timedelta(hours=1)


# --- the calibration simulation (issue 17 item 3) --------------------------------------------


def _pooled(runs: list[sim.Outcome]) -> sim.Outcome:
    """Several runs of one mock as one run of all their learners."""
    return sim.Outcome(
        runs[0].exam_id,
        sum(r.learners for r in runs),
        runs[0].answers_each,
        np.concatenate([r.predicted for r in runs]),
        np.concatenate([r.passed for r in runs]),
        np.concatenate([r.naive_percent for r in runs]),
        runs[0].pass_mark,
        0.0,
        np.concatenate([r.truth for r in runs]),
    )


def test_the_chance_of_a_decile_miss_is_what_the_coin_flips_of_the_outcomes_give():
    """A calibrated predictor can still miss the decile target on a run of 1,000: near 0.5 a
    tenth of 100 learners has a standard error of 0.05. Certain predictions never miss."""
    n = 1000
    certain = (np.arange(n) % 2).astype(float)
    coin = np.full(n, 0.5)

    def outcome(p):
        return sim.Outcome("x", n, 60, p, np.zeros(n), np.zeros(n), 70.0, 0.0, p)

    assert outcome(certain).miss_chance() == 0.0
    # Ten tenths, each missing with P(|N(0, 0.05)| > 0.08) = 0.11: about 0.69 for the run.
    assert 0.6 < outcome(coin).miss_chance() < 0.78
    assert outcome(coin).miss_chance(truth=True) == outcome(coin).miss_chance()


# Both DevOps mocks draw on the devops track's practice pool: one simulation per seed gives
# both their outcomes (sim.run_many: the same learners, answers, calibration and ability draws,
# each mock sat as sim.run alone would sit it), shared by the two tests below, which run on one
# xdist worker so it is made once per run.
CALIBRATION_MOCKS = ("devops-practitioner", "devops-aws-dop-c02")
calibration_group = pytest.mark.xdist_group("readiness-calibration")


@pytest.fixture(scope="module")
def calibration_runs() -> dict[str, list[sim.Outcome]]:
    """Seeds 0-2 of both DevOps mocks, 1,000 learners with 60 practice answers each."""
    by_seed = [
        sim.run_many(BANK, EXAMS, CALIBRATION_MOCKS, learners=1000, answers_each=60, seed=s)
        for s in range(3)
    ]
    return {exam_id: [runs[exam_id] for runs in by_seed] for exam_id in CALIBRATION_MOCKS}


def test_one_simulation_of_both_mocks_gives_each_the_outcome_of_its_own_run():
    """What lets the calibration tests share one simulation per seed: run_many's outcome for a
    mock is the one run gives it alone (a small draw of the same seed)."""
    both = sim.run_many(BANK, EXAMS, CALIBRATION_MOCKS, learners=40, answers_each=60, seed=4)
    for exam_id in CALIBRATION_MOCKS:
        alone = sim.run(BANK, EXAMS, exam_id, learners=40, answers_each=60, seed=4)
        for field in ("predicted", "passed", "naive_percent", "truth"):
            assert np.array_equal(getattr(both[exam_id], field), getattr(alone, field)), field
        assert both[exam_id].pass_mark == alone.pass_mark
    assert not np.array_equal(both["devops-practitioner"].passed, both["devops-aws-dop-c02"].passed)
    with pytest.raises(ValueError, match="different tracks"):
        sim.run_many(BANK, EXAMS, ("devops-practitioner", "mlops-practitioner"), learners=10)


@calibration_group
def test_calibration_simulation_1000_learners_60_answers_is_calibrated_and_beats_naive(
    calibration_runs,
):
    """1,000 learners, 60 practice answers each, predicted pass probability of a full mock
    against the simulated outcome: the quick mock (30 questions, pass at 70 %).

    Each run of 1,000 (seeds 0-2) has a Brier score within 0.15 that beats the naive
    predictors. The decile target (every tenth within 0.08) is checked on the three runs
    pooled: in one run each tenth holds 100 learners, so near a probability of 0.5 its observed
    rate has a standard error of 0.05, and one run of 1,000 misses 0.08 in some tenth in 5 of
    seeds 0-11, where a perfectly calibrated predictor as sharp as the model is expected to
    miss in about 3 (Outcome.miss_chance; simulate_readiness's docstring and
    bench/readiness_bench.py give every seed); pooled, each tenth holds 300 and the worst tenth
    was 0.040-0.062 over four pools (2026-12-06). The
    pooled predictions are also checked against the learners' true pass probabilities, which
    have no coin flips in them: that gap is the model's own."""
    runs = calibration_runs["devops-practitioner"]
    for out in runs:
        assert out.brier <= 0.15
        assert out.brier < out.naive_brier
        assert out.brier < out.naive_verdict_brier
        assert out.brier < out.base_rate_brier
    pooled = _pooled(runs)
    assert pooled.worst_decile <= 0.08, pooled.deciles()
    assert pooled.worst_truth_gap <= 0.03, pooled.truth_gaps()
    # The truth itself, as a predictor, is calibrated on these outcomes and beats the model.
    assert pooled.truth_worst_decile <= 0.08
    assert np.mean((pooled.truth - pooled.passed) ** 2) < pooled.brier


@calibration_group
def test_calibration_pooled_over_three_seeds_of_the_full_format_mock(calibration_runs):
    """The full-format mock (65 scored questions, pass at 72 %), seeds 0-2 pooled: 3,000
    learners, so each tenth holds 300 and the same targets are a sharper check."""
    runs = calibration_runs["devops-aws-dop-c02"]
    pooled = _pooled(runs)
    assert pooled.brier <= 0.15 and pooled.brier < pooled.naive_verdict_brier
    assert pooled.worst_decile <= 0.08, pooled.deciles()
    assert pooled.worst_truth_gap <= 0.04, pooled.truth_gaps()


# --- the panel (AppTest) ---------------------------------------------------------------------


# A probability with its interval, never a bare percentage.
PROBABILITY = r"pass probability [01]\.\d\d \(90 % interval [01]\.\d\d–[01]\.\d\d\)"


def app(**params) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=90)
    for key, value in params.items():
        at.query_params[key] = value
    return at


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [h.value for h in at.header] + [h.value for h in at.subheader]
    parts += [str(e.value) for e in at.info] + [str(e.value) for e in at.warning]
    return "\n".join(parts)


def test_home_and_progress_show_probability_with_interval_or_what_is_missing():
    conn = open_state(get_settings().state_db)
    fresh = users.create_user(conn, "Fresh", T0)
    ada = users.create_user(conn, "Ada", T0)
    rows = [(q, float(k % 4 != 0)) for k, q in enumerate(practice_ids("devops")[:40])]
    write_practice(conn, ada.id, rows, T0)
    conn.close()

    at = app(profile=fresh.id).run()
    assert not at.exception, [e.value for e in at.exception]
    assert readiness.NO_ANSWERS in [str(i.value) for i in at.info]

    at = app(profile=ada.id).run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Readiness" in [h.value for h in at.header]
    home = texts(at)
    assert re.search(PROBABILITY, home), home

    at.switch_page("app_pages/progress.py").run()
    assert not at.exception, [e.value for e in at.exception]
    shown = texts(at)
    assert "DevOps · 40 answers" in [s.value for s in at.subheader]
    assert re.search(PROBABILITY, shown)
    assert "Not started yet (a pass probability needs 20 answers" in shown  # the other tracks
    frames = [df.value for df in at.dataframe]
    domains = next(f for f in frames if "Ability (90 % interval)" in f.columns)
    assert domains["Ability (90 % interval)"].str.contains(r" to ").any()
    params = next(f for f in frames if "note" in f.columns)
    assert params["note"].str.contains("nobody has answered it yet").any()
    assert "Question parameters calibrated" in shown
