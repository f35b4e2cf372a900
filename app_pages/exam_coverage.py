"""Instructor › Exam coverage: each exam guide's task statements against the lessons and the
bank, and whether the bank fills the guide's exam profile twice without reusing a question."""

import streamlit as st

from triops.ui import coverage_view as view
from triops.ui.identity import current

st.title("Exam coverage")
if not current().can_instruct:
    st.error("This page is for instructors.")
    st.stop()

_, report, problems = view.load()
if not report:
    st.info("No exam guides yet: add one to quizzes/guides/ (see quizzes/README.md).")
    view.problems_section(problems)
    st.stop()

labels = {c.guide.id: f"{c.guide.spec.exam} · {c.guide.title}" for c in report}
chosen = st.selectbox("Exam guide", list(labels), format_func=labels.get, key="coverage_guide")
cov = next(c for c in report if c.guide.id == chosen)
view.summary(cov)
st.subheader("Domains")
view.domains(cov)
st.subheader("Task statements")
view.heatmap(cov)
st.subheader("Gaps by task")
view.tasks(cov)
view.problems_section(problems)
st.caption("`triops coverage` prints the same report.")
