"""Drawing a lesson: header, objectives, prerequisites, body with callouts, sources."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from triops.content.markdown import render_plan
from triops.content.models import Course, Lesson

LEARN_PAGE = "app_pages/learn.py"

_CALLOUTS = {
    "note": (st.info, ":material/info:"),
    "tip": (st.success, ":material/lightbulb:"),
    "warning": (st.warning, ":material/warning:"),
}


def lesson_link(lesson: Lesson, done: bool = False, key: str | None = None) -> None:
    """A link to a lesson's stable URL."""
    label = ("✓ " if done else "") + lesson.title
    st.page_link(
        LEARN_PAGE, label=label, query_params={"lesson": lesson.id}, icon=":material/menu_book:"
    )


def outline(course: Course, completed: dict[str, datetime], current: str | None = None) -> None:
    """The course as track > module > lesson links; beside a lesson (`current`), only its own
    track, with a link to the whole outline (a page of links per lesson grows with the course:
    880 lessons took a lesson page's rerun from 45 ms to about 300)."""
    mine = next((t for t in course.tracks if current in {x.id for x in t.lessons()}), None)
    if mine is not None:
        st.page_link(LEARN_PAGE, label="The whole course", icon=":material/list:")
    for track in course.tracks:
        if mine is not None and track is not mine:
            continue
        st.markdown(f"**{track.title}**")
        for module in track.modules:
            expanded = any(lesson.id == current for lesson in module.lessons)
            with st.expander(f"{module.title} ({len(module.lessons)})", expanded=expanded):
                for lesson in module.lessons:
                    lesson_link(lesson, lesson.id in completed)


def body(lesson: Lesson) -> None:
    """The lesson body: headings with stable anchors, markdown, admonitions as callouts, and
    each self-check answer folded away until the learner opens it."""
    for item in render_plan(lesson.blocks):
        kind = item[0]
        if kind == "answers":
            answers(item[2])
        elif kind == "heading":
            _, level, text, anchor = item
            if level == "2":
                st.header(text, anchor=anchor)
            else:
                st.subheader(text, anchor=anchor)
        elif kind == "markdown":
            st.markdown(item[1])
        else:
            _, admonition, title, text = item
            if admonition == "example":
                with st.container(border=True):
                    st.markdown(f"**Example: {title}**" if title else "**Example**")
                    st.markdown(text)
            else:
                show, icon = _CALLOUTS[admonition]
                show((f"**{title}**\n\n" if title else "") + text, icon=icon)


def answers(items) -> None:
    """One closed expander per self-check answer, labelled with its question's number, so a
    learner answers from memory before looking."""
    for number, text in items:
        label = f"Answer to question {number}" if number else "Answers"
        with st.expander(label, expanded=False):
            st.markdown(text)


def header(course: Course, lesson: Lesson, completed: dict[str, datetime]) -> None:
    track = course.track(lesson.track)
    module = next((m for m in track.modules if m.id == lesson.module), None) if track else None
    crumbs = " › ".join(
        x for x in (track.title if track else "", module.title if module else "") if x
    )
    st.caption(f"{crumbs} · {lesson.meta.minutes} min")
    st.title(lesson.title, anchor="top")
    with st.container(border=True):
        st.markdown("**You will be able to**")
        st.markdown("\n".join(f"- {o}" for o in lesson.meta.objectives))
        if lesson.meta.prerequisites:
            st.markdown("**Before this lesson**")
            for pid in lesson.meta.prerequisites:
                pre = course.lesson(pid)
                if pre is not None:
                    lesson_link(pre, pid in completed)


def sources(lesson: Lesson) -> None:
    if not lesson.meta.sources:
        return
    st.divider()
    st.markdown("**Sources**")
    lines = []
    for src in lesson.meta.sources:
        title = src.title.replace("[", "(").replace("]", ")")
        lines.append(
            f"- [{title}]({src.url}) ({src.year})" if src.url else f"- {title} ({src.year})"
        )
    st.markdown("\n".join(lines))
