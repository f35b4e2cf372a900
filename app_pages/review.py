"""Review: what is due today across tracks, a session through the due queue (FSRS), the days
ahead, and exam dates."""

import streamlit as st

from triops.quiz import review
from triops.ui import report_view, resources, review_view
from triops.ui.identity import current, now

st.title("Review")
identity = current()
if identity.user is None:
    st.info(
        "Create a profile in the sidebar: review schedules the questions you answer in "
        "Practice and in exams, per profile."
    )
    st.stop()

db = resources.state_db()
bank = resources.bank()
course = resources.course()
titles = {track.id: track.title for track in course.tracks}
moment = now()
summary = review.overview(db, identity.user_id, bank, moment, titles)

if summary.cards == 0:
    st.info(
        "No reviews yet. Every question you answer in Practice or in an exam becomes a card "
        "here, scheduled to come back just before you would forget it."
    )
    st.page_link("app_pages/practice.py", label="Start practising", icon=":material/quiz:")
    review_view.exam_dates(db, identity.user_id, titles, moment)
    st.stop()

st.caption(
    f"{summary.due_today} card(s) due today (UTC) across tracks, of {summary.cards}. A right "
    "answer is rated Good (Easy when fast, Hard when slow for you), a partly right one Hard, "
    "a wrong one Again; you can change the rating after the feedback."
)
review_view.today(summary, titles, moment)

st.header("Review session")
answered = review_view.session(db, identity.user_id, summary, bank, course, titles)
if answered is not None:
    report_view.report_problem(db, identity, answered.question, answered.track, "review")

st.header("The days ahead")
review_view.forecast_chart(summary, titles)
review_view.parameters(db, identity.user_id)
review_view.exam_dates(db, identity.user_id, titles, moment)
