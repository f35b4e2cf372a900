"""The exam engine with an injected clock, on a real DuckDB file and on a throwaway PostgreSQL."""

import json
import random
from datetime import datetime, timedelta

import pytest

from conftest import REPO, fresh_state
from triops.errors import InvalidInputError, NotFoundError
from triops.quiz import exam as engine
from triops.quiz.bank import load_bank
from triops.quiz.blueprint import load_exams
from triops.quiz.exam import AttemptClosedError
from triops.quiz.grading import right_answer
from triops.store import attempts, users

pytest_plugins = ["tests.pgserver"]

T0 = datetime(2026, 11, 28, 9, 0, 0)


@pytest.fixture
def db(tmp_path, state_backend):
    conn = fresh_state(tmp_path / "state.duckdb")
    yield conn
    conn.close()


@pytest.fixture
def ada(db):
    return users.create_user(db, "Ada", T0).id


def start(db, exams, bank, user, exam="devops-practitioner", now=T0, seed=1):
    return engine.start(db, exams.get(exam), bank, user, now, random.Random(seed))


def test_real_blueprints_load_and_the_mock_has_60_plus_questions_in_90_minutes(exams):
    assert {e.id for e in exams.exams} == {
        "devops-practitioner",
        "mlops-practitioner",
        "llmops-practitioner",
        "triad-mock-certification",
        "devops-aws-dop-c02",
        "mlops-google-pmle",
        "llmops-databricks-genai-associate",
        "triops-hands-on",
    }
    assert [str(p) for p in exams.problems if p.severity == "error"] == []
    # The quick mocks and the triad mock can always be started; the real-exam profiles wait
    # for questions in the new domains, and say so per domain.
    for quick in ("devops-practitioner", "mlops-practitioner", "llmops-practitioner"):
        assert exams.get(quick).startable
    mock = exams.get("triad-mock-certification")
    assert mock.startable
    assert mock.blueprint.total >= 60 and mock.blueprint.time_limit_minutes == 90
    assert not any(d.domain == "triad/careers-and-market" for d in mock.blueprint.domains)
    for e in exams.exams:
        for s in e.shortfalls:
            assert any(
                p.severity == "warning" and f"'{s.title}'" in p.message
                for p in exams.problems
                if p.path == e.path and p.line == s.line
            )


def test_weights_are_apportioned_to_the_total(exams):
    counts = exams.get("devops-practitioner").blueprint.counts()
    assert sum(counts.values()) == 30 and set(counts.values()) == {5}


def test_start_draws_per_domain_and_sets_the_server_deadline(db, exams, bank, ada):
    row = start(db, exams, bank, ada)
    view = engine.load(db, row.token, ada, T0)
    assert row.deadline == T0 + timedelta(minutes=45)
    assert len(view.questions) == 30
    bp = view.blueprint
    domains = [bp.domain_of(f"{d.track}/{d.question.domain}").key for d in view.questions]
    assert {k: domains.count(k) for k in domains} == bp.counts()
    assert set(bp.counts().values()) == {5}


def test_bank_edits_never_rewrite_an_attempt(db, tmp_path, ada):
    import shutil

    root = tmp_path / "root"
    shutil.copytree(REPO / "quizzes", root / "quizzes")
    shutil.copytree(REPO / "content", root / "content")
    bank = load_bank(root)
    exams = load_exams(root, bank)
    row = start(db, exams, bank, ada)
    first = engine.load(db, row.token, ada, T0).questions[0].question
    bank_file = next(
        p for p in (root / "quizzes").rglob("*.yaml") if f"id: {first.id}" in p.read_text()
    )
    bank_file.write_text(
        bank_file.read_text().replace(first.stem.split("\n")[0], "Edited after the exam started", 1)
    )
    edited = load_bank(root).by_id()[first.id].question
    assert edited.stem != first.stem
    assert engine.load(db, row.token, ada, T0).questions[0].question == first


def test_one_open_attempt_per_exam_and_profile(db, exams, bank, ada):
    first = start(db, exams, bank, ada, seed=1)
    again = start(db, exams, bank, ada, seed=2, now=T0 + timedelta(minutes=3))
    assert again.token == first.token
    other = start(db, exams, bank, ada, exam="mlops-practitioner")
    assert other.token != first.token


def test_answers_are_saved_latest_wins_and_survive_reload(db, exams, bank, ada):
    row = start(db, exams, bank, ada)
    view = engine.load(db, row.token, ada, T0)
    q0 = view.questions[0].question
    engine.save_answer(db, row.token, ada, 0, right_answer(q0), T0, q0)
    engine.save_answer(db, row.token, ada, 1, None, T0)
    engine.save_answer(db, row.token, ada, 0, None, T0 + timedelta(seconds=1), q0)
    engine.save_answer(db, row.token, ada, 0, right_answer(q0), T0 + timedelta(seconds=2), q0)
    view = engine.load(db, row.token, ada, T0 + timedelta(seconds=3))
    assert view.responses[0] == right_answer(q0)
    assert view.answered() == {0}


def test_a_late_write_is_refused_by_the_store(db, exams, bank, ada):
    row = start(db, exams, bank, ada)
    late = row.deadline + timedelta(milliseconds=1)
    assert not attempts.save_response(db, row.token, ada, 0, json.dumps(0), late)
    assert attempts.save_response(
        db, row.token, ada, 0, json.dumps(0), row.deadline - timedelta(seconds=1)
    )


def test_auto_submit_at_the_deadline_grades_what_was_saved(db, exams, bank, ada):
    row = start(db, exams, bank, ada)
    view = engine.load(db, row.token, ada, T0)
    for d in view.questions[:15]:
        engine.save_answer(db, row.token, ada, d.position, right_answer(d.question), T0, d.question)
    with pytest.raises(AttemptClosedError, match="closed"):
        engine.save_answer(db, row.token, ada, 20, None, row.deadline)
    view = engine.load(db, row.token, ada, row.deadline + timedelta(seconds=5))
    assert view.state == "finished"
    assert view.row.finished_at == row.deadline
    assert view.row.score == pytest.approx(50.0)
    assert view.row.passed is False
    result = json.loads(view.row.result_json)
    assert result["domains"][0]["percent"] <= result["domains"][-1]["percent"]


def test_grace_period_allows_submit_but_not_answers(db, exams, bank, ada):
    row = start(db, exams, bank, ada, exam="triad-mock-certification")
    assert row.grace_until == row.deadline + timedelta(minutes=5)
    during = row.deadline + timedelta(minutes=2)
    with pytest.raises(AttemptClosedError, match="grace period"):
        engine.save_answer(db, row.token, ada, 0, None, during)
    assert engine.load(db, row.token, ada, during).state == "overdue"
    engine.set_flag(db, row.token, ada, 3, True, during)
    done = engine.submit(db, row.token, ada, during)
    assert done.state == "finished" and done.finished_at == during


def test_grace_period_passed_without_submit_abandons(db, exams, bank, ada):
    row = start(db, exams, bank, ada, exam="triad-mock-certification")
    view = engine.load(db, row.token, ada, row.grace_until + timedelta(seconds=1))
    assert view.state == "abandoned" and view.row.score is None
    assert attempts.open_attempt(db, ada, "triad-mock-certification") is None


@pytest.mark.parametrize(("factor", "minutes"), [("1", 45), ("1.5", 67.5), ("2", 90)])
def test_accommodations_extend_the_deadline_and_are_recorded(db, exams, bank, ada, factor, minutes):
    engine.set_accommodation(db, ada, factor, T0)
    row = start(db, exams, bank, ada)
    assert row.deadline == T0 + timedelta(minutes=minutes)
    assert row.accommodation == factor


def test_untimed_accommodation_has_no_deadline(db, exams, bank, ada):
    engine.set_accommodation(db, ada, "untimed", T0)
    row = start(db, exams, bank, ada)
    assert row.deadline is None
    assert engine.load(db, row.token, ada, T0 + timedelta(days=3)).state == "in_progress"
    assert attempts.save_response(db, row.token, ada, 0, None, T0 + timedelta(days=3))


def test_unknown_accommodation_is_rejected(db, ada):
    with pytest.raises(InvalidInputError):
        engine.set_accommodation(db, ada, "3", T0)


def test_a_token_of_another_profile_is_refused(db, exams, bank, ada):
    bob = users.create_user(db, "Bob", T0).id
    row = start(db, exams, bank, ada)
    with pytest.raises(NotFoundError, match="another profile"):
        engine.load(db, row.token, bob, T0)
    assert not attempts.save_response(db, row.token, bob, 0, None, T0)
    with pytest.raises(NotFoundError):
        engine.save_answer(db, row.token, bob, 0, None, T0)
    with pytest.raises(NotFoundError, match="does not exist"):
        engine.load(db, "forged-token", ada, T0)


def test_submit_then_no_more_answers_and_a_new_attempt_can_start(db, exams, bank, ada):
    row = start(db, exams, bank, ada)
    engine.submit(db, row.token, ada, T0 + timedelta(minutes=10))
    with pytest.raises(AttemptClosedError):
        engine.save_answer(db, row.token, ada, 0, None, T0 + timedelta(minutes=11))
    again = start(db, exams, bank, ada, now=T0 + timedelta(minutes=12))
    assert again.token != row.token
    assert [a.state for a in engine.history(db, ada, "devops-practitioner")] == [
        "finished",
        "in_progress",
    ]


def test_attempts_allowed_is_enforced(db, exams, bank, ada):
    for i in range(3):
        row = start(
            db, exams, bank, ada, exam="triad-mock-certification", now=T0 + timedelta(hours=i)
        )
        engine.submit(db, row.token, ada, T0 + timedelta(hours=i, minutes=1))
    with pytest.raises(InvalidInputError, match="all 3 attempts"):
        start(db, exams, bank, ada, exam="triad-mock-certification", now=T0 + timedelta(hours=5))


def test_sweep_finalizes_expired_attempts(db, exams, bank, ada):
    bob = users.create_user(db, "Bob", T0).id
    start(db, exams, bank, ada)
    start(db, exams, bank, bob, now=T0 + timedelta(minutes=30))
    assert engine.sweep(db, T0 + timedelta(minutes=50)) == 1
    states = {a.user_id: a.state for a in attempts.expired(db, T0 + timedelta(hours=2))}
    assert states == {bob: "in_progress"}


def test_position_outside_the_attempt_is_refused(db, exams, bank, ada):
    row = start(db, exams, bank, ada)
    with pytest.raises(InvalidInputError, match="not part of this attempt"):
        engine.save_answer(db, row.token, ada, 30, None, T0)


def test_a_malformed_response_is_rejected_before_saving(db, exams, bank, ada):
    from triops.quiz.grading import InvalidResponse

    row = start(db, exams, bank, ada)
    view = engine.load(db, row.token, ada, T0)
    with pytest.raises(InvalidResponse):
        engine.save_answer(db, row.token, ada, 0, {"bad": 1}, T0, view.questions[0].question)
    assert engine.load(db, row.token, ada, T0).responses == {}


def test_flags_latest_wins(db, exams, bank, ada):
    row = start(db, exams, bank, ada)
    engine.set_flag(db, row.token, ada, 2, True, T0)
    engine.set_flag(db, row.token, ada, 4, True, T0)
    engine.set_flag(db, row.token, ada, 2, False, T0)
    assert engine.load(db, row.token, ada, T0).flags == {4}


def test_semantic_questions_stay_out_of_exams(bank):
    semantic = {q.id for q in bank.questions if getattr(q.question, "semantic", None)}
    assert semantic
    exam = load_exams(REPO, bank).get("devops-practitioner")
    drawn = set()
    for seed in range(20):
        drawn |= {d.question.id for d in engine.draw(exam.blueprint, bank, random.Random(seed))}
    assert not drawn & semantic


def test_exam_pools_follow_a_change_to_the_bank(bank):
    copy = load_bank(REPO)
    pools = copy.exam_pools()
    assert copy.exam_pools() is pools  # worked out once
    extra = next(q for q in copy.questions if getattr(q.question, "semantic", None) is None)
    extra = extra.__class__(
        extra.question.model_copy(update={"id": f"{extra.id}-copy"}),
        extra.track,
        extra.path,
        extra.line,
    )
    copy.questions.append(extra)
    domain = f"{extra.track}/{extra.question.domain}"
    assert copy.exam_pools()[domain][-1] is extra
    assert sum(map(len, copy.exam_pools().values())) == sum(map(len, pools.values())) + 1


PILOT_PROFILE = """\
title: Pilot check
tracks: [devops]
time_limit_minutes: 30
questions: 8
pilot: 4
pass_mark: 60
scaled: {min: 100, max: 1000, cut: 700}
multiple_response: all-or-nothing
domains:
  - title: Build and release
    weight: 50
    draws_from: [devops/integration-and-testing, devops/delivery-and-deployment]
  - title: Run and observe
    weight: 50
    draws_from: [devops/monitoring-and-feedback, devops/culture-and-collaboration]
"""


@pytest.fixture
def pilot_exam(tmp_path):
    import shutil

    root = tmp_path / "pilot-root"
    shutil.copytree(REPO / "quizzes", root / "quizzes")
    (root / "quizzes" / "exams" / "pilot-check.yaml").write_text(PILOT_PROFILE)
    bank = load_bank(root)
    return load_exams(root, bank).get("pilot-check"), bank


def wrong_answer(question):
    """A response that scores 0 under all-or-nothing scoring."""
    from triops.quiz.grading import grade

    candidates = {
        "single": lambda q: [i for i in range(len(q.options))],
        "multiple": lambda q: [[i] for i in range(len(q.options))],
        "true_false": lambda q: [not q.answer],
        "numeric": lambda q: [-987654.321],
        "short_text": lambda q: ["zzz not an answer"],
        "ordering": lambda q: [list(reversed(range(len(q.items))))],
        "matching": lambda q: [[None] * len(q.pairs)],
    }[question.type](question)
    return next(
        r for r in candidates if grade(question, r, multiple_response="all-or-nothing").score == 0
    )


def test_pilot_items_are_drawn_shown_like_the_others_and_never_scored(db, ada, pilot_exam):
    exam, bank = pilot_exam
    assert exam.startable and exam.blueprint.shown == 12
    row = engine.start(db, exam, bank, ada, T0, random.Random(3))
    view = engine.load(db, row.token, ada, T0)
    assert len(view.questions) == 12 == row.question_count
    pilot = [d for d in view.questions if d.pilot]
    scored = [d for d in view.questions if not d.pilot]
    assert len(pilot) == 4 and len(scored) == 8
    # Drawn from the profile's own pools, never twice, and interleaved with the scored ones.
    allowed = {bq.id for pool in exam.blueprint.pools(bank).values() for bq in pool}
    assert {d.question.id for d in view.questions} <= allowed
    assert len({d.question.id for d in view.questions}) == 12
    assert [d.position for d in view.questions] == list(range(12))
    # Every pilot item right, every scored item wrong: the score is 0.
    for d in pilot:
        engine.save_answer(db, row.token, ada, d.position, right_answer(d.question), T0, d.question)
    for d in scored:
        engine.save_answer(db, row.token, ada, d.position, wrong_answer(d.question), T0, d.question)
    done = engine.load(
        db, engine.submit(db, row.token, ada, T0 + timedelta(minutes=5)).token, ada, T0
    )
    result = engine.result(done)
    assert done.row.score == 0.0 and done.row.passed is False
    assert result.scaled == 100 and result.scored_items == 8
    assert sorted(result.pilot_positions) == sorted(d.position for d in pilot)
    assert sum(d.possible for d in result.domains) == 8
    assert all(not d.meets for d in result.domains)
    stored = json.loads(done.row.result_json)
    assert {q["position"] for q in stored["questions"] if q["pilot"]} == {d.position for d in pilot}
    assert all(q["scored"] is not q["pilot"] for q in stored["questions"])
    # Pilot items are still graded (for item analysis), just never counted.
    assert all(q["score"] == 1.0 for q in stored["questions"] if q["pilot"])


def test_scored_items_right_and_pilot_items_wrong_reach_the_top_of_the_scale(db, ada, pilot_exam):
    exam, bank = pilot_exam
    row = engine.start(db, exam, bank, ada, T0, random.Random(4))
    view = engine.load(db, row.token, ada, T0)
    for d in view.questions:
        answer = wrong_answer(d.question) if d.pilot else right_answer(d.question)
        engine.save_answer(db, row.token, ada, d.position, answer, T0, d.question)
    engine.submit(db, row.token, ada, T0 + timedelta(minutes=5))
    result = engine.result(engine.load(db, row.token, ada, T0))
    assert (result.percent, result.passed, result.scaled) == (100.0, True, 1000)
    assert result.margin == 0.0
    assert all(d.meets and d.percent == 100.0 for d in result.domains)


def test_all_or_nothing_and_partial_credit_score_the_same_answers_differently(db, ada, bank):
    """The same answers graded under both rules: all keys but one earns part of the point with
    Moodle's partial credit and nothing all-or-nothing; other types score alike."""
    from triops.quiz.blueprint import Blueprint

    devops = load_exams(REPO, bank).get("devops-practitioner")
    row = engine.start(db, devops, bank, ada, T0, random.Random(5))
    pool = [bq for bqs in bank.exam_pools().values() for bq in bqs if bq.track == "devops"]
    multiples = [bq for bq in pool if bq.question.type == "multiple"][:4]
    singles = [bq for bq in pool if bq.question.type == "single"][:4]
    assert multiples and singles
    drawn = [
        engine.DrawnQuestion(i, bq.question, bq.track, list(range(len(bq.question.options))))
        for i, bq in enumerate(multiples + singles)
    ]
    responses = {}
    for d in drawn:
        if d.question.type == "multiple":
            key = d.question.key()
            responses[d.position] = key[:-1]  # every key but one, nothing wrong
        else:
            responses[d.position] = right_answer(d.question)
    graded = {}
    for mode in ("partial", "all-or-nothing"):
        bp = Blueprint.model_validate(devops.blueprint.model_dump() | {"multiple_response": mode})
        graded[mode] = engine.grade_attempt(engine.AttemptView(row, bp, drawn, responses))
    partial, strict = graded["partial"], graded["all-or-nothing"]
    by_pos_partial = {q["position"]: q["score"] for q in partial["questions"]}
    by_pos_strict = {q["position"]: q["score"] for q in strict["questions"]}
    for d in drawn:
        if d.question.type == "multiple":
            assert 0 < by_pos_partial[d.position] < 1
            assert by_pos_strict[d.position] == 0
        else:
            assert by_pos_partial[d.position] == by_pos_strict[d.position] == 1.0
    assert strict["percent"] < partial["percent"] < 100
    assert strict["multiple_response"] == "all-or-nothing"


def test_the_margin_of_error_is_the_binomial_standard_error_over_the_scored_items():
    assert engine.margin_points(70, 30) == pytest.approx(100 * (0.7 * 0.3 / 30) ** 0.5)
    assert round(engine.margin_points(70, 30), 1) == 8.4  # the review's "about ±8 points"
    assert round(engine.margin_points(70, 65), 1) == 5.7
    assert engine.margin_points(100, 65) == 0.0 and engine.margin_points(50, 0) == 0.0
