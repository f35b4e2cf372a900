"""Ask the course: an answer quoted from the lessons, with citations, or an honest I don't know."""

import streamlit as st

from triops.errors import TriopsError
from triops.ui import search_view
from triops.ui.search_state import index_build

st.title("Ask the course")
st.caption(
    "Answers are sentences quoted from the lessons, each with its source. When the course "
    "does not cover a question, Triops says so instead of guessing."
)
question = st.text_area("Your question", key="ask_question", max_chars=2_000, height=90)
asked = st.button("Ask", type="primary", key="ask_button")

build = index_build()
ready = search_view.progress(build)
if ready and asked:
    from triops.search.ask import ask

    try:
        answer = ask(question, build.index, build.embedder)
    except TriopsError as exc:
        st.info(exc.user_message)
    else:
        search_view.answer(answer)
