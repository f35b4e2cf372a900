"""Instructor › Content health: every problem in content and data, with file and line; learners'
question reports to resolve; the item-writing warnings and the blind-strategy scores of each exam
profile."""

import streamlit as st

from triops.ui import health_view, resources
from triops.ui.identity import current

st.title("Content health")
if not current().can_instruct:
    st.error("This page is for instructors.")
    st.stop()

course = resources.course()
problems = resources.all_problems()
errors = sum(1 for p in problems if p.severity == "error")
warnings = len(problems) - errors
a, b, c = st.columns(3)
a.metric("Lessons served", len(course.lessons()))
b.metric("Errors", errors)
c.metric("Warnings", warnings)
st.caption(f"Content root: {resources.settings().root}. Run `triops validate` for the same report.")

if not problems:
    st.success("No problems found: every lesson, knowledge file and data row is valid.")
else:
    health_view.problems_section(course, problems)

health_view.reports_section(resources.state_db(), resources.bank())
health_view.item_writing_section(resources.bank(), resources.exams())
