"""Home: what Triops is, the tracks, and where to continue."""

import streamlit as st

from triops import learner
from triops.ui import navigation, readiness_view, resources
from triops.ui.identity import current
from triops.ui.lesson_view import lesson_link

course = resources.course()
identity = current()
db = resources.state_db()
summary = learner.summary(db, course, identity.user_id)
completed = summary.completed

st.title("Triops")
st.markdown(
    "Learn DevOps, MLOps and LLMOps as one ecosystem: lessons, lifecycles, comparisons, "
    "applications and the job market, then practise, sit mock exams and run labs, all on "
    "your own machine."
)
navigation.wrap_page_links()

if identity.user is not None:
    nxt = summary.next_lesson
    with st.container(border=True):
        st.markdown("**Continue where you left off**" if summary.last_visited else "**Start here**")
        if nxt is not None:
            lesson_link(nxt, nxt.id in completed)
        else:
            st.success("You have completed every lesson in the course.")
    readiness_view.panel(db, identity, course, compact=True)

st.header("Practise and prove it")
navigation.activity_cards()

st.header("Tracks")
totals = summary.tracks
cols = st.columns(max(1, len(course.tracks)))
for col, track in zip(cols, course.tracks, strict=False):
    done, total = totals.get(track.id, (0, 0))
    with col, st.container(border=True):
        st.subheader(track.title)
        st.caption(track.meta.summary)
        st.metric("Lessons completed", f"{done} / {total}")
        first = next(iter(track.lessons()), None)
        if first is not None:
            lesson_link(first, first.id in completed)

if course.errors:
    st.warning(
        f"{len(course.errors)} content problem(s) were found; the affected lessons are hidden. "
        "See Instructor › Content health."
    )
