"""A practice answer, graded and kept: the page hands it here, and it is graded in the session
(triops.quiz.practice_session), then, for a profile, written to the practice log (so a missed
question comes back in a later session) and to the question's spaced-review card."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from triops.quiz import review
from triops.quiz.bank import BankQuestion
from triops.quiz.practice_session import Checked, Session, check
from triops.store import practice as log


def latest_scores(db, user_id: str | None) -> dict[str, tuple[float, datetime]]:
    """Question id -> (latest practice score, when) over every earlier session; empty without
    a profile."""
    return log.latest_scores(db, user_id) if user_id else {}


def answer(
    db,
    user_id: str | None,
    session: Session,
    bq: BankQuestion,
    response: Any,
    at: datetime,
    embedder=None,
) -> Checked:
    """Grade `response` to the question shown last and record it in the session; for a profile,
    also log it and update the question's review card. `embedder` grades answers by meaning."""
    checked = check(session, bq.question, response, at, embedder)
    if user_id:
        log.log_answer(db, user_id, bq.id, checked.score, at)
        review.record_answer(db, user_id, bq.question, bq.track, checked.score, at)
    return checked
