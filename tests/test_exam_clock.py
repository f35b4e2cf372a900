"""The exam clock's resync (triops.ui.exam_view._clock) on a real DuckDB file and a real
PostgreSQL: it redraws the page when the attempt changed elsewhere, and reads no more than it
needs to.

AppTest cannot run a fragment alone, so the script below runs the clock's body as the
fragment's `run_every` runs do, and loads the page's view the way `take` does whenever the
clock asked for the whole page again."""

from __future__ import annotations

import random

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from conftest import REPO
from triops.config import get_settings
from triops.quiz import exam as engine
from triops.quiz.bank import load_bank
from triops.quiz.blueprint import load_exams
from triops.store import attempts, users
from triops.store.connection import open_state
from triops.ui import resources
from triops.ui.identity import now

pytest_plugins = ["tests.pgserver"]

SCRIPT = """
import streamlit as st

from triops.quiz import exam as engine
from triops.ui import exam_view, resources
from triops.ui.identity import now

user_id, token = st.query_params["profile"], st.query_params["attempt"]
st.session_state["runs"] = st.session_state.get("runs", 0) + 1
if st.session_state.get("reload", True):  # the first run, and a redraw the clock asked for
    view = engine.load(resources.state_db(), token, user_id, now())
    seen = exam_view._seen(token)
    seen["answers"], seen["flags"] = dict(view.responses), set(view.flags)
    seen["writes"] = view.writes
    st.session_state["view"] = view
st.session_state["reload"] = True  # stays set when the clock reruns the page
fresh = [True] if st.session_state.pop("fresh", False) else []  # the page's own run: [True]
exam_view._clock(st.session_state["view"], user_id, fresh)
st.session_state["reload"] = False
"""


@pytest.fixture
def sitting(state_backend):
    """A candidate's open attempt of the DevOps mock; (user id, token). The app's state handle
    (AppTest runs the script in this process) is closed after the test, before its database is
    dropped: its jobs and pool go with it."""
    bank = load_bank(REPO)
    exam = load_exams(REPO, bank).get("devops-practitioner")
    db = open_state(get_settings().state_db)
    try:
        user = users.create_user(db, "Ada", now())
        row = engine.start(db, exam, bank, user.id, now(), random.Random(3))
    finally:
        db.close()
    yield user.id, row.token
    handle = resources._handle()
    handle.jobs.close()
    handle.conn.close()
    st.cache_resource.clear()


def _clock(sitting) -> AppTest:
    user_id, token = sitting
    at = AppTest.from_string(SCRIPT, default_timeout=60)
    at.query_params.update(profile=user_id, attempt=token)
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["runs"] == 1
    return at


def _elsewhere(fn) -> None:
    """A write from another tab or replica: its own connection."""
    db = open_state(get_settings().state_db)
    try:
        fn(db)
    finally:
        db.close()


@pytest.fixture
def reads(monkeypatch):
    """How many times the clock read every answer of the attempt."""
    calls = []
    real = attempts.responses
    monkeypatch.setattr(attempts, "responses", lambda db, a: calls.append(a) or real(db, a))
    return calls


def test_the_clock_reads_one_row_while_nothing_changes_and_redraws_after_a_save_elsewhere(
    sitting, reads
):
    at = _clock(sitting)
    reads.clear()
    at.run()
    assert at.session_state["runs"] == 2  # nothing changed: no redraw
    assert reads == []  # and the answers were not read

    user_id, token = sitting
    _elsewhere(lambda db: engine.save_answer(db, token, user_id, 4, 1, now()))
    at.run()
    assert not at.exception
    assert at.session_state["runs"] == 4  # the clock asked for the whole page again
    view = at.session_state["view"]
    assert view.responses[4] == 1  # which now shows the other tab's answer

    reads.clear()
    at.run()
    assert at.session_state["runs"] == 5
    assert reads == []


def test_a_flag_set_elsewhere_redraws_the_page(sitting):
    at = _clock(sitting)
    user_id, token = sitting
    _elsewhere(lambda db: engine.set_flag(db, token, user_id, 2, True, now()))
    at.run()
    assert at.session_state["runs"] == 3
    assert at.session_state["view"].flags == {2}


def test_a_write_that_changes_nothing_shown_is_compared_once_and_not_redrawn(sitting, reads):
    user_id, token = sitting
    _elsewhere(lambda db: engine.save_answer(db, token, user_id, 0, 2, now()))
    at = _clock(sitting)
    # Another tab saves the answer this page already shows: a row is written, nothing changes.
    _elsewhere(lambda db: engine.save_answer(db, token, user_id, 0, 2, now()))
    reads.clear()
    at.run()
    assert at.session_state["runs"] == 2
    assert len(reads) == 1  # compared once ...
    at.run()
    assert at.session_state["runs"] == 3
    assert len(reads) == 1  # ... and the count noted, so not again


def test_an_attempt_submitted_elsewhere_redraws_the_page(sitting):
    at = _clock(sitting)
    user_id, token = sitting
    _elsewhere(lambda db: engine.submit(db, token, user_id, now()))
    at.run()
    assert at.session_state["runs"] == 3
    assert at.session_state["view"].state == "finished"


def test_the_pages_own_run_draws_the_clock_from_the_view_it_just_read(sitting, monkeypatch):
    at = _clock(sitting)

    def no_read(*args):
        raise AssertionError("the page's own run read the attempt again")

    monkeypatch.setattr(engine, "resync", no_read)
    at.session_state["fresh"] = True
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["runs"] == 2
