"""Search: find the lesson section, question or lab for a half-remembered idea."""

import streamlit as st

from triops.errors import TriopsError
from triops.ui import search_view
from triops.ui.search_state import index_build

st.title("Search")
TRACKS = {"triad": "The Ops triad", "devops": "DevOps", "mlops": "MLOps", "llmops": "LLMOps"}
KINDS = {"lesson": "Lessons", "question": "Questions", "lab": "Labs"}

query = st.text_input(
    "Search the course",
    key="search_query",
    max_chars=10_000,
    placeholder="e.g. my model got worse when the data changed",
)
left, right = st.columns(2)
track = left.selectbox(
    "Track",
    list(TRACKS),
    format_func=TRACKS.get,
    index=None,
    placeholder="All tracks",
    key="search_track",
)
kinds = right.multiselect(
    "Show", list(KINDS), default=list(KINDS), format_func=KINDS.get, key="search_kinds"
)

build = index_build()
ready = search_view.progress(build, "Your search is kept." if query.strip() else "")
if ready and query.strip():
    try:
        hits = build.index.search(query, build.embedder, k=10, track=track, kinds=kinds or None)
    except TriopsError as exc:
        st.info(exc.user_message)
    else:
        search_view.results(hits, query)
elif ready:
    st.caption("Type a few words or a question; results link to the exact lesson section.")
