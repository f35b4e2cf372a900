"""Instructor › Item analysis: the report for the learner state or the simulated demo database,
cached until the data changes, and the widgets that show it. Learner text (stems, options) is
shown as text: in dataframes, `st.text` and chart axes, never as markdown or HTML."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from triops.quiz import analysis
from triops.store.connection import connect
from triops.ui import resources

LEARNERS = "Learner attempts"
DEMO = "Simulated demo"
DEMO_FILE = "demo-items.duckdb"
GROUPS = {"overall": "All candidates", "upper": "Top 27 %", "lower": "Bottom 27 %"}


def demo_path() -> Path:
    return resources.settings().home / DEMO_FILE


@st.cache_data(show_spinner=False, max_entries=4)
def _learner_report(_db, version: tuple, minimum: int) -> analysis.ItemReport:
    return analysis.item_report(_db, minimum=minimum)


@st.cache_data(show_spinner=False, max_entries=2)
def _demo_report(path: str, mtime_ns: int, size: int, minimum: int) -> analysis.ItemReport:
    # Opened read-only for this one read and closed again, so `triops items simulate` can
    # replace the file while the app runs.
    conn = connect(Path(path), read_only=True)
    try:
        return analysis.item_report(conn, minimum=minimum)
    finally:
        conn.close()


def source_picker() -> str:
    """Learner attempts, or the simulated demo database when one exists."""
    if not demo_path().is_file():
        return LEARNERS
    return st.radio("Data", [LEARNERS, DEMO], horizontal=True, key="ia_source") or LEARNERS


def load(source: str, minimum: int = analysis.MINIMUM) -> analysis.ItemReport:
    """The report for the chosen data, with each item's file and line in the current bank."""
    if source == DEMO:
        path = demo_path()
        stat = path.stat()
        report = _demo_report(str(path), stat.st_mtime_ns, stat.st_size, minimum)
    else:
        db = resources.state_db()
        report = _learner_report(db, analysis.data_version(db), minimum)
    return replace(report, where=analysis.locations(resources.bank()))


def banner(report: analysis.ItemReport) -> None:
    if report.simulated:
        st.warning(analysis.simulated_banner(report.simulated), icon=":material/science:")


def form_statistics(form: analysis.FormReport, minimum: int) -> None:
    rel = form.reliability
    a, b, c, d = st.columns(4)
    a.metric("Submitted attempts", len(form.scores))
    if rel.needed:
        b.metric(rel.method, f"needs {rel.needed} more")
        c.metric("Standard error", "—")
    else:
        b.metric(rel.method, "—" if rel.coefficient is None else f"{rel.coefficient:.2f}")
        c.metric(
            "Standard error", "—" if rel.sem_points is None else f"±{rel.sem_points:.1f} points"
        )
    d.metric(
        "Mean score",
        "—" if form.mean is None else f"{form.mean:.1f} %",
        None if form.sd is None else f"SD {form.sd:.1f} points",
        delta_color="off",
    )
    st.caption(
        f"{rel.method} is computed once the form has {minimum} submitted attempts; item figures "
        f"need {minimum} responses each. Standard error of measurement = SD × √(1 − "
        "reliability), in percentage points."
        + (
            f" {form.excluded} attempts with another number of scored items are left out of "
            "the reliability."
            if form.excluded
            else ""
        )
    )
    chart = (
        alt.Chart(form.distribution())
        .mark_bar()
        .encode(
            x=alt.X("band:N", sort=None, title="Score (%)"),
            y=alt.Y("attempts:Q", title="Attempts"),
        )
        .properties(height=220)
    )
    st.altair_chart(chart, width="stretch")


def item_table(form: analysis.FormReport, report: analysis.ItemReport) -> pd.DataFrame:
    """The sortable item table (worst flags first), optionally only flagged items."""
    rows = form.items.copy()
    rows["where"] = [analysis.location(report.where, q) for q in rows["question_id"]]
    rows["flags"] = [
        ", ".join([*f, f"needs {n} more responses"] if n else f)  # reports flag at any count
        for f, n in zip(rows["flags"], rows["needed"], strict=True)
    ]
    if st.toggle("Only flagged items", key="ia_flagged_only"):
        rows = rows[form.items["flags"].map(len) > 0]
    st.dataframe(
        rows[
            [
                "flags",
                "question_id",
                "type",
                "responses",
                "facility",
                "discrimination",
                "upper_lower",
                "median_seconds",
                "notes",
                "where",
            ]
        ],
        hide_index=True,
        width="stretch",
        column_config={
            "flags": st.column_config.TextColumn("Flags"),
            "question_id": st.column_config.TextColumn("Question"),
            "responses": st.column_config.NumberColumn("Responses"),
            "facility": st.column_config.NumberColumn("Facility", format="%.2f"),
            "discrimination": st.column_config.NumberColumn(
                "Discrimination", format="%.2f", help="Point-biserial against the rest score"
            ),
            "upper_lower": st.column_config.NumberColumn(
                "Upper−lower", format="%.2f", help="Top 27 % minus bottom 27 %"
            ),
            "median_seconds": st.column_config.NumberColumn(
                "Median time (s)",
                format="%.0f",
                help="From the previous saved answer (or the start) to this answer's save",
            ),
            "notes": st.column_config.TextColumn("Why"),
            "where": st.column_config.TextColumn("File and line"),
        },
    )
    return rows


def distractors(form: analysis.FormReport, report: analysis.ItemReport) -> None:
    """One item: its file and line, its stem as text, and its options' choice rates."""
    items = form.items
    if items.empty:
        return
    labels = {
        q: q + (f" ({', '.join(f)})" if f else "")
        for q, f in zip(items["question_id"], items["flags"], strict=True)
    }
    chosen = st.selectbox(
        "Item", list(labels), format_func=labels.get, key="ia_item", help="Worst flags first"
    )
    if chosen is None:
        return
    row = items[items["question_id"] == chosen].iloc[0]
    st.code(analysis.location(report.where, chosen), language=None)
    st.page_link("app_pages/content_health.py", label="Content health", icon=":material/link:")
    st.text(str(row["stem"]).strip())
    options = form.options[form.options["question_id"] == chosen]
    if options.empty:
        st.caption(f"A {row['type']} item has no options to compare.")
        return
    if int(row["needed"]):
        st.caption(f"Choice rates need {int(row['needed'])} more responses.")
        return
    shown = options.assign(
        option=[
            ("✓ " if k else "") + analysis.short(o, 60)
            for o, k in zip(options["option"], options["key"], strict=True)
        ]
    )
    long = shown.melt(
        id_vars=["option"], value_vars=list(GROUPS), var_name="group", value_name="rate"
    )
    long["group"] = long["group"].map(GROUPS)
    chart = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y("option:N", sort=None, title=None),
            x=alt.X("rate:Q", title="Chosen by", axis=alt.Axis(format="%")),
            yOffset=alt.YOffset("group:N", sort=list(GROUPS.values())),
            color=alt.Color("group:N", sort=list(GROUPS.values()), title=None),
        )
        .properties(height=max(160, 60 * len(options)))
    )
    st.altair_chart(chart, width="stretch")
    st.caption("✓ marks the key as the attempt's snapshot stored it.")
    st.dataframe(
        shown[["option", "key", "chosen", "overall", "upper", "lower"]],
        hide_index=True,
        width="stretch",
        column_config={
            "overall": st.column_config.NumberColumn("All", format="percent"),
            "upper": st.column_config.NumberColumn("Top 27 %", format="percent"),
            "lower": st.column_config.NumberColumn("Bottom 27 %", format="percent"),
        },
    )


def practice(report: analysis.ItemReport) -> None:
    with st.expander(f"Practice answers, apart from exams ({len(report.practice)} questions)"):
        if report.practice.empty:
            st.caption("No practice answers yet.")
            return
        rows = report.practice.copy()
        rows["flags"] = rows["flags"].map(", ".join)
        st.dataframe(rows, hide_index=True, width="stretch")


def truth(report: analysis.ItemReport, form: analysis.FormReport) -> None:
    """For simulated data: the planted items, what the report should say, and what it says."""
    if not report.simulated or report.simulated.get("exam_id") != form.exam_id:
        return
    flags = dict(zip(form.items["question_id"], form.items["flags"], strict=True))
    planted = [i for i in report.simulated.get("items", []) if i.get("expected_flag")]
    st.subheader("Known truth of the simulation")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "question": i["question_id"],
                    "planted": i["role"],
                    "expected flag": i["expected_flag"],
                    "found": i["expected_flag"] in flags.get(i["question_id"], ()),
                }
                for i in planted
            ]
        ),
        hide_index=True,
        width="stretch",
    )
