"""Cohorts and assigned exams (issue 18 item 3): an instructor creates a cohort, learners join
with its code or are added by name or from a CSV, and the instructor assigns an exam with an open
and close time, an attempt allowance and per-learner time accommodations. A learner starts an
assigned exam only inside its window: the refusal is here, on the server, whatever a page shows.

Members are the app's users: accounts with TRIOPS_SIGN_IN=password or oidc, the local profiles
otherwise. Every instructor action goes to the audit log (triops.store.audit).

Scope: an instructor sees and changes only the cohorts they created. Every function that reads
or changes a cohort takes `scope`, the instructor's user id, and refuses another's cohort with
"Not allowed"; `scope=None` is every cohort (an admin, the local user of one laptop, and the
command line, which runs with the database file in hand)."""

from __future__ import annotations

import csv
import io
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from triops import accounts
from triops.accounts import COMMAND_LINE, Actor, clean_email
from triops.errors import InvalidInputError, NotFoundError, TriopsError
from triops.quiz import exam as engine
from triops.quiz import readiness
from triops.store import accounts as account_store
from triops.store import attempts as attempt_store
from triops.store import audit, labruns, practice, progress, users
from triops.store import cohorts as store
from triops.store import readiness as readiness_store
from triops.store.attempts import AttemptRow
from triops.store.cohorts import Assignment, Cohort, Member
from triops.store.users import User

MAX_NAME = 80
MAX_ATTEMPTS = 20
# Join codes: 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L), drawn with
# `secrets`; shown in two groups of four (e.g. 7KQM-W3RA). 29**8 is about 5e11 codes.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
# The CSV an instructor uploads: a header row naming these columns, then one learner a row.
CSV_COLUMNS = ("username", "email")

# Audit actions.
COHORT_CREATED = "cohort created"
MEMBER_ADDED = "added to cohort"
JOINED = "joined cohort"
ASSIGNED = "exam assigned"
ACCOMMODATION_SET = "assignment accommodation"
START_REFUSED = "assigned exam start refused"

NOT_YOURS = "Not allowed: this cohort belongs to another instructor."


class WindowError(TriopsError):
    """An assigned exam started before it opens or after it closes."""


def clean_cohort_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidInputError("A cohort name cannot be empty.")
    if len(cleaned) > MAX_NAME:
        raise InvalidInputError(f"A cohort name has at most {MAX_NAME} characters.")
    if not cleaned.isprintable():
        raise InvalidInputError("A cohort name cannot contain control characters.")
    return cleaned


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def members_text(count: int) -> str:
    return f"{count} member{'' if count == 1 else 's'}"


def show_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def _typed_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _record(db, now, actor: Actor, action: str, subject_id, subject_name: str, detail: str):
    audit.record(
        db,
        now,
        actor_id=actor.id,
        actor_name=actor.name,
        action=action,
        subject_id=subject_id,
        subject_name=subject_name,
        detail=detail,
    )


def create_cohort(
    db, name: str, now: datetime, actor: Actor = COMMAND_LINE, *, owner: User | None = None
) -> Cohort:
    """A new cohort with a fresh join code, owned by `owner` (else by the actor); a taken name
    (regardless of case) is refused."""
    cleaned = clean_cohort_name(name)
    if store.find_by_name(db, cleaned) is not None:
        raise InvalidInputError(f"A cohort named '{cleaned}' already exists.")
    code = new_code()
    while store.find_by_code(db, code) is not None:
        code = new_code()
    owner_id = owner.id if owner is not None else actor.id
    cohort = store.create_cohort(db, secrets.token_hex(6), cleaned, code, owner_id, now)
    detail = f"cohort {cohort.id}" + (f", owned by {owner.name}" if owner is not None else "")
    _record(db, now, actor, COHORT_CREATED, None, cleaned, detail)
    return cohort


def instructor(db, name: str) -> tuple[User, str | None]:
    """The instructor a command names (`--instructor NAME`) and their scope: their own cohorts,
    or every cohort for an admin; a learner is refused."""
    user = users.find_by_name(db, name)
    if user is None:
        raise NotFoundError(f"No user named '{users.clean_name(name)}'.")
    if user.role == "learner":
        raise InvalidInputError(
            f"Not allowed: '{user.name}' is a learner; only an instructor's or an admin's "
            "cohorts can be read."
        )
    return user, None if user.role == "admin" else user.id


def cohorts(db, scope: str | None = None) -> list[Cohort]:
    """The cohorts the scope may see (every one for None), by name."""
    return store.list_cohorts(db, scope)


def get_cohort(db, cohort_id: str, scope: str | None = None) -> Cohort:
    """The cohort, if the scope may see it; else NotFoundError or 'Not allowed'."""
    cohort = store.get_cohort(db, cohort_id)
    if cohort is None:
        raise NotFoundError("This cohort does not exist.")
    if scope is not None and cohort.created_by != scope:
        raise InvalidInputError(NOT_YOURS)
    return cohort


def find_cohort(db, name: str, scope: str | None = None) -> Cohort:
    """The cohort of this name among those the scope may see."""
    cohort = store.find_by_name(db, " ".join(name.split()))
    if cohort is None or (scope is not None and cohort.created_by != scope):
        known = ", ".join(c.name for c in store.list_cohorts(db, scope)) or "none yet"
        raise NotFoundError(f"No cohort named '{' '.join(name.split())}' (cohorts: {known}).")
    return cohort


def members(db, cohort_id: str, scope: str | None = None) -> list[Member]:
    return store.members(db, get_cohort(db, cohort_id, scope).id)


def learner_ids(db, scope: str | None) -> set[str] | None:
    """The users the scope may see the learner data of: members of the instructor's cohorts
    (None for everyone's)."""
    return None if scope is None else store.member_ids(db, scope)


def my_cohorts(db, user_id: str) -> list[Cohort]:
    return store.cohorts_of(db, user_id)


def join(db, code: str, user_id: str, now: datetime) -> Cohort:
    """The learner joins the cohort whose code this is (dashes, spaces and case ignored)."""
    cohort = store.find_by_code(db, _typed_code(code))
    if cohort is None:
        raise InvalidInputError(
            "No cohort has this join code: check it with your instructor (8 letters and digits)."
        )
    user = users.get_user(db, user_id)
    if user is None:
        raise NotFoundError("This profile does not exist.")
    if not store.add_member(db, cohort.id, user_id, now, "code"):
        raise InvalidInputError(f"You are already in the cohort '{cohort.name}'.")
    _record(db, now, Actor.of(user), JOINED, user.id, user.name, cohort.name)
    return cohort


def add_learner(
    db,
    cohort_id: str,
    name: str,
    now: datetime,
    actor: Actor = COMMAND_LINE,
    *,
    scope: str | None = None,
):
    """Add an existing user (account or profile) by name; already a member is refused."""
    cohort = get_cohort(db, cohort_id, scope)
    user = users.find_by_name(db, name)
    if user is None:
        raise NotFoundError(f"No user named '{users.clean_name(name)}'.")
    if not store.add_member(db, cohort.id, user.id, now, "added"):
        raise InvalidInputError(f"'{user.name}' is already in the cohort '{cohort.name}'.")
    _record(db, now, actor, MEMBER_ADDED, user.id, user.name, cohort.name)
    return user


@dataclass
class CsvOutcome:
    """What an uploaded CSV did: who was added, who already was a member, and each refused row
    as `source:line: error: ...`."""

    added: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _describe(account) -> str:
    email = f", {account.email}" if account.email else ""
    return f"'{account.name}' ({account.role}{email})"


def _csv_user(
    db, username: str, email: str, *, create: bool, now: datetime, oidc: bool, actor: Actor
):
    """The user a CSV row names, created as a learner when `create` (an account keyed by its
    email when `oidc`); InvalidInputError names an existing account whose username or email
    the row contradicts."""
    cleaned = users.clean_name(username)
    if oidc and not email:
        raise InvalidInputError(
            f"no email for '{cleaned}': with TRIOPS_SIGN_IN=oidc a learner is found at first "
            "sign-in by the verified email the identity provider sends, so each row needs it"
        )
    user = users.find_by_name(db, cleaned)
    if email:
        address, key = clean_email(email)
        holder = account_store.find_by_email(db, key)
        if holder is not None and (user is None or holder.id != user.id):
            raise InvalidInputError(
                f"the email {address} is already used by the account {_describe(holder)}"
            )
        account = account_store.get_account(db, user.id) if user else None
        if account is not None and account.email and account.email.casefold() != key:
            raise InvalidInputError(
                f"the username '{cleaned}' belongs to the account {_describe(account)}, "
                f"not to {address}"
            )
    if user is not None:
        account = account_store.get_account(db, user.id)
        if oidc and (account is None or not account.has_password):
            raise InvalidInputError(
                f"'{cleaned}' is a local profile without an account, so no sign-in reaches it: "
                "use another username"
            )
        return user
    if oidc:
        # An account keyed by the email the provider will send: triops.accounts.oidc_sign_in
        # finds it by that verified email at the learner's first sign-in, so they land in the
        # cohort. Its password is a random secret nobody is told: it signs in through the
        # provider only.
        return accounts.add_user(
            db, cleaned, secrets.token_urlsafe(32), now, email=email, actor=actor
        )
    if not create:
        raise InvalidInputError(
            f"no account named '{cleaned}': an admin adds it in Admin › Accounts first"
        )
    return users.create_user(db, cleaned, now)


def add_from_csv(
    db,
    cohort_id: str,
    text: str,
    now: datetime,
    actor: Actor = COMMAND_LINE,
    *,
    source: str = "learners.csv",
    create_missing: bool = True,
    oidc: bool = False,
    scope: str | None = None,
) -> CsvOutcome:
    """Add the learners of a CSV (a header `username,email`, email optional) to a cohort.

    A username that exists is added as it is. One that does not is created as a learner profile
    when `create_missing` (one person's laptop); with password sign-in accounts come from an
    admin, so the row is refused. With `oidc` (TRIOPS_SIGN_IN=oidc) every row needs an email,
    and a new username becomes a learner account holding that email, which the learner's first
    sign-in with a verified email reaches. A row that is malformed, or whose email belongs to
    another account, is refused with its line and adds nobody; the other rows still count."""
    cohort = get_cohort(db, cohort_id, scope)
    outcome = CsvOutcome()
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        outcome.errors.append(f"{source}:1: error: {exc}")
        return outcome
    if header is None:
        outcome.errors.append(
            f"{source}:1: error: the file is empty; expected the header row {','.join(CSV_COLUMNS)}"
        )
        return outcome
    columns = [c.strip().casefold() for c in header]
    if "username" not in columns or any(c not in CSV_COLUMNS for c in columns):
        outcome.errors.append(
            f"{source}:1: error: the header row must name the columns "
            f"{','.join(CSV_COLUMNS)} (email may be left empty), not {','.join(header)}"
        )
        return outcome
    seen: set[str] = set()
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            outcome.errors.append(f"{source}:{reader.line_num}: error: {exc}")
            continue
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            outcome.errors.append(
                f"{source}:{line}: error: {len(row)} values where the header has "
                f"{len(columns)} ({','.join(columns)})"
            )
            continue
        values = dict(zip(columns, (cell.strip() for cell in row), strict=True))
        try:
            user = _csv_user(
                db,
                values["username"],
                values.get("email", ""),
                create=create_missing,
                now=now,
                oidc=oidc,
                actor=actor,
            )
        except TriopsError as exc:
            outcome.errors.append(f"{source}:{line}: error: {exc.user_message}")
            continue
        if user.id in seen or not store.add_member(db, cohort.id, user.id, now, "csv"):
            outcome.already.append(user.name)
            continue
        seen.add(user.id)
        outcome.added.append(user.name)
        _record(
            db, now, actor, MEMBER_ADDED, user.id, user.name, f"{cohort.name} (CSV line {line})"
        )
    return outcome


# -- assignments -------------------------------------------------------------------------------


def assign(
    db,
    cohort_id: str,
    exams,
    exam_id: str,
    opens_at: datetime,
    closes_at: datetime,
    attempts_allowed: int,
    now: datetime,
    actor: Actor = COMMAND_LINE,
    *,
    title: str | None = None,
    scope: str | None = None,
) -> Assignment:
    """Assign an exam (an id of quizzes/exams) to a cohort with a window and an allowance."""
    cohort = get_cohort(db, cohort_id, scope)
    exam = exams.get(exam_id)
    if exam is None:
        known = ", ".join(e.id for e in exams.exams) or "none"
        raise NotFoundError(f"No exam with the id '{exam_id}' (exams: {known}).")
    if closes_at <= opens_at:
        raise InvalidInputError("The close time must come after the open time.")
    if closes_at <= now:
        raise InvalidInputError("The close time has already passed: pick a later one.")
    if not 1 <= attempts_allowed <= MAX_ATTEMPTS:
        raise InvalidInputError(f"Attempts allowed: from 1 to {MAX_ATTEMPTS}.")
    shown = clean_cohort_name(title) if title and title.strip() else exam.blueprint.title
    row = Assignment(
        id=secrets.token_hex(6),
        cohort_id=cohort.id,
        exam_id=exam.id,
        title=shown,
        opens_at=opens_at,
        closes_at=closes_at,
        attempts_allowed=attempts_allowed,
        created_at=now,
    )
    store.create_assignment(db, row, actor.id)
    _record(
        db,
        now,
        actor,
        ASSIGNED,
        None,
        cohort.name,
        f"{shown} ({exam.id}), {opens_at:%Y-%m-%d %H:%M} to {closes_at:%Y-%m-%d %H:%M} UTC, "
        f"{attempts_allowed} attempt{'s' if attempts_allowed != 1 else ''}",
    )
    return row


def assignments(db, cohort_id: str, scope: str | None = None) -> list[Assignment]:
    return store.assignments(db, get_cohort(db, cohort_id, scope).id)


def get_assignment(db, assignment_id: str, scope: str | None = None) -> Assignment:
    found = store.get_assignment(db, assignment_id)
    if found is None:
        raise NotFoundError("This assignment does not exist.")
    if scope is not None:
        get_cohort(db, found.cohort_id, scope)
    return found


def accommodation(db, assignment_id: str, user_id: str) -> str:
    """The learner's time accommodation for an assignment: the one set for it, else the one of
    the learner's profile (Instructor › Learners)."""
    return store.accommodation(db, assignment_id, user_id) or engine.accommodation(db, user_id)


def accommodations_set(db, assignment_id: str, scope: str | None = None) -> dict[str, str]:
    """The accommodations set for this assignment itself, by user id."""
    return store.accommodations_set(db, get_assignment(db, assignment_id, scope).id)


def set_accommodation(
    db,
    assignment_id: str,
    user_id: str,
    factor: str,
    now: datetime,
    actor: Actor = COMMAND_LINE,
    *,
    scope: str | None = None,
) -> None:
    if factor not in engine.ACCOMMODATIONS:
        raise InvalidInputError(
            f"Unknown accommodation '{factor}': one of {', '.join(engine.ACCOMMODATIONS)}."
        )
    found = get_assignment(db, assignment_id, scope)
    user = users.get_user(db, user_id)
    if user is None or not store.is_member(db, found.cohort_id, user_id):
        raise NotFoundError("This learner is not in the assignment's cohort.")
    store.set_accommodation(db, assignment_id, user_id, factor, now)
    _record(db, now, actor, ACCOMMODATION_SET, user.id, user.name, f"{found.title}: x{factor}")


@dataclass(frozen=True)
class Assigned:
    """An assignment as its learner sees it."""

    assignment: Assignment
    cohort_name: str
    state: str  # 'upcoming', 'open' or 'closed'
    attempts_used: int
    open_token: str | None  # an attempt of this assignment still open, to resume
    best_score: float | None

    @property
    def can_start(self) -> bool:
        return self.state == "open" and (
            self.open_token is not None or self.attempts_used < self.assignment.attempts_allowed
        )


def window_state(found: Assignment, now: datetime) -> str:
    if now < found.opens_at:
        return "upcoming"
    if now >= found.closes_at:
        return "closed"
    return "open"


def _attempts(db, assignment_id: str, user_id: str, now: datetime) -> list[AttemptRow]:
    rows = []
    for _, attempt_id in store.attempt_ids(db, assignment_id, user_id):
        row = attempt_store.by_token(db, attempt_id)
        if row is not None:
            rows.append(engine.finalize_if_expired(db, row, now))
    return rows


def for_learner(db, user_id: str, now: datetime) -> list[Assigned]:
    """Every exam assigned to the learner's cohorts, soonest closing first, closed ones last."""
    names = {c.id: c.name for c in store.cohorts_of(db, user_id)}
    found = []
    for a in store.assignments_for(db, user_id):
        rows = _attempts(db, a.id, user_id, now)
        open_row = next((r for r in rows if r.state in engine.OPEN_STATES), None)
        scores = [r.score for r in rows if r.state == "finished" and r.score is not None]
        found.append(
            Assigned(
                assignment=a,
                cohort_name=names.get(a.cohort_id, ""),
                state=window_state(a, now),
                attempts_used=len(rows),
                open_token=open_row.token if open_row else None,
                best_score=max(scores) if scores else None,
            )
        )
    found.sort(key=lambda item: item.state == "closed")  # stable: by close time within
    return found


def start(db, assignment_id: str, exams, bank, user_id: str, now: datetime) -> AttemptRow:
    """Start (or resume) the learner's attempt of an assigned exam.

    Refused on the server when the learner is not in the cohort, before the window opens, after
    it closes (a refused late start goes to the audit log), or when the attempts allowed are
    used. The attempt takes the learner's accommodation for this assignment and ends no later
    than the close time."""
    found = get_assignment(db, assignment_id)
    user = users.get_user(db, user_id)
    if user is None or not store.is_member(db, found.cohort_id, user_id):
        raise NotFoundError("This exam is not assigned to you.")
    rows = _attempts(db, found.id, user_id, now)
    open_row = next((r for r in rows if r.state in engine.OPEN_STATES), None)
    if open_row is not None:
        return open_row
    state = window_state(found, now)
    if state == "upcoming":
        raise WindowError(
            f"'{found.title}' opens at {found.opens_at:%Y-%m-%d %H:%M} UTC: it cannot be "
            "started yet."
        )
    if state == "closed":
        _record(
            db,
            now,
            Actor.of(user),
            START_REFUSED,
            user.id,
            user.name,
            f"{found.title}: closed at {found.closes_at:%Y-%m-%d %H:%M} UTC",
        )
        raise WindowError(
            f"'{found.title}' closed at {found.closes_at:%Y-%m-%d %H:%M} UTC: it can no longer "
            "be started."
        )
    if len(rows) >= found.attempts_allowed:
        raise InvalidInputError(
            f"You have used all {found.attempts_allowed} attempts allowed for '{found.title}'."
        )
    exam = exams.get(found.exam_id)
    if exam is None:
        raise NotFoundError(
            f"The exam '{found.exam_id}' of this assignment is no longer in the course: ask "
            "your instructor."
        )
    other = attempt_store.open_attempt(db, user_id, exam.id)
    if other is not None:
        raise InvalidInputError(
            f"You have a practice attempt of {exam.blueprint.title} open: submit it on the "
            "Exams page first, then start the assigned one."
        )
    row = engine.start(
        db,
        exam,
        bank,
        user_id,
        now,
        accommodation=accommodation(db, found.id, user_id),
        count_allowance=False,
        closes_at=found.closes_at,
    )
    store.link_attempt(db, row.id, found.id, user_id)
    return row


# -- the gradebook -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DomainScore:
    name: str
    percent: float
    meets: bool


@dataclass(frozen=True)
class Cell:
    """A learner's result on one assignment: the best finished attempt when there is one."""

    status: str  # 'passed', 'failed', 'in progress', 'abandoned', 'not started', 'missed'
    score: float | None = None
    attempts: int = 0
    domains_json: str | None = None  # read when asked: a page shows one exam's domains

    @property
    def domains(self) -> tuple[DomainScore, ...]:
        return _domains(self.domains_json)

    def text(self) -> str:
        return self.status if self.score is None else f"{self.status} {self.score:.0f}%"


@dataclass(frozen=True)
class Gradebook:
    cohort: Cohort
    assignments: list[Assignment]
    learners: list[Member]
    cells: dict[tuple[str, str], Cell]  # (user id, assignment id)

    def cell(self, user_id: str, assignment_id: str) -> Cell:
        return self.cells[(user_id, assignment_id)]


def _domains(domains_json: str | None) -> tuple[DomainScore, ...]:
    found = json.loads(domains_json or "[]") or []
    return tuple(
        DomainScore(d.get("title") or d["domain"], d["percent"], bool(d.get("meets")))
        for d in sorted(found, key=lambda d: d.get("title") or d["domain"])
    )


def _cell(found: Assignment, rows: list, now: datetime) -> Cell:
    finished = [r for r in rows if r.state == "finished" and r.score is not None]
    if finished:
        best = max(finished, key=lambda r: r.score)
        return Cell(
            "passed" if best.passed else "failed",
            best.score,
            len(rows),
            best.domains_json,
        )
    if any(r.state in engine.OPEN_STATES for r in rows):
        return Cell("in progress", attempts=len(rows))
    if rows:
        return Cell("abandoned", attempts=len(rows))
    return Cell("missed" if window_state(found, now) == "closed" else "not started")


def gradebook(db, cohort_id: str, now: datetime, scope: str | None = None) -> Gradebook:
    """Learner x assignment for a cohort: status, best score and per-domain result. Attempts
    whose time ran out are finalized first, as on any read."""
    cohort = get_cohort(db, cohort_id, scope)
    results = store.cohort_attempts(db, cohort_id)
    stale = [
        r
        for r in results
        if r.state in engine.OPEN_STATES
        and ((r.deadline and r.deadline <= now) or (r.grace_until and r.grace_until <= now))
    ]
    if stale:
        for r in stale:
            row = attempt_store.by_token(db, r.attempt_id)
            if row is not None:
                engine.finalize_if_expired(db, row, now)
        results = store.cohort_attempts(db, cohort_id)
    by_pair: dict[tuple[str, str], list] = {}
    for r in results:
        by_pair.setdefault((r.user_id, r.assignment_id), []).append(r)
    found = store.assignments(db, cohort_id)
    people = store.members(db, cohort_id)
    cells = {
        (m.user_id, a.id): _cell(a, by_pair.get((m.user_id, a.id), []), now)
        for m in people
        for a in found
    }
    return Gradebook(cohort, found, people, cells)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(text: str) -> str:
    # A cell opening with one of these runs as a formula in a spreadsheet (OWASP, "CSV
    # Injection"); names and titles are typed by people, so such a cell opens with a quote.
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def gradebook_csv(book: Gradebook) -> str:
    """The gradebook in the shape Moodle's CSV grade import takes (Grades › Import › CSV file):
    identifier columns (email address, username), then one column per grade item holding the
    best score in percent, empty where there is none. On import, map "Email address" to
    useremail (or "Username" to username) and each exam column to a grade item or a new one."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["Email address", "Username"] + [_safe(a.title) for a in book.assignments])
    for m in book.learners:
        scores = [book.cell(m.user_id, a.id).score for a in book.assignments]
        writer.writerow(
            [_safe(m.email or ""), _safe(m.name)]
            + ["" if s is None else f"{s:.2f}" for s in scores]
        )
    return buffer.getvalue()


# -- the cohort dashboard ----------------------------------------------------------------------

RECENT_DAYS = 7


@dataclass(frozen=True)
class Progress:
    """One learner's row of the cohort dashboard."""

    user_id: str
    name: str
    email: str | None
    lessons_done: int  # lessons of the course as it is now
    answers_recent: int  # practice answers in the last RECENT_DAYS days
    answers_total: int
    labs_passed: int  # labs of the course whose check the learner has passed
    probability: float | None  # pass probability of the chosen exam (None: not enough evidence)
    low: float | None
    high: float | None
    needed: int  # more answers in the exam's domains before a probability is given
    counted: int  # answers counted in the exam's domains

    def readiness_text(self) -> str:
        """The readiness service's own words: a probability with its interval, or how many more
        answers it needs; never a number it did not give."""
        if self.probability is None:
            return (
                f"needs {self.needed} more answer{'s' if self.needed != 1 else ''} "
                f"({self.counted} so far)"
            )
        return readiness.format_probability(self.probability, self.low, self.high)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Dashboard:
    cohort: Cohort
    lessons_total: int
    labs_total: int
    exam_id: str | None
    exam_title: str
    rows: list[Progress]


def _exam_readiness(model, shape, answers, placed: set[str]) -> tuple:
    """(probability, low, high, needed, counted) for one exam, by the rule and the functions of
    readiness.assess (which computes every exam and track: too slow for a class of hundreds)."""
    counted = readiness.profile_answers(model, answers)
    n = int(np.isin(counted.domain, shape.domains).sum()) if len(counted) else 0
    if n < readiness.MINIMUM_ANSWERS and not (n and set(shape.tracks) <= placed):
        return None, None, None, readiness.MINIMUM_ANSWERS - n, n
    draws = readiness.theta_draws(model, counted, readiness.track_posteriors(model, counted))
    mean, low, high, _ = readiness.exam_probability(model, shape, draws)
    return mean, low, high, 0, n


def dashboard(
    db,
    cohort_id: str,
    now: datetime,
    *,
    lesson_ids: set[str],
    labs: list[tuple[str, str, str]],
    model: readiness.Model | None = None,
    exam_id: str | None = None,
    scope: str | None = None,
) -> Dashboard:
    """Per member of the cohort: lessons done (of `lesson_ids`, the course now), practice answers
    in the last week and in all, labs passed (of `labs`: id, title, track), and readiness for
    `exam_id` from the readiness service's `model` (left out without either)."""
    cohort = get_cohort(db, cohort_id, scope)
    people = store.members(db, cohort.id)
    ids = [m.user_id for m in people]
    done = progress.completions_of(db, ids)
    counts = practice.answer_counts(db, ids, now - timedelta(days=RECENT_DAYS))
    lab_ids = {lab_id for lab_id, _, _ in labs}
    passed = labruns.passed_labs(db, ids)
    shape = None
    if model is not None and exam_id is not None:
        shape = next((s for s in model.exams if s.exam_id == exam_id), None)
    by_user: dict = {}
    placed: dict[str, set[str]] = {}
    if shape is not None:
        by_user = dict(tuple(readiness_store.answers_of(db, ids).groupby("user_id", sort=False)))
        placed = readiness_store.placed_tracks(db, ids)
    empty = pd.DataFrame(columns=readiness_store.ANSWER_COLUMNS)
    rows = []
    for m in people:
        recent, total = counts.get(m.user_id, (0, 0))
        exam = None
        if shape is not None:
            exam = _exam_readiness(
                model, shape, by_user.get(m.user_id, empty), placed.get(m.user_id, set())
            )
        rows.append(
            Progress(
                user_id=m.user_id,
                name=m.name,
                email=m.email,
                lessons_done=len(done.get(m.user_id, set()) & lesson_ids),
                answers_recent=recent,
                answers_total=total,
                labs_passed=len(passed.get(m.user_id, set()) & lab_ids),
                probability=exam[0] if exam else None,
                low=exam[1] if exam else None,
                high=exam[2] if exam else None,
                needed=exam[3] if exam else readiness.MINIMUM_ANSWERS,
                counted=exam[4] if exam else 0,
            )
        )
    return Dashboard(
        cohort,
        len(lesson_ids),
        len(lab_ids),
        shape.exam_id if shape else None,
        shape.title if shape else "",
        rows,
    )


DASHBOARD_COLUMNS = (
    "Email address",
    "Username",
    "Lessons done",
    "Lessons in the course",
    f"Practice answers, last {RECENT_DAYS} days",
    "Practice answers, total",
    "Labs passed",
    "Labs in the course",
    "Readiness exam",
    "Pass probability",
    "Interval low",
    "Interval high",
    "Answers still needed",
)


def dashboard_csv(board: Dashboard) -> str:
    """The dashboard as CSV, one learner a row; the probability columns are empty where the
    readiness service gives no probability (then 'Answers still needed' says how many)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(DASHBOARD_COLUMNS)

    def number(value: float | None) -> str:
        return "" if value is None else f"{value:.2f}"

    for r in board.rows:
        writer.writerow(
            [
                _safe(r.email or ""),
                _safe(r.name),
                r.lessons_done,
                board.lessons_total,
                r.answers_recent,
                r.answers_total,
                r.labs_passed,
                board.labs_total,
                _safe(board.exam_title),
                number(r.probability),
                number(r.low),
                number(r.high),
                "" if board.exam_id is None else r.needed,
            ]
        )
    return buffer.getvalue()


def readiness_model(db, bank, exams, now: datetime) -> readiness.Model:
    """The readiness service's model for the bank and exams as they are (recalibrated first
    when the answers have grown enough, as the app does), for a reader outside the app."""
    row, parameters = readiness_store.latest_calibration(db)
    if readiness.stale(row, readiness_store.evidence_count(db)):
        row, parameters = readiness.ensure_calibration(db, bank, now)
    return readiness.build_model(bank, exams, row, parameters)
