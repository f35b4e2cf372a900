"""Report a problem with a question (issue 20 item 3), resolve it, and regrade exam attempts
when an item turns out miskeyed.

A learner reports a question as they saw it (practice, spaced review, or an exam's review
screen): a category and a comment. A report names the question by its id, the bank file it came
from and a hash of the question as shown (text, options, key), so that a report on an old
version is never read against a newer one. A profile has at most one open report per question;
reporting again updates its comment. An instructor resolves each report with a verdict and a
note; the reporter sees both.

Regrade (the rule, also in quizzes/README.md "Reports and regrades"): a report resolved
`upheld-miskeyed` names a remedy, and every finished attempt that drew the reported version of
the question is regraded from its stored answers (never changed) with every remedy in force for
its questions:
- `rekey`: the corrected key is credited as well as the published one (an answer scores the
  better of the two grades);
- `credit-all`: every answer given to the item scores full marks (an unanswered item stays 0);
- `drop`: the item no longer counts, unless dropping it would lower that attempt's score, in
  which case it stays scored for that attempt.
A regrade never lowers an attempt's total; Moodle's full regrade re-marks against the edited
question and can lower a mark, which Triops does not do to a candidate who answered the key as
it was published. Each changed attempt is written to the audit log with its score before and
after, and its result page says it was regraded and why."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from triops.accounts import COMMAND_LINE, Actor
from triops.errors import InvalidInputError, NotFoundError
from triops.quiz import exam as engine
from triops.quiz.blueprint import Blueprint
from triops.quiz.grading import Grade, InvalidResponse
from triops.quiz.types import ExamItem
from triops.store import attempts as attempt_store
from triops.store import audit, users
from triops.store import reports as store
from triops.store.reports import ReportRow

CATEGORIES = {
    "wrong-key": "Wrong key",
    "unclear": "Unclear",
    "outdated": "Outdated",
    "typo": "Typo",
}
# The instructor cannot judge a wrong key or an outdated fact without the learner's reason.
COMMENT_REQUIRED = ("wrong-key", "outdated")
MAX_COMMENT = 1000
SOURCES = {"practice": "Practice", "review": "Review", "exam": "Exam review"}

VERDICTS = {
    "upheld-fixed": "Upheld: fixed in the bank",
    "upheld-miskeyed": "Upheld: miskeyed, exam attempts regraded",
    "rejected": "Rejected",
    "duplicate": "Duplicate",
}
MAX_NOTE = 2000
REMEDIES = {
    "rekey": "Credit the corrected key as well as the published one",
    "credit-all": "Full marks for every answer given",
    "drop": "Drop the item (it no longer counts)",
}
KEYED_TYPES = ("single", "multiple", "true_false")

# Audit actions.
RESOLVED = "question report resolved"
REGRADED = "exam regraded"

_QUESTION: TypeAdapter = TypeAdapter(ExamItem)  # an attempt may hold tasks (quizzes/tasks/)


def version_of(question) -> str:
    """A short hash of a question as shown: every field, in a canonical JSON form."""
    data = question if isinstance(question, dict) else question.model_dump(mode="json")
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _clean_text(text: str | None, what: str, limit: int, *, required: bool) -> str:
    cleaned = (text or "").strip()
    if required and not cleaned:
        raise InvalidInputError(f"Write {what}: it cannot be empty.")
    if len(cleaned) > limit:
        raise InvalidInputError(
            f"{what[0].upper()}{what[1:]} has {len(cleaned)} characters; at most {limit}."
        )
    if any(not (ch.isprintable() or ch in "\n\t") for ch in cleaned):
        raise InvalidInputError(f"{what[0].upper()}{what[1:]} cannot contain control characters.")
    return cleaned


def clean_comment(category: str, comment: str | None) -> str:
    """The comment as stored; a clear error for an unknown category, a missing comment where
    the category needs one, or one that is too long."""
    if category not in CATEGORIES:
        raise InvalidInputError(f"Unknown category '{category}': one of {', '.join(CATEGORIES)}.")
    required = category in COMMENT_REQUIRED
    what = (
        f"a comment for '{CATEGORIES[category]}' (what is wrong and, if you can, a source)"
        if required
        else "the comment"
    )
    return _clean_text(comment, what, MAX_COMMENT, required=required)


def submit(
    db,
    user_id: str | None,
    question,
    track: str,
    *,
    source: str,
    category: str,
    comment: str | None,
    now: datetime,
    bank_file: str = "",
    attempt_id: str | None = None,
) -> tuple[ReportRow, bool]:
    """Report a problem with `question` as the user saw it; returns the report and whether it
    updated the user's open report on the question instead of opening a new one."""
    if user_id is None:
        raise InvalidInputError("Create a profile in the sidebar to report a problem.")
    if source not in SOURCES:
        raise InvalidInputError(f"Unknown source '{source}': one of {', '.join(SOURCES)}.")
    cleaned = clean_comment(category, comment)
    if source == "exam":
        row = attempt_store.by_token(db, attempt_id) if attempt_id else None
        if row is None or row.user_id != user_id:
            raise NotFoundError("This exam attempt does not exist for this profile.")
        if not any(q.question_id == question.id for q in attempt_store.questions(db, row.id)):
            raise InvalidInputError(f"Question '{question.id}' is not part of this attempt.")
    elif attempt_id is not None:
        raise InvalidInputError("Only a report from an exam's review names an attempt.")
    snapshot = question.model_dump(mode="json")
    report = ReportRow(
        id=secrets.token_hex(8),
        question_id=question.id,
        version=version_of(snapshot),
        bank_file=bank_file,
        track=track,
        snapshot_json=json.dumps(snapshot),
        user_id=user_id,
        category=category,
        comment=cleaned,
        source=source,
        attempt_id=attempt_id,
        created_at=now,
        updated_at=now,
        verdict=None,
        note=None,
        resolved_by=None,
        resolver_name=None,
        resolved_at=None,
        remedy_json=None,
    )
    return store.submit(db, report)


def mine(db, user_id: str | None, question_id: str | None = None) -> list[ReportRow]:
    """The user's own reports (on one question, if given), oldest first, with their verdicts."""
    if user_id is None:
        return []
    return store.find(db, user_id=user_id, question_id=question_id)


@dataclass(frozen=True)
class QueueItem:
    report: ReportRow
    where: str  # path:line in the bank as loaded now, or why there is none
    reporter: str


def _where(by_id: dict, report: ReportRow) -> str:
    """`path:line` of the reported question in the bank as loaded now."""
    found = by_id.get(report.question_id)
    if found is not None:
        return f"{found.path}:{found.line}"
    if report.bank_file:
        return f"{report.bank_file} (question no longer in the bank)"
    return "not in the bank"


def queue(
    db,
    bank,
    *,
    state: str | None = "open",
    categories: list[str] | None = None,
    tracks: list[str] | None = None,
) -> list[QueueItem]:
    """Reports for instructors, oldest first, with each question's file and line."""
    if state not in (None, "open", "resolved"):
        raise InvalidInputError(f"Unknown state '{state}': open or resolved.")
    for category in categories or []:
        if category not in CATEGORIES:
            raise InvalidInputError(
                f"Unknown category '{category}': one of {', '.join(CATEGORIES)}."
            )
    names = {u.id: u.name for u in users.list_users(db)}
    by_id = bank.by_id() if bank is not None else {}
    out = []
    for r in store.find(db, state=state, categories=categories, tracks=tracks):
        out.append(QueueItem(r, _where(by_id, r), names.get(r.user_id, r.user_id)))
    return out


def reported_question(report: ReportRow):
    """The question as the reporter saw it."""
    return _QUESTION.validate_python(json.loads(report.snapshot_json))


# --- resolving ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Regrade:
    attempt_id: str
    user_id: str
    user_name: str
    exam_id: str
    started_at: datetime
    before: float
    after: float
    passed_before: bool
    passed_after: bool


@dataclass(frozen=True)
class Resolution:
    report: ReportRow
    regrades: list[Regrade]
    attempts_checked: int


def rekey_form(question) -> str | None:
    """How an instructor gives a corrected key: "options" (choose among the options), "flip"
    (a true/false key becomes its opposite), or None (no corrected key for this type)."""
    if question.type not in KEYED_TYPES:
        return None
    return "flip" if isinstance(question.right_answer(), bool) else "options"


def corrected_question(question, key: Any):
    """The question with `key` (authored option indices, or a bool for true/false) as its key."""
    kind = question.type
    if kind not in KEYED_TYPES:
        raise InvalidInputError(
            f"A corrected key can be given for single, multiple and true/false questions; for "
            f"this {kind} question choose '{REMEDIES['credit-all']}' or '{REMEDIES['drop']}'."
        )
    data = question.model_dump(mode="json")
    if kind == "true_false":
        if not isinstance(key, bool):
            raise InvalidInputError("The corrected key of a true/false question is true or false.")
        if key == question.answer:
            raise InvalidInputError(f"The published key is already {str(key).lower()}.")
        data["answer"] = key
        return _QUESTION.validate_python(data)
    chosen = [key] if isinstance(key, int) and not isinstance(key, bool) else key
    if (
        not isinstance(chosen, list)
        or not chosen
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in chosen)
        or any(not 0 <= i < len(question.options) for i in chosen)
    ):
        raise InvalidInputError("Choose the corrected key among the question's options.")
    chosen = sorted(set(chosen))
    if kind == "single" and len(chosen) != 1:
        raise InvalidInputError("A single-choice question has exactly one corrected key.")
    if chosen == sorted(
        question.right_answer() if kind == "multiple" else [question.right_answer()]
    ):
        raise InvalidInputError("That is the published key: choose the option(s) that are right.")
    data["answer"] = None
    data["options"] = [
        {**o, "correct": i in chosen, "weight": None} for i, o in enumerate(data["options"])
    ]
    if kind == "multiple" and data.get("choose") is not None:
        data["choose"] = len(chosen)
    try:
        return _QUESTION.validate_python(data)
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise InvalidInputError(
            f"The corrected key does not make a valid question: {reason}."
        ) from exc


def _remedy(verdict: str, remedy: str | None, key: Any, report: ReportRow) -> str | None:
    if verdict != "upheld-miskeyed":
        if remedy is not None or key is not None:
            raise InvalidInputError("A remedy is given only with the verdict 'upheld-miskeyed'.")
        return None
    if remedy not in REMEDIES:
        raise InvalidInputError(
            f"A miskeyed item needs a remedy: one of {', '.join(REMEDIES)} (see quizzes/README.md)."
        )
    if remedy == "rekey":
        if key is None:
            raise InvalidInputError("Give the corrected key for 'rekey'.")
        corrected_question(reported_question(report), key)
    elif key is not None:
        raise InvalidInputError(f"A corrected key goes with 'rekey', not with '{remedy}'.")
    return json.dumps({"remedy": remedy, "key": key})


def resolve(
    db,
    report_id: str,
    verdict: str,
    note: str | None,
    now: datetime,
    actor: Actor = COMMAND_LINE,
    *,
    remedy: str | None = None,
    key: Any = None,
) -> Resolution:
    """Resolve an open report; with `upheld-miskeyed`, regrade the finished attempts that drew
    the reported version of the question (see the module docstring for the rule).

    `actor` must be an instructor: pages check the role again in the database before calling."""
    if verdict not in VERDICTS:
        raise InvalidInputError(f"Unknown verdict '{verdict}': one of {', '.join(VERDICTS)}.")
    cleaned = _clean_text(note, "a note for the reporter", MAX_NOTE, required=True)
    report = store.get(db, report_id)
    if report is None:
        raise NotFoundError(f"There is no report '{report_id}'.")
    if not report.is_open:
        raise InvalidInputError(
            f"Report {report_id} was already resolved ({report.verdict}) by "
            f"{report.resolver_name} on {report.resolved_at:%Y-%m-%d %H:%M} UTC."
        )
    remedy_json = _remedy(verdict, remedy, key, report)
    if not store.resolve(
        db,
        report_id,
        verdict=verdict,
        note=cleaned,
        resolved_by=actor.id,
        resolver_name=actor.name,
        now=now,
        remedy_json=remedy_json,
    ):
        raise InvalidInputError(f"Report {report_id} was resolved by someone else just now.")
    name = _user_name(db, report.user_id)
    audit.record(
        db,
        now,
        actor_id=actor.id,
        actor_name=actor.name,
        action=RESOLVED,
        subject_id=report.user_id,
        subject_name=name,
        detail=f"report {report_id} on {report.question_id} ({report.category}): {verdict}"
        + (f", remedy {remedy}" if remedy else ""),
    )
    resolved = store.get(db, report_id)
    regrades: list[Regrade] = []
    checked = 0
    if verdict == "upheld-miskeyed":
        checked, regrades = regrade_question(db, report.question_id, now, actor, resolved)
    return Resolution(resolved, regrades, checked)


def _user_name(db, user_id: str) -> str:
    user = users.get_user(db, user_id)
    return user.name if user is not None else user_id


# --- regrading ----------------------------------------------------------------------------------


class _Remedied:
    """A question of one attempt with the remedies in force: grades like the question, except
    that a rekey also credits the corrected key (the better grade wins) and credit-all gives
    full marks to any answer."""

    def __init__(self, question, corrected: list, credit_all: bool):
        self._question = question
        self._corrected = corrected
        self._credit_all = credit_all

    def __getattr__(self, name):
        return getattr(self._question, name)

    def check(self, response: Any) -> None:
        self._question.check(response)

    def score(self, response: Any, **kwargs) -> Grade:
        published = self._question.score(response, **kwargs)
        if self._credit_all:
            return Grade(1.0, published.feedback, "full marks: the item was found miskeyed")
        best = published
        for question in self._corrected:
            try:
                question.check(response)
            except InvalidResponse:
                continue
            regraded = question.score(response, **kwargs)
            if regraded.score > best.score:
                best = Grade(regraded.score, published.feedback, "credited by the corrected key")
        return best


def _remedies(db, question_ids: set[str]) -> dict[tuple[str, str], list[ReportRow]]:
    """Upheld-miskeyed reports with a remedy, by (question id, version), oldest first."""
    out: dict[tuple[str, str], list[ReportRow]] = {}
    for r in store.find(db, verdict="upheld-miskeyed"):
        if r.question_id in question_ids and r.remedy_json:
            out.setdefault((r.question_id, r.version), []).append(r)
    return out


def regrade_attempt(db, attempt_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(the stored result, the result with every remedy in force) of a finished attempt, or None
    when no remedy applies to it. Nothing is written."""
    row = attempt_store.by_token(db, attempt_id)
    if row is None or row.state != "finished" or not row.result_json:
        return None
    stored_questions = attempt_store.questions(db, row.id)
    remedies = _remedies(db, {q.question_id for q in stored_questions})
    if not remedies:
        return None
    answers = {
        p: (None if r is None else json.loads(r))
        for p, r in attempt_store.responses(db, row.id).items()
    }
    drawn, drops, applied = [], [], {}
    for q in stored_questions:
        question = _QUESTION.validate_python(q.snapshot)
        found = remedies.get((q.question_id, version_of(q.snapshot)), [])
        corrected, credit_all = [], False
        for r in found:
            spec = json.loads(r.remedy_json)
            if spec["remedy"] == "rekey":
                corrected.append(corrected_question(question, spec["key"]))
            elif spec["remedy"] == "credit-all":
                credit_all = True
            else:
                drops.append(q.position)
            applied.setdefault(q.position, []).append(r)
        if corrected or credit_all:
            question = _Remedied(question, corrected, credit_all)
        drawn.append(engine.DrawnQuestion(q.position, question, q.track, q.option_order, q.pilot))
    if not applied:
        return None
    blueprint = Blueprint.model_validate_json(row.blueprint_json)

    def grade_with(dropped: set[int]) -> dict[str, Any]:
        questions = [
            engine.DrawnQuestion(d.position, d.question, d.track, d.option_order, True)
            if d.position in dropped
            else d
            for d in drawn
        ]
        result = engine.grade_attempt(engine.AttemptView(row, blueprint, questions, answers))
        for item in result["questions"]:
            if item["position"] in dropped:
                item.update(pilot=False, scored=False, dropped=True)
        result["pilot_items"] = sum(1 for item in result["questions"] if item["pilot"])
        return result

    # A drop that would lower this attempt's score is not applied to it.
    dropped: set[int] = set()
    result = grade_with(dropped)
    for position in drops:
        trial = grade_with(dropped | {position})
        if trial["percent"] + 1e-9 >= result["percent"]:
            dropped.add(position)
            result = trial
    stored = json.loads(row.result_json)
    result["applied"] = {str(p): [r.id for r in reports] for p, reports in sorted(applied.items())}
    result["kept_scored"] = sorted(set(drops) - dropped)
    return stored, result


def regrade_question(
    db, question_id: str, now: datetime, actor: Actor, report: ReportRow
) -> tuple[int, list[Regrade]]:
    """Regrade every finished attempt that drew the question; write and audit the changed ones.
    Returns how many attempts were checked and the regrades written."""
    attempt_ids = store.finished_attempts_with(db, question_id)
    done = []
    for attempt_id in attempt_ids:
        outcome = regrade_attempt(db, attempt_id)
        if outcome is None:
            continue
        stored, result = outcome
        before_scores = {q["position"]: q["score"] for q in stored.get("questions", [])}
        after_scores = {q["position"]: q["score"] for q in result["questions"]}
        before_scored = {
            q["position"] for q in stored.get("questions", []) if q.get("scored", True)
        }
        after_scored = {q["position"] for q in result["questions"] if q["scored"]}
        before = float(stored.get("percent", 0.0))
        if result["percent"] + 1e-9 < before:
            continue  # never lower a result (e.g. one graded by an older rule)
        if before_scores == after_scores and before_scored == after_scored:
            continue
        positions = sorted(
            p
            for p in after_scores
            if before_scores.get(p) != after_scores[p]
            or (p in before_scored) != (p in after_scored)
        )
        entry = {
            "report": report.id,
            "question_id": question_id,
            "remedy": json.loads(report.remedy_json or "{}").get("remedy"),
            "note": report.note,
            "at": now.isoformat(timespec="seconds"),
            "by": actor.name,
            "before": before,
            "after": result["percent"],
            "passed_before": bool(stored.get("passed", False)),
            "passed_after": bool(result["passed"]),
            "items": {
                str(p): [
                    before_scores.get(p),
                    after_scores[p],
                    p in after_scored,
                ]
                for p in positions
            },
        }
        result["regrades"] = [*stored.get("regrades", []), entry]
        result["original"] = stored.get("original") or {
            "percent": before,
            "passed": bool(stored.get("passed", False)),
        }
        if not store.save_regrade(
            db,
            attempt_id,
            score=result["percent"],
            passed=result["passed"],
            result_json=json.dumps(result),
        ):
            continue
        row = attempt_store.by_token(db, attempt_id)
        name = _user_name(db, row.user_id)
        verdict = (
            "passed"
            if result["passed"] and entry["passed_before"]
            else "now passed"
            if result["passed"]
            else "failed"
        )
        audit.record(
            db,
            now,
            actor_id=actor.id,
            actor_name=actor.name,
            action=REGRADED,
            subject_id=row.user_id,
            subject_name=name,
            detail=(
                f"{row.exam_id}, started {row.started_at:%Y-%m-%d %H:%M:%S} UTC: question "
                f"{question_id} ({entry['remedy']}, report {report.id}): "
                f"{before:.1f}% -> {result['percent']:.1f}%, {verdict}"
            ),
        )
        done.append(
            Regrade(
                attempt_id,
                row.user_id,
                name,
                row.exam_id,
                row.started_at,
                before,
                result["percent"],
                entry["passed_before"],
                bool(result["passed"]),
            )
        )
    return len(attempt_ids), done


@dataclass(frozen=True)
class RegradeNote:
    """One regrade of an attempt, as its result page tells it."""

    at: str
    remedy: str
    note: str
    before: float
    after: float
    passed_before: bool
    passed_after: bool
    items: dict[int, tuple[float | None, float, bool]]  # position -> (before, after, counts)


def regrade_notes(result_json: str | None) -> list[RegradeNote]:
    """The regrades recorded in a finished attempt's result, oldest first."""
    data = json.loads(result_json or "{}")
    return [
        RegradeNote(
            at=e["at"],
            remedy=REMEDIES.get(e.get("remedy") or "", e.get("remedy") or ""),
            note=e.get("note") or "",
            before=e["before"],
            after=e["after"],
            passed_before=e["passed_before"],
            passed_after=e["passed_after"],
            items={int(p): (v[0], v[1], v[2]) for p, v in e.get("items", {}).items()},
        )
        for e in data.get("regrades", [])
    ]


# --- item analysis -------------------------------------------------------------------------------


def flag_counts(db) -> dict[str, dict[str, dict[str, int]]]:
    """Question id -> {'open': {category: n}, 'upheld': {category: n}} (open and upheld only)."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for question_id, state, category, n in store.flag_counts(db):
        out.setdefault(question_id, {}).setdefault(state, {})[category] = int(n)
    return out


def flag_note(counts: dict[str, dict[str, int]]) -> str:
    """'2 open (wrong key 1, unclear 1); 1 upheld (wrong key 1)'."""
    parts = []
    for state in ("open", "upheld"):
        by = counts.get(state, {})
        if by:
            inner = ", ".join(f"{CATEGORIES.get(c, c).lower()} {n}" for c, n in sorted(by.items()))
            parts.append(f"{sum(by.values())} {state} ({inner})")
    return "reports: " + "; ".join(parts)
