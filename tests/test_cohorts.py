"""Cohorts and assigned exams (issue 18 item 3) through triops.cohorts, on a real DuckDB file
with the real question bank and blueprints: join codes, adding learners by CSV (the line of a
bad row named), windows refused on the server, accommodations and the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from conftest import REPO, fresh_state
from triops import accounts, cohorts
from triops.accounts import Actor
from triops.errors import InvalidInputError, NotFoundError
from triops.quiz import exam as engine
from triops.store import audit, users

T0 = datetime(2026, 12, 6, 9, 0)
EXAM = "devops-practitioner"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def teacher(db):
    return Actor.of(users.create_user(db, "Grace", T0, "instructor"))


def actions(db) -> list[tuple[str, str, str]]:
    return [(e.actor_name, e.action, e.subject_name) for e in audit.entries(db)]


def test_a_cohort_gets_a_secret_code_and_a_learner_joins_with_it_typed_loosely(db, teacher):
    cohort = cohorts.create_cohort(db, "  DevOps   spring ", T0, teacher)
    assert cohort.name == "DevOps spring"
    assert len(cohort.join_code) == cohorts.CODE_LENGTH
    assert set(cohort.join_code) <= set(cohorts.CODE_ALPHABET)
    other = cohorts.create_cohort(db, "MLOps", T0, teacher)
    assert other.join_code != cohort.join_code
    with pytest.raises(InvalidInputError, match="already exists"):
        cohorts.create_cohort(db, "devops SPRING", T0, teacher)

    ada = users.create_user(db, "Ada", T0)
    typed = cohorts.show_code(cohort.join_code).lower().replace("-", " - ")
    assert cohorts.join(db, typed, ada.id, T0).id == cohort.id
    assert [m.name for m in cohorts.members(db, cohort.id)] == ["Ada"]
    assert [c.name for c in cohorts.my_cohorts(db, ada.id)] == ["DevOps spring"]
    with pytest.raises(InvalidInputError, match="already in the cohort 'DevOps spring'"):
        cohorts.join(db, cohort.join_code, ada.id, T0)
    with pytest.raises(InvalidInputError, match="No cohort has this join code"):
        cohorts.join(db, "ZZZZ-ZZZZ", ada.id, T0)
    assert ("Grace", cohorts.COHORT_CREATED, "DevOps spring") in actions(db)
    assert ("Ada", cohorts.JOINED, "Ada") in actions(db)


def test_a_csv_adds_its_good_rows_and_names_the_line_and_the_account_of_a_bad_one(db, teacher):
    accounts.add_user(db, "Bob", PASSWORD, T0, email="bob@example.org")
    users.create_user(db, "Cleo", T0)
    cohort = cohorts.create_cohort(db, "Class A", T0, teacher)
    text = (
        "username,email\n"  # line 1
        "Cleo,\n"  # 2: an existing profile
        "Dan,dan@example.org\n"  # 3: new: created as a learner profile
        "Eve,bob@example.org\n"  # 4: Bob's email: refused, Bob named
        "Fay\n"  # 5: one value where the header has two
        "\n"  # 6: blank, skipped
        "Bob,bob@example.org\n"  # 7: Bob himself
        "Cleo,\n"  # 8: twice in one file
        "bob,other@example.org\n"  # 9: Bob's username with another email: Bob named
    )
    outcome = cohorts.add_from_csv(db, cohort.id, text, T0, teacher, source="class-a.csv")
    assert outcome.added == ["Cleo", "Dan", "Bob"]
    assert outcome.already == ["Cleo"]
    assert outcome.errors == [
        "class-a.csv:4: error: the email bob@example.org is already used by the account "
        "'Bob' (learner, bob@example.org)",
        "class-a.csv:5: error: 1 values where the header has 2 (username,email)",
        "class-a.csv:9: error: the username 'bob' belongs to the account 'Bob' "
        "(learner, bob@example.org), not to other@example.org",
    ]
    # A refused row adds nobody: no Eve, no Fay.
    assert users.find_by_name(db, "Eve") is None and users.find_by_name(db, "Fay") is None
    assert [m.name for m in cohorts.members(db, cohort.id)] == ["Bob", "Cleo", "Dan"]
    added = [a for a in audit.entries(db) if a.action == cohorts.MEMBER_ADDED]
    assert [(a.actor_name, a.subject_name) for a in added] == [
        ("Grace", "Cleo"),
        ("Grace", "Dan"),
        ("Grace", "Bob"),
    ]

    # On a class server accounts come from an admin: an unknown username is refused, named.
    again = cohorts.add_from_csv(
        db, cohort.id, "username\nGus\n", T0, teacher, source="b.csv", create_missing=False
    )
    assert again.errors == [
        "b.csv:2: error: no account named 'Gus': an admin adds it in Admin › Accounts first"
    ]
    assert users.find_by_name(db, "Gus") is None


def test_a_csv_with_a_wrong_header_adds_nobody_and_says_which_columns(db, teacher):
    cohort = cohorts.create_cohort(db, "Class B", T0, teacher)
    outcome = cohorts.add_from_csv(db, cohort.id, "name,mail\nAda,a@b.org\n", T0, teacher)
    assert outcome.added == []
    assert outcome.errors[0].startswith("learners.csv:1: error: the header row must name")
    assert users.find_by_name(db, "Ada") is None


@pytest.fixture
def assigned(db, teacher, exams):
    cohort = cohorts.create_cohort(db, "Class C", T0, teacher)
    ada = users.create_user(db, "Ada", T0)
    cohorts.add_learner(db, cohort.id, "Ada", T0, teacher)
    found = cohorts.assign(
        db,
        cohort.id,
        exams,
        EXAM,
        T0 + timedelta(hours=1),
        T0 + timedelta(hours=3),
        2,
        T0,
        teacher,
    )
    return found, ada


def test_an_assigned_exam_starts_only_inside_its_window_on_the_server(db, exams, bank, assigned):
    found, ada = assigned
    mine = cohorts.for_learner(db, ada.id, T0)
    assert [(m.assignment.title, m.state, m.cohort_name) for m in mine] == [
        (exams.get(EXAM).blueprint.title, "upcoming", "Class C")
    ]
    with pytest.raises(cohorts.WindowError, match="cannot be started yet"):
        cohorts.start(db, found.id, exams, bank, ada.id, T0)

    late = T0 + timedelta(hours=3)
    with pytest.raises(cohorts.WindowError, match="closed at 2026-12-06 12:00 UTC"):
        cohorts.start(db, found.id, exams, bank, ada.id, late)
    assert engine.history(db, ada.id) == []  # nothing was started
    refused = [a for a in audit.entries(db) if a.action == cohorts.START_REFUSED]
    assert [(a.actor_name, a.subject_name) for a in refused] == [("Ada", "Ada")]

    # Inside the window: started, and the deadline never runs past the close time.
    near_close = T0 + timedelta(hours=2, minutes=50)
    row = cohorts.start(db, found.id, exams, bank, ada.id, near_close)
    assert row.deadline == found.closes_at
    assert cohorts.start(db, found.id, exams, bank, ada.id, near_close).id == row.id  # resumed
    (listed,) = cohorts.for_learner(db, ada.id, near_close)
    assert listed.state == "open" and listed.open_token == row.token and listed.attempts_used == 1


def test_the_allowance_and_a_per_learner_accommodation_apply_to_the_assignment(
    db, exams, bank, assigned, teacher
):
    found, ada = assigned
    bp = exams.get(EXAM).blueprint
    cohorts.set_accommodation(db, found.id, ada.id, "1.5", T0, teacher)
    assert cohorts.accommodation(db, found.id, ada.id) == "1.5"
    assert engine.accommodation(db, ada.id) == "1"  # the profile's own is unchanged
    opened = found.opens_at
    first = cohorts.start(db, found.id, exams, bank, ada.id, opened)
    assert first.accommodation == "1.5"
    assert first.deadline == opened + timedelta(minutes=bp.time_limit_minutes * 1.5)
    engine.submit(db, first.token, ada.id, opened + timedelta(minutes=1))
    second = cohorts.start(db, found.id, exams, bank, ada.id, opened + timedelta(minutes=2))
    engine.submit(db, second.token, ada.id, opened + timedelta(minutes=3))
    with pytest.raises(InvalidInputError, match="used all 2 attempts allowed"):
        cohorts.start(db, found.id, exams, bank, ada.id, opened + timedelta(minutes=4))
    (item,) = cohorts.for_learner(db, ada.id, opened + timedelta(minutes=4))
    assert (item.attempts_used, item.best_score, item.can_start) == (2, 0.0, False)
    assert ("Grace", cohorts.ACCOMMODATION_SET, "Ada") in actions(db)
    assert ("Grace", cohorts.ASSIGNED, "Class C") in actions(db)


def test_only_members_start_and_bad_assignments_are_refused(db, exams, bank, assigned, teacher):
    found, _ = assigned
    bo = users.create_user(db, "Bo", T0)
    with pytest.raises(NotFoundError, match="not assigned to you"):
        cohorts.start(db, found.id, exams, bank, bo.id, found.opens_at)
    with pytest.raises(NotFoundError, match="not in the assignment's cohort"):
        cohorts.set_accommodation(db, found.id, bo.id, "2", T0, teacher)
    cohort_id = found.cohort_id
    with pytest.raises(NotFoundError, match="No exam with the id 'nope'"):
        cohorts.assign(db, cohort_id, exams, "nope", T0, T0 + timedelta(hours=1), 1, T0)
    with pytest.raises(InvalidInputError, match="after the open time"):
        cohorts.assign(db, cohort_id, exams, EXAM, T0, T0, 1, T0)
    with pytest.raises(InvalidInputError, match="already passed"):
        cohorts.assign(db, cohort_id, exams, EXAM, T0 - timedelta(hours=2), T0, 1, T0)
    with pytest.raises(InvalidInputError, match="from 1 to"):
        cohorts.assign(db, cohort_id, exams, EXAM, T0, T0 + timedelta(hours=1), 0, T0)


def test_the_gradebook_shows_status_best_score_and_domains_and_exports_for_moodle(
    db, exams, bank, assigned, teacher
):
    found, ada = assigned
    accounts.add_user(db, "=cmd", PASSWORD, T0, email="eve@example.org")
    cohorts.add_learner(db, found.cohort_id, "=cmd", T0, teacher)
    opened = found.opens_at
    first = cohorts.start(db, found.id, exams, bank, ada.id, opened)
    engine.submit(db, first.token, ada.id, opened + timedelta(minutes=1))  # nothing answered
    book = cohorts.gradebook(db, found.cohort_id, opened + timedelta(minutes=2))
    cell = book.cell(ada.id, found.id)
    assert (cell.status, cell.score, cell.attempts) == ("failed", 0.0, 1)
    bp = exams.get(EXAM).blueprint
    assert {d.name for d in cell.domains} == {d.title or d.key for d in bp.domains}
    assert all(d.percent == 0.0 and not d.meets for d in cell.domains)
    eve = users.find_by_name(db, "=cmd")
    assert book.cell(eve.id, found.id).status == "not started"
    after = cohorts.gradebook(db, found.cohort_id, found.closes_at)
    assert after.cell(eve.id, found.id).status == "missed"

    # An attempt left open past its deadline is finalized by the gradebook's read.
    second = cohorts.start(db, found.id, exams, bank, ada.id, opened + timedelta(minutes=3))
    late = second.deadline + timedelta(minutes=bp.expiry.grace_minutes + 1)
    assert cohorts.gradebook(db, found.cohort_id, late).cell(ada.id, found.id).attempts == 2
    assert engine.history(db, ada.id)[-1].state != "in_progress"

    lines = cohorts.gradebook_csv(book).splitlines()
    assert lines == [
        f"Email address,Username,{bp.title}",
        "eve@example.org,'=cmd,",  # a name that opens like a formula is defused
        ",Ada,0.00",
    ]


def test_the_command_line_creates_a_cohort_adds_a_csv_naming_bad_lines_and_exports(tmp_path):
    from typer.testing import CliRunner

    from triops.cli import app as cli

    def run(*args):
        return CliRunner().invoke(cli, list(args))

    made = run("cohorts", "create", "Evening")
    assert made.exit_code == 0, made.output
    assert made.output.startswith("created Evening: join code ")
    sheet = tmp_path / "evening.csv"
    sheet.write_text("username,email\nAda,ada@example.org\nBo,not-an-email\n", encoding="utf-8")
    added = run("cohorts", "add", "evening", str(sheet))
    assert added.exit_code == 1
    assert f"{sheet}:3: error: 'not-an-email' is not an email address" in added.stderr
    assert "added 1, already members 0" in added.stdout
    listed = run("cohorts", "list")
    assert listed.exit_code == 0 and "\t1 member\n" in listed.stdout
    book = run("cohorts", "gradebook", "Evening")
    assert book.exit_code == 0
    assert book.stdout.splitlines() == ["Email address,Username", ",Ada"]
    missing = run("cohorts", "gradebook", "Morning")
    assert missing.exit_code == 1
    assert "No cohort named 'Morning' (cohorts: Evening)" in missing.stderr


# -- scope: an instructor's own cohorts (issue 18 item 2) --------------------------------------


def test_an_instructor_reads_and_changes_only_the_cohorts_they_created(db, teacher, exams):
    from triops import profiles

    hal = users.create_user(db, "Hal", T0, "instructor")
    admin = users.create_user(db, "Root", T0, "admin")
    ada = users.create_user(db, "Ada", T0)
    bob = users.create_user(db, "Bob", T0)
    mine = cohorts.create_cohort(db, "Grace's class", T0, teacher)
    theirs = cohorts.create_cohort(db, "Hal's class", T0, Actor.of(hal))
    cohorts.add_learner(db, mine.id, "Ada", T0, teacher, scope=teacher.id)
    cohorts.add_learner(db, theirs.id, "Bob", T0, Actor.of(hal), scope=hal.id)
    later = T0 + timedelta(days=1)
    task = cohorts.assign(db, theirs.id, exams, EXAM, T0, later, 1, T0, Actor.of(hal), scope=hal.id)

    assert [c.name for c in cohorts.cohorts(db, teacher.id)] == ["Grace's class"]
    assert [c.name for c in cohorts.cohorts(db, None)] == ["Grace's class", "Hal's class"]
    refusals = [
        lambda: cohorts.get_cohort(db, theirs.id, teacher.id),
        lambda: cohorts.members(db, theirs.id, teacher.id),
        lambda: cohorts.gradebook(db, theirs.id, T0, teacher.id),
        lambda: cohorts.assignments(db, theirs.id, teacher.id),
        lambda: cohorts.accommodations_set(db, task.id, teacher.id),
        lambda: cohorts.add_learner(db, theirs.id, "Ada", T0, teacher, scope=teacher.id),
        lambda: cohorts.add_from_csv(db, theirs.id, "username\nAda\n", T0, scope=teacher.id),
        lambda: cohorts.assign(db, theirs.id, exams, EXAM, T0, later, 1, T0, scope=teacher.id),
        lambda: cohorts.set_accommodation(db, task.id, bob.id, "2", T0, scope=teacher.id),
        lambda: cohorts.dashboard(db, theirs.id, T0, lesson_ids=set(), labs=[], scope=teacher.id),
    ]
    for refused in refusals:
        with pytest.raises(InvalidInputError, match="^Not allowed"):
            refused()
    with pytest.raises(NotFoundError, match=r"\(cohorts: Grace's class\)"):
        cohorts.find_cohort(db, "Hal's class", teacher.id)
    # Nothing of Hal's cohort changed through the refusals.
    assert [m.name for m in cohorts.members(db, theirs.id)] == ["Bob"]
    assert cohorts.assignments(db, theirs.id) == [task]
    assert cohorts.accommodations_set(db, task.id) == {}

    # The Learners page's reads and its accommodation: Grace's learners only.
    assert [u.name for u in profiles.visible_profiles(db, teacher.id)] == ["Ada"]
    assert {u.name for u in profiles.visible_profiles(db, None)} == {
        "Ada",
        "Bob",
        "Grace",
        "Hal",
        "Root",
    }
    with pytest.raises(InvalidInputError, match="^Not allowed"):
        profiles.set_accommodation(db, bob.id, "2", T0, teacher.id)
    assert engine.accommodation(db, bob.id) == "1"
    profiles.set_accommodation(db, ada.id, "1.5", T0, teacher.id)
    assert engine.accommodation(db, ada.id) == "1.5"

    # The command line's --instructor: an admin reads every cohort, a learner none.
    assert cohorts.instructor(db, "root") == (admin, None)
    assert cohorts.instructor(db, "grace")[1] == teacher.id
    with pytest.raises(InvalidInputError, match="^Not allowed: 'Ada' is a learner"):
        cohorts.instructor(db, "Ada")


# -- the cohort dashboard (issue 18 item 3) ------------------------------------------------------


def test_the_dashboard_counts_lessons_practice_and_labs_and_gives_readiness_only_with_evidence(
    db, teacher, bank, exams
):
    from triops.content.loader import load_course
    from triops.labs.spec import load_labs
    from triops.quiz import readiness
    from triops.store import labruns, practice, progress
    from triops.store import readiness as readiness_store

    course = load_course(REPO)
    lesson_ids = {lesson.id for lesson in course.lessons()}
    labs = [(x.id, x.spec.title, x.spec.track) for x in load_labs(REPO).labs]
    ada = users.create_user(db, "Ada", T0)
    bob = users.create_user(db, "Bob", T0)
    users.create_user(db, "=Cleo", T0)  # opens like a spreadsheet formula
    outsider = users.create_user(db, "Olga", T0)
    cohort = cohorts.create_cohort(db, "Spring", T0, teacher)
    for name in ("Ada", "Bob", "=Cleo"):
        cohorts.add_learner(db, cohort.id, name, T0, teacher)
    now = T0 + timedelta(days=30)

    first_three = [lesson.id for lesson in course.lessons()[:3]]
    for lesson_id in first_three:
        progress.mark_complete(db, ada.id, lesson_id, T0)
    progress.mark_complete(db, ada.id, "a-lesson-since-removed", T0)  # not in the course now
    progress.mark_complete(db, bob.id, first_three[0], T0)
    progress.mark_complete(db, outsider.id, first_three[1], T0)

    model = cohorts.readiness_model(db, bank, exams, now)
    shape = next(s for s in model.exams if s.exam_id == EXAM)
    in_exam = [
        str(q)
        for q, d in zip(model.items.ids, model.items.domain, strict=True)
        if d in shape.domains
    ]
    assert len(in_exam) >= 30
    # Ada: 24 answers in the exam's domains, 10 of them in the last 7 days; Bob: 3.
    for i, question_id in enumerate(in_exam[:24]):
        when = now - timedelta(days=2 if i < 10 else 12)
        practice.log_answer(db, ada.id, question_id, 1.0 if i % 3 else 0.0, when)
    for question_id in in_exam[:3]:
        practice.log_answer(db, bob.id, question_id, 1.0, now - timedelta(days=1))
    for question_id in in_exam[:40]:
        practice.log_answer(db, outsider.id, question_id, 1.0, now - timedelta(days=1))

    lab_a, lab_b = labs[0][0], labs[1][0]

    def run(user, lab_id, kind, passed, job):
        labruns.record(
            db,
            labruns.LabRunRow(
                job_id=job,
                user_id=user.id,
                lab_id=lab_id,
                kind=kind,
                status="success" if passed else "failure",
                seconds=1.0,
                passed=passed,
                criteria=None,
                log="",
                finished_at=T0,
            ),
        )

    run(ada, lab_a, "check", True, "j1")
    run(ada, lab_a, "check", True, "j2")  # the same lab passed twice counts once
    run(ada, lab_b, "check", False, "j3")
    run(bob, lab_b, "run", True, "j4")  # a run, not a check: no pass
    run(outsider, lab_b, "check", True, "j5")

    board = cohorts.dashboard(
        db,
        cohort.id,
        now,
        lesson_ids=lesson_ids,
        labs=labs,
        model=model,
        exam_id=EXAM,
        scope=teacher.id,
    )
    rows = {r.name: r for r in board.rows}
    assert list(rows) == ["=Cleo", "Ada", "Bob"]  # members only: Olga is in no row
    assert (board.lessons_total, board.labs_total) == (len(lesson_ids), len(labs))
    got = {
        n: (r.lessons_done, r.answers_recent, r.answers_total, r.labs_passed)
        for n, r in rows.items()
    }
    assert got == {"Ada": (3, 10, 24, 1), "Bob": (1, 3, 3, 0), "=Cleo": (0, 0, 0, 0)}

    # Readiness is the readiness service's own answer for the learner, never made up.
    expected = readiness.assess(
        model,
        readiness_store.answers(db, ada.id),
        now,
        labs=labs,
        passes=readiness_store.lab_passes(db, ada.id),
    ).exam(EXAM)
    assert expected.probability is not None
    assert (rows["Ada"].probability, rows["Ada"].low, rows["Ada"].high) == (
        expected.probability,
        expected.low,
        expected.high,
    )
    assert rows["Ada"].readiness_text() == readiness.format_probability(
        expected.probability, expected.low, expected.high
    )
    assert rows["Bob"].probability is None
    assert rows["Bob"].readiness_text() == (
        f"needs {readiness.MINIMUM_ANSWERS - 3} more answers (3 so far)"
    )
    assert rows["=Cleo"].readiness_text() == (
        f"needs {readiness.MINIMUM_ANSWERS} more answers (0 so far)"
    )

    lines = cohorts.dashboard_csv(board).splitlines()
    assert lines[0].split(",")[:3] == ["Email address", "Username", "Lessons done"]
    title = board.exam_title
    assert lines[1] == (
        f",'=Cleo,0,{len(lesson_ids)},0,0,0,{len(labs)},{title},,,,{readiness.MINIMUM_ANSWERS}"
    )
    assert lines[2] == (
        f",Ada,3,{len(lesson_ids)},10,24,1,{len(labs)},{title},{expected.probability:.2f},"
        f"{expected.low:.2f},{expected.high:.2f},0"
    )

    # Without an exam chosen there is no readiness column to fill, and no number in it.
    bare = cohorts.dashboard(db, cohort.id, now, lesson_ids=lesson_ids, labs=labs)
    assert bare.exam_id is None
    assert (
        cohorts.dashboard_csv(bare)
        .splitlines()[2]
        .endswith(f",Ada,3,{len(lesson_ids)},10,24,1,{len(labs)},,,,,")
    )


# -- the CSV in oidc mode (issue 18 item 3) ------------------------------------------------------


def test_in_oidc_mode_a_csv_makes_accounts_keyed_by_email_that_the_first_sign_in_reaches(
    db, teacher
):
    cohort = cohorts.create_cohort(db, "Spring", T0, teacher)
    users.create_user(db, "Local Lou", T0)  # a bare profile: no sign-in could reach it
    text = (
        "username,email\n"
        "Ada,Ada@Example.org\n"
        "Bob,\n"
        "Local Lou,lou@example.org\n"
        "Cleo,cleo@example.org\n"
    )
    outcome = cohorts.add_from_csv(db, cohort.id, text, T0, teacher, source="class.csv", oidc=True)
    assert outcome.added == ["Ada", "Cleo"]
    assert outcome.errors == [
        "class.csv:3: error: no email for 'Bob': with TRIOPS_SIGN_IN=oidc a learner is found "
        "at first sign-in by the verified email the identity provider sends, so each row needs it",
        "class.csv:4: error: 'Local Lou' is a local profile without an account, so no sign-in "
        "reaches it: use another username",
    ]
    assert users.find_by_name(db, "Bob") is None  # a refused row adds nobody
    made = accounts.find(db, "Ada")
    assert (made.role, made.email) == ("learner", "Ada@Example.org")

    # Ada's first sign-in: the provider sends her subject and verified email (any case).
    claims = {
        "iss": "https://id.example.org",
        "sub": "248289761001",
        "email": "ada@example.org",
        "email_verified": True,
    }
    signed_in = accounts.oidc_sign_in(db, claims, T0 + timedelta(days=1))
    assert signed_in.id == made.id
    assert [c.name for c in cohorts.my_cohorts(db, signed_in.id)] == ["Spring"]
    # Signing in again finds the same account; the CSV again adds nobody twice.
    assert accounts.oidc_sign_in(db, claims, T0 + timedelta(days=2)).id == made.id
    again = cohorts.add_from_csv(
        db, cohort.id, "username,email\nAda,ada@example.org\n", T0, oidc=True
    )
    assert (again.added, again.already, again.errors) == ([], ["Ada"], [])


def test_the_command_line_in_oidc_mode_adds_a_csv_as_accounts_keyed_by_email(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from triops.cli import app as cli
    from triops.config import get_settings

    monkeypatch.setenv("TRIOPS_SIGN_IN", "oidc")
    get_settings.cache_clear()

    def run(*args):
        return CliRunner().invoke(cli, list(args))

    conn = fresh_state(get_settings().state_db)
    try:
        grace = users.create_user(conn, "Grace", T0, "instructor")
        users.create_user(conn, "Hal", T0, "instructor")
    finally:
        conn.close()
    assert run("cohorts", "create", "Evening", "--instructor", "Grace").exit_code == 0
    sheet = tmp_path / "evening.csv"
    sheet.write_text("username,email\nAda,ada@example.org\nBo,\n", encoding="utf-8")
    refused = run("cohorts", "add", "Evening", str(sheet), "--instructor", "Hal")
    assert refused.exit_code == 1 and "No cohort named 'Evening'" in refused.stderr
    added = run("cohorts", "add", "Evening", str(sheet), "--instructor", "Grace")
    assert added.exit_code == 1
    assert f"{sheet}:3: error: no email for 'Bo'" in added.stderr
    assert "added 1, already members 0" in added.stdout
    conn = fresh_state(get_settings().state_db)
    try:
        (cohort,) = cohorts.cohorts(conn, grace.id)
        assert [m.name for m in cohorts.members(conn, cohort.id)] == ["Ada"]
        assert accounts.find(conn, "Ada").email == "ada@example.org"
        signed_in = accounts.oidc_sign_in(
            conn, {"iss": "https://id.example.org", "sub": "7", "email": "ada@example.org"}, T0
        )
        assert [c.name for c in cohorts.my_cohorts(conn, signed_in.id)] == ["Evening"]
    finally:
        conn.close()
