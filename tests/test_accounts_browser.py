"""A real chromium against a real server with TRIOPS_SIGN_IN=password: signing in through the
form (over Streamlit's websocket, XSRF protection left on), an instructor page's address refused
to a learner, a hostile username shown as text, and a locked client address refused."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest

from conftest import REPO
from triops import accounts
from triops.store import accounts as account_store
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


LOCKED_ADDRESS = "203.0.113.9"


@pytest.fixture
def locked_address_server(tmp_path):
    home = tmp_path / "home"
    conn = open_state(home / "state.duckdb")
    try:
        now = datetime.now(UTC).replace(tzinfo=None)
        accounts.add_user(conn, "Ada", PASSWORD, now)
        for _ in range(accounts.ADDRESS_LOCK_AFTER):  # as if sprayed over many names
            account_store.record_address_failure(
                conn,
                LOCKED_ADDRESS,
                now,
                window_from=now - timedelta(minutes=accounts.ADDRESS_WINDOW_MINUTES),
                lock_after=accounts.ADDRESS_LOCK_AFTER,
                locked_until=now + timedelta(minutes=accounts.ADDRESS_LOCK_MINUTES),
            )
        conn.execute("CHECKPOINT")
    finally:
        conn.close()
    env = {"TRIOPS_HOME": str(home), "TRIOPS_SIGN_IN": "password"}
    with streamlit_server(REPO / "app.py", env=env) as srv:
        yield srv


@contextmanager
def forwarding_proxy(port: int, client: str) -> Iterator[str]:
    """A reverse proxy on this machine, as README's Caddy or nginx: every connection is passed
    to the app on `port`, its first request (a page, or the WebSocket's upgrade) naming `client`
    in X-Forwarded-For. Chromium sends no extra header on a WebSocket, so the test needs this."""
    loop = asyncio.new_event_loop()

    async def pipe(reader, writer) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def handle(reader, writer) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        line, rest = head.split(b"\r\n", 1)
        app_reader, app_writer = await asyncio.open_connection("127.0.0.1", port)
        app_writer.write(line + f"\r\nX-Forwarded-For: {client}\r\n".encode() + rest)
        await asyncio.gather(pipe(reader, app_writer), pipe(app_reader, writer))

    listening: list = []
    ready = threading.Event()

    def serve() -> None:  # in a thread of its own: Playwright's loop holds this one
        asyncio.set_event_loop(loop)
        listening.append(loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", 0)))
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield f"http://127.0.0.1:{listening[0].sockets[0].getsockname()[1]}"
    finally:

        async def shut() -> None:
            listening[0].close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            loop.stop()

        asyncio.run_coroutine_threadsafe(shut(), loop)
        thread.join(5)
        loop.close()


def test_a_locked_client_address_is_refused_and_another_signs_in(browser, locked_address_server):
    # The server believes X-Forwarded-For from this machine only, where the proxy runs.
    with forwarding_proxy(locked_address_server.port, LOCKED_ADDRESS) as url:
        page = browser.new_page()
        page.set_default_timeout(30_000)
        page.goto(url)
        sign_in(page, "Ada")
        page.get_by_text("Too many failed sign-ins from your network address").wait_for()
        page.get_by_text("try again in 15 minutes").wait_for()
        assert page.get_by_test_id("stSidebar").get_by_text("Signed in as").count() == 0
        page.close()

    page = browser.new_page()
    page.set_default_timeout(30_000)
    page.goto(locked_address_server.url)
    sign_in(page, "Ada")
    page.get_by_test_id("stSidebar").get_by_text("Signed in as Ada (learner)").wait_for()
    page.close()


def test_passwords_stay_out_of_the_server_log_and_the_pages(browser, server):
    """Item 5: secrets never appear in logs or pages. A failed and a successful sign-in, then
    the admin's Accounts page (which lists every account): neither password typed, nor any
    stored hash, is in the server's output or in a page's HTML."""
    wrong = "Tr0ub4dor&3-wrong-guess"
    page = browser.new_page()
    page.set_default_timeout(30_000)
    page.goto(server.url)
    page.get_by_role("heading", name="Sign in to Triops").wait_for()
    page.get_by_role("textbox", name="Username").fill("Root")
    page.get_by_role("textbox", name="Password").fill(wrong)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Wrong username or password", exact=False).wait_for()
    failed_html = page.content()
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_test_id("stSidebar").get_by_text("Signed in as Root (admin)").wait_for()
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Accounts", exact=True).click()
    page.get_by_role("heading", name="Accounts").wait_for()
    page.wait_for_timeout(500)
    pages = failed_html + page.content()
    page.close()
    log = server.log.read_text(encoding="utf-8", errors="replace")
    assert "Wrong username or password" in pages  # what the pages held was read
    assert "URL:" in log  # the server's output was captured (its start-up lines)
    for secret in (PASSWORD, wrong, "$argon2"):
        assert secret not in log, f"{secret!r} in the server's output"
        assert secret not in pages, f"{secret!r} in a page"
