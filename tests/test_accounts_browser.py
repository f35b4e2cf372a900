"""A real chromium against a real server with TRIOPS_SIGN_IN=password: signing in through the
form (over Streamlit's websocket, XSRF protection left on), an instructor page's address refused
to a learner, and a hostile username shown as text."""

from __future__ import annotations

from datetime import datetime

import pytest

from conftest import REPO
from triops import accounts
from triops.store.connection import open_state
from triops.testing import streamlit_server

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
HOSTILE = "<img src=x onerror=window.__pwned=1>"


@pytest.fixture
def server(tmp_path):
    home = tmp_path / "home"
    conn = open_state(home / "state.duckdb")  # seeded before the app holds the file
    try:
        now = datetime(2026, 12, 6, 9, 0)
        accounts.add_user(conn, "Root", PASSWORD, now, role="admin")
        accounts.add_user(conn, "Ada", PASSWORD, now)
        accounts.add_user(conn, HOSTILE, PASSWORD, now)
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


def test_a_learner_who_opens_an_instructor_address_signs_in_and_is_not_allowed(browser, server):
    page = browser.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{server.url}/learners")
    sign_in(page, "Ada")
    page.get_by_text("Not allowed: this page is for instructors").wait_for()
    # XSRF protection is on: the server handed the page its token cookie.
    assert "_streamlit_xsrf" in {c["name"] for c in page.context.cookies()}
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("Signed in as Ada (learner)").wait_for()
    nav = page.get_by_test_id("stSidebarNav")
    nav.get_by_role("link", name="Progress", exact=True).wait_for()
    assert nav.get_by_role("link", name="Learners", exact=True).count() == 0
    assert nav.get_by_role("link", name="Content health", exact=True).count() == 0
    sidebar.get_by_role("button", name="Sign out").click()
    page.get_by_text("Signed out.").wait_for()
    page.close()


def test_an_admin_signs_in_and_sees_the_instructor_and_admin_pages(browser, server):
    page = browser.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{server.url}/learners")
    sign_in(page, "Root")
    page.get_by_role("heading", name="Learners").wait_for()
    nav = page.get_by_test_id("stSidebarNav")
    nav.get_by_role("link", name="Accounts", exact=True).wait_for()
    nav.get_by_role("link", name="Content health", exact=True).wait_for()
    page.close()


def test_a_hostile_username_signs_in_and_stays_text(browser, server):
    page = browser.new_page()
    page.set_default_timeout(30_000)
    page.goto(server.url)
    sign_in(page, HOSTILE)
    page.get_by_test_id("stSidebar").get_by_text(f"Signed in as {HOSTILE} (learner)").wait_for()
    assert page.evaluate("() => window.__pwned === undefined")
    assert page.locator("img[src=x]").count() == 0
    page.close()
