"""Sign-in on a class server: TRIOPS_SIGN_IN=password (the form, who the session is, sign-out)
and TRIOPS_SIGN_IN=oidc (Streamlit's st.login with the provider in .streamlit/secrets.toml).

Without TRIOPS_SECRET, a session is signed in for as long as its browser tab keeps it (a
refresh starts a new session and asks again). With TRIOPS_SECRET (the same on every replica), a
password sign-in also leaves a signed, HttpOnly cookie (triops.ui.session_cookie) that a new
session reads from its websocket handshake: a refresh, or a reconnect to another replica after
its own died, is still signed in, until the cookie expires, the browser closes or the user signs
out. Either way no sign-in outlives the password it was made with: a changed or reset password
(or a removed account) signs every older session and cookie out on its next rerun. The user is
read from the database on every rerun, so a role change applies at once."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime

import streamlit as st

from triops import accounts
from triops.errors import TriopsError
from triops.store import users
from triops.ui import resources, session_cookie
from triops.ui.identity import Identity, now

_SESSION = "triops_signed_in"  # (user id, when it signed in)
_NOTICE = "triops_sign_in_notice"
_ERROR = "triops_sign_in_error"
_IDENTITY = "triops_identity"  # where triops.ui.identity.current() reads it
# The signed session cookie (only with TRIOPS_SECRET): whether this session has looked at the
# cookie its websocket came with (once; never again after a sign-out), the voucher the page is
# to POST for its cookie, and the sign-out whose cookie the page is to clear.
_COOKIE_READ = "triops_session_cookie_read"
_VOUCHER = "triops_session_voucher"
_CLEAR = "triops_session_clear"

log = logging.getLogger("triops.signin")


def _set_identity(identity: Identity) -> Identity:
    st.session_state[_IDENTITY] = identity
    return identity


def _secret() -> str | None:
    """TRIOPS_SECRET, or None: not set, or too short (a replica refuses to start with one;
    `make run` says so in its log and signs in as without it)."""
    try:
        return session_cookie.secret_from_env()
    except session_cookie.SecretError as exc:
        if not _warned:
            _warned.append(True)
            log.warning("session cookies off: %s", exc)
        return None


_warned: list[bool] = []  # the short secret's warning, once a process


def _from_cookie(secret: str) -> tuple[str, datetime] | None:
    """The sign-in this session's websocket handshake carried in its cookie, once a session."""
    if st.session_state.get(_COOKIE_READ):
        return None
    st.session_state[_COOKIE_READ] = True
    try:
        value = st.context.cookies.get(session_cookie.COOKIE)
    except (AttributeError, RuntimeError):  # no client (AppTest hands none)
        value = None
    if not isinstance(value, str) or not value:
        return None
    claim = session_cookie.read_cookie(secret, value, now())
    if claim is None:  # tampered, expired, or signed under another secret
        st.session_state[_CLEAR] = secrets.token_hex(8)
        return None
    return claim.user_id, claim.signed_in_at


def session_identity(db) -> Identity:
    """Who this session is signed in as (user None before sign-in); draws nothing."""
    held: tuple[str, datetime] | None = st.session_state.get(_SESSION)
    secret = _secret()
    if held is None and secret is not None:
        held = _from_cookie(secret)
        if held is not None:
            st.session_state[_SESSION] = held
    user = None
    if held is not None:
        user_id, signed_in_at = held
        if accounts.still_valid(db, user_id, signed_in_at):
            user = users.get_user(db, user_id)
        else:
            st.session_state.pop(_SESSION, None)
            st.session_state.pop(_VOUCHER, None)
            st.session_state[_NOTICE] = "Your password was changed: sign in again."
            if secret is not None:
                st.session_state[_CLEAR] = secrets.token_hex(8)
    return _set_identity(Identity(user=user, mode="shared"))


# The page's part of the cookie: a POST of the voucher, or a DELETE, to the replica's route
# (session_cookie.SESSION_PATH), which sets or clears the HttpOnly cookie in its answer; the
# outcome comes back as a trigger, so the session stops asking. Each voucher or sign-out is
# sent once per page, however often the component is drawn again.
_COOKIE_JS = """
export default function ({ data, setTriggerValue }) {
  if (!data || !data.method) return;
  const sent = (window.__triopsSessionSent = window.__triopsSessionSent || new Set());
  if (sent.has(data.once)) return;
  sent.add(data.once);
  const init = {
    method: data.method,
    credentials: "same-origin",
    cache: "no-store",
    headers: { [data.header]: "1", "Content-Type": "application/json" },
  };
  if (data.voucher) init.body = JSON.stringify({ voucher: data.voucher });
  fetch(data.path, init)
    .then((answer) => setTriggerValue("done", data.once + (answer.ok ? ":ok" : ":refused")))
    .catch(() => setTriggerValue("done", data.once + ":failed"));
}
"""
_cookie_component = st.components.v2.component(
    "triops_session_cookie", js=_COOKIE_JS, isolate_styles=False
)


def _cookie_request(method: str, once: str, voucher: str | None = None) -> str | None:
    """Mount the component for one request; the trigger's value ('<once>:ok', ...) in the run
    it started, else None."""
    data = {
        "method": method,
        "once": once,
        "path": session_cookie.route_path(),
        "header": session_cookie.HEADER,
    }
    if voucher is not None:
        data["voucher"] = voucher
    result = _cookie_component(
        key=f"triops-session-cookie-{method.lower()}",
        data=data,
        height=0,
        on_done_change=lambda: None,
    )
    done = getattr(result, "done", None)
    return done if isinstance(done, str) and done.startswith(once + ":") else None


def _store_cookie() -> None:
    """After a password sign-in, have the page store its cookie (until the route answers, or
    the voucher expires: a replica without the route answers 404, and nothing is kept)."""
    voucher = st.session_state.get(_VOUCHER)
    if voucher is None:
        return
    secret = _secret()
    if secret is None or session_cookie.read_voucher(secret, voucher, now()) is None:
        st.session_state.pop(_VOUCHER, None)
        return
    if _cookie_request("POST", voucher[-16:], voucher) is not None:
        st.session_state.pop(_VOUCHER, None)


def _clear_cookie() -> None:
    """After a sign-out, or a cookie refused, have the page clear the cookie."""
    once = st.session_state.get(_CLEAR)
    if once is not None and _cookie_request("DELETE", once) is not None:
        st.session_state.pop(_CLEAR, None)


def _submit() -> None:
    # A callback, so it runs before the script: the typed password leaves the session state
    # before anything is drawn, and a success draws the page at once.
    name = st.session_state.get("sign_in_name", "")
    password = st.session_state.get("sign_in_password", "")
    st.session_state["sign_in_password"] = ""
    try:
        # The browser's address as the server sees it (behind a proxy on this machine, the one
        # in its X-Forwarded-For header): failures are also counted per address.
        address = st.context.ip_address
        address = address if isinstance(address, str) else None  # AppTest hands a stand-in
        user = accounts.sign_in(resources.state_db(), name, password, now(), address=address)
    except TriopsError as exc:
        st.session_state[_ERROR] = exc.user_message  # no message repeats the typed name
    else:
        at = now()
        st.session_state[_SESSION] = (user.id, at)
        secret = _secret()
        if secret is not None:
            st.session_state[_VOUCHER] = session_cookie.voucher(secret, user.id, at, at)
            st.session_state.pop(_CLEAR, None)  # the new cookie replaces any old one


def sign_in_form(db) -> None:
    """The sign-in page: username and password; a success reruns the app signed in."""
    st.title("Sign in to Triops")
    _clear_cookie()
    # The page's DELETE of a refused cookie answers with a rerun: the notice stays for that run
    # too, or it would flash and vanish before anyone read it.
    pending = st.session_state.get(_CLEAR) is not None
    notice = st.session_state.get(_NOTICE) if pending else st.session_state.pop(_NOTICE, None)
    if notice:
        st.info(notice)
    with st.form("sign_in"):
        st.text_input(
            "Username", key="sign_in_name", max_chars=users.MAX_NAME, autocomplete="username"
        )
        st.text_input(
            "Password",
            type="password",
            key="sign_in_password",
            max_chars=accounts.MAX_PASSWORD,
            autocomplete="current-password",
        )
        st.form_submit_button("Sign in", type="primary", on_click=_submit)
    error = st.session_state.pop(_ERROR, None)
    if error:
        st.error(error)
    if not any(a.has_password for a in accounts.list_accounts(db)):
        st.caption(
            "No account has a password yet. With the app stopped, make the first admin with "
            "`triops users add NAME --admin`, then start the app again."
        )
    else:
        st.caption("Forgot your password? An admin sets a new one with `triops users passwd`.")


def sign_out() -> None:
    """Forget everything this session held, and its address's parameters; with session
    cookies, the page clears the cookie, and this session never reads it again."""
    st.session_state.clear()
    st.query_params.clear()
    st.session_state[_NOTICE] = "Signed out."
    st.session_state[_COOKIE_READ] = True
    if _secret() is not None:
        st.session_state[_CLEAR] = secrets.token_hex(8)


def sidebar_account(identity: Identity) -> None:
    """Who is signed in (as plain text) and the sign-out button."""
    if identity.user is None:
        return
    with st.sidebar:
        _store_cookie()
        st.text(f"Signed in as {identity.user.name} ({identity.user.role})")
        if st.button("Sign out", key="sign_out", icon=":material/logout:"):
            sign_out()
            st.rerun()


# OpenID Connect (TRIOPS_SIGN_IN=oidc). Streamlit keeps who signed in, in its signed identity
# cookie, and hands the ID token's claims to st.user; the account and its role are Triops's.
_OIDC_SESSION = "triops_oidc_user"  # (issuer, subject, user id) found at this session's start
OIDC_KEYS = ("redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url")


def oidc_missing_keys() -> list[str]:
    """The keys of secrets.toml's [auth] section st.login needs and cannot find (names only:
    no value is ever shown)."""
    try:
        section = st.secrets.get("auth") or {}
    except FileNotFoundError:
        section = {}
    return [key for key in OIDC_KEYS if not section.get(key)]


def oidc_identity(db) -> Identity:
    """Who this session is, from st.user: the account found or made at the session's first
    rerun after sign-in, read again from the database on every rerun (a role set in Admin ›
    Accounts applies at once, unless the role claim sets it at the next sign-in)."""
    if not st.user.get("is_logged_in"):  # the key is absent, not False, in some sessions
        st.session_state.pop(_OIDC_SESSION, None)
        return _set_identity(Identity(user=None, mode="shared"))
    claims = st.user.to_dict()
    issuer, subject = str(claims.get("iss") or ""), str(claims.get("sub") or "")
    held = st.session_state.get(_OIDC_SESSION)
    if held is None or held[:2] != (issuer, subject):
        role_claim = resources.settings().oidc_role_claim
        user = accounts.oidc_sign_in(db, claims, now(), role_claim=role_claim)
        held = (issuer, subject, user.id)
        st.session_state[_OIDC_SESSION] = held
    user = users.get_user(db, held[2])
    if user is None:  # the account was removed while signed in
        st.session_state.pop(_OIDC_SESSION, None)
    return _set_identity(Identity(user=user, mode="shared"))


def oidc_sign_in_page() -> None:
    """The sign-in page: one button that leaves for the identity provider (st.login)."""
    st.title("Sign in to Triops")
    missing = oidc_missing_keys()
    if missing:
        st.error(
            "Sign-in is not set up: .streamlit/secrets.toml's [auth] section lacks "
            + ", ".join(missing)
            + ". An admin adds them (README, Run it for a class) and restarts the app."
        )
        return
    st.caption("You sign in with your organisation's account; Triops keeps no password.")
    if st.button("Sign in", type="primary", icon=":material/login:"):
        st.login()


def oidc_sidebar_account(identity: Identity) -> None:
    """Who is signed in (email, else name, as plain text) and the sign-out button (st.logout)."""
    if identity.user is None:
        return
    shown = st.user.get("email") or st.user.get("name") or identity.user.name
    with st.sidebar:
        st.text(f"Signed in as {shown} ({identity.user.role})")
        if st.button("Sign out", key="sign_out", icon=":material/logout:"):
            st.session_state.clear()
            st.logout()
