"""The timed exam engine. The server is the authority: it sets the deadline, stores the questions
as they were drawn, refuses late writes in SQL, and finalizes expired attempts itself.

Every function takes `now` (naive UTC) from the caller, so deadlines are testable."""

from __future__ import annotations

import json
import math
import random
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from pydantic import TypeAdapter

from triops import jobs
from triops.errors import InvalidInputError, NotFoundError, TriopsError
from triops.quiz import hooks, review
from triops.quiz.bank import Bank
from triops.quiz.blueprint import Blueprint, Exam
from triops.quiz.grading import Grade, grade, validate_response
from triops.quiz.presentation import option_count
from triops.quiz.types import ExamItem
from triops.quiz.types.task import Task as TaskItem
from triops.store import attempts as store
from triops.store import audit, users
from triops.store.attempts import AttemptRow, QuestionRow

ACCOMMODATIONS: dict[str, float | None] = {"1": 1.0, "1.5": 1.5, "2": 2.0, "untimed": None}
OPEN_STATES = ("in_progress", "overdue")
_QUESTION = TypeAdapter(ExamItem)  # a question of the bank, or a task
# Where a profile's tasks are counted in the per-domain breakdown.
TASKS_DOMAIN = "Hands-on tasks"

# Exam events in the audit log (issue 18 item 4). The candidate is the actor of a start, a
# submit and a refused late answer; expiry is the server's act, whichever request noticed it.
STARTED = "exam started"
SUBMITTED = "exam submitted"
EXPIRED = "exam expired"
LATE_WRITE_REFUSED = "exam late write refused"
SYSTEM = "system"  # the actor id of the server itself: user ids are hex, so it names nobody


# The grader of task items at submit and expiry when set (the bench and tests set one that
# counts or times its calls); None: the course's grader that `triops.tasks.register()` put in
# triops.quiz.hooks (the engine sits below the labs and does not grade a task itself), and
# without one, tasks end "not graded" with that reason.
TASK_GRADER: Callable[[Any, Any], dict[str, Any]] | None = None
NO_GRADER = "not graded: this process has no task grader (triops.tasks.register was not called)"
GRADING_THREADS = 2  # tasks of one attempt graded side by side at submit


class AttemptClosedError(TriopsError):
    """The attempt can no longer take answers (submitted, expired, or abandoned)."""


@dataclass(frozen=True)
class DrawnQuestion:
    position: int
    question: Any
    track: str
    option_order: list[int]
    pilot: bool = False  # unscored: shown like the others, never counted


@dataclass
class AttemptView:
    """An attempt as the page shows it: questions as drawn, latest answers, flags, time left."""

    row: AttemptRow
    blueprint: Blueprint
    questions: list[DrawnQuestion]
    responses: dict[int, Any] = field(default_factory=dict)
    flags: set[int] = field(default_factory=set)
    # Answer and flag rows written to the attempt when it was read (`load`): compared by the
    # clock's resync to see whether anything was saved since. None when not read that way.
    writes: int | None = None

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
    """Questions for one attempt, per the blueprint's domain counts and shuffling.

    Each domain draws its scored and its pilot questions in one sample from its pool, so the
    two never overlap; which of them is pilot is recorded, never shown."""
    pools = blueprint.pools(bank)  # without questions graded by meaning: see Bank.exam_pools
    pilot = blueprint.pilot_counts()
    chosen: list[tuple[Any, bool]] = []
    for domain, count in blueprint.counts().items():
        pool = pools.get(domain, [])
        need = count + pilot.get(domain, 0)
        if len(pool) < need:
            raise InvalidInputError(
                f"The bank cannot fill this exam: domain {domain} needs {need} questions and "
                f"has {len(pool)}. Run `triops validate` for details."
            )
        picked = rng.sample(pool, need)
        chosen += [(bq, False) for bq in picked[:count]] + [(bq, True) for bq in picked[count:]]
    if blueprint.shuffle_questions:
        rng.shuffle(chosen)
    drawn = []
    for position, (bq, is_pilot) in enumerate(chosen):
        n = option_count(bq.question)
        order = list(range(n))
        if n and (blueprint.shuffle_options or bq.question.always_shuffled):
            rng.shuffle(order)
        drawn.append(DrawnQuestion(position, bq.question, bq.track, order, is_pilot))
    return drawn


def draw_tasks(exam: Exam, rng: random.Random, first_position: int) -> list[DrawnQuestion]:
    """The profile's tasks for one attempt, after the questions: `tasks.count` drawn from its
    pool, each stored as a snapshot (instruction, editable files, criteria, fingerprint)."""
    bp = exam.blueprint
    if bp.tasks is None:
        return []
    pool = list(exam.task_pool)
    if len(pool) < bp.tasks.count:
        raise InvalidInputError(
            f"{bp.title} draws {bp.tasks.count} tasks and its pool holds {len(pool)}: "
            "run `triops validate` for details."
        )
    picked = rng.sample(pool, bp.tasks.count)
    return [
        DrawnQuestion(
            first_position + i, TaskItem.from_task(t, t.fingerprint()), t.spec.track, [], False
        )
        for i, t in enumerate(picked)
    ]


def start(
    db,
    exam: Exam,
    bank: Bank,
    user_id: str,
    now: datetime,
    rng: random.Random | None = None,
    *,
    accommodation: str | None = None,
    count_allowance: bool = True,
    closes_at: datetime | None = None,
) -> AttemptRow:
    """Start an attempt, or return the one already open for this exam and user.

    An assigned exam (triops.cohorts) passes its own `accommodation` for the learner, counts
    its own attempts (`count_allowance=False`), and ends no later than its `closes_at`."""
    existing = store.open_attempt(db, user_id, exam.id)
    if existing is not None:
        return existing
    bp = exam.blueprint
    if not exam.startable:
        raise InvalidInputError(f"{bp.title} {exam.shortfall_text()}.")
    if (
        count_allowance
        and bp.attempts_allowed
        and store.count_attempts(db, user_id, exam.id) >= bp.attempts_allowed
    ):
        raise InvalidInputError(
            f"You have used all {bp.attempts_allowed} attempts allowed for this exam."
        )
    if accommodation is None:
        accommodation = store.get_accommodation(db, user_id)
    factor = ACCOMMODATIONS[accommodation]
    deadline = None if factor is None else now + timedelta(minutes=bp.time_limit_minutes * factor)
    if closes_at is not None:
        deadline = closes_at if deadline is None else min(deadline, closes_at)
    grace_until = None
    if deadline is not None and bp.expiry.policy == "grace":
        grace_until = deadline + timedelta(minutes=bp.expiry.grace_minutes)
    rng = rng or random.Random(secrets.randbits(64))
    drawn = draw(bp, bank, rng)
    drawn += draw_tasks(exam, rng, len(drawn))
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
            pilot=d.pilot,
        )
        for d in drawn
    ]
    # The entry is written in the attempt's own transaction, and only by the tab that made it
    # (not when another tab's attempt is returned).
    return store.create_attempt(
        db, row, questions, _entry(db, now, row, STARTED, _deadline_text(row))
    )


def _entry(
    db, now: datetime, row: AttemptRow, action: str, detail: str, *, by_system=False
) -> audit.NewEntry:
    """One exam event, for the store to write in the same transaction as the change it reports.

    The attempt is named by exam and start time: its id is the token of the candidate's URL."""
    user = users.get_user(db, row.user_id)
    name = user.name if user is not None else row.user_id
    return audit.NewEntry(
        happened_at=now,
        actor_id=SYSTEM if by_system else row.user_id,
        actor_name=SYSTEM if by_system else name,
        action=action,
        subject_id=row.user_id,
        subject_name=name,
        detail=f"{row.exam_id}, started {_utc(row.started_at)}: {detail}",
    )


def _utc(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def _deadline_text(row: AttemptRow) -> str:
    return "untimed" if row.deadline is None else f"deadline {_utc(row.deadline)}"


def _score_text(result: dict[str, Any]) -> str:
    return f"{result['percent']:.0f}%, {'passed' if result['passed'] else 'failed'}"


def _owned(db, token: str, user_id: str) -> AttemptRow:
    return _check_owner(store.by_token(db, token), user_id)


def _check_owner(row: AttemptRow | None, user_id: str) -> AttemptRow:
    if row is None:
        raise NotFoundError("This exam attempt does not exist. Start the exam again from the list.")
    if row.user_id != user_id:
        raise NotFoundError("Not allowed: this exam attempt belongs to another profile.")
    return row


def _owned_with_writes(db, token: str, user_id: str) -> tuple[AttemptRow, int]:
    found = store.by_token_with_writes(db, token)
    row = _check_owner(None if found is None else found[0], user_id)
    return row, found[1]


def finalize_if_expired(
    db, row: AttemptRow, now: datetime, *, noticed_by: str = "a later request"
) -> AttemptRow:
    """Apply the expiry policy when the deadline or the grace period has passed.

    `noticed_by` only words the audit entry: the sweep, or the request that found it expired.
    The entry is written in the transaction that moves the state, so only the finalizer that
    won a race records it."""

    def expired(event: str) -> audit.NewEntry:
        return _entry(db, now, row, EXPIRED, f"{event} (noticed by {noticed_by})", by_system=True)

    def abandoned() -> audit.NewEntry:
        return expired(f"abandoned, not graded: grace period ended {_utc(row.grace_until)}")

    in_time = not (
        (row.state == "in_progress" and row.deadline is not None and row.deadline <= now)
        or (row.state == "overdue" and row.grace_until is not None and row.grace_until <= now)
    )
    if in_time:
        return row  # nothing to apply: the row as read is current
    if row.state == "in_progress" and row.deadline is not None and row.deadline <= now:
        if row.grace_until is None:
            _finish(
                db,
                row,
                finished_at=row.deadline,
                expect=("in_progress",),
                event=lambda result: expired(
                    f"finished at the deadline {_utc(row.deadline)}, {_score_text(result)}"
                ),
            )
        elif row.grace_until > now:
            store.set_state(
                db,
                row.id,
                "overdue",
                expect=("in_progress",),
                audit_entry=expired(
                    f"deadline {_utc(row.deadline)} passed, answers closed, submit allowed "
                    f"until {_utc(row.grace_until)}"
                ),
            )
        else:
            # The grace period passed too without a submit: as in Moodle, the attempt is
            # abandoned and never graded.
            store.set_state(
                db,
                row.id,
                "abandoned",
                expect=("in_progress",),
                finished_at=row.grace_until,
                audit_entry=abandoned(),
            )
    elif row.state == "overdue" and row.grace_until is not None and row.grace_until <= now:
        store.set_state(
            db,
            row.id,
            "abandoned",
            expect=("overdue",),
            finished_at=row.grace_until,
            audit_entry=abandoned(),
        )
    return store.by_token(db, row.token) or row


def status(db, token: str, user_id: str, now: datetime) -> AttemptRow:
    """The attempt row only (cheap, for the periodic resync), finalized if its time is up."""
    return finalize_if_expired(db, _owned(db, token, user_id), now)


def resync(db, token: str, user_id: str, now: datetime) -> tuple[AttemptRow, int]:
    """The clock's one read: the attempt row, finalized if its time is up, and how many answer
    and flag rows have been written to it (`AttemptView.writes` of the page it last drew)."""
    row, writes = _owned_with_writes(db, token, user_id)
    return finalize_if_expired(db, row, now), writes


def load(
    db,
    token: str,
    user_id: str,
    now: datetime,
    known: tuple[int, dict[int, Any], set[int]] | None = None,
) -> AttemptView:
    """The attempt behind a token, for its owner only; expired attempts are finalized first.

    `known` is (writes, answers, flags) as a page last read them and then wrote them itself:
    answer and flag rows are only ever appended, so while the attempt is open and its count of
    them is still `writes`, they are those answers and flags, and are not read again."""
    row, writes = _owned_with_writes(db, token, user_id)
    row = finalize_if_expired(db, row, now)
    if known is not None and known[0] == writes and row.state in OPEN_STATES:
        answers, flags = dict(known[1]), set(known[2])
    else:
        answers, flags = _answers(db, row), store.flags(db, row.id)
    return AttemptView(
        row,
        Blueprint.model_validate_json(row.blueprint_json),
        _drawn(db, row),
        answers,
        flags,
        writes,
    )


# An attempt's items as drawn never change once stored (its rows are only ever inserted), so
# each page run of an attempt reuses them instead of reading and validating every snapshot
# again. Keyed by attempt id (an unguessable token), the most recent attempts only.
_DRAWN: OrderedDict[str, tuple[DrawnQuestion, ...]] = OrderedDict()
_DRAWN_KEPT = 256
_DRAWN_LOCK = threading.Lock()


def _drawn(db, row: AttemptRow) -> list[DrawnQuestion]:
    with _DRAWN_LOCK:
        hit = _DRAWN.get(row.id)
        if hit is not None:
            _DRAWN.move_to_end(row.id)
            return list(hit)
    drawn = tuple(
        DrawnQuestion(
            q.position, _QUESTION.validate_python(q.snapshot), q.track, q.option_order, q.pilot
        )
        for q in store.questions(db, row.id)
    )
    if drawn:  # an attempt whose rows are not visible yet is not remembered as empty
        with _DRAWN_LOCK:
            _DRAWN[row.id] = drawn
            while len(_DRAWN) > _DRAWN_KEPT:
                _DRAWN.popitem(last=False)
    return list(drawn)


def _answers(db, row: AttemptRow) -> dict[int, Any]:
    return {
        p: (None if r is None else json.loads(r)) for p, r in store.responses(db, row.id).items()
    }


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
    if row.state != "in_progress" and row.deadline is not None and row.deadline <= now:
        # A refusal changes nothing else: its entry is one insert of its own.
        audit.append(
            db,
            _entry(
                db,
                now,
                row,
                LATE_WRITE_REFUSED,
                f"question {position + 1}, {(now - row.deadline).total_seconds():.0f} s after "
                f"the deadline {_utc(row.deadline)}",
            ),
        )
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


def margin_points(percent: float, n: int) -> float:
    """The score's standard error in percentage points, for one attempt of n scored items: the
    binomial standard error of a proportion, sqrt(p(1-p)/n)."""
    if n <= 0:
        return 0.0
    p = max(0.0, min(1.0, percent / 100))
    return 100 * math.sqrt(p * (1 - p) / n)


def meets(percent: float, pass_mark: float) -> bool:
    """Whether a raw percent reaches the pass mark (with a hair of tolerance for floating
    point). It decides pass or fail, and it is the per-domain rule: a domain meets the standard
    when its score reaches the pass mark. Issuers do not publish theirs; this one is Triops's."""
    return percent + 1e-9 >= pass_mark


def is_task(question) -> bool:
    """Whether an attempt's item is a task (graded by its check), not a bank question."""
    return isinstance(question, TaskItem)


def grade_tasks(view: AttemptView, grader: Callable | None = None) -> dict[int, dict[str, Any]]:
    """Each task of the attempt graded by its check on the files saved for it (what existed
    when the attempt ended: nothing is saved after the deadline). Position -> the task's
    result entry: points, score and each criterion's verdict."""
    tasks = [d for d in view.questions if is_task(d.question)]
    if not tasks:
        return {}
    grader = grader or hooks.task_grader or _ungraded
    # Each grading is its own sandboxed run(s) and waits on them, so two go side by side; more
    # would compete for the cores that the runs themselves use.
    results = jobs.side_by_side(
        [partial(grader, d.question, view.responses.get(d.position)) for d in tasks],
        GRADING_THREADS,
    )
    return {d.position: result for d, result in zip(tasks, results, strict=True)}


def ungraded_result(item, reason: str) -> dict[str, Any]:
    """A task's result entry when its check could not run: 0 points, every criterion failed
    with the reason, marked ungraded."""
    criteria = [c.model_dump() for c in item.criteria]
    return {
        "points": 0,
        "criteria": [{**c, "passed": False, "reason": reason} for c in criteria],
        "ungraded": True,
        "note": "",
    }


def _ungraded(item, response) -> dict[str, Any]:
    return ungraded_result(item, NO_GRADER)


def _stored_task_results(view: AttemptView) -> dict[int, dict[str, Any]]:
    """The task verdicts of a graded attempt's stored result (a regrade reuses them)."""
    data = json.loads(view.row.result_json or "{}")
    return {q["position"]: q for q in data.get("questions", []) if q.get("task")}


def grade_attempt(
    view: AttemptView, task_results: dict[int, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Score over the scored items, pass or fail, the scaled score where the blueprint has one,
    the margin of error, and the per-domain breakdown. Pilot items are graded (for item
    analysis) but never counted.

    Tasks are scored by `task_results` (`grade_tasks`), else by the verdicts already stored in
    the attempt's result; a profile's `tasks.weight` is the share of the percent they carry,
    and they are counted together in the breakdown as TASKS_DOMAIN."""
    bp = view.blueprint
    if task_results is None:
        task_results = _stored_task_results(view)
    domains: dict[str, list[float]] = {}
    titles: dict[str, str | None] = {}
    per_question = []
    for d in view.questions:
        entry: dict[str, Any] = {}
        if is_task(d.question):
            graded = task_results.get(d.position) or {}
            points = int(graded.get("points", 0))
            score = points / 100
            key = TASKS_DOMAIN
            titles[key] = TASKS_DOMAIN
            entry = {
                "task": True,
                "points": points,
                "criteria": graded.get("criteria", []),
                "ungraded": bool(graded.get("ungraded", not graded)),
                "note": graded.get("note", ""),
            }
        else:
            g: Grade = grade(
                d.question, view.responses.get(d.position), multiple_response=bp.multiple_response
            )
            score = g.score
            course = f"{d.track}/{d.question.domain}"
            section = bp.domain_of(course)
            key = section.key if section is not None else course
            titles[key] = section.title if section is not None else None
        per_question.append(
            {
                "position": d.position,
                "score": score,
                "domain": key,
                "pilot": d.pilot,
                "scored": not d.pilot,
                **entry,
            }
        )
        if not d.pilot:
            domains.setdefault(key, []).append(score)
    scored = [q["score"] for q in per_question if q["scored"]]
    questions = [q["score"] for q in per_question if q["scored"] and not q.get("task")]
    tasks = [q["score"] for q in per_question if q["scored"] and q.get("task")]
    if tasks and bp.tasks is not None:
        task_share = bp.tasks.weight / 100
        question_percent = 100.0 * sum(questions) / len(questions) if questions else 0.0
        task_percent = 100.0 * sum(tasks) / len(tasks)
        if not questions:
            task_share = 1.0
        percent = (1 - task_share) * question_percent + task_share * task_percent
    else:
        percent = 100.0 * sum(scored) / len(scored) if scored else 0.0
    breakdown = []
    for k, v in domains.items():
        domain_percent = 100.0 * sum(v) / len(v)
        breakdown.append(
            {
                "domain": k,
                "title": titles[k],
                "earned": sum(v),
                "possible": len(v),
                "percent": domain_percent,
                "meets": meets(domain_percent, bp.pass_mark),
                "margin": margin_points(domain_percent, len(v)),
            }
        )
    breakdown.sort(key=lambda b: b["percent"])
    return {
        "version": 2,
        "percent": percent,
        "passed": meets(percent, bp.pass_mark),
        "scaled": bp.scaled.score(percent, bp.pass_mark) if bp.scaled is not None else None,
        "scored_items": len(scored),
        "pilot_items": len(per_question) - len(scored),
        "margin": margin_points(percent, len(scored)),
        "multiple_response": bp.multiple_response,
        "domains": breakdown,
        "questions": per_question,
    }


@dataclass(frozen=True)
class DomainResult:
    key: str  # course domain id, or the title of a real exam's domain
    title: str | None  # None for a course domain (its title comes from the vocabulary)
    earned: float
    possible: int
    percent: float
    meets: bool
    margin: float  # percentage points


@dataclass(frozen=True)
class ExamResult:
    """A finished attempt's result as the results screen reports it, from the stored grade.

    Attempts graded before pilot items and scaled scores existed have neither: their result
    reads as all items scored, no scaled score, and margins computed from the stored score."""

    percent: float
    passed: bool
    scaled: int | None
    scored_items: int
    pilot_positions: list[int]
    margin: float  # percentage points of the raw score
    scaled_margin: float | None  # the same margin in scaled points, near the score
    multiple_response: str
    domains: list[DomainResult]  # weakest first
    scores: dict[int, float]  # position -> score as graded at submission
    # position -> each criterion's verdict of a task (id, weight, description, passed, reason)
    criteria: dict[int, list[dict[str, Any]]] = field(default_factory=dict)


def result(view: AttemptView) -> ExamResult:
    """The stored result of a finished attempt, old or new."""
    bp = view.blueprint
    data = json.loads(view.row.result_json or "{}")
    questions = data.get("questions", [])
    pilot = [q["position"] for q in questions if q.get("pilot")]
    percent = data.get("percent", view.row.score or 0.0)
    scored_items = data.get("scored_items", len(questions) - len(pilot))
    margin = data.get("margin")
    if margin is None:
        margin = margin_points(percent, scored_items)
    scaled = data.get("scaled")
    scaled_margin = None
    if scaled is not None and bp.scaled is not None:
        scaled_margin = margin * bp.scaled.points_per_percent(percent, bp.pass_mark)
    domains = [
        DomainResult(
            key=d["domain"],
            title=d.get("title"),
            earned=d["earned"],
            possible=d["possible"],
            percent=d["percent"],
            meets=d.get("meets", meets(d["percent"], bp.pass_mark)),
            margin=d.get("margin", margin_points(d["percent"], d["possible"])),
        )
        for d in data.get("domains", [])
    ]
    passed = view.row.passed if view.row.passed is not None else data.get("passed", False)
    return ExamResult(
        percent=percent,
        passed=bool(passed),
        scaled=scaled,
        scored_items=scored_items,
        pilot_positions=pilot,
        margin=margin,
        scaled_margin=scaled_margin,
        multiple_response=data.get("multiple_response", "partial"),
        domains=domains,
        scores={q["position"]: q["score"] for q in questions},
        criteria={q["position"]: q.get("criteria", []) for q in questions if q.get("task")},
    )


def _finish(
    db,
    row: AttemptRow,
    finished_at: datetime,
    expect: tuple[str, ...],
    event: Callable[[dict[str, Any]], audit.NewEntry],
) -> dict[str, Any] | None:
    """Grade and close the attempt, with the audit entry `event(result)` in the same
    transaction; the result, or None when another finalizer won the race."""
    view = AttemptView(
        row, Blueprint.model_validate_json(row.blueprint_json), _drawn(db, row), _answers(db, row)
    )
    # Tasks are graded first, on the files saved before this moment (the store refuses any
    # save after the deadline), then the whole attempt.
    result = grade_attempt(view, grade_tasks(view, TASK_GRADER))
    finished = store.set_state(
        db,
        row.id,
        "finished",
        expect=expect,
        finished_at=finished_at,
        score=result["percent"],
        passed=result["passed"],
        result_json=json.dumps(result),
        audit_entry=event(result),
    )
    if not finished:
        return None
    # Only the finalizer that won a race updates the review cards (tasks have none).
    questions_only = [d for d in view.questions if not is_task(d.question)]
    review.record_attempt(
        db, row.user_id, replace(view, questions=questions_only), result, finished_at
    )
    return result


def submit(db, token: str, user_id: str, now: datetime) -> AttemptRow:
    """Submit: allowed before the deadline, and during a grace period."""
    row = finalize_if_expired(db, _owned(db, token, user_id), now)
    if row.state not in OPEN_STATES:
        return row
    late = " during the grace period" if row.state == "overdue" else ""
    _finish(
        db,
        row,
        finished_at=now,
        expect=OPEN_STATES,
        event=lambda result: _entry(
            db, now, row, SUBMITTED, f"submitted{late}, {_score_text(result)}"
        ),
    )
    return store.by_token(db, token) or row


def sweep(db, now: datetime) -> int:
    """Finalize every attempt whose time has run out; returns how many changed."""
    changed = 0
    for row in store.expired(db, now):
        finalize_if_expired(db, row, now, noticed_by="the expiry sweep")
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
