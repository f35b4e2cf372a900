"""Ask the course: an answer quoted from the lessons, with citations, or an honest I don't know."""

import streamlit as st

from triops.errors import TriopsError
from triops.ui import search_state, search_view

st.title("Ask the course")
st.caption(
    "Answers are sentences quoted from the lessons, each with its source. When the course "
    "does not cover a question, Triops says so instead of guessing."
)
st.text_area("Your question", key="ask_question", max_chars=2_000, height=90)
st.button("Ask", type="primary", key="ask_button", on_click=search_state.keep_question)

build = search_state.index_build()
waiting = "Your question is kept." if search_state.pending_question() is not None else ""
if search_view.progress(build, waiting):
    try:
        shown = search_state.answer_pending(build)
    except TriopsError as exc:
        st.info(exc.user_message)
    else:
        if shown is not None:
            search_view.answer(shown[1], question=shown[0])
