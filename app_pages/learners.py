"""Instructor › Learners: profiles and their exam time accommodations (an instructor on a class
server sees the learners of their own cohorts; an admin and the local user see everyone)."""

import streamlit as st

from triops import profiles
from triops.errors import TriopsError
from triops.quiz import exam as engine
from triops.ui import resources
from triops.ui.exam_view import FACTOR_LABEL
from triops.ui.identity import current, name_in_label, now

st.title("Learners")
identity = current()
if not identity.can_instruct:
    st.error("This page is for instructors.")
    st.stop()

db = resources.state_db()
learners = profiles.visible_profiles(db, identity.scope)
if not learners:
    st.info(
        "No profiles yet."
        if identity.scope is None
        else "No learners in your cohorts yet: add some under Instructor › Cohorts."
    )
    st.stop()


def _set(user_id: str) -> None:
    try:
        profiles.set_accommodation(
            resources.state_db(),
            user_id,
            st.session_state[f"acc-{user_id}"],
            now(),
            current().scope,
        )
    except TriopsError as exc:
        st.session_state["learners_refused"] = exc.user_message


refused = st.session_state.pop("learners_refused", None)
if refused:
    st.error(refused)
st.caption(
    "A time accommodation multiplies the time limit of every exam the learner starts "
    "from now on; it is recorded on each attempt. Attempts already started keep theirs."
)
for user in learners:
    left, right = st.columns([2, 1])
    left.text(user.name)  # learner-supplied: shown as text
    factor = engine.accommodation(db, user.id)
    right.selectbox(
        f"Time accommodation for {name_in_label(user.name)}",  # each select names its learner
        list(engine.ACCOMMODATIONS),
        format_func=FACTOR_LABEL.get,
        index=list(engine.ACCOMMODATIONS).index(factor),
        key=f"acc-{user.id}",
        label_visibility="collapsed",
        on_change=_set,
        args=(user.id,),
    )
