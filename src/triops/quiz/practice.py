"""Practice mode: the pool of questions a learner practises from, the ones they missed, and
"another like this". Which question comes next is triops.quiz.practice_session's job."""

from __future__ import annotations

import random
from datetime import datetime

from triops.quiz.bank import Bank, BankQuestion


def pool(
    bank: Bank, track: str | None = None, domain: str | None = None, lesson: str | None = None
) -> list[BankQuestion]:
    """Practice questions matching the filters; exam-only questions never appear here."""
    return [
        q
        for q in bank.practice()
        if (track is None or q.track == track)
        and (domain is None or q.question.domain == domain)
        and (lesson is None or q.question.lesson == lesson)
    ]


def missed(
    candidates: list[BankQuestion], latest: dict[str, tuple[float, datetime]]
) -> list[BankQuestion]:
    """Questions whose latest answer was not fully right, longest ago first."""
    out = [q for q in candidates if q.id in latest and latest[q.id][0] < 1.0]
    return sorted(out, key=lambda q: latest[q.id][1])


def like(
    candidates: list[BankQuestion], current: BankQuestion, recent: list[str], rng: random.Random
) -> BankQuestion | None:
    """Another question on the same lesson (else the same domain), not the current one."""
    for same in (
        [q for q in candidates if q.question.lesson == current.question.lesson],
        [
            q
            for q in candidates
            if q.question.domain == current.question.domain and q.track == current.track
        ],
    ):
        options = [q for q in same if q.id != current.id]
        fresh = [q for q in options if q.id not in recent]
        if fresh or options:
            return rng.choice(fresh or options)
    return None
