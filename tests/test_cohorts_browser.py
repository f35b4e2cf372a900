"""A real chromium against a real server with TRIOPS_SIGN_IN=password: an instructor's Cohorts
page and a learner's assigned exams, with a hostile cohort name, assignment title and username
shown as text (no script runs, no image is made)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from conftest import REPO
from triops import accounts, cohorts
from triops.quiz.bank import load_bank
from triops.quiz.blueprint import load_exams
from triops.store.connection import open_state
from triops.testing import streamlit_server

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
COHORT = "<img src=x onerror=window.__pwned=1> cohort"
TITLE = "<script>window.__pwned=2</script> **mock**"
LEARNER = "<svg onload=window.__pwned=3>"


@pytest.fixture
def server(tmp_path):
    home = tmp_path / "home"
    conn = open_state(home / "state.duckdb")  # seeded before the app holds the file
    try:
        now = datetime.now(UTC).replace(tzinfo=None)
        grace = accounts.add_user(conn, "Grace", PASSWORD, now, role="instructor")
        accounts.add_user(conn, LEARNER, PASSWORD, now)
        # Grace owns the cohort: an instructor sees only the cohorts she owns (issue 18 item 2).
        cohort = cohorts.create_cohort(conn, COHORT, now, owner=grace)
        cohorts.add_learner(conn, cohort.id, LEARNER, now)
        exams = load_exams(REPO, load_bank(REPO))
        cohorts.assign(
            conn,
            cohort.id,
            exams,
            "devops-practitioner",
            now - timedelta(hours=1),
            now + timedelta(days=3),
            1,
            now,
            title=TITLE,
        )
        conn.execute("CHECKPOINT")
    finally:
        conn.close()
    env = {"TRIOPS_HOME": str(home), "TRIOPS_SIGN_IN": "password"}
    with streamlit_server(REPO / "app.py", env=env) as srv:
        yield srv


def sign_in(page, name: str) -> None:
    page.get_by_role("heading", name="Sign in to Triops").wait_for()
    page.get_by_role("textbox", name="Username").fill(name)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def untouched(page) -> None:
    assert page.evaluate("() => window.__pwned === undefined")
    assert page.locator("img[src=x]").count() == 0
    assert page.locator("main svg[onload]").count() == 0


def test_hostile_names_on_the_cohorts_page_and_the_learners_exams_stay_text(browser, server):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    page.goto(f"{server.url}/cohorts")
    sign_in(page, "Grace")
    page.get_by_role("heading", name="Gradebook").wait_for()
    page.get_by_text(f"Join code of {COHORT}:").wait_for()
    page.get_by_text(f"{TITLE} (devops-practitioner)").wait_for()
    untouched(page)
    page.close()

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    page.goto(f"{server.url}/exam")
    sign_in(page, LEARNER)
    page.get_by_role("heading", name="Assigned to you").wait_for()
    page.get_by_text(f"{TITLE} · {COHORT} · closes").wait_for()
    page.get_by_role("button", name="Start", exact=True).wait_for()
    untouched(page)
    page.close()
