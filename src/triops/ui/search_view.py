"""Drawing search results and answers. Snippets come from the course's own files; the query is
never rendered as markup."""

from __future__ import annotations

import streamlit as st

from triops.ui.text import plain

KIND_ICON = {
    "lesson": ":material/menu_book:",
    "question": ":material/quiz:",
    "lab": ":material/science:",
}


def progress(build) -> bool:
    """Show the index's state; True when search can run. While the model loads or the index
    builds, the state redraws itself every second and the page reruns once it is ready."""
    if build.state == "ready" and build.index is not None:
        if build.busy:
            st.caption("Updating the index for your latest edits…")
        return True
    st.fragment(run_every=None if build.state == "failed" else 1.0)(_waiting)(build)
    return False


def _waiting(build) -> None:
    if build.state == "ready" and build.index is not None:
        st.rerun(scope="app")
    if build.state == "failed":
        st.error("The search index could not be built: " + build.error.splitlines()[0])
        return
    if build.state == "loading-model" or build.total == 0:
        st.info("Loading the language model for search (a few seconds, once per server)…")
    else:
        st.info(f"Building the search index: {build.done} of {build.total} passages…")
        st.progress(build.done / build.total if build.total else 0.0)


def results(hits, query: str) -> None:
    note = getattr(hits, "note", "")
    if note:
        st.caption(note)
    if not hits:
        st.info(f"Nothing in the course matches “{plain(query[:80])}”. Try other words.")
        return
    for hit in hits:
        chunk = hit.chunk
        with st.container(border=True):
            where = chunk.title + (f" › {chunk.section}" if chunk.section else "")
            st.markdown(f"{KIND_ICON.get(chunk.kind, '')} **[{plain(where)}]({chunk.url})**")
            st.markdown(hit.snippet)
            st.caption(f"{chunk.kind} · {chunk.track} · score {hit.score:.2f}")


def answer(ans) -> None:
    if ans.abstained:
        st.warning(ans.reason or "I don't know: the course does not seem to cover this.")
        return
    with st.container(border=True):
        for i, sentence in enumerate(ans.sentences, start=1):
            st.markdown(f"{sentence.text} [{i}]")
    st.markdown("**Sources**")
    for i, sentence in enumerate(ans.sentences, start=1):
        chunk = sentence.chunk
        where = chunk.title + (f" › {chunk.section}" if chunk.section else "")
        st.markdown(f"[{i}] [{plain(where)}]({chunk.url})")
    st.caption(f"confidence {ans.confidence:.2f}")
