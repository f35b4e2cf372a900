"""Issue 18 item 2: every read of learner data is scoped to the signed-in user, or to the cohorts
an instructor owns. On a class server (TRIOPS_SIGN_IN=password, AppTest from the entry point, a
real DuckDB file) learner Ada walks every page of app_pages/ with Bob's profile id, exam attempt
token and cohort forced into the address and the session state, and acts on the pages; nothing
of Bob's (his name, answers, attempts, reviews, lab runs, placement) is shown, and his rows in the
database file are the same before and after. Instructor Hal, whose cohort holds Ada only, sees
nothing of Bob either, while Grace, whose cohort holds Bob, does (the detector's positive
control). The command line's cohort reads as an instructor are scoped the same way."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import REPO, TEST_HASHER, fresh_state
from triops import accounts, cohorts
from triops.accounts import Actor
from triops.config import get_settings
from triops.errors import TriopsError
from triops.labs.spec import load_labs
from triops.quiz import exam as engine
from triops.quiz import placement, review
from triops.store import labruns, practice, progress
from triops.ui.navigation import ADMIN_SECTION, NOT_ALLOWED, NOT_ALLOWED_ADMIN, SECTIONS

PASSWORD = "correct horse battery staple"
BOB = "Bob Zebulon"  # a name that appears nowhere in the course
EXAM = "devops-practitioner"
PAGES = sorted(p.name for p in (REPO / "app_pages").glob("*.py"))
# Search and Ask read the course's index only (never the learner state: see the static check
# below); opening them starts the index build, which loads the embedding model for a minute.
NO_LEARNER_STATE = {"search.py", "ask.py"}
INSTRUCTOR = {spec.path for spec in SECTIONS["Instructor"]}
ADMIN = {spec.path for spec in ADMIN_SECTION}


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def state():
    return fresh_state(get_settings().state_db)


@pytest.fixture
def password_mode(monkeypatch):
    monkeypatch.setenv("TRIOPS_SIGN_IN", "password")
    get_settings.cache_clear()


def bobs_rows(conn, bob_id: str) -> dict[str, list[tuple]]:
    """Every row of Bob's learner state: each table's rows keyed by his user id, and those keyed
    by one of his exam attempts or placement sessions."""
    tables = conn.execute(
        "SELECT table_name, list(column_name) FROM information_schema.columns "
        "GROUP BY table_name ORDER BY table_name"
    ).fetchall()
    attempts = [
        r[0]
        for r in conn.execute("SELECT id FROM exam_attempts WHERE user_id = ?", [bob_id]).fetchall()
    ]
    sessions = [
        r[0]
        for r in conn.execute(
            "SELECT id FROM placement_sessions WHERE user_id = ?", [bob_id]
        ).fetchall()
    ]
    found: dict[str, list[tuple]] = {}
    for table, columns in tables:
        if "user_id" in columns:
            where, params = "user_id = ?", [bob_id]
        elif "attempt_id" in columns:
            where, params = "list_contains(?, attempt_id)", [attempts]
        elif "session_id" in columns:
            where, params = "list_contains(?, session_id)", [sessions]
        else:
            continue
        found[table] = conn.execute(
            f'SELECT * FROM "{table}" WHERE {where} ORDER BY ALL', params
        ).fetchall()
    return found


def seed(bank, exams, path: Path):
    """Ada and Bob (learners), Grace (owns Bob's cohort) and Hal (owns Ada's), and a little of
    everything of Bob's: a lesson, practice answers, a finished and an open exam attempt, a
    review card, a lab run, a placement, an exam date; in a new state file at `path`."""
    moment = utc_now()
    conn = fresh_state(path)
    try:
        ada = accounts.add_user(conn, "Ada", PASSWORD, moment)
        bob = accounts.add_user(conn, BOB, PASSWORD, moment, email="bob@example.org")
        grace = accounts.add_user(conn, "Grace", PASSWORD, moment, role="instructor")
        hal = accounts.add_user(conn, "Hal", PASSWORD, moment, role="instructor")
        bobs = cohorts.create_cohort(conn, "Grace's class", moment, Actor.of(grace))
        adas = cohorts.create_cohort(conn, "Hal's class", moment, Actor.of(hal))
        cohorts.add_learner(conn, bobs.id, BOB, moment, Actor.of(grace))
        cohorts.add_learner(conn, adas.id, "Ada", moment, Actor.of(hal))
        cohorts.assign(conn, bobs.id, exams, EXAM, moment, moment + timedelta(days=7), 1, moment)

        lessons = [lesson.id for lesson in _course().lessons()]
        progress.mark_complete(conn, bob.id, lessons[0], moment)
        progress.record_visit(conn, bob.id, lessons[1], moment)
        questions = [q for q in bank.questions if not q.question.exam_only][:25]
        for q in questions:
            practice.log_answer(conn, bob.id, q.id, 1.0, moment - timedelta(days=2))
        done = engine.start(conn, exams.get(EXAM), bank, bob.id, moment - timedelta(hours=2))
        engine.save_answer(conn, done.token, bob.id, 0, None, moment - timedelta(hours=2))
        engine.submit(conn, done.token, bob.id, moment - timedelta(hours=1))
        still_open = engine.start(conn, exams.get("mlops-practitioner"), bank, bob.id, moment)
        engine.set_flag(conn, still_open.token, bob.id, 0, True, moment)
        _, reviewed = review.answer_and_review(
            conn, bob.id, questions[0], None, moment - timedelta(days=1), 12.0
        )
        review.set_exam_date(
            conn, bob.id, "devops", date.today() + timedelta(days=20), moment, ["devops"]
        )
        lab = load_labs(REPO).labs[0]
        labruns.record(
            conn,
            labruns.LabRunRow(
                job_id="bobs-run",
                user_id=bob.id,
                lab_id=lab.id,
                kind="check",
                status="success",
                seconds=2.0,
                passed=True,
                criteria=[["tests pass", True, "Bob Zebulon's check"]],
                log="Bob Zebulon's log",
                finished_at=moment,
            ),
        )
        model = cohorts.readiness_model(conn, bank, exams, moment)
        placement.start(conn, bob.id, placement.pool(bank, model, "devops"), moment)
        before = bobs_rows(conn, bob.id)
    finally:
        conn.close()
    assert all(before[t] for t in ("lesson_completions", "practice_log", "exam_attempts"))
    assert before["review_logs"] and before["lab_runs"] and before["placement_sessions"]
    return {
        "ada": ada,
        "bob": bob,
        "grace": grace,
        "hal": hal,
        "bobs_cohort": bobs,
        "done": done,
        "open": still_open,
        "log_id": reviewed.log_id,
        "lab": lab,
        "lesson": lessons[0],
        "before": before,
    }


@pytest.fixture(scope="module")
def seeded(bank, exams, tmp_path_factory):
    """The seed, made once for the module in a state file of its own (with the tests' cheap
    password hashes, as each test signs in with them)."""
    path = tmp_path_factory.mktemp("scoping-seed") / "state.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(accounts, "_hasher", lambda: TEST_HASHER)
        data = seed(bank, exams, path)
    return path, data


@pytest.fixture
def data(seeded):
    """A copy of the seeded state as this test's learner state (tests write to it): the
    seed's ids and Bob's rows as seeded."""
    path, made = seeded
    target = get_settings().state_db
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target)
    return made


def _course():
    from triops.content.loader import load_course

    return load_course(REPO)


def sign_in(name: str) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_password").input(PASSWORD)
    at.button[0].click()
    at.run()
    assert not at.exception
    assert at.session_state["triops_identity"].user.name == name
    return at


def page_text(at: AppTest) -> str:
    """Everything the page drew, as the protobufs sent to the browser (tables included: their
    Arrow bytes hold each cell's text)."""
    found: list[str] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            found.append(str(proto))
            found.append(proto.SerializeToString().decode("utf-8", errors="replace"))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(found)


def open_forced(at: AppTest, page: str, data: dict) -> AppTest:
    """Open a page with Bob's ids in the address and in the session state."""
    at.switch_page(f"app_pages/{page}")
    forced = {
        "profile": data["bob"].id,
        "attempt": data["open"].token,
        "lab": data["lab"].id,
        "lesson": data["lesson"],
    }
    for key, value in forced.items():
        at.query_params[key] = value
    at.session_state["triops_profile_id"] = data["bob"].id
    at.session_state["coh_pick"] = data["bobs_cohort"].id
    at.run()
    assert not at.exception, page
    return at


def bobs_traces(data: dict) -> list[str]:
    return [BOB, "bob@example.org", data["open"].token, data["done"].token, "Bob Zebulon's"]


def test_search_and_ask_read_no_learner_state():
    for page in NO_LEARNER_STATE:
        source = (REPO / "app_pages" / page).read_text(encoding="utf-8")
        assert "state_db" not in source and "current()" not in source, page


def test_learner_a_walks_every_page_and_sees_or_changes_nothing_of_learner_bs(password_mode, data):
    walked = []
    for page in PAGES:
        if page in NO_LEARNER_STATE:
            continue
        at = open_forced(sign_in("Ada"), page, data)
        walked.append(page)
        # Whatever the address and session state say, the session is Ada's.
        assert at.session_state["triops_identity"].user.id == data["ada"].id
        text = page_text(at)
        for trace in bobs_traces(data):
            assert trace not in text, (page, trace)
        errors = [str(e.value) for e in at.error]
        if page in INSTRUCTOR:
            assert errors == [NOT_ALLOWED], page
        elif page in ADMIN:
            assert errors == [NOT_ALLOWED_ADMIN], page
        elif page == "exam.py":
            # Bob's open attempt in the address: refused on the server, none of it drawn.
            assert errors and errors[0].startswith("Not allowed"), errors
            assert not at.radio and not at.checkbox
        # Ada has done nothing yet, and her pages say so: none of Bob's counts stand in.
        if page in ("home.py", "progress.py"):
            assert at.metric and all(m.value.startswith("0 / ") for m in at.metric), page
        if page == "review.py":
            assert any(str(i.value).startswith("No reviews yet") for i in at.info)
        if page == "placement.py":
            assert [b.label for b in at.main.button] == ["Start the placement test"]
        if page == "learn.py":  # the lesson Bob completed is not complete for Ada
            assert at.button(key="complete") and not at.success
    assert len(walked) == len(PAGES) - len(NO_LEARNER_STATE)

    # Acting on the pages with Bob's ids still in the address writes only Ada's rows.
    at = open_forced(sign_in("Ada"), "learn.py", data)
    at.button(key="complete").click().run()
    assert not at.exception
    at = open_forced(at, "practice.py", data)
    check = [b for b in at.button if b.label == "Check answer"]
    check[0].click().run()
    assert not at.exception
    at = open_forced(at, "exam.py", data)
    at.query_params.pop("attempt", None)
    at.run()
    assert not at.exception
    assert not any(BOB in str(t.value) for t in at.text)

    # The services behind the pages refuse Bob's ids for Ada, whatever a page would send.
    moment = utc_now()
    conn = state()
    try:
        refusals = [
            lambda: engine.load(conn, data["open"].token, data["ada"].id, moment),
            lambda: engine.status(conn, data["open"].token, data["ada"].id, moment),
            lambda: engine.save_answer(conn, data["open"].token, data["ada"].id, 0, 1, moment),
            lambda: engine.set_flag(conn, data["open"].token, data["ada"].id, 1, True, moment),
            lambda: engine.submit(conn, data["open"].token, data["ada"].id, moment),
            lambda: engine.load(conn, data["done"].token, data["ada"].id, moment),
            lambda: review.change_rating(conn, data["ada"].id, data["log_id"], review.Rating.Easy),
        ]
        for refused in refusals:
            with pytest.raises(TriopsError):
                refused()
        with pytest.raises(TriopsError, match="^Not allowed"):
            engine.load(conn, data["open"].token, data["ada"].id, moment)
        mine = conn.execute(
            "SELECT count(*) FROM lesson_completions WHERE user_id = ?", [data["ada"].id]
        ).fetchone()[0]
        after = bobs_rows(conn, data["bob"].id)
    finally:
        conn.close()
    assert mine == 1  # Ada's click landed on Ada
    assert after == data["before"]


def test_an_instructor_sees_only_the_learners_of_the_cohorts_they_own(password_mode, data):
    owner_pages = ("cohorts.py", "learners.py")

    # Hal owns Ada's cohort: Ada is there, Bob nowhere, even with Bob's cohort forced.
    for page in PAGES:
        if page in NO_LEARNER_STATE or page in ADMIN:
            continue
        at = open_forced(sign_in("Hal"), page, data)
        text = page_text(at)
        for trace in bobs_traces(data):
            assert trace not in text, (page, trace)
        if page in owner_pages:
            assert "Ada" in text, page
    at = open_forced(sign_in("Hal"), "cohorts.py", data)
    assert at.session_state["coh_pick"] != data["bobs_cohort"].id
    assert at.selectbox(key="coh_pick").options == ["Hal's class (1 member)"]
    at.radio(key="coh_view").set_value("Dashboard").run()
    assert not at.exception
    text = page_text(at)
    assert "Ada" in text and "Grace's class" not in text
    assert not any(trace in text for trace in bobs_traces(data))

    # Grace owns Bob's cohort: his name is in her gradebook and dashboard, so the detector above
    # would have seen it.
    at = open_forced(sign_in("Grace"), "cohorts.py", data)
    assert BOB in page_text(at)
    at.radio(key="coh_view").set_value("Dashboard").run()
    assert not at.exception
    dashboard = [d.value for d in at.dataframe if "Readiness" in d.value.columns]
    (board,) = dashboard
    assert list(board["Learner"]) == [BOB]
    # The readiness service's words: how many more answers, or a probability with its interval.
    assert re.fullmatch(
        r"needs \d+ more answers? \(\d+ so far\)|0\.\d\d \(90 % interval 0\.\d\d–[01]\.\d\d\)",
        board["Readiness"][0],
    ), board["Readiness"][0]
    at = open_forced(sign_in("Grace"), "learners.py", data)
    assert [t.value for t in at.text if t.value in (BOB, "Ada")] == [BOB]

    conn = state()
    try:
        assert bobs_rows(conn, data["bob"].id) == data["before"]
    finally:
        conn.close()


def test_the_command_line_reads_cohorts_as_the_instructor_it_names(password_mode, data):
    from typer.testing import CliRunner

    from triops.cli import app as cli

    def run(*args):
        return CliRunner().invoke(cli, list(args))

    listed = run("cohorts", "list", "--instructor", "Hal")
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.startswith("Hal's class\t") and "Grace's class" not in listed.stdout
    for command in ("gradebook", "dashboard"):
        refused = run("cohorts", command, "Grace's class", "--instructor", "Hal")
        assert refused.exit_code == 1
        assert 'No cohort named "Grace\'s class"' in refused.stderr or (
            "No cohort named 'Grace's class' (cohorts: Hal's class)" in refused.stderr
        )
        assert BOB not in refused.output
        learner = run("cohorts", command, "Hal's class", "--instructor", "Ada")
        assert learner.exit_code == 1
        assert "Not allowed: 'Ada' is a learner" in learner.stderr
        own = run("cohorts", command, "Grace's class", "--instructor", "Grace")
        assert own.exit_code == 0, own.output
        assert re.search(rf"^bob@example.org,{BOB},", own.stdout, re.M)
    added = run(
        "cohorts", "add", "Grace's class", str(REPO / "pyproject.toml"), "--instructor", "Hal"
    )
    assert added.exit_code == 1 and BOB not in added.output

    # A learner's own review summary on the command line names only that learner's cards.
    due = run("review", "due", "--profile", "Ada")
    assert due.exit_code == 0, due.output
    assert due.stdout.startswith("Ada: cards: 0,")
    assert BOB not in due.output

    conn = state()
    try:
        assert bobs_rows(conn, data["bob"].id) == data["before"]
    finally:
        conn.close()
