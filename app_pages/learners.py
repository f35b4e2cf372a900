"""Instructor › Learners: profiles and their exam time accommodations."""

import streamlit as st

from triops import profiles
from triops.quiz import exam as engine
from triops.ui import resources
from triops.ui.exam_view import FACTOR_LABEL
from triops.ui.identity import current, name_in_label, now

st.title("Learners")
if not current().can_instruct:
    st.error("This page is for instructors.")
    st.stop()

db = resources.state_db()
learners = profiles.all_profiles(db)
if not learners:
    st.info("No profiles yet.")
    st.stop()

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
        on_change=lambda uid=user.id: engine.set_accommodation(
            resources.state_db(), uid, st.session_state[f"acc-{uid}"], now()
        ),
    )
