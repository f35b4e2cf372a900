"""Learn: the course outline, and one lesson at its stable URL (?lesson=<id>)."""

import streamlit as st

from triops import learner
from triops.ui import resources
from triops.ui.identity import current, now
from triops.ui.lesson_view import body, header, lesson_link, outline, sources
from triops.ui.text import plain

course = resources.course()
identity = current()
db = resources.state_db()
completed = learner.completed(db, identity.user_id)

lesson_id = st.query_params.get("lesson")
lesson = course.lesson(lesson_id) if lesson_id else None

if lesson is None:
    st.title("Learn")
    if lesson_id:
        st.warning(f"There is no lesson with the id {plain(lesson_id)}. Pick one below.")
    st.caption(f"{len(course.lessons())} lessons in {len(course.tracks)} tracks.")
    outline(course, completed)
    st.stop()

st.query_params["lesson"] = lesson.id
if identity.user and st.session_state.get("last_visit_recorded") != (identity.user_id, lesson.id):
    learner.record_visit(db, identity.user_id, lesson.id, now())
    st.session_state["last_visit_recorded"] = (identity.user_id, lesson.id)

with st.sidebar.expander("Course outline"):
    outline(course, completed, current=lesson.id)

header(course, lesson, completed)
body(lesson)
sources(lesson)

st.divider()
if identity.user is None:
    st.info("Create a profile in the sidebar to mark lessons complete.")
elif lesson.id in completed:
    st.success(f"Completed on {completed[lesson.id]:%Y-%m-%d}", icon=":material/check_circle:")
    st.button(
        "Mark as not complete",
        key="uncomplete",
        on_click=lambda: learner.mark_incomplete(resources.state_db(), identity.user_id, lesson.id),
    )
else:
    st.button(
        "Mark complete",
        key="complete",
        type="primary",
        on_click=lambda: learner.mark_complete(
            resources.state_db(), identity.user_id, lesson.id, now()
        ),
    )

previous, following = course.neighbours(lesson.id)
left, right = st.columns(2)
with left:
    if previous is not None:
        st.caption("Previous")
        lesson_link(previous, previous.id in completed)
with right:
    if following is not None:
        st.caption("Next")
        lesson_link(following, following.id in completed)
