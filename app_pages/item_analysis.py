"""Instructor › Item analysis: how each exam item performed, form reliability, and flags."""

import streamlit as st

from triops.ui import item_analysis as view
from triops.ui.identity import current

st.title("Item analysis")
if not current().can_instruct:
    st.error("This page is for instructors.")
    st.stop()

source = view.source_picker()
report = view.load(source)
view.banner(report)
if not report.forms:
    st.info(
        "No submitted exam attempts yet. To try the page on data with known answers, run "
        "`triops items simulate --candidates 500` and pick the simulated demo here."
    )
else:
    exam_id = st.selectbox("Exam", [f.exam_id for f in report.forms], key="ia_exam")
    form = report.form(exam_id)
    view.form_statistics(form, report.minimum)
    st.subheader("Items")
    view.item_table(form, report)
    st.subheader("Options of one item")
    view.distractors(form, report)
    view.truth(report, form)
view.practice(report)
