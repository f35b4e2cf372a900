"""Progress: completion per track and module, with a chart."""

import altair as alt
import pandas as pd
import streamlit as st

from triops import learner
from triops.ui import readiness_view, resources
from triops.ui.identity import current
from triops.ui.lesson_view import lesson_link

st.title("Progress")
identity = current()
if identity.user is None:
    st.info("Create a profile in the sidebar to track your progress.")
    st.stop()

course = resources.course()
db = resources.state_db()
summary = learner.summary(db, course, identity.user_id)
rows = summary.modules
totals = summary.tracks

cols = st.columns(max(1, len(course.tracks)))
for col, track in zip(cols, course.tracks, strict=False):
    done, total = totals.get(track.id, (0, 0))
    col.metric(track.title, f"{done} / {total}", help="Lessons completed in this track")
    col.progress(done / total if total else 0.0)

frame = pd.DataFrame(
    [
        {
            "Track": r.track,
            "Module": r.module,
            "Completed": r.done,
            "Lessons": r.total,
            "Percent": round(r.percent, 1),
        }
        for r in rows
    ]
)
if not frame.empty:
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("Percent:Q", scale=alt.Scale(domain=[0, 100]), title="Completed (%)"),
            y=alt.Y("Module:N", sort=None, title=None),
            color=alt.Color("Track:N"),
            tooltip=["Track", "Module", "Completed", "Lessons", "Percent"],
        )
    )
    st.altair_chart(chart, width="stretch")
    st.dataframe(frame, hide_index=True, width="stretch")

nxt = summary.next_lesson
if nxt is not None:
    st.markdown("**Continue with**")
    lesson_link(nxt, nxt.id in summary.completed)

readiness_view.panel(db, identity, course, compact=False)
readiness_view.item_parameters(db)
