"""A real chromium against a real server with TRIOPS_SIGN_IN=oidc and a real OpenID provider
(oidc-provider-mock on a loopback port): Streamlit's st.login sends the browser to the
provider, the test authorizes a subject with chosen claims, and the app maps it to an account
whose role comes from the role claim or, without one, from the accounts table."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

import httpx
import pytest

from conftest import REPO
from triops import accounts
from triops.store import users
from triops.store.connection import open_state
from triops.testing import free_port, streamlit_server

pytestmark = pytest.mark.browser

ROLE_CLAIM = "triops_role"


@pytest.fixture(scope="module")
def provider():
    from oidc_provider_mock import run_server_in_thread

    with run_server_in_thread() as server:
        yield f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    conn = open_state(home / "state.duckdb")  # seeded before the app holds the file
    try:
        # An instructor made with a password and an email: the provider's user with that email
        # signs in to this account, and keeps its role (the token names none).
        accounts.add_user(
            conn,
            "Ada",
            "correct horse battery staple",
            datetime(2026, 12, 6, 9, 0),
            role="instructor",
            email="ada@example.org",
        )
        conn.execute("CHECKPOINT")
    finally:
        conn.close()
    return home


@pytest.fixture
def server(tmp_path, home, provider):
    port = free_port()
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        'cookie_secret = "a-long-random-string-only-this-test-server-knows-5f1c"\n'
        'client_id = "triops"\n'
        'client_secret = "triops-test-secret"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    env = {
        "TRIOPS_HOME": str(home),
        "TRIOPS_SIGN_IN": "oidc",
        "TRIOPS_OIDC_ROLE_CLAIM": ROLE_CLAIM,
        "STREAMLIT_SECRETS_FILES": str(secrets),
    }
    with streamlit_server(REPO / "app.py", env=env, port=port) as srv:
        yield srv


def provider_user(provider: str, sub: str, claims: dict) -> None:
    response = httpx.put(f"{provider}/users/{quote(sub)}", json=claims)
    assert response.status_code == 204


def sign_in(browser, server, sub: str, path: str = ""):
    """A new browser (no cookies) that signs in as `sub` at the provider, then opens `path`."""
    page = browser.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{server.url}/{path}")
    page.get_by_role("heading", name="Sign in to Triops").wait_for()
    page.get_by_role("button", name="Sign in").click()
    page.get_by_placeholder("sub").fill(sub)  # the provider's authorization form
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{server.url}/**")
    page.get_by_test_id("stSidebar").get_by_text("Signed in as").wait_for()
    if path:
        page.goto(f"{server.url}/{path}")
    return page


def test_a_learner_claim_is_refused_an_instructor_page_and_signs_out(browser, server, provider):
    provider_user(
        provider,
        "bob-7",
        {"email": "bob@example.org", "name": "Bob", ROLE_CLAIM: "learner"},
    )
    page = sign_in(browser, server, "bob-7", "learners")
    page.get_by_text("Not allowed: this page is for instructors").wait_for()
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("Signed in as bob@example.org (learner)").wait_for()
    nav = page.get_by_test_id("stSidebarNav")
    nav.get_by_role("link", name="Progress", exact=True).wait_for()
    assert nav.get_by_role("link", name="Learners", exact=True).count() == 0
    # Streamlit's identity cookie is HttpOnly: no script on the page can read it.
    cookies = {c["name"]: c for c in page.context.cookies() if c["name"].startswith("_streamlit")}
    assert any(name.startswith("_streamlit_user") for name in cookies)
    assert all(c["httpOnly"] for n, c in cookies.items() if n.startswith("_streamlit_user"))
    sidebar.get_by_role("button", name="Sign out").click()
    # st.logout sends the browser to the provider's end_session endpoint (OpenID Connect
    # RP-Initiated Logout 1.0, 2022), whose form returns it to the app, signed out.
    page.wait_for_url(f"{provider}/oauth2/end_session**")
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(f"{server.url}/**")
    page.get_by_role("heading", name="Sign in to Triops").wait_for()
    page.goto(f"{server.url}/learners")
    page.get_by_role("heading", name="Sign in to Triops").wait_for()
    assert page.get_by_text("Not allowed").count() == 0
    page.close()


def test_an_instructor_claim_opens_the_instructor_pages(browser, server, provider):
    provider_user(
        provider,
        "grace-1",
        {"email": "grace@example.org", "name": "Grace", ROLE_CLAIM: ["staff", "instructor"]},
    )
    page = sign_in(browser, server, "grace-1", "learners")
    page.get_by_role("heading", name="Learners").wait_for()
    assert page.get_by_text("Not allowed").count() == 0
    page.get_by_test_id("stSidebar").get_by_text(
        "Signed in as grace@example.org (instructor)"
    ).wait_for()
    nav = page.get_by_test_id("stSidebarNav")
    nav.get_by_role("link", name="Content health", exact=True).wait_for()
    assert nav.get_by_role("link", name="Accounts", exact=True).count() == 0
    page.close()


def test_without_a_role_claim_the_account_matched_by_email_keeps_its_role(
    browser, server, provider, home
):
    provider_user(provider, "ada-lovelace", {"email": "ada@example.org", "name": "Ada"})
    page = sign_in(browser, server, "ada-lovelace", "learners")
    page.get_by_role("heading", name="Learners").wait_for()
    page.get_by_test_id("stSidebar").get_by_text(
        "Signed in as ada@example.org (instructor)"
    ).wait_for()
    page.close()
    server.process.terminate()
    server.process.wait(timeout=10)
    conn = open_state(home / "state.duckdb")
    try:
        # Ada's password account was used: no second account was made for the subject.
        assert [u.name for u in users.list_users(conn)] == ["Ada"]
    finally:
        conn.close()


def test_the_provider_secrets_stay_out_of_the_server_log_and_the_pages(browser, server, provider):
    """Item 5: secrets never appear in logs or pages: after a sign-in through the provider and
    a page of the app, neither the client secret nor the cookie secret of secrets.toml is in the
    server's output or in the page's HTML."""
    provider_user(
        provider, "cy-3", {"email": "cy@example.org", "name": "Cy", ROLE_CLAIM: "learner"}
    )
    page = sign_in(browser, server, "cy-3", "progress")
    page.get_by_role("heading", name="Progress").first.wait_for()
    page.wait_for_timeout(500)
    html = page.content()
    page.close()
    log = server.log.read_text(encoding="utf-8", errors="replace")
    assert "URL:" in log  # the server's output was captured (its start-up lines)
    for secret in ("triops-test-secret", "a-long-random-string-only-this-test-server-knows-5f1c"):
        assert secret not in log, f"{secret!r} in the server's output"
        assert secret not in html, f"{secret!r} in the page"
