"""Applications: where each discipline is used, by industry, with a concrete example."""

import streamlit as st

from triops.ui import resources
from triops.ui.lesson_view import lesson_link

NAMES = {"devops": "DevOps", "mlops": "MLOps", "llmops": "LLMOps"}

st.title("Applications in 2026")
course = resources.course()
knowledge = resources.knowledge()
if knowledge.applications is None:
    st.error("The applications data could not be loaded; see Instructor › Content health.")
    st.stop()

apps = knowledge.applications.applications
left, right = st.columns(2)
disciplines = left.multiselect(
    "Discipline", list(NAMES), default=list(NAMES), format_func=NAMES.get, key="apps_discipline"
)
industries = sorted({a.industry for a in apps})
chosen = right.multiselect(
    "Industry", industries, key="apps_industry", placeholder="All industries"
)

shown = [a for a in apps if a.discipline in disciplines and (not chosen or a.industry in chosen)]
st.caption(f"{len(shown)} of {len(apps)} applications")
for app in shown:
    with st.container(border=True):
        st.subheader(app.title)
        st.caption(f"{NAMES[app.discipline]} · {app.industry}")
        st.markdown(app.example)
        st.markdown("**Practices:** " + "; ".join(app.practices))
        lesson = course.lesson(app.lesson)
        if lesson is not None:
            lesson_link(lesson)
