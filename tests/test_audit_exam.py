"""Exam events in the audit log (issue 18 item 4): start, submit, expiry and a refused late
answer, on a real DuckDB file with an injected clock; each entry is committed with the change it
reports, or rolled back with it."""

import random
from datetime import datetime, timedelta

import pytest

from triops.quiz import exam as engine
from triops.quiz.exam import AttemptClosedError
from triops.quiz.grading import right_answer
from triops.store import audit, users

T0 = datetime(2026, 12, 6, 9, 0, 0)
QUICK = "devops-practitioner"  # 45 minutes, finished at the deadline
GRACE = "triad-mock-certification"  # 90 minutes, then a 5-minute grace period


@pytest.fixture
def ada(db):
    return users.create_user(db, "Ada", T0).id


def start(db, exams, bank, user, exam=QUICK, now=T0):
    return engine.start(db, exams.get(exam), bank, user, now, random.Random(1))


def events(db) -> list[tuple]:
    return [
        (e.happened_at, e.actor_id, e.actor_name, e.action, e.subject_id, e.subject_name)
        for e in audit.entries(db)
    ]


def test_start_and_submit_are_recorded_by_the_candidate_and_saves_are_not(db, exams, bank, ada):
    row = start(db, exams, bank, ada)
    view = engine.load(db, row.token, ada, T0)
    for d in view.questions[:15]:
        engine.save_answer(db, row.token, ada, d.position, right_answer(d.question), T0, d.question)
    again = start(db, exams, bank, ada, now=T0 + timedelta(minutes=1))  # the same attempt
    assert again.token == row.token
    done_at = T0 + timedelta(minutes=20)
    engine.submit(db, row.token, ada, done_at)
    engine.submit(db, row.token, ada, done_at + timedelta(seconds=5))  # a second click
    assert events(db) == [
        (T0, ada, "Ada", engine.STARTED, ada, "Ada"),
        (done_at, ada, "Ada", engine.SUBMITTED, ada, "Ada"),
    ]
    started, submitted = audit.entries(db)
    assert started.detail == (
        f"{QUICK}, started 2026-12-06 09:00:00 UTC: deadline 2026-12-06 09:45:00 UTC"
    )
    assert submitted.detail.endswith("submitted, 50%, failed")
    assert row.token not in started.detail + submitted.detail  # the URL token stays out


def test_the_sweep_records_an_expired_attempt_as_the_system_once(db, exams, bank, ada):
    row = start(db, exams, bank, ada)
    bob = users.create_user(db, "Bob", T0).id
    start(db, exams, bank, bob, now=T0 + timedelta(minutes=30))  # still running at the sweep
    sweep_at = row.deadline + timedelta(minutes=5)
    assert engine.sweep(db, sweep_at) == 1
    assert engine.sweep(db, sweep_at + timedelta(seconds=30)) == 0
    engine.load(db, row.token, ada, sweep_at + timedelta(minutes=1))  # already finalized
    expired = [e for e in audit.entries(db) if e.action == engine.EXPIRED]
    assert [(e.happened_at, e.actor_id, e.actor_name, e.subject_id) for e in expired] == [
        (sweep_at, engine.SYSTEM, engine.SYSTEM, ada)
    ]
    assert expired[0].detail.endswith(
        "finished at the deadline 2026-12-06 09:45:00 UTC, 0%, failed (noticed by the expiry sweep)"
    )
    assert engine.load(db, row.token, ada, sweep_at).state == "finished"


def test_the_sweep_records_overdue_then_abandoned_in_a_grace_period(db, exams, bank, ada):
    row = start(db, exams, bank, ada, exam=GRACE)
    engine.sweep(db, row.deadline + timedelta(minutes=1))
    engine.sweep(db, row.grace_until + timedelta(minutes=1))
    details = [e.detail for e in audit.entries(db) if e.action == engine.EXPIRED]
    assert len(details) == 2
    assert "deadline 2026-12-06 10:30:00 UTC passed, answers closed" in details[0]
    assert "abandoned, not graded: grace period ended 2026-12-06 10:35:00 UTC" in details[1]
    assert engine.history(db, ada, GRACE)[0].state == "abandoned"


def test_a_late_answer_is_refused_and_recorded_with_the_expiry_it_found(db, exams, bank, ada):
    row = start(db, exams, bank, ada)
    late = row.deadline + timedelta(seconds=12)
    with pytest.raises(AttemptClosedError, match="closed"):
        engine.save_answer(db, row.token, ada, 3, None, late)
    assert engine.load(db, row.token, ada, late).responses == {}
    logged = [e for e in audit.entries(db) if e.happened_at == late]
    assert [(e.actor_id, e.action) for e in logged] == [
        (engine.SYSTEM, engine.EXPIRED),  # the late request found it expired first
        (ada, engine.LATE_WRITE_REFUSED),
    ]
    assert "noticed by a later request" in logged[0].detail
    assert logged[1].detail.endswith("question 4, 12 s after the deadline 2026-12-06 09:45:00 UTC")


def test_a_late_answer_in_the_grace_period_is_recorded_and_a_submit_there_too(db, exams, bank, ada):
    row = start(db, exams, bank, ada, exam=GRACE)
    during = row.deadline + timedelta(minutes=2)
    with pytest.raises(AttemptClosedError, match="grace period"):
        engine.save_answer(db, row.token, ada, 0, None, during)
    engine.submit(db, row.token, ada, during + timedelta(seconds=1))
    actions = [(e.actor_id, e.action) for e in audit.entries(db)]
    assert actions == [
        (ada, engine.STARTED),
        (engine.SYSTEM, engine.EXPIRED),
        (ada, engine.LATE_WRITE_REFUSED),
        (ada, engine.SUBMITTED),
    ]
    assert "submitted during the grace period" in audit.entries(db)[-1].detail


def test_refusals_that_are_not_late_are_not_recorded_as_late(db, exams, bank, ada):
    row = start(db, exams, bank, ada)
    engine.submit(db, row.token, ada, T0 + timedelta(minutes=5))
    with pytest.raises(AttemptClosedError):  # a stale tab, before the deadline
        engine.save_answer(db, row.token, ada, 0, None, T0 + timedelta(minutes=6))
    engine.set_accommodation(db, ada, "untimed", T0)
    untimed = start(db, exams, bank, ada, now=T0 + timedelta(minutes=7))
    engine.save_answer(db, untimed.token, ada, 0, None, T0 + timedelta(days=2))
    assert engine.LATE_WRITE_REFUSED not in [e.action for e in audit.entries(db)]
    assert audit.entries(db)[-1].detail.endswith(": untimed")


class Crash(Exception):
    """A failure between the audit insert and the commit."""


class AuditCrash:
    """While armed, the audit insert runs for real and then the write fails before its commit."""

    def __init__(self, monkeypatch):
        self.monkeypatch, self.real = monkeypatch, audit.insert

    def _insert_then_fail(self, db, entry):
        self.real(db, entry)
        seen = "SELECT count(*) FROM audit_log WHERE action = ?"
        assert db.execute(seen, [entry.action]).fetchone()[0] == 1  # inside the transaction
        raise Crash(entry.action)

    def arm(self) -> None:
        self.monkeypatch.setattr(audit, "insert", self._insert_then_fail)

    def disarm(self) -> None:
        self.monkeypatch.setattr(audit, "insert", self.real)


@pytest.fixture
def crash(monkeypatch) -> AuditCrash:
    return AuditCrash(monkeypatch)


def counts(db) -> dict[str, int]:
    tables = ("audit_log", "exam_attempts", "open_attempts", "attempt_guards", "attempt_questions")
    return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}  # noqa: S608


def test_a_failure_after_the_start_entry_leaves_neither_the_attempt_nor_the_entry(
    db, exams, bank, ada, crash
):
    crash.arm()
    with pytest.raises(Crash, match=engine.STARTED):
        start(db, exams, bank, ada)
    assert set(counts(db).values()) == {0}
    crash.disarm()
    row = start(db, exams, bank, ada)  # the slot was freed with the rest
    assert counts(db)["open_attempts"] == 1
    assert events(db) == [(T0, ada, "Ada", engine.STARTED, ada, "Ada")]
    assert engine.load(db, row.token, ada, T0).state == "in_progress"


def test_a_failure_after_the_submit_entry_leaves_the_attempt_open_and_unlogged(
    db, exams, bank, ada, crash
):
    row = start(db, exams, bank, ada)
    done_at = T0 + timedelta(minutes=10)
    crash.arm()
    with pytest.raises(Crash, match=engine.SUBMITTED):
        engine.submit(db, row.token, ada, done_at)
    crash.disarm()
    assert [e.action for e in audit.entries(db)] == [engine.STARTED]
    reread = engine.load(db, row.token, ada, done_at)
    assert (reread.state, reread.row.finished_at, reread.row.score) == ("in_progress", None, None)
    engine.save_answer(db, row.token, ada, 0, None, done_at)  # still takes answers
    engine.submit(db, row.token, ada, done_at)
    assert [e.action for e in audit.entries(db)] == [engine.STARTED, engine.SUBMITTED]
    assert engine.load(db, row.token, ada, done_at).state == "finished"


def test_a_failure_after_the_expiry_entry_leaves_the_attempt_for_the_next_sweep(
    db, exams, bank, ada, crash
):
    row = start(db, exams, bank, ada, exam=GRACE)
    sweep_at = row.deadline + timedelta(minutes=1)
    crash.arm()
    with pytest.raises(Crash, match=engine.EXPIRED):
        engine.sweep(db, sweep_at)
    crash.disarm()
    assert [e.action for e in audit.entries(db)] == [engine.STARTED]
    assert engine.history(db, ada, GRACE)[0].state == "in_progress"
    assert engine.sweep(db, sweep_at) == 1
    assert [e.action for e in audit.entries(db)] == [engine.STARTED, engine.EXPIRED]
    assert engine.history(db, ada, GRACE)[0].state == "overdue"
