"""Question reports on a real DuckDB file: submit (one open report per profile and question),
the instructor's queue with file and line, resolve with a verdict the reporter sees, the item
analysis flag, bad input, and a regrade of finished exam attempts when an item is miskeyed."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

import pytest

from conftest import fresh_state
from triops.accounts import Actor
from triops.errors import InvalidInputError, NotFoundError
from triops.quiz import analysis, reports
from triops.quiz import exam as engine
from triops.quiz.grading import right_answer
from triops.store import attempts, audit, users

T0 = datetime(2026, 12, 6, 9, 0, 0)
EXAM = "devops-practitioner"
GRACE = Actor("grace-id", "Grace")


@pytest.fixture
def ada(db):
    return users.create_user(db, "Ada", T0).id


def first_single(bank):
    return next(q for q in bank.practice() if q.question.type == "single")


def report(db, user, bq, category="wrong-key", comment="Option B is right per the docs (2026)"):
    return reports.submit(
        db,
        user,
        bq.question,
        bq.track,
        source="practice",
        category=category,
        comment=comment,
        now=T0,
        bank_file=bq.path,
    )


def test_a_second_report_on_the_same_question_updates_the_open_one(db, bank, ada):
    bq = first_single(bank)
    first, updated = report(db, ada, bq)
    assert not updated and first.is_open
    assert first.version == reports.version_of(bq.question)
    assert first.bank_file == bq.path
    again, updated = report(db, ada, bq, category="unclear", comment="The stem is ambiguous")
    assert updated and again.id == first.id
    (only,) = reports.mine(db, ada, bq.id)
    assert (only.category, only.comment) == ("unclear", "The stem is ambiguous")


def test_the_queue_names_file_and_line_and_the_reporter_sees_the_verdict(db, bank, ada):
    bq = first_single(bank)
    made, _ = report(db, ada, bq)
    (item,) = reports.queue(db, bank)
    assert item.where == f"{bq.path}:{bq.line}"
    assert item.reporter == "Ada"
    assert reports.queue(db, bank, state="resolved") == []
    assert reports.queue(db, bank, categories=["typo"]) == []
    assert reports.queue(db, bank, tracks=["mlops" if bq.track != "mlops" else "devops"]) == []

    outcome = reports.resolve(db, made.id, "rejected", "The key matches the docs.", T0, GRACE)
    assert outcome.regrades == [] and outcome.attempts_checked == 0
    (mine,) = reports.mine(db, ada, bq.id)
    assert (mine.verdict, mine.note, mine.resolver_name) == (
        "rejected",
        "The key matches the docs.",
        "Grace",
    )
    assert reports.queue(db, bank) == []
    assert [i.report.id for i in reports.queue(db, bank, state="resolved")] == [made.id]
    # Resolved, so a new report on the question opens a new one.
    newer, updated = report(db, ada, bq, category="typo", comment="")
    assert not updated and newer.id != made.id
    entry = audit.entries(db)[-1]
    assert (entry.actor_name, entry.action, entry.subject_name) == (
        "Grace",
        reports.RESOLVED,
        "Ada",
    )
    assert "rejected" in entry.detail


@pytest.mark.parametrize(
    ("category", "comment", "message"),
    [
        ("wrong-key", "   ", "Write a comment for 'Wrong key'"),
        ("outdated", "", "Write a comment for 'Outdated'"),
        ("typo", "x" * (reports.MAX_COMMENT + 1), f"at most {reports.MAX_COMMENT}"),
        ("rude", "hello", "Unknown category 'rude'"),
        ("unclear", "bell\x07", "cannot contain control characters"),
    ],
)
def test_bad_report_input_gets_a_clear_message(db, bank, ada, category, comment, message):
    with pytest.raises(InvalidInputError, match=message):
        report(db, ada, first_single(bank), category=category, comment=comment)
    assert reports.mine(db, ada) == []


def test_a_report_needs_a_profile_and_an_exam_report_needs_the_reporters_attempt(db, bank, ada):
    bq = first_single(bank)
    with pytest.raises(InvalidInputError, match="Create a profile"):
        report(db, None, bq)
    with pytest.raises(NotFoundError, match="does not exist for this profile"):
        reports.submit(
            db,
            ada,
            bq.question,
            bq.track,
            source="exam",
            category="typo",
            comment="",
            now=T0,
            attempt_id="someone-elses",
        )


def test_bad_resolutions_are_refused_and_the_report_stays_open(db, bank, ada):
    bq = first_single(bank)
    made, _ = report(db, ada, bq)
    cases = [
        (("nice", "ok"), {}, "Unknown verdict 'nice'"),
        (("rejected", "  "), {}, "Write a note for the reporter"),
        (("upheld-miskeyed", "wrong"), {}, "needs a remedy"),
        (("upheld-miskeyed", "wrong"), {"remedy": "rekey"}, "Give the corrected key"),
        (
            ("upheld-miskeyed", "wrong"),
            {"remedy": "rekey", "key": [bq.question.right_answer()]},
            "That is the published key",
        ),
        (("upheld-miskeyed", "wrong"), {"remedy": "rekey", "key": [0, 1]}, "exactly one"),
        (("rejected", "no"), {"remedy": "drop"}, "only with the verdict 'upheld-miskeyed'"),
    ]
    for (verdict, note), extra, message in cases:
        with pytest.raises(InvalidInputError, match=message):
            reports.resolve(db, made.id, verdict, note, T0, GRACE, **extra)
    assert reports.mine(db, ada, bq.id)[0].is_open
    reports.resolve(db, made.id, "duplicate", "Same as an earlier report.", T0, GRACE)
    with pytest.raises(InvalidInputError, match="already resolved"):
        reports.resolve(db, made.id, "rejected", "again", T0, GRACE)


def test_reports_flag_the_item_in_the_item_analysis(db, bank, ada):
    bq = first_single(bank)
    bo = users.create_user(db, "Bo", T0).id
    report(db, ada, bq)
    made, _ = report(db, bo, bq, category="unclear", comment="")
    before = analysis.data_version(db)
    reports.resolve(db, made.id, "upheld-fixed", "Reworded the stem.", T0, GRACE)
    assert analysis.data_version(db) != before  # the item analysis cache sees the change
    from triops.store import practice

    practice.log_answer(db, ada, bq.id, 0.0, T0)
    report_ = analysis.item_report(db, bank=bank, minimum=2)
    (row,) = report_.practice.itertuples(index=False)
    assert row.flags == (analysis.REPORTED,)
    assert row.notes == "reports: 1 open (wrong key 1); 1 upheld (unclear 1)"
    text = analysis.format_report(report_, practice=True)
    assert "learner reports, needs 1 more answers" in text


def finished_attempt(db, exams, bank, user, answer_for, seed=3):
    """A finished attempt of EXAM whose answers `answer_for(drawn question)` chooses."""
    row = engine.start(db, exams.get(EXAM), bank, user, T0, random.Random(seed))
    view = engine.load(db, row.token, user, T0)
    for d in view.questions:
        response = answer_for(d)
        if response is not None:
            engine.save_answer(db, row.token, user, d.position, response, T0, d.question)
    engine.submit(db, row.token, user, T0 + timedelta(minutes=10))
    return engine.load(db, row.token, user, T0 + timedelta(minutes=11))


def drawn_single(exams, bank, seed=3):
    """The first scored single-choice question the form of `seed` draws, and a wrong option."""
    drawn = engine.draw(exams.get(EXAM).blueprint, bank, random.Random(seed))
    target = next(d.question for d in drawn if d.question.type == "single" and not d.pilot)
    wrong = next(i for i, w in enumerate(target.weights()) if w == 0)
    return target, wrong


def answering(target, choice, others=lambda d: right_answer(d.question)):
    def answer(d):
        return choice if d.question.id == target.id else others(d)

    return answer


def test_a_miskeyed_item_regrades_finished_attempts_never_lowering_and_audits(db, exams, bank, ada):
    bo = users.create_user(db, "Bo", T0).id
    target, other = drawn_single(exams, bank)
    # Every other item right for both; Ada chose the published key, Bo the option that turns
    # out right.
    ada_view = finished_attempt(db, exams, bank, ada, answering(target, target.right_answer()))
    bo_view = finished_attempt(db, exams, bank, bo, answering(target, other))
    before_ada, before_bo = ada_view.row.score, bo_view.row.score
    assert before_ada == 100.0 and before_bo < 100.0
    responses_before = attempts.responses(db, bo_view.row.id)

    made, _ = reports.submit(
        db,
        bo,
        next(d.question for d in bo_view.questions if d.question.id == target.id),
        "devops",
        source="exam",
        category="wrong-key",
        comment="The docs say the other option.",
        now=T0 + timedelta(hours=1),
        attempt_id=bo_view.row.id,
    )
    moment = T0 + timedelta(hours=2)
    outcome = reports.resolve(
        db,
        made.id,
        "upheld-miskeyed",
        "The docs changed in 2026; both keys are credited.",
        moment,
        GRACE,
        remedy="rekey",
        key=[other],
    )
    assert outcome.attempts_checked == 2
    (regrade,) = outcome.regrades  # Ada had the published key: credited both ways, unchanged
    assert (regrade.user_id, regrade.before, regrade.after) == (bo, before_bo, 100.0)
    after_bo = attempts.by_token(db, bo_view.row.id)
    assert after_bo.score == 100.0 and after_bo.passed
    assert attempts.by_token(db, ada_view.row.id).score == before_ada
    assert attempts.responses(db, bo_view.row.id) == responses_before  # answers untouched
    result = json.loads(after_bo.result_json)
    assert result["original"]["percent"] == before_bo
    (note,) = reports.regrade_notes(after_bo.result_json)
    position = next(d.position for d in bo_view.questions if d.question.id == target.id)
    assert note.items == {position: (0.0, 1.0, True)}
    assert (note.before, note.after) == (before_bo, 100.0)
    assert "both keys" in note.note
    entry = audit.entries(db)[-1]
    assert (entry.actor_name, entry.action, entry.subject_name) == ("Grace", reports.REGRADED, "Bo")
    assert f"{before_bo:.1f}% -> 100.0%" in entry.detail and target.id in entry.detail
    # The engine's result (what the result page shows) reads the regraded grade.
    view = engine.load(db, bo_view.row.token, bo, moment)
    assert engine.result(view).percent == 100.0


def test_dropping_an_item_never_lowers_a_score(db, exams, bank, ada):
    bo = users.create_user(db, "Bo", T0).id
    target, wrong = drawn_single(exams, bank)

    def half(d):  # every other item right, the rest left blank
        return right_answer(d.question) if d.position % 2 else None

    ada_view = finished_attempt(
        db, exams, bank, ada, answering(target, target.right_answer(), half)
    )
    bo_view = finished_attempt(db, exams, bank, bo, answering(target, wrong, half))
    made, _ = report(db, bo, next(b for b in bank.questions if b.id == target.id))
    # The report was made on the bank's version; the attempts drew the same version.
    assert made.version == reports.version_of(
        next(d.question for d in bo_view.questions if d.question.id == target.id)
    )
    outcome = reports.resolve(
        db, made.id, "upheld-miskeyed", "Two options are defensible.", T0, GRACE, remedy="drop"
    )
    changed = {r.user_id: r for r in outcome.regrades}
    assert set(changed) == {bo}  # dropping Ada's right answer would lower her score: kept
    assert changed[bo].after > changed[bo].before
    assert attempts.by_token(db, ada_view.row.id).score == ada_view.row.score
    data = json.loads(attempts.by_token(db, bo_view.row.id).result_json)
    dropped = [q for q in data["questions"] if q.get("dropped")]
    assert len(dropped) == 1 and not dropped[0]["scored"]
    assert data["scored_items"] == bo_view.row.question_count - 1 - data["pilot_items"]


def test_the_command_line_lists_reports_and_resolves_one_with_a_regrade(exams, bank):
    from typer.testing import CliRunner

    from triops.cli import app as cli
    from triops.config import get_settings

    def run(*args):
        return CliRunner().invoke(cli, list(args))

    conn = fresh_state(get_settings().state_db)
    try:
        bo = users.create_user(conn, "Bo", T0).id
        target, other = drawn_single(exams, bank)
        view = finished_attempt(conn, exams, bank, bo, answering(target, other))
        made, _ = reports.submit(
            conn,
            bo,
            target,
            "devops",
            source="exam",
            category="wrong-key",
            comment="Option\nB is right",
            now=T0,
            attempt_id=view.row.id,
        )
    finally:
        conn.close()
    bq = bank.by_id()[target.id]
    listed = run("reports", "list")
    assert listed.exit_code == 0, listed.output
    assert listed.stdout == (
        f"{bq.path}:{bq.line}: wrong-key: {target.id}: report {made.id} by Bo "
        "(exam review, 2026-12-06 09:00 UTC): Option B is right\n"
    )
    bad = run(
        "reports",
        "resolve",
        made.id,
        "--verdict",
        "upheld-miskeyed",
        "--note",
        "x",
        "--remedy",
        "rekey",
        "--key",
        "two",
    )
    assert bad.exit_code == 1
    assert "error: --key 'two': option numbers from 1, comma-separated, or true/false" in bad.stderr
    done = run(
        "reports",
        "resolve",
        made.id,
        "--verdict",
        "upheld-miskeyed",
        "--note",
        "Docs changed.",
        "--remedy",
        "rekey",
        "--key",
        str(other + 1),
    )
    assert done.exit_code == 0, done.output
    assert f"resolved {made.id}: upheld-miskeyed" in done.stdout
    assert "regraded 1 of 1 finished attempt(s) that drew the question" in done.stdout
    assert view.row.passed  # 29 of 30: it passed before, so no "(now passed)"
    assert f"Bo started 2026-12-06 09:00 UTC: {view.row.score:.1f}% -> 100.0%\n" in done.stdout
    assert run("reports", "list").stdout == "no open reports\n"
    resolved = run("reports", "list", "--state", "resolved", "--category", "wrong-key")
    assert resolved.stdout.rstrip().endswith("=> upheld-miskeyed by command line: Docs changed.")
    again = run("reports", "resolve", made.id, "--verdict", "rejected", "--note", "no")
    assert again.exit_code == 1 and "already resolved" in again.stderr


def test_credit_all_gives_full_marks_to_any_answer_but_not_to_a_blank(db, exams, bank, ada):
    bo = users.create_user(db, "Bo", T0).id
    target, wrong = drawn_single(exams, bank)
    ada_view = finished_attempt(db, exams, bank, ada, answering(target, wrong))
    bo_view = finished_attempt(db, exams, bank, bo, answering(target, None))
    made, _ = report(db, ada, bank.by_id()[target.id])
    outcome = reports.resolve(
        db, made.id, "upheld-miskeyed", "Ambiguous stem.", T0, GRACE, remedy="credit-all"
    )
    assert [(r.user_name, r.after) for r in outcome.regrades] == [("Ada", 100.0)]
    assert attempts.by_token(db, bo_view.row.id).score == bo_view.row.score
    assert ada_view.row.score < 100.0


def test_a_question_without_a_keyed_type_cannot_be_rekeyed(db, bank, ada):
    bq = next(q for q in bank.practice() if q.question.type == "numeric")
    made, _ = report(db, ada, bq)
    with pytest.raises(InvalidInputError, match="for this numeric question choose"):
        reports.resolve(db, made.id, "upheld-miskeyed", "x", T0, GRACE, remedy="rekey", key=[0])
