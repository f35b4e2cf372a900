"""Sign-in on a class server: TRIOPS_SIGN_IN=password (the form, who the session is, sign-out)
and TRIOPS_SIGN_IN=oidc (Streamlit's st.login with the provider in .streamlit/secrets.toml).

A session is signed in for as long as its browser tab keeps it (a refresh starts a new session
and asks again), and no longer than the password it signed in with: a changed or reset password
signs every older session out on its next rerun. The user is read from the database on every
rerun, so a role change applies at once."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from triops import accounts
from triops.errors import TriopsError
from triops.store import users
from triops.ui import resources
from triops.ui.identity import Identity, now

_SESSION = "triops_signed_in"  # (user id, when it signed in)
_NOTICE = "triops_sign_in_notice"
_ERROR = "triops_sign_in_error"
_IDENTITY = "triops_identity"  # where triops.ui.identity.current() reads it


def _set_identity(identity: Identity) -> Identity:
    st.session_state[_IDENTITY] = identity
    return identity


def session_identity(db) -> Identity:
    """Who this session is signed in as (user None before sign-in); draws nothing."""
    held: tuple[str, datetime] | None = st.session_state.get(_SESSION)
    user = None
    if held is not None:
        user_id, signed_in_at = held
        if accounts.still_valid(db, user_id, signed_in_at):
            user = users.get_user(db, user_id)
        else:
            st.session_state.pop(_SESSION, None)
            st.session_state[_NOTICE] = "Your password was changed: sign in again."
    return _set_identity(Identity(user=user, mode="shared"))


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
        st.session_state[_SESSION] = (user.id, now())


def sign_in_form(db) -> None:
    """The sign-in page: username and password; a success reruns the app signed in."""
    st.title("Sign in to Triops")
    notice = st.session_state.pop(_NOTICE, None)
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
    """Forget everything this session held, and its address's parameters."""
    st.session_state.clear()
    st.query_params.clear()
    st.session_state[_NOTICE] = "Signed out."


def sidebar_account(identity: Identity) -> None:
    """Who is signed in (as plain text) and the sign-out button."""
    if identity.user is None:
        return
    with st.sidebar:
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
