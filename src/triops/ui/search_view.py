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


def progress(build, waiting: str = "") -> bool:
    """Show the index's state; True when search can run. While the model loads or the index
    builds, the state redraws itself every second and the page reruns once it is ready.
    `waiting` says what the learner asked for meanwhile (it is kept and done when ready)."""
    if build.state == "ready" and build.index is not None:
        if build.busy:
            st.caption("Updating the index for your latest edits…")
        return True
    st.fragment(run_every=None if build.state == "failed" else 1.0)(_waiting)(build, waiting)
    return False


def status(build, now: float | None = None) -> tuple[str, float]:
    """The build's state in words and its progress from 0 to 1 (for tests and the CLI too)."""
    elapsed = build.elapsed(now)
    if build.state == "loading-model" or build.total == 0:
        done = f"{build.done} of {build.total} passages ready · " if build.done else ""
        return (
            f"Loading the language model for search: {done}{elapsed:.0f} s so far. The first "
            "build after an install encodes every passage of the course; later starts reuse "
            "them.",
            build.done / build.total if build.total else 0.0,
        )
    left = build.seconds_left(now)
    estimate = f"about {_duration(left)} left" if left is not None else "measuring the pace"
    return (
        f"Building the search index: {build.done} of {build.total} passages encoded · {estimate}",
        build.done / build.total if build.total else 0.0,
    )


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{max(1, round(seconds / 5) * 5):.0f} s"
    return f"{seconds / 60:.0f} min" if seconds >= 90 else "1 min"


def _waiting(build, waiting: str) -> None:
    if build.state == "ready" and build.index is not None:
        st.rerun(scope="app")
    if build.state == "failed":
        st.error("The search index could not be built: " + build.error.splitlines()[0])
        return
    text, fraction = status(build)
    st.info(text, icon=":material/hourglass_top:")
    st.progress(min(max(fraction, 0.0), 1.0))
    if waiting:
        st.caption(f"{waiting} It runs as soon as the index is ready; you can leave this open.")


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


def answer(ans, question: str = "") -> None:
    if question:
        st.caption("You asked:")
        st.text(question)
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
