"""A password sign-in's signed session cookie (issue 19, triops.ui.session_cookie): the value's
signature, expiry and purpose; the replica's route that sets it (HttpOnly, SameSite=Strict,
Secure over https) and clears it; and in a real chromium against deploy/replica.py on
PostgreSQL: a new session of the same browser is signed in from the cookie, a tampered or
foreign cookie is not, a password reset signs the cookie out, and sign-out clears it."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from starlette.applications import Starlette
from starlette.testclient import TestClient

from conftest import REPO
from triops import accounts
from triops.store.connection import open_state
from triops.testing import streamlit_server
from triops.ui import session_cookie
from triops.ui.identity import now
from triops.ui.session_cookie import (
    COOKIE,
    HEADER,
    LIFETIME,
    VOUCHER_SECONDS,
    SecretError,
    cookie_value,
    read_cookie,
    read_voucher,
    secret_from_env,
    voucher,
)

pytest_plugins = ["tests.pgserver"]

SECRET = "k" * 20 + "7f3a9c1e5b2d4f6a8c0e"  # 40 characters
OTHER = "z" * 40
AT = datetime(2026, 12, 7, 9, 30, 15, 123456)
REPLICA = REPO / "deploy" / "replica.py"
PASSWORD = "correct horse battery staple"


def _flip(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]


# -- the value ---------------------------------------------------------------------------------


def test_a_cookie_reads_back_its_user_sign_in_time_to_the_microsecond_and_expiry():
    claim = read_cookie(SECRET, cookie_value(SECRET, "u-1f2e", AT), AT + timedelta(hours=1))
    assert claim is not None
    assert (claim.user_id, claim.signed_in_at, claim.expires) == ("u-1f2e", AT, AT + LIFETIME)


@pytest.mark.parametrize("where", ["payload", "signature"])
def test_a_tampered_cookie_is_refused(where):
    value = cookie_value(SECRET, "u-1", AT)
    body, mac = value.split(".")
    tampered = f"{_flip(body, 3)}.{mac}" if where == "payload" else f"{body}.{_flip(mac, 5)}"
    assert read_cookie(SECRET, tampered, AT) is None
    # Another user's id signed by nobody: a payload rewritten whole, the old signature kept.
    forged = cookie_value(SECRET, "admin", AT).split(".")[0] + "." + mac
    assert read_cookie(SECRET, forged, AT) is None


def test_an_expired_cookie_is_refused():
    value = cookie_value(SECRET, "u-1", AT)
    assert read_cookie(SECRET, value, AT + LIFETIME - timedelta(seconds=1)) is not None
    assert read_cookie(SECRET, value, AT + LIFETIME) is None


def test_a_cookie_signed_under_another_secret_is_refused():
    assert read_cookie(SECRET, cookie_value(OTHER, "u-1", AT), AT) is None


@pytest.mark.parametrize("value", ["", "x", "a.b.c", "..", "é.é", "a" * 2000 + ".b", "%%.%%"])
def test_garbage_is_refused_without_an_exception(value):
    assert read_cookie(SECRET, value, AT) is None
    assert read_voucher(SECRET, value, AT) is None


def test_a_voucher_is_not_a_cookie_nor_a_cookie_a_voucher_and_a_voucher_lasts_a_minute():
    ticket = voucher(SECRET, "u-1", AT, AT)
    cookie = cookie_value(SECRET, "u-1", AT)
    assert read_cookie(SECRET, ticket, AT) is None
    assert read_voucher(SECRET, cookie, AT) is None
    assert read_voucher(SECRET, ticket, AT + timedelta(seconds=VOUCHER_SECONDS - 1)) is not None
    assert read_voucher(SECRET, ticket, AT + timedelta(seconds=VOUCHER_SECONDS)) is None


def test_the_secret_is_optional_but_a_short_one_is_an_error_that_does_not_show_it():
    assert secret_from_env({}) is None
    assert secret_from_env({"TRIOPS_SECRET": "  "}) is None
    assert secret_from_env({"TRIOPS_SECRET": SECRET}) == SECRET
    with pytest.raises(SecretError) as raised:
        secret_from_env({"TRIOPS_SECRET": "hunter2-is-short"})
    assert "at least 32" in str(raised.value) and "hunter2" not in str(raised.value)


# -- the route ---------------------------------------------------------------------------------


@pytest.fixture
def client(monkeypatch):
    monkeypatch.setenv("TRIOPS_SECRET", SECRET)
    with TestClient(Starlette(routes=session_cookie.routes())) as test_client:
        yield test_client


def _post(client, body, headers=None):
    return client.post(
        session_cookie.SESSION_PATH,
        json=body,
        headers={HEADER: "1"} if headers is None else headers,
    )


def test_the_route_sets_an_httponly_strict_session_cookie_for_a_valid_voucher(client):
    at = now()
    answer = _post(client, {"voucher": voucher(SECRET, "u-9", at, at)})
    assert answer.status_code == 204
    assert answer.headers["cache-control"] == "no-store"
    header = answer.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
    assert {"httponly", "samesite", "path"} <= attributes
    assert "samesite=strict" in header.lower() and "secure" not in attributes
    assert "max-age" not in attributes and "expires" not in attributes  # a browser session's
    value = header.split(";")[0].split("=", 1)[1]
    claim = read_cookie(SECRET, value, at)
    assert claim is not None and (claim.user_id, claim.signed_in_at) == ("u-9", at)


def test_the_cookie_is_secure_when_the_page_came_over_https(client):
    at = now()
    answer = _post(
        client,
        {"voucher": voucher(SECRET, "u-9", at, at)},
        headers={HEADER: "1", "X-Forwarded-Proto": "https"},
    )
    assert answer.status_code == 204 and "secure" in answer.headers["set-cookie"].lower()


def test_the_route_refuses_bad_vouchers_cookies_cross_site_forms_and_missing_headers(client):
    at = now()
    good = voucher(SECRET, "u-9", at, at)
    refused = [
        _post(client, {"voucher": _flip(good, 4)}),
        _post(client, {"voucher": voucher(OTHER, "u-9", at, at)}),
        _post(client, {"voucher": voucher(SECRET, "u-9", at, at - timedelta(minutes=2))}),
        _post(client, {"voucher": cookie_value(SECRET, "u-9", at)}),  # a cookie is no voucher
        _post(client, {"voucher": 12}),
        _post(client, ["not", "an", "object"]),
    ]
    assert [a.status_code for a in refused] == [400] * len(refused)
    assert all("set-cookie" not in a.headers for a in refused)
    # What a cross-site page can send without a preflight: a form, or no custom header.
    form = client.post(
        session_cookie.SESSION_PATH,
        content=f"voucher={good}",
        headers={HEADER: "1", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 415
    assert _post(client, {"voucher": good}, headers={}).status_code == 403
    assert client.get(session_cookie.SESSION_PATH).status_code == 405


def test_delete_clears_the_cookie(client):
    answer = client.delete(session_cookie.SESSION_PATH, headers={HEADER: "1"})
    assert answer.status_code == 204
    header = answer.headers["set-cookie"].lower()
    assert header.startswith(f"{COOKIE}=") and ("max-age=0" in header or "expires=" in header)


def test_without_a_secret_the_route_is_not_there(monkeypatch):
    monkeypatch.delenv("TRIOPS_SECRET", raising=False)
    with TestClient(Starlette(routes=session_cookie.routes())) as test_client:
        at = now()
        answer = _post(test_client, {"voucher": voucher(SECRET, "u-9", at, at)})
    assert answer.status_code == 404 and "set-cookie" not in answer.headers


@pytest.mark.slow  # starts a replica's interpreter
def test_a_replica_with_a_short_secret_stops_at_start_up_with_one_line(tmp_path):
    env = {
        "TRIOPS_HOME": str(tmp_path / "home"),
        "TRIOPS_SECRET": "too-short-to-sign",
        "TRIOPS_DATABASE_URL": "",
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-m", "streamlit", "run", str(REPLICA), "--server.headless", "true"]
        + ["--server.port", "1", "--browser.gatherUsageStats", "false"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert lines[-1].startswith("error: TRIOPS_SECRET is 17 characters long; use at least 32")
    assert "too-short-to-sign" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


# -- a real browser ----------------------------------------------------------------------------


@pytest.fixture
def replica(pg_url, tmp_path, monkeypatch):
    """deploy/replica.py on a fresh PostgreSQL database with password sign-in and a secret;
    (server, the test's own connection to that database)."""
    monkeypatch.setenv("TRIOPS_DATABASE_URL", pg_url)
    db = open_state(tmp_path / "unused.duckdb")
    accounts.add_user(db, "Ada", PASSWORD, now())
    env = {
        "TRIOPS_HOME": str(tmp_path / "home"),
        "TRIOPS_DATABASE_URL": pg_url,
        "TRIOPS_SIGN_IN": "password",
        "TRIOPS_SECRET": SECRET,
    }
    try:
        with streamlit_server(REPLICA, env=env) as server:
            yield server, db
    finally:
        db.close()


def _signed_in(page, url: str) -> bool:
    """Open `url` in a new session of this page's browser: True when it shows Ada signed in,
    False when it shows the sign-in form."""
    page.goto(url)
    signed = page.get_by_test_id("stSidebar").get_by_text("Signed in as Ada (learner)")
    form = page.get_by_role("heading", name="Sign in to Triops")
    signed.or_(form).first.wait_for()
    return signed.count() > 0


def _session_cookie(context) -> dict | None:
    return next((c for c in context.cookies() if c["name"] == COOKIE), None)


def _press_sign_in(page) -> None:
    """Press the form's Sign in button once the page has settled: while a rerun draws the form
    again (after the page clears a refused cookie), Streamlit shows the old one beside it."""
    button = page.get_by_role("button", name="Sign in")
    for _ in range(100):
        if button.count() == 1:
            break
        page.wait_for_timeout(100)
    button.click()


def _first_sign_in(browser, server):
    """A new browser (context, page) on the sign-in form, signed in as Ada through the form."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(60_000)
    assert not _signed_in(page, f"{server.url}/")
    page.get_by_role("textbox", name="Username").fill("Ada")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    _press_sign_in(page)
    page.get_by_text("Signed in as Ada (learner)").wait_for()
    return context, page


def _wait_for_cookie(page, present: bool) -> None:
    for _ in range(100):
        if (_session_cookie(page.context) is not None) == present:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"the session cookie is {'absent' if present else 'still there'}")


@pytest.mark.browser
def test_a_new_session_signs_in_from_the_cookie_until_the_password_changes_or_sign_out(
    browser, replica
):
    server, db = replica
    context, page = _first_sign_in(browser, server)
    _wait_for_cookie(page, present=True)
    cookie = _session_cookie(context)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["expires"] == -1
    # The page cannot read it, and it is in no address.
    assert COOKIE not in page.evaluate("document.cookie")
    assert cookie["value"] not in page.url

    # A reload is a new Streamlit session: signed in from the cookie, no form.
    assert _signed_in(page, f"{server.url}/progress")
    assert page.get_by_role("textbox", name="Password").count() == 0

    # A tampered cookie, or one signed under another secret, signs nobody in, and is cleared.
    good = cookie["value"]
    for value in (
        _flip(good, 2),
        cookie_value(OTHER, read_cookie(SECRET, good, now()).user_id, now()),
    ):
        context.add_cookies([{**cookie, "value": value}])
        assert not _signed_in(page, f"{server.url}/")
        _wait_for_cookie(page, present=False)
    context.add_cookies([{**cookie, "value": good}])
    assert _signed_in(page, f"{server.url}/")

    # A password reset signs the cookie out: the next session asks again, and clears it.
    accounts.set_password(db, "Ada", PASSWORD + " 2", now())
    assert not _signed_in(page, f"{server.url}/")
    page.get_by_text("Your password was changed: sign in again.").wait_for()
    _wait_for_cookie(page, present=False)
    context.add_cookies([{**cookie, "value": good}])  # kept by someone: refused all the same
    assert not _signed_in(page, f"{server.url}/")

    # Signing in again sets a new cookie; signing out clears it, and the next session asks.
    # The page clears the refused cookie first and reruns when its DELETE is answered; text
    # typed before that rerun is drawn away with the old form (a person types slower), so the
    # form is filled in again if the first press found it empty.
    _wait_for_cookie(page, present=False)
    signed = page.get_by_text("Signed in as Ada (learner)")
    for attempt in range(3):
        page.get_by_role("textbox", name="Username").fill("Ada")
        page.get_by_role("textbox", name="Password").fill(PASSWORD + " 2")
        _press_sign_in(page)
        try:
            signed.wait_for(timeout=20_000)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    for _ in range(100):
        if (_session_cookie(context) or {}).get("value") not in (None, good):
            break
        page.wait_for_timeout(100)
    assert _signed_in(page, f"{server.url}/")
    page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out").click()
    page.get_by_text("Signed out.").wait_for()
    _wait_for_cookie(page, present=False)
    assert not _signed_in(page, f"{server.url}/")
    context.close()


@pytest.mark.browser
def test_without_a_secret_a_sign_in_lasts_as_long_as_its_session(browser, tmp_path, monkeypatch):
    monkeypatch.delenv("TRIOPS_DATABASE_URL", raising=False)
    home = tmp_path / "home"
    db = open_state(home / "state.duckdb")  # seeded before the replica holds the file
    try:
        accounts.add_user(db, "Ada", PASSWORD, now())
        db.execute("CHECKPOINT")
    finally:
        db.close()
    env = {"TRIOPS_HOME": str(home), "TRIOPS_SIGN_IN": "password", "TRIOPS_SECRET": ""}
    with streamlit_server(REPLICA, env=env) as server:
        context, page = _first_sign_in(browser, server)
        page.wait_for_timeout(1000)  # time for a cookie request, were one made
        assert _session_cookie(context) is None
        assert not _signed_in(page, f"{server.url}/")  # a reload asks again, as before
        context.close()
