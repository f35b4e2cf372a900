"""Exams: timed mock exams; the attempt lives on the server and in the URL (?attempt=)."""

import streamlit as st

from triops.quiz import exam as engine
from triops.ui import cohorts_view, exam_view, question_view, resources
from triops.ui.identity import current, now

st.title("Exams")
question_view.readable_captions()
identity = current()
if identity.user is None:
    st.info("Create a profile in the sidebar to take an exam: attempts are kept per profile.")
    st.stop()

token = st.query_params.get("attempt")
if not token:
    exams = resources.exams()
    if not exams.exams:
        st.warning("No exam can be built from the current bank; see Instructor › Content health.")
        st.stop()
    cohorts_view.my_assignments(identity)
    exam_view.exam_list(exams, identity)
    st.stop()

view = engine.load(resources.state_db(), token, identity.user_id, now(), exam_view.known(token))
st.button(
    "All exams",
    icon=":material/arrow_back:",
    key="exam-all",
    on_click=lambda: (st.query_params.pop("attempt", None), st.query_params.pop("q", None)),
)
if view.state in engine.OPEN_STATES:
    exam_view.take(view, identity)
else:
    exam_view.results(view, identity)
