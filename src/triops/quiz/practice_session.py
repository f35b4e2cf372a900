"""A practice session: which question comes next, and what an answer changes.

A missed question comes back spaced out: after GAPS[0] other questions, then, once answered
right, after GAPS[1] more, and then it is done for the session (missed again, it starts over).
Returning questions are mixed with new ones: after a returning question the next one is new
whenever a new one is left, and the question just shown never comes straight back while any
other is available. Questions missed in an earlier session (the practice log) come back first.

Everything here is a pure function of a `Session` (plain data the page keeps in its session
state), the log's latest scores and an rng, so a seeded `random.Random` replays a session.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from triops.quiz.bank import BankQuestion
from triops.quiz.grading import describe, grade, right_answer
from triops.quiz.practice import missed

# Other questions shown before a missed question returns: first after 3, then after 8 more.
GAPS = (3, 8)

NEW, RETURNING, REPEAT, CHOSEN = "new", "returning", "repeat", "chosen"


@dataclass
class Review:
    """A missed question waiting to come back: shown again once `due` questions have been shown
    in the session; `stage` is the index in GAPS of the gap that set `due`."""

    due: int
    stage: int


@dataclass
class Session:
    """One learner's practice since the page was opened: every question shown, in order, with
    why it was chosen; the questions waiting to come back; this session's latest scores."""

    shown: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    reviews: dict[str, Review] = field(default_factory=dict)
    scores: dict[str, tuple[float, datetime]] = field(default_factory=dict)

    @property
    def position(self) -> int:
        """How many questions have been shown."""
        return len(self.shown)


@dataclass(frozen=True)
class Pick:
    """The next question and why it was chosen (new, returning, repeat or chosen)."""

    question: BankQuestion
    reason: str


@dataclass(frozen=True)
class Checked:
    """An answer as graded: its score, per-choice feedback, the grader's detail, and the right
    answer in words (empty when the answer was fully right)."""

    response: Any
    score: float
    feedback: tuple[str, ...]
    detail: str
    right_answer: str

    @property
    def verdict(self) -> str:
        """correct, partial or wrong."""
        if self.score >= 1:
            return "correct"
        return "partial" if self.score > 0 else "wrong"


def show(session: Session, question_id: str, reason: str = CHOSEN) -> None:
    """Record that `question_id` is shown now."""
    session.shown.append(question_id)
    session.reasons.append(reason)


def record(session: Session, question_id: str, score: float, at: datetime) -> None:
    """Record an answer to the question shown last: a miss (score below 1) comes back after
    GAPS[0] other questions; a returning question answered right waits for the next gap, or is
    done after the last one."""
    session.scores[question_id] = (score, at)
    review = session.reviews.get(question_id)
    if score < 1:
        session.reviews[question_id] = Review(session.position + GAPS[0], 0)
    elif review is not None:
        stage = review.stage + 1
        if stage < len(GAPS):
            session.reviews[question_id] = Review(session.position + GAPS[stage], stage)
        else:
            del session.reviews[question_id]


def check(session: Session, question, response: Any, at: datetime, embedder=None) -> Checked:
    """Grade `response` to the question shown last and record it in the session."""
    result = grade(question, response, embedder)
    record(session, question.id, result.score, at)
    right = "" if result.score >= 1 else describe(question, right_answer(question))
    return Checked(response, result.score, tuple(result.feedback), result.detail, right)


def next_question(
    candidates: list[BankQuestion],
    session: Session,
    logged: dict[str, tuple[float, datetime]],
    rng: random.Random,
) -> Pick | None:
    """The next question: a returning one that is due, unless the last one shown was returning
    too and a new one is left; else a new one, at random; else the one answered longest ago.

    `logged` is the practice log's latest (score, answered at) per question, earlier sessions
    included. Never the question just shown while another is available."""
    if not candidates:
        return None
    last = session.shown[-1] if session.shown else None
    available = [q for q in candidates if q.id != last] or list(candidates)
    latest = {**logged, **session.scores}
    due = sorted(
        (
            q
            for q in available
            if q.id in session.reviews and session.reviews[q.id].due <= session.position
        ),
        key=lambda q: (session.reviews[q.id].due, q.id),
    )
    # Missed in an earlier session and not yet seen in this one: due now.
    earlier = [
        q for q in missed(available, logged) if q.id not in session.scores and q.id not in due
    ]
    returning = due + earlier
    fresh = [q for q in available if q.id not in latest]
    last_returned = bool(session.reasons) and session.reasons[-1] == RETURNING
    if returning and not (last_returned and fresh):
        return Pick(returning[0], RETURNING)
    if fresh:
        return Pick(rng.choice(fresh), NEW)
    if returning:
        return Pick(returning[0], RETURNING)
    # Everything has been answered and nothing is due: the one answered longest ago, leaving
    # out questions waiting for their gap and, where the pool allows, the last few shown.
    waiting = set(session.reviews)
    recent = set(session.shown[-GAPS[0] :])
    for pool in (
        [q for q in available if q.id not in waiting and q.id not in recent],
        [q for q in available if q.id not in waiting],
        available,
    ):
        if pool:
            return Pick(min(pool, key=lambda q: (latest[q.id][1], q.id)), REPEAT)
    return None  # unreachable: `available` is never empty
