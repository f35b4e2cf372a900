"""A finished lab run's results, drawn from the files it left, read by the reader of the lab's
run kind: a workflow lab's monitoring artifacts (triops.labs.results; the drift-retrain lab: per
week the drift table, the drifted columns' distributions and the decision, the champion's
performance over the weeks, and the model registry as a timeline), an eval lab's results
(triops.labs.eval_lab: the gate, the results matrix side by side, cost and latency).

The files were written by learner code in the sandbox: every string reaches the page through a
dataframe, a chart or `plain()`, never as markup."""

from __future__ import annotations

from pathlib import Path

import altair as alt
import streamlit as st

from triops.labs.eval_lab import EvalView, eval_case, read_eval, side_by_side
from triops.labs.results import Monitoring, ResultsError, read_monitoring, registry_over_time
from triops.ui.text import plain

DECISION_ICON = {"promoted": "🟢", "rejected": "🟠", "no-retrain": "⚪"}


def show(run_folder: Path, kind: str) -> None:
    """The results section for a kept run of a lab whose lab.yaml says `run.kind: <kind>`
    (nothing when the run left no result files)."""
    if kind == "eval":
        read, draw = read_eval, _evals
    else:
        read, draw = read_monitoring, _monitoring
    try:
        results = read(run_folder / "artifacts")
    except ResultsError as exc:
        st.header("Results")
        st.warning(f"The run's result files could not be read: {exc.user_message}")
        return
    if results is not None:
        draw(results)


def _evals(view: EvalView) -> None:
    st.header("Results")
    if view.problems:
        st.error("The config has errors; nothing ran:")
        st.code("\n".join(view.problems), language="text")
    elif view.status != "complete":
        st.warning(f"The eval stopped early: {plain(view.status)}.")
    if view.verdict == "pass":
        st.success("Every test passes and the gate holds.")
    elif view.reasons:
        st.markdown("**Not yet:**\n" + "\n".join(f"- {plain(r)}" for r in view.reasons))
    if view.run is None:
        return
    for candidate, baseline, passed, rows in view.gates:
        against = f" against {plain(baseline)}" if baseline else ""
        text = f"Gate on {plain(candidate)}{against}: " + ("holds" if passed else "fails")
        (st.success if passed else st.error)(text)
        st.dataframe(
            rows,
            hide_index=True,
            width="stretch",
            column_config={
                c: st.column_config.NumberColumn(format="%.4g")
                for c in ("baseline", "candidate", "delta")
            },
        )
    if not view.gates:
        st.info("No gate in the config: add a `gate:` section to compare the two prompts.")

    st.subheader("Side by side")
    st.dataframe(side_by_side(view), width="stretch")

    st.subheader("Cost and latency")
    cost_column = next(c for c in view.totals.columns if c.startswith("cost"))
    left, right = st.columns(2)
    cost = (
        alt.Chart(view.totals.dropna(subset=[cost_column]))
        .mark_bar()
        .encode(
            x=alt.X("column:N", title=None, sort=view.columns),
            y=alt.Y(f"{cost_column}:Q", title=cost_column),
            tooltip=["column", alt.Tooltip(f"{cost_column}:Q", format=".6g")],
        )
        .properties(height=240)
    )
    left.altair_chart(cost, width="stretch")
    latency = (
        alt.Chart(view.latencies)
        .mark_boxplot(extent="min-max")
        .encode(
            x=alt.X("column:N", title=None, sort=view.columns),
            y=alt.Y("latency_ms:Q", title="latency per case (ms)"),
        )
        .properties(height=240)
    )
    right.altair_chart(latency, width="stretch")

    st.subheader("Results matrix")
    st.caption("pass · FAIL · error · skipped, then the test's score.")
    st.dataframe(view.matrix, hide_index=True, width="stretch")

    case = st.selectbox("Look at one test", view.cases, key="eval-case")
    if case:
        answers = eval_case(view, case)
        for col, answer in zip(st.columns(len(answers) or 1), answers, strict=False):
            with col:
                mark = "Passed" if answer["status"] == "pass" else "Failed"
                st.markdown(f"**{mark}** · {plain(answer['column'])} · score {answer['score']:.2f}")
                st.text(answer["output"] or "(empty answer)")
                st.dataframe(answer["assertions"], hide_index=True, width="stretch")


def _monitoring(m: Monitoring) -> None:
    st.header("Results")
    if m.status != "complete":
        st.warning(
            f"The pipeline stopped early ({plain(m.status or 'no status')}). {plain(m.error)}"
        )
    if m.performance.empty and not m.batches:
        return
    st.subheader("The champion's performance, week by week")
    st.caption(
        "AUC and recall of the model serving each week, on that week's labelled rows (bootstrap: "
        "on the reference holdout). Concept drift shows here, not in the drift tables."
    )
    chart = (
        alt.Chart(m.performance)
        .mark_line(point=True)
        .encode(
            x=alt.X("batch:N", sort=alt.SortField("order"), title=None),
            y=alt.Y("value:Q", title="score", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("metric:N", title="metric"),
            tooltip=["batch", "champion", "metric", alt.Tooltip("value:Q", format=".3f")],
        )
        .properties(height=260)
    )
    st.altair_chart(chart, width="stretch")
    st.dataframe(
        m.decisions,
        hide_index=True,
        width="stretch",
        column_config={
            "champion AUC": st.column_config.NumberColumn(format="%.3f"),
            "AUC drop": st.column_config.NumberColumn(format="%+.3f"),
        },
    )

    st.subheader("Each week")
    tabs = st.tabs([b.name for b in m.batches]) if m.batches else []
    for tab, batch in zip(tabs, m.batches, strict=True):
        with tab:
            icon = DECISION_ICON.get(batch.decision, "")
            verdict = "dataset drift" if batch.dataset_drift else "no dataset drift"
            st.markdown(
                f"{icon} **{plain(batch.decision or 'no decision')}** · {batch.drifted_count} of "
                f"{batch.columns} columns drifted ({verdict}) · trigger: {plain(batch.trigger)}"
            )
            st.text(batch.reason or "(no reason recorded)")
            st.dataframe(
                batch.drift,
                hide_index=True,
                width="stretch",
                column_config={
                    "score": st.column_config.NumberColumn(format="%.4g"),
                    "threshold": st.column_config.NumberColumn(format="%.3g"),
                },
            )
            if not batch.distributions:
                st.caption("No column drifted: nothing to compare.")
            for dist in batch.distributions:
                st.markdown(
                    f"**{plain(dist.column)}** ({plain(dist.kind)}, {plain(dist.test)}): "
                    "share of each sample"
                )
                bars = (
                    alt.Chart(dist.frame)
                    .mark_bar()
                    .encode(
                        x=alt.X("value:N", sort=alt.SortField("order"), title=None),
                        xOffset="sample:N",
                        y=alt.Y("share:Q", title="share", axis=alt.Axis(format="%")),
                        color=alt.Color("sample:N", title=None),
                        tooltip=["sample", "value", "count", alt.Tooltip("share:Q", format=".1%")],
                    )
                    .properties(height=200)
                )
                st.altair_chart(bars, width="stretch")

    st.subheader("Model registry")
    if m.aliases:
        st.markdown(
            "Aliases now: "
            + ", ".join(f"`{plain(a)}` → v{v}" for a, v in sorted(m.aliases.items()))
        )
    over_time = registry_over_time(m)
    if not over_time.empty:
        base = alt.Chart(over_time).encode(
            x=alt.X("step:N", sort=alt.SortField("order"), title=None),
            y=alt.Y("version:Q", title="version", axis=alt.Axis(tickMinStep=1)),
        )
        champion = (
            base.transform_filter(alt.datum.role == "champion")
            .mark_line(interpolate="step-after", point=True)
            .encode(tooltip=["step", "version"])
        )
        registered = (
            base.transform_filter(alt.datum.role == "registered")
            .mark_point(shape="diamond", size=120, filled=True, color="#e45756")
            .encode(tooltip=["step", "version"])
        )
        st.altair_chart((champion + registered).properties(height=200), width="stretch")
        st.caption("Line: the version holding `champion` after each step. Diamonds: registered.")
    st.dataframe(
        m.versions,
        hide_index=True,
        width="stretch",
        column_config={
            "holdout AUC": st.column_config.NumberColumn(format="%.3f"),
            "holdout recall": st.column_config.NumberColumn(format="%.3f"),
        },
    )
    with st.expander("Every registry change"):
        st.dataframe(m.timeline.drop(columns=["order"]), hide_index=True, width="stretch")
