"""Admin › Accounts on a class server: the users, adding one, roles, password resets, the audit
log. The same operations as `triops users` and `triops audit export`, for when the app runs (it
holds the database file, so the commands need it stopped)."""

from __future__ import annotations

import streamlit as st

from triops import accounts
from triops.errors import InvalidInputError, TriopsError
from triops.store import users
from triops.ui import resources
from triops.ui.identity import current, now
from triops.ui.text import plain

_MESSAGE = "accounts_message"  # (kind, text) left by a form's callback for the next draw
AUDIT_SHOWN = 200


def _actor() -> accounts.Actor:
    """The signed-in admin, checked again in the database (a role may have changed since)."""
    user = current().user
    fresh = users.get_user(resources.state_db(), user.id) if user else None
    if fresh is None or fresh.role != "admin":
        raise InvalidInputError("Not allowed: only an admin manages accounts.")
    return accounts.Actor.of(fresh)


def _run(action, done: str, *clear: str) -> None:
    """A form's callback: do it, keep the outcome to show, forget typed passwords."""
    try:
        action(_actor())
    except TriopsError as exc:
        st.session_state[_MESSAGE] = ("error", exc.user_message)
    else:
        st.session_state[_MESSAGE] = ("success", done)
    for key in clear:
        st.session_state[key] = ""


def message() -> None:
    """The outcome of the last form, shown once; names inside stay text."""
    kind, text = st.session_state.pop(_MESSAGE, (None, None))
    if kind == "error":
        st.error(plain(text))
    elif kind == "success":
        st.success(plain(text))


def accounts_table() -> list[accounts.Account]:
    rows = accounts.list_accounts(resources.state_db())
    st.dataframe(
        [
            {
                "User": a.name,
                "Role": a.role,
                "Email": a.email or "",
                "Password": "set" if a.has_password else "none (local profile)",
                "Since": a.created_at,
            }
            for a in rows
        ],
        hide_index=True,
        width="stretch",
    )
    return rows


def _same_twice(first: str, second: str) -> str:
    if first != second:
        raise InvalidInputError("The two passwords differ: type the same one twice.")
    return first


def add_user_form() -> None:
    def add() -> None:
        s = st.session_state
        name = s.get("acc_new_name", "")
        _run(
            lambda actor: accounts.add_user(
                resources.state_db(),
                name,
                _same_twice(s.get("acc_new_pw", ""), s.get("acc_new_pw2", "")),
                now(),
                role=s.get("acc_new_role", "learner"),
                email=s.get("acc_new_email", "").strip() or None,
                actor=actor,
            ),
            f"Added {' '.join(name.split())}.",
            "acc_new_pw",
            "acc_new_pw2",
        )

    with st.form("acc_add", border=True):
        st.markdown("**Add a user**")
        st.text_input("Username", key="acc_new_name", max_chars=users.MAX_NAME)
        st.text_input("Email (optional)", key="acc_new_email", max_chars=accounts.MAX_EMAIL)
        st.selectbox("Role", accounts.ROLES, key="acc_new_role")
        _password_pair("acc_new_pw")
        st.form_submit_button("Add user", on_click=add)


def _password_pair(key: str) -> None:
    st.text_input(
        f"Password ({accounts.MIN_PASSWORD} characters or more)",
        type="password",
        key=key,
        max_chars=accounts.MAX_PASSWORD,
        autocomplete="new-password",
    )
    st.text_input(
        "The same password again",
        type="password",
        key=f"{key}2",
        max_chars=accounts.MAX_PASSWORD,
        autocomplete="new-password",
    )


def role_form(rows: list[accounts.Account]) -> None:
    names = {a.id: a.name for a in rows}

    def change() -> None:
        s = st.session_state
        name = names.get(s.get("acc_role_user"), "")
        role = s.get("acc_role_role", "learner")
        _run(
            lambda actor: accounts.set_role(resources.state_db(), name, role, now(), actor=actor),
            f"{name} is now {role}.",
        )

    with st.form("acc_role", border=True):
        st.markdown("**Change a role**")
        st.selectbox("User", list(names), format_func=names.get, key="acc_role_user")
        st.selectbox("New role", accounts.ROLES, key="acc_role_role")
        st.form_submit_button("Change role", on_click=change)


def reset_form(rows: list[accounts.Account]) -> None:
    names = {a.id: a.name for a in rows}

    def reset() -> None:
        s = st.session_state
        name = names.get(s.get("acc_reset_user"), "")
        _run(
            lambda actor: accounts.set_password(
                resources.state_db(),
                name,
                _same_twice(s.get("acc_reset_pw", ""), s.get("acc_reset_pw2", "")),
                now(),
                actor=actor,
            ),
            f"New password set for {name}; their sessions are signed out and any lock lifted.",
            "acc_reset_pw",
            "acc_reset_pw2",
        )

    with st.form("acc_reset", border=True):
        st.markdown("**Reset a password**")
        st.selectbox("User", list(names), format_func=names.get, key="acc_reset_user")
        _password_pair("acc_reset_pw")
        st.form_submit_button("Set password", on_click=reset)


def audit_section() -> None:
    rows = accounts.audit_rows(resources.state_db())
    st.subheader("Audit log")
    st.caption(
        f"Role changes, password changes and resets, failed sign-ins and lockouts; the newest "
        f"{AUDIT_SHOWN} here, all of them in the CSV (also `triops audit export`)."
    )
    if not rows:
        st.info("Nothing recorded yet.")
        return
    st.dataframe(
        [dict(zip(accounts.AUDIT_COLUMNS, r, strict=True)) for r in reversed(rows[-AUDIT_SHOWN:])],
        hide_index=True,
        width="stretch",
    )
    st.download_button(
        "Download the audit log (CSV)",
        accounts.audit_csv(resources.state_db()),
        file_name="triops-audit.csv",
        mime="text/csv",
        key="acc_audit_csv",
    )
