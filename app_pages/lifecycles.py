"""Lifecycles: a loop diagram per discipline and what happens in each phase."""

import streamlit as st

from triops.content.diagrams import lifecycle_dot
from triops.ui import resources
from triops.ui.lesson_view import lesson_link

st.title("Lifecycles")
st.markdown("Each discipline runs as a loop: what is learned in operation feeds the next round.")
course = resources.course()
knowledge = resources.knowledge()
if knowledge.lifecycles is None:
    st.error("The lifecycle data could not be loaded; see Instructor › Content health.")
    st.stop()

lifecycles = knowledge.lifecycles.lifecycles
tabs = st.tabs([lc.title for lc in lifecycles])
for tab, lc in zip(tabs, lifecycles, strict=True):
    with tab:
        st.markdown(lc.summary)
        st.graphviz_chart(lifecycle_dot(lc), width="content")
        for number, phase in enumerate(lc.phases, start=1):
            with st.expander(f"{number}. {phase.name}"):
                st.markdown(phase.what_happens)
                left, middle, right = st.columns(3)
                left.markdown(
                    "**Key practices**\n\n" + "\n".join(f"- {p}" for p in phase.key_practices)
                )
                middle.markdown(
                    "**Typical tools**\n\n" + "\n".join(f"- {t}" for t in phase.typical_tools)
                )
                right.markdown("**Outputs**\n\n" + "\n".join(f"- {o}" for o in phase.outputs))
                lesson = course.lesson(phase.lesson)
                if lesson is not None:
                    lesson_link(lesson)
        if lc.sources:
            st.caption("Source: " + "; ".join(f"{s.title} ({s.year})" for s in lc.sources))
