"""Who is using the app. Local mode: profiles picked or created in the sidebar, kept in the URL
(`?profile=`) and as the last used one. Shared (logged-in) mode will set the same Identity."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import streamlit as st

from triops.errors import TriopsError
from triops.store import users
from triops.store.users import User

LAST_PROFILE = "last_profile"
_KEY = "triops_profile_id"

# Within one line of a widget label, only these characters start markdown (emphasis, code,
# links, images, HTML, maths, :icon: and :color[...] directives); "-", "." or "(" do not.
_LABEL_MARKUP = re.compile(r"([\\`*_{}\[\]<>~$:!|])")


def name_in_label(name: str) -> str:
    """A profile name inside a widget label: shown and read out as typed, never as markup.

    A widget's accessible name is its raw label, so only what would start markup is escaped
    (a backslash a screen reader reads is better than an image fetched from a name)."""
    return _LABEL_MARKUP.sub(r"\\\1", name)


@dataclass(frozen=True)
class Identity:
    """The current user (None before a profile exists), the mode, and what the user may do."""

    user: User | None
    mode: Literal["local", "shared"] = "local"

    @property
    def user_id(self) -> str | None:
        return self.user.id if self.user else None

    @property
    def can_instruct(self) -> bool:
        # On one person's laptop the local user is also the instructor.
        if self.mode == "local":
            return True
        return self.user is not None and self.user.role in ("instructor", "admin")

    @property
    def is_admin(self) -> bool:
        return self.mode == "local" or (self.user is not None and self.user.role == "admin")

    @property
    def scope(self) -> str | None:
        """Whose learners an instructor page may show: None for everyone's (the local user,
        an admin), else the cohorts this user created (their user id; '' matches none)."""
        if self.is_admin:
            return None
        return self.user_id or ""


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _select(db, user_id: str) -> None:
    st.session_state[_KEY] = user_id
    users.set_state(db, LAST_PROFILE, user_id)
    st.query_params["profile"] = user_id


def _resolve(db, known: dict[str, User]) -> str | None:
    # The last used profile is read from the database only when neither this session nor the
    # address names a known one (a first visit): not on every run.
    for candidate in (st.session_state.get(_KEY), st.query_params.get("profile")):
        if candidate in known:
            return candidate
    last = users.get_state(db, LAST_PROFILE)
    if last in known:
        return last
    return next(iter(known), None)


def sidebar_identity(db) -> Identity:
    """Draw the profile picker in the sidebar and return who is using the app."""
    known = {u.id: u for u in users.list_users(db)}
    current = _resolve(db, known)
    if current is not None:
        if st.session_state.get(_KEY) != current:
            _select(db, current)
        elif st.query_params.get("profile") != current:
            st.query_params["profile"] = current

    with st.sidebar:
        if known:
            ids = list(known)
            # The picker's value is set through its state, never through `index`: a browser
            # keeps showing the option it holds unless the server sends a new value, which it
            # does only for a state set here (a profile just created, or picked elsewhere).
            if st.session_state.get("profile_picker") != current:
                st.session_state["profile_picker"] = current
            st.selectbox(
                "Profile",
                ids,
                format_func=lambda uid: known[uid].name,
                key="profile_picker",
                on_change=lambda: _select(db, st.session_state["profile_picker"]),
            )
        else:
            st.caption("Create a profile to keep your progress.")
        with st.expander("New profile", expanded=not known):
            with st.form("new_profile", clear_on_submit=True, border=False):
                name = st.text_input("Name", key="new_profile_name", max_chars=users.MAX_NAME)
                if st.form_submit_button("Create profile"):
                    try:
                        user = users.create_user(db, name, now())
                    except TriopsError as exc:
                        st.error(exc.user_message)
                    else:
                        _select(db, user.id)
                        st.rerun()  # the picker, drawn above, shows the new profile then
    user = known.get(st.session_state.get(_KEY, "")) if known else None
    identity = Identity(user=user)
    st.session_state["triops_identity"] = identity
    return identity


def current() -> Identity:
    """The identity app.py resolved for this script run."""
    return st.session_state.get("triops_identity", Identity(user=None))
