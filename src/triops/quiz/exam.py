"""The timed exam engine. The server is the authority: it sets the deadline, stores the questions
as they were drawn, refuses late writes in SQL, and finalizes expired attempts itself.

Every function takes `now` (naive UTC) from the caller, so deadlines are testable."""

from __future__ import annotations

import json
import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter

from triops.errors import InvalidInputError, NotFoundError, TriopsError
from triops.quiz.bank import Bank
from triops.quiz.blueprint import Blueprint, Exam
from triops.quiz.grading import Grade, grade, validate_response
from triops.quiz.models import Question
from triops.quiz.presentation import option_count
from triops.store import attempts as store
from triops.store.attempts import AttemptRow, QuestionRow

ACCOMMODATIONS: dict[str, float | None] = {"1": 1.0, "1.5": 1.5, "2": 2.0, "untimed": None}
OPEN_STATES = ("in_progress", "overdue")
_QUESTION = TypeAdapter(Question)


class AttemptClosedError(TriopsError):
    """The attempt can no longer take answers (submitted, expired, or abandoned)."""


@dataclass(frozen=True)
class DrawnQuestion:
    position: int
    question: Any
    track: str
    option_order: list[int]


@dataclass
class AttemptView:
    """An attempt as the page shows it: questions as drawn, latest answers, flags, time left."""

    row: AttemptRow
    blueprint: Blueprint
    questions: list[DrawnQuestion]
    responses: dict[int, Any] = field(default_factory=dict)
    flags: set[int] = field(default_factory=set)

    @property
    def state(self) -> str:
        return self.row.state

    @property
    def token(self) -> str:
        return self.row.token

    def seconds_left(self, now: datetime) -> float | None:
        """Seconds to the deadline (or, when overdue, to the end of the grace period)."""
        end = self.row.grace_until if self.row.state == "overdue" else self.row.deadline
        if end is None:
            return None
        return max(0.0, (end - now).total_seconds())

    def answered(self) -> set[int]:
        return {p for p, r in self.responses.items() if r is not None}


def draw(blueprint: Blueprint, bank: Bank, rng: random.Random) -> list[DrawnQuestion]:
    """Questions for one attempt, per the blueprint's domain counts and shuffling."""
    pools = bank.exam_pools()  # without questions graded by meaning: see Bank.exam_pools
    chosen = []
    for domain, count in blueprint.counts().items():
        pool = pools.get(domain, [])
        if len(pool) < count:
            raise InvalidInputError(
                f"The bank cannot fill this exam: domain {domain} needs {count} questions and "
                f"has {len(pool)}. Run `triops validate` for details."
            )
        chosen += rng.sample(pool, count)
    if blueprint.shuffle_questions:
        rng.shuffle(chosen)
    drawn = []
    for position, bq in enumerate(chosen):
        n = option_count(bq.question)
        order = list(range(n))
        if n and (blueprint.shuffle_options or bq.question.type == "ordering"):
            rng.shuffle(order)  # ordering items are always shown shuffled
        drawn.append(DrawnQuestion(position, bq.question, bq.track, order))
    return drawn


def start(
    db, exam: Exam, bank: Bank, user_id: str, now: datetime, rng: random.Random | None = None
) -> AttemptRow:
    """Start an attempt, or return the one already open for this exam and user."""
    existing = store.open_attempt(db, user_id, exam.id)
    if existing is not None:
        return existing
    bp = exam.blueprint
    if bp.attempts_allowed and store.count_attempts(db, user_id, exam.id) >= bp.attempts_allowed:
        raise InvalidInputError(
            f"You have used all {bp.attempts_allowed} attempts allowed for this exam."
        )
    accommodation = store.get_accommodation(db, user_id)
    factor = ACCOMMODATIONS[accommodation]
    deadline = None if factor is None else now + timedelta(minutes=bp.time_limit_minutes * factor)
    grace_until = None
    if deadline is not None and bp.expiry.policy == "grace":
        grace_until = deadline + timedelta(minutes=bp.expiry.grace_minutes)
    drawn = draw(bp, bank, rng or random.Random(secrets.randbits(64)))
    # The opaque URL token doubles as the primary key: unguessable, and one index lookup.
    token = secrets.token_urlsafe(18)
    row = AttemptRow(
        id=token,
        token=token,
        user_id=user_id,
        exam_id=exam.id,
        blueprint_json=bp.model_dump_json(),
        question_count=len(drawn),
        state="in_progress",
        accommodation=accommodation,
        started_at=now,
        deadline=deadline,
        grace_until=grace_until,
        finished_at=None,
        score=None,
        passed=None,
        result_json=None,
    )
    questions = [
        QuestionRow(
            position=d.position,
            question_id=d.question.id,
            track=d.track,
            snapshot=d.question.model_dump(mode="json"),
            option_order=d.option_order,
        )
        for d in drawn
    ]
    return store.create_attempt(db, row, questions)


def _owned(db, token: str, user_id: str) -> AttemptRow:
    row = store.by_token(db, token)
    if row is None:
        raise NotFoundError("This exam attempt does not exist. Start the exam again from the list.")
    if row.user_id != user_id:
        raise NotFoundError("This exam attempt belongs to another profile.")
    return row


def finalize_if_expired(db, row: AttemptRow, now: datetime) -> AttemptRow:
    """Apply the expiry policy when the deadline or the grace period has passed."""
    if row.state == "in_progress" and row.deadline is not None and row.deadline <= now:
        if row.grace_until is None:
            _finish(db, row, finished_at=row.deadline, expect=("in_progress",))
        elif row.grace_until > now:
            store.set_state(db, row.id, "overdue", expect=("in_progress",))
        else:
            # The grace period passed too without a submit: as in Moodle, the attempt is
            # abandoned and never graded.
            store.set_state(
                db, row.id, "abandoned", expect=("in_progress",), finished_at=row.grace_until
            )
    elif row.state == "overdue" and row.grace_until is not None and row.grace_until <= now:
        store.set_state(db, row.id, "abandoned", expect=("overdue",), finished_at=row.grace_until)
    return store.by_token(db, row.token) or row


def status(db, token: str, user_id: str, now: datetime) -> AttemptRow:
    """The attempt row only (cheap, for the periodic resync), finalized if its time is up."""
    return finalize_if_expired(db, _owned(db, token, user_id), now)


def load(db, token: str, user_id: str, now: datetime) -> AttemptView:
    """The attempt behind a token, for its owner only; expired attempts are finalized first."""
    row = finalize_if_expired(db, _owned(db, token, user_id), now)
    bp = Blueprint.model_validate_json(row.blueprint_json)
    drawn = [
        DrawnQuestion(q.position, _QUESTION.validate_python(q.snapshot), q.track, q.option_order)
        for q in store.questions(db, row.id)
    ]
    answers = {
        p: (None if r is None else json.loads(r)) for p, r in store.responses(db, row.id).items()
    }
    return AttemptView(row, bp, drawn, answers, store.flags(db, row.id))


def save_answer(
    db, token: str, user_id: str, position: int, response: Any, now: datetime, question=None
) -> None:
    """Commit one answer before the UI confirms it; raise when the server refuses it."""
    if question is not None:
        validate_response(question, response)
    payload = None if response is None else json.dumps(response)
    if store.save_response(db, token, user_id, position, payload, now):
        return
    row = finalize_if_expired(db, _owned(db, token, user_id), now)
    if row.state == "overdue":
        raise AttemptClosedError(
            "Time is up: answers can no longer change. You can still "
            "submit during the grace period."
        )
    if row.state != "in_progress":
        raise AttemptClosedError("This attempt is closed: the answer was not saved.")
    raise InvalidInputError(f"Question {position + 1} is not part of this attempt.")


def set_flag(db, token: str, user_id: str, position: int, flagged: bool, now: datetime) -> None:
    if not store.save_flag(db, token, user_id, position, flagged, now):
        _owned(db, token, user_id)
        raise AttemptClosedError("This attempt is closed.")


def grade_attempt(view: AttemptView) -> dict[str, Any]:
    """Score, pass or fail, and the per-domain breakdown."""
    domains: dict[str, list[float]] = {}
    per_question = []
    for d in view.questions:
        g: Grade = grade(d.question, view.responses.get(d.position))
        key = f"{d.track}/{d.question.domain}"
        domains.setdefault(key, []).append(g.score)
        per_question.append({"position": d.position, "score": g.score})
    total = sum(q["score"] for q in per_question)
    percent = 100.0 * total / len(per_question) if per_question else 0.0
    breakdown = [
        {"domain": k, "earned": sum(v), "possible": len(v), "percent": 100.0 * sum(v) / len(v)}
        for k, v in domains.items()
    ]
    breakdown.sort(key=lambda b: b["percent"])
    return {
        "percent": percent,
        "passed": percent >= view.blueprint.pass_mark,
        "domains": breakdown,
        "questions": per_question,
    }


def _finish(db, row: AttemptRow, finished_at: datetime, expect: tuple[str, ...]) -> None:
    view = AttemptView(
        row,
        Blueprint.model_validate_json(row.blueprint_json),
        [
            DrawnQuestion(
                q.position, _QUESTION.validate_python(q.snapshot), q.track, q.option_order
            )
            for q in store.questions(db, row.id)
        ],
        {p: (None if r is None else json.loads(r)) for p, r in store.responses(db, row.id).items()},
    )
    result = grade_attempt(view)
    store.set_state(
        db,
        row.id,
        "finished",
        expect=expect,
        finished_at=finished_at,
        score=result["percent"],
        passed=result["passed"],
        result_json=json.dumps(result),
    )


def submit(db, token: str, user_id: str, now: datetime) -> AttemptRow:
    """Submit: allowed before the deadline, and during a grace period."""
    row = finalize_if_expired(db, _owned(db, token, user_id), now)
    if row.state not in OPEN_STATES:
        return row
    _finish(db, row, finished_at=now, expect=OPEN_STATES)
    return store.by_token(db, token) or row


def sweep(db, now: datetime) -> int:
    """Finalize every attempt whose time has run out; returns how many changed."""
    changed = 0
    for row in store.expired(db, now):
        finalize_if_expired(db, row, now)
        changed += 1
    return changed


def history(db, user_id: str, exam_id: str | None = None) -> list[AttemptRow]:
    return store.history(db, user_id, exam_id)


def accommodation(db, user_id: str) -> str:
    return store.get_accommodation(db, user_id)


def set_accommodation(db, user_id: str, factor: str, now: datetime) -> None:
    if factor not in ACCOMMODATIONS:
        raise InvalidInputError(f"Unknown accommodation '{factor}'.")
    store.set_accommodation(db, user_id, factor, now)
