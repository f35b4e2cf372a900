"""Instructor › Cohorts: cohorts, their join codes and members, and the exams assigned to them."""

import streamlit as st

from triops.ui import cohorts_view as view
from triops.ui.identity import current
from triops.ui.navigation import NOT_ALLOWED

st.title("Cohorts")
if not current().can_instruct:
    st.error(NOT_ALLOWED)
    st.stop()

view.message()
view.create_form()
cohort = view.pick()
if cohort is None:
    st.stop()
people = view.details(cohort)
view.add_forms(cohort, people)
view.assign_form(cohort)
view.assignments_section(cohort, people)
# One view at a time: a tab would compute both on every rerun (readiness is per learner).
shown = st.radio("View", ["Gradebook", "Dashboard"], horizontal=True, key="coh_view")
if shown == "Dashboard":
    view.dashboard_section(cohort)
else:
    view.gradebook_section(cohort)
