"""Instructor › Cohorts and a learner's assigned exams through AppTest from the entry point, on
a real DuckDB file: creating a cohort (a hostile name stays text), adding learners from a pasted
CSV (a bad row named by its line), assigning an exam, and a learner seeing and starting it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from conftest import REPO, fresh_state
from triops import accounts, cohorts
from triops.config import get_settings
from triops.quiz.bank import load_bank
from triops.quiz.blueprint import load_exams
from triops.store import audit, users
from triops.store import cohorts as cohort_store

HOSTILE = "<img src=x onerror=alert(1)> **Class** [x](javascript:alert(2))"
PASSWORD = "correct horse battery staple"
EXAM = "devops-practitioner"
# The hostile name's markup, not preceded by the backslash that makes markdown show it as text.
RAW_MARKUP = re.compile(r"(?<!\\)<img|(?<!\\)\]\(javascript")


def app(**params) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    return at


def state():
    return fresh_state(get_settings().state_db)


def unescaped(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def shown(at: AppTest) -> list[str]:
    return [t.value for t in at.text]


def markup(at: AppTest) -> list[str]:
    """Every element whose value Streamlit renders as markdown."""
    kinds = (at.markdown, at.success, at.info, at.error, at.warning, at.caption)
    return [str(e.value) for kind in kinds for e in kind]


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def test_an_instructor_creates_a_cohort_with_a_hostile_name_and_adds_learners_by_csv():
    conn = state()
    try:
        grace = users.create_user(conn, "Grace", utc_now())
        users.create_user(conn, "Cleo", utc_now())
    finally:
        conn.close()
    at = app(profile=grace.id).run()
    at.switch_page("app_pages/cohorts.py").run()
    assert not at.exception
    at.text_input(key="coh_new_name").input(HOSTILE)
    at.button[0].click()  # the create form's submit
    at.run()
    assert not at.exception
    conn = state()
    try:
        (cohort,) = cohort_store.list_cohorts(conn)
    finally:
        conn.close()
    assert cohort.name == HOSTILE
    code = cohorts.show_code(cohort.join_code)
    assert f"Join code of {HOSTILE}: {code}" in shown(at)
    # Shown as text: no element rendered as markdown holds the name's markup unescaped.
    assert not [m for m in markup(at) if RAW_MARKUP.search(m)]
    assert any(HOSTILE in unescaped(m) for m in markup(at))  # the success message, escaped

    at.text_area(key="coh_csv_text").input("username,email\nCleo,\nDan,dan@example.org\nEve\n")
    at.button(key="FormSubmitter:coh_csv-Add from CSV").click()
    at.run()
    assert not at.exception
    errors = [unescaped(e.value) for e in at.error]
    assert errors == ["pasted CSV:4: error: 1 values where the header has 2 (username,email)"]
    assert unescaped(at.success[0].value) == "Added 2: Cleo, Dan."
    table = at.dataframe[0].value
    assert list(table["Learner"]) == ["Cleo", "Dan"]

    # Assign the exam with the form's default window (from the next full hour, for a week).
    at.selectbox(key="coh_exam").set_value(EXAM)
    at.number_input(key="coh_attempts").set_value(2)
    at.button(key="FormSubmitter:coh_assign-Assign").click()
    at.run()
    assert not at.exception
    conn = state()
    try:
        (found,) = cohort_store.assignments(conn, cohort.id)
        logged = [(e.actor_name, e.action) for e in audit.entries(conn)]
    finally:
        conn.close()
    assert (found.exam_id, found.attempts_allowed) == (EXAM, 2)
    assert found.closes_at - found.opens_at == timedelta(days=7)
    assert any(t.startswith(f"{found.title} ({EXAM}) · upcoming ·") for t in shown(at))
    book = at.dataframe[1].value  # the gradebook: a learner a row, an exam a column
    assert list(book.columns) == ["Learner", f"1. {found.title}"]
    assert list(book[f"1. {found.title}"]) == ["not started", "not started"]
    assert [b.label for b in at.get("download_button")] == [
        "Download for Moodle's grade import (CSV)"
    ]
    assert logged == [
        ("Grace", cohorts.COHORT_CREATED),
        ("Grace", cohorts.MEMBER_ADDED),
        ("Grace", cohorts.MEMBER_ADDED),
        ("Grace", cohorts.ASSIGNED),
    ]


def test_a_learner_sees_what_is_assigned_and_when_it_closes_and_starts_it():
    moment = utc_now()
    bank = load_bank(REPO)
    exams = load_exams(REPO, bank)
    conn = state()
    try:
        bo = users.create_user(conn, "Bo", moment)
        cohort = cohorts.create_cohort(conn, "Night class", moment)
        cohorts.add_learner(conn, cohort.id, "Bo", moment)
        title = "Mock <b>week</b> 1"
        open_now = cohorts.assign(
            conn,
            cohort.id,
            exams,
            EXAM,
            moment - timedelta(hours=1),
            moment + timedelta(hours=30),
            1,
            moment,
            title=title,
        )
        later = cohorts.assign(
            conn,
            cohort.id,
            exams,
            EXAM,
            moment + timedelta(days=2),
            moment + timedelta(days=3),
            1,
            moment,
            title="Final",
        )
    finally:
        conn.close()
    at = app(profile=bo.id).run()
    at.switch_page("app_pages/exam.py").run()
    assert not at.exception
    lines = shown(at)
    closes = f"closes {open_now.closes_at:%Y-%m-%d %H:%M} UTC (1 day left)"
    assert f"{title} · Night class · {closes} · attempts 0 of 1" in lines
    assert any(
        t.startswith(f"Final · Night class · opens {later.opens_at:%Y-%m-%d %H:%M}") for t in lines
    )
    assert not [m for m in markup(at) if re.search(r"(?<!\\)<b", m)]
    assert at.button(key=f"assigned-{open_now.id}")
    assert not [b for b in at.button if b.key == f"assigned-{later.id}"]  # not open yet

    at.button(key=f"assigned-{open_now.id}").click().run()
    assert not at.exception
    token = at.query_params["attempt"]
    conn = state()
    try:
        assert cohort_store.assignment_of(conn, token) == open_now.id
    finally:
        conn.close()


def test_a_learner_joins_a_cohort_with_its_code_on_the_exams_page():
    conn = state()
    try:
        bo = users.create_user(conn, "Bo", utc_now())
        cohort = cohorts.create_cohort(conn, "Day class", utc_now())
    finally:
        conn.close()
    at = app(profile=bo.id).run()
    at.switch_page("app_pages/exam.py").run()
    at.text_input(key="coh_join_code").input(cohorts.show_code(cohort.join_code).lower())
    at.button(key="FormSubmitter:coh_join-Join").click()
    at.run()
    assert not at.exception
    assert [unescaped(s.value) for s in at.success] == ["You joined Day class."]
    at.text_input(key="coh_join_code").input("WRONG-CODE")
    at.button(key="FormSubmitter:coh_join-Join").click()
    at.run()
    assert any("No cohort has this join code" in unescaped(e.value) for e in at.error)


@pytest.fixture
def password_mode(monkeypatch):
    monkeypatch.setenv("TRIOPS_SIGN_IN", "password")
    get_settings.cache_clear()


def sign_in(at: AppTest, name: str) -> AppTest:
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_password").input(PASSWORD)
    at.button[0].click()
    return at.run()


def test_on_a_class_server_a_csv_names_only_accounts_and_learners_are_refused(password_mode):
    moment = utc_now()
    conn = state()
    try:
        grace = accounts.add_user(conn, "Grace", PASSWORD, moment, role="instructor")
        accounts.add_user(conn, "Lea", PASSWORD, moment, email="lea@example.org")
        cohorts.create_cohort(conn, "Spring", moment, accounts.Actor.of(grace))  # Grace's own
    finally:
        conn.close()
    at = sign_in(app().run(), "Grace")
    at.switch_page("app_pages/cohorts.py").run()
    assert not at.exception
    at.text_area(key="coh_csv_text").input("username,email\nLea,lea@example.org\nZed,\n")
    at.button(key="FormSubmitter:coh_csv-Add from CSV").click()
    at.run()
    assert [unescaped(e.value) for e in at.error] == [
        "pasted CSV:3: error: no account named 'Zed': an admin adds it in Admin › Accounts first"
    ]
    assert list(at.dataframe[0].value["Learner"]) == ["Lea"]

    learner = sign_in(app().run(), "Lea")
    learner.switch_page("app_pages/cohorts.py").run()
    assert [e.value for e in learner.error] == [
        "Not allowed: this page is for instructors. Ask an admin if you need it."
    ]
    assert not learner.text_input  # no create form


def test_an_instructor_sets_one_learners_accommodation_for_an_assigned_exam():
    moment = utc_now()
    bank = load_bank(REPO)
    exams = load_exams(REPO, bank)
    conn = state()
    try:
        grace = users.create_user(conn, "Grace", moment)
        users.create_user(conn, "Bo", moment)
        cleo = users.create_user(conn, "Cleo", moment)
        cohort = cohorts.create_cohort(conn, "Evening", moment)
        for name in ("Bo", "Cleo"):
            cohorts.add_learner(conn, cohort.id, name, moment)
        found = cohorts.assign(
            conn, cohort.id, exams, EXAM, moment, moment + timedelta(days=1), 1, moment
        )
    finally:
        conn.close()
    at = app(profile=grace.id).run()
    at.switch_page("app_pages/cohorts.py").run()
    assert not at.exception
    # One picker per exam, not one per learner; nothing set yet, so the profiles' own apply.
    assert len([s for s in at.selectbox if s.key.startswith("coh-acc-who-")]) == 1
    assert any("None set for this exam" in c.value for c in at.caption)
    at.selectbox(key=f"coh-acc-who-{found.id}").set_value(cleo.id)
    at.selectbox(key=f"coh-acc-factor-{found.id}").set_value("1.5")
    at.button(key=f"coh-acc-set-{found.id}").click()
    at.run()
    assert not at.exception
    conn = state()
    try:
        assert cohorts.accommodation(conn, found.id, cleo.id) == "1.5"
        assert cohorts.accommodations_set(conn, found.id) == {cleo.id: "1.5"}
    finally:
        conn.close()
    tables = [d.value for d in at.dataframe if "time" in d.value.columns]
    assert [list(t["learner"]) for t in tables] == [["Cleo"]]


def test_the_cohort_dashboard_shows_each_learner_beside_the_gradebook_and_exports_csv():
    from triops.content.loader import load_course
    from triops.quiz.readiness import MINIMUM_ANSWERS
    from triops.store import practice, progress

    moment = utc_now()
    lessons = [lesson.id for lesson in load_course(REPO).lessons()]
    conn = state()
    try:
        grace = users.create_user(conn, "Grace", moment, "instructor")
        ada = users.create_user(conn, HOSTILE[:60], moment)
        users.create_user(conn, "Bo", moment)
        cohort = cohorts.create_cohort(conn, "Evening", moment, accounts.Actor.of(grace))
        for name in (HOSTILE[:60], "Bo"):
            cohorts.add_learner(conn, cohort.id, name, moment)
        progress.mark_complete(conn, ada.id, lessons[0], moment)
        progress.mark_complete(conn, ada.id, lessons[1], moment)
        bank = load_bank(REPO)
        for q in [q for q in bank.questions if not q.question.exam_only][:4]:
            practice.log_answer(conn, ada.id, q.id, 1.0, moment - timedelta(days=1))
        practice.log_answer(conn, ada.id, q.id, 0.0, moment - timedelta(days=9))
    finally:
        conn.close()
    at = app(profile=grace.id).run()
    at.switch_page("app_pages/cohorts.py").run()
    assert not at.exception
    at.radio(key="coh_view").set_value("Dashboard").run()
    assert not at.exception
    board = at.dataframe[-1].value
    rows = {r["Learner"]: r for r in board.to_dict("records")}
    assert set(rows) == {HOSTILE[:60], "Bo"}  # the hostile name is a cell's text, not markup
    ada_row = rows[HOSTILE[:60]]
    assert ada_row["Lessons done"] == f"2 / {len(lessons)}"
    assert (ada_row["Practice answers (7 days)"], ada_row["Practice answers (total)"]) == (4, 5)
    # Too few answers for a probability: the readiness service's count, never a number.
    needs = re.fullmatch(r"needs (\d+) more answers? \((\d+) so far\)", ada_row["Readiness"])
    assert needs and int(needs[1]) + int(needs[2]) == MINIMUM_ANSWERS and int(needs[2]) <= 4
    assert rows["Bo"]["Readiness"] == f"needs {MINIMUM_ANSWERS} more answers (0 so far)"
    assert not [m for m in markup(at) if RAW_MARKUP.search(m)]
    (download,) = at.get("download_button")
    assert download.proto.label == "Download the dashboard (CSV)"
