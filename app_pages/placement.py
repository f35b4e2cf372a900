"""Placement: an adaptive test per track that pins down your ability in a few questions."""

import streamlit as st

from triops.quiz import placement
from triops.ui import placement_view, readiness_view, resources
from triops.ui.identity import current, now

st.title("Placement test")
identity = current()
if identity.user is None:
    st.info("Create a profile in the sidebar to take a placement test: its result is kept.")
    st.stop()

db = resources.state_db()
bank = resources.bank()
track = st.selectbox(
    "Track",
    list(placement_view.TRACKS),
    format_func=placement_view.TRACKS.get,
    key="placement_track",
)
pool = placement.pool(bank, readiness_view.model(db), track)
session = placement.open_session(db, identity.user_id, track)

if session is None:
    finished = [p for p in placement.history(db, identity.user_id, track) if p.state == "finished"]
    if finished:
        st.subheader("Your latest placement")
        placement_view.result(db, finished[0], pool)
    placement_view.intro(pool)
    label = "Take it again" if finished else "Start the placement test"
    if st.button(label, type="primary", disabled=not pool.candidates, key="placement_start"):
        placement.start(db, identity.user_id, pool, now())
        st.rerun()
    placement_view.history(db, identity, track)
    st.stop()

progress, _ = placement.state(db, session, pool)
if progress.done:
    # The pool changed under an open session (questions removed): close it with what it has.
    placement.finish(db, session, progress, now())
    st.rerun()
placement_view.ask(db, session, pool, bank.vocabulary)
