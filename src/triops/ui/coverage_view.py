"""Exam coverage: a guide's task statements against the lessons and the bank, as a heatmap,
a table per domain and the gaps by name, with links to the lessons' sections."""

from __future__ import annotations

import threading

import altair as alt
import pandas as pd
import streamlit as st

from triops.content.loader import ParseCache
from triops.content.problems import Problem
from triops.quiz.coverage import MINIMUM, GuideCoverage, coverage
from triops.quiz.guides import Guides, covers_problems, load_guides
from triops.ui import resources
from triops.ui.text import plain

CONTENT_HEALTH = "app_pages/content_health.py"
MEASURES = ("Lesson sections", "Practice questions", "Exam questions")


@st.cache_resource(show_spinner=False)
def _parse_cache(root: str) -> tuple[ParseCache, threading.Lock]:
    return ParseCache(), threading.Lock()


def guides() -> Guides:
    """The guides as they are on disk now (a file is parsed again only when it changes)."""
    root = resources.settings().root
    cache, lock = _parse_cache(str(root.resolve()))
    exams = resources.exams()
    with lock:
        return load_guides(root, exams, cache)


def load() -> tuple[Guides, list[GuideCoverage], list[Problem]]:
    """The guides, the coverage of each, and every problem in guides and covers references."""
    loaded = guides()
    course, bank, exams = resources.course(), resources.bank(), resources.exams()
    problems = sorted(set(loaded.problems) | set(covers_problems(loaded, course, bank)))
    return loaded, coverage(loaded, course, bank, exams), problems


def _pct(part: int, whole: int) -> str:
    return f"{part} of {whole} ({round(100 * part / whole) if whole else 0} %)"


def summary(cov: GuideCoverage) -> None:
    """The guide's source and the four headline figures."""
    spec = cov.guide.spec
    st.caption(
        f"{plain(spec.issuer)}, {plain(spec.source.version)}, checked "
        f"{spec.source.checked:%Y-%m-%d}: [{plain(spec.source.title)}]({spec.source.url}). "
        f"Exam profile `{plain(cov.profile)}`."
    )
    unverified = [d for d in cov.guide.domains if not d.weight_verified] + [
        t for t in cov.guide.tasks() if not t.verified
    ]
    if unverified:
        with st.expander("Not verified on the issuer's page"):
            for note in spec.notes:
                st.markdown(f"- {plain(note)}")
    n = len(cov.tasks)
    a, b, c, d = st.columns(4)
    a.metric("Task statements", n)
    b.metric("Taught in a lesson section", _pct(cov.by_lesson, n))
    c.metric(f"{MINIMUM}+ practice and {MINIMUM}+ exam questions", _pct(cov.by_questions, n))
    d.metric("Domains that fill two attempts", _pct(cov.fills_twice, len(cov.domains)))
    if not cov.profile_found:
        st.warning(f"The exam profile {plain(cov.profile)} is not in quizzes/exams/.")


def heatmap_frame(cov: GuideCoverage) -> pd.DataFrame:
    """One row per task and measure: the count, and its share of what full coverage needs."""
    rows = []
    for d in cov.domains:
        for t in d.tasks:
            counts = (len(t.sections), len(t.practice), len(t.exam))
            targets = (1, MINIMUM, MINIMUM)
            for measure, count, target in zip(MEASURES, counts, targets, strict=True):
                rows.append(
                    {
                        "task": f"{t.task.number} {t.task.title}",
                        "domain": f"{d.number} {d.title}",
                        "measure": measure,
                        "count": count,
                        "share": min(count, target) / target,
                    }
                )
    return pd.DataFrame(rows)


def heatmap(cov: GuideCoverage) -> None:
    """Task × measure: green where the task has what full coverage needs, red where it has none."""
    frame = heatmap_frame(cov)
    order = list(dict.fromkeys(frame["task"]))
    base = alt.Chart(frame).encode(
        x=alt.X("measure:N", sort=list(MEASURES), title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("task:N", sort=order, title=None, axis=alt.Axis(labelLimit=420)),
    )
    cells = base.mark_rect(stroke="white").encode(
        color=alt.Color(
            "share:Q",
            scale=alt.Scale(domain=[0, 1], range=["#d7301f", "#fee08b", "#1a9850"]),
            legend=alt.Legend(title="share of target", format="%"),
        ),
        tooltip=["domain", "task", "measure", "count"],
    )
    labels = base.mark_text(fontSize=12).encode(text="count:Q")
    height = max(160, 22 * len(order))
    st.altair_chart(
        (cells + labels).properties(height=height),
        width="stretch",
        alt="Heatmap of task statements against lesson sections, practice and exam questions",
    )
    st.caption(
        f"A task counts as covered with one lesson section, and with {MINIMUM} practice and "
        f"{MINIMUM} exam questions (exam: drawable by the profile, of its item types)."
    )


def domain_frame(cov: GuideCoverage) -> pd.DataFrame:
    """Domain × measure: tasks taught, tasks tested, and whether the profile fills twice."""
    rows = []
    for d in cov.domains:
        n = len(d.tasks)
        fill = d.fill
        rows.append(
            {
                "domain": f"{d.number} {d.title}",
                "weight %": d.weight,
                "tasks": n,
                "taught": d.by_lesson / n,
                "tested": d.by_questions / n,
                "pool": fill.pool if fill else None,
                "one attempt": fill.per_attempt if fill else None,
                "two attempts": (
                    "no profile domain"
                    if fill is None
                    else ("fills twice" if fill.twice else f"short by {fill.short}")
                ),
            }
        )
    return pd.DataFrame(rows)


def domains(cov: GuideCoverage) -> None:
    st.dataframe(
        domain_frame(cov),
        hide_index=True,
        width="stretch",
        column_config={
            "taught": st.column_config.ProgressColumn(
                "taught in a lesson", format="percent", min_value=0, max_value=1
            ),
            "tested": st.column_config.ProgressColumn(
                f"{MINIMUM}+{MINIMUM} questions", format="percent", min_value=0, max_value=1
            ),
        },
    )


def tasks(cov: GuideCoverage) -> None:
    """Each domain's tasks: the sections that teach them (linked) and what each still lacks."""
    for d in cov.domains:
        gaps = sum(1 for t in d.tasks if t.gaps)
        label = f"{d.number} {d.title}: " + (f"{gaps} with gaps" if gaps else "covered")
        with st.expander(label, expanded=False):
            for t in d.tasks:
                status = "; ".join(t.gaps) if t.gaps else "covered"
                st.markdown(f"**{plain(t.task.label)}**: {plain(status)}")
                if t.task.summary:
                    st.caption(plain(t.task.summary))
                links = [f"[{plain(s.label)}]({s.url})" for s in t.sections]
                if links:
                    st.markdown("Taught in: " + ", ".join(links))
                st.caption(f"practice questions: {len(t.practice)}, exam questions: {len(t.exam)}")


def problems_section(problems: list[Problem]) -> None:
    """Broken guides and covers references, with a way to Content health."""
    errors = [p for p in problems if p.severity == "error"]
    if problems:
        st.warning(
            f"{len(errors)} errors and {len(problems) - len(errors)} warnings in the guides "
            "and covers references; coverage leaves the broken references out."
        )
        st.dataframe(
            pd.DataFrame(
                [
                    {"severity": p.severity, "where": f"{p.path}:{p.line}", "message": p.message}
                    for p in problems
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    st.page_link(
        CONTENT_HEALTH,
        label="Content health: every problem in the course",
        icon=":material/health_and_safety:",
    )
