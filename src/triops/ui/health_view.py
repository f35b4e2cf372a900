"""Content health: item-writing warnings and blind-strategy scores as filterable tables."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from triops.content.problems import Problem, group_problems
from triops.quiz.itemwriting import (
    CHECKS,
    STRATEGIES,
    STRATEGY_MARGIN,
    ExamStrategies,
    Finding,
    blind_strategies,
    check_bank,
    strategy_findings,
)

EXAM_ROW = "(exam profile)"


def problems_section(course, problems: list[Problem]) -> None:
    """Every problem, root causes first: a lesson file with an error hides the lesson, and every
    reference to it elsewhere then fails too; those knock-on problems fold under their cause."""
    groups = group_problems(problems, course.unavailable)
    caused = sum(len(g.knock_on) for g in groups)
    if caused:
        roots = sum(1 for g in groups if g.knock_on)
        st.warning(
            f"{caused} of these problems follow from {roots} root cause(s): a lesson file with "
            "an error is not served, so everything that refers to it fails too. Fix the root "
            "causes first."
        )
    severity = st.segmented_control(
        "Show",
        ["error", "warning"],
        selection_mode="multi",
        default=["error", "warning"],
        key="health_severity",
    )
    shown = [g for g in groups if g.root.severity in (severity or [])]
    frame = pd.DataFrame(
        [
            {
                "severity": g.root.severity,
                "where": f"{g.root.path}:{g.root.line}",
                "message": g.root.message,
                "causes": len(g.knock_on),
            }
            for g in shown
        ],
        columns=["severity", "where", "message", "causes"],
    )
    st.dataframe(frame, hide_index=True, width="stretch")
    for g in shown:
        if g.knock_on:
            label = f"{g.root.path}:{g.root.line} causes {len(g.knock_on)} more problem(s)"
            with st.expander(label):
                st.dataframe(
                    pd.DataFrame(
                        [{"where": f"{p.path}:{p.line}", "message": p.message} for p in g.knock_on]
                    ),
                    hide_index=True,
                    width="stretch",
                )


def item_writing(bank, exams) -> tuple[list[Finding], list[ExamStrategies]]:
    """Every item-writing finding (blind-strategy ones included) and the strategy scores."""
    if not bank.questions:
        return [], []
    results = blind_strategies(bank, exams)
    return check_bank(bank, exams) + strategy_findings(results), results


def counts_frame(findings: list[Finding]) -> pd.DataFrame:
    """One row per check, in the documented order, with how many warnings it gave."""
    counts = {code: 0 for code in CHECKS}
    for f in findings:
        counts[f.code] += 1
    return pd.DataFrame(
        [{"check": code, "flags": CHECKS[code], "warnings": n} for code, n in counts.items()]
    )


def filter_findings(
    findings: list[Finding], checks: list[str], tracks: list[str], files: list[str]
) -> list[Finding]:
    """The findings that match every non-empty filter."""
    return [
        f
        for f in findings
        if (not checks or f.code in checks)
        and (not tracks or (f.track or EXAM_ROW) in tracks)
        and (not files or f.path in files)
    ]


def findings_frame(findings: list[Finding]) -> pd.DataFrame:
    """A row per warning with its file and line."""
    return pd.DataFrame(
        [
            {
                "check": f.code,
                "track": f.track or EXAM_ROW,
                "file": f.path,
                "line": f.line,
                "question": f.question,
                "message": f.message,
            }
            for f in findings
        ],
        columns=["check", "track", "file", "line", "question", "message"],
    )


def strategies_frame(results: list[ExamStrategies]) -> pd.DataFrame:
    """A row per exam profile: guessing, each blind strategy and the pass mark, in percent."""
    rows = []
    for r in results:
        row = {
            "exam": r.exam_id,
            "questions": r.questions,
            "pool": r.pool,
            "multiple response": r.scoring,
            "pure guessing": round(r.guessing, 1),
        }
        row |= {STRATEGIES[name]: round(score, 1) for name, score in r.strategies.items()}
        gains = r.gains()
        worst = max(gains, key=gains.get)  # type: ignore[arg-type]
        row["largest gain (points)"] = round(gains[worst], 1)
        row["pass mark"] = r.pass_mark
        rows.append(row)
    return pd.DataFrame(rows)


def item_writing_section(bank, exams) -> None:
    """The item-writing table with counts and filters, then the blind-strategy table."""
    findings, results = item_writing(bank, exams)
    st.header("Item-writing checks")
    st.caption(
        "Cues a test-wise candidate can use without knowing the answer, as `triops validate` "
        "reports them. Each check and its reason is documented in quizzes/README.md."
    )
    if not bank.questions:
        st.info("There are no questions to check.")
        return
    if not findings:
        st.success("No item-writing warnings: every check passes on every item.")
    st.dataframe(counts_frame(findings), hide_index=True, width="stretch")
    if findings:
        a, b, c = st.columns(3)
        checks = a.multiselect("Check", sorted({f.code for f in findings}), key="health_iw_checks")
        tracks = b.multiselect(
            "Track", sorted({f.track or EXAM_ROW for f in findings}), key="health_iw_tracks"
        )
        files = c.multiselect("File", sorted({f.path for f in findings}), key="health_iw_files")
        shown = filter_findings(findings, checks, tracks, files)
        st.caption(f"{len(shown)} of {len(findings)} warnings")
        st.dataframe(
            findings_frame(shown),
            hide_index=True,
            width="stretch",
            column_config={"line": st.column_config.NumberColumn("line", format="%d")},
        )
    st.header("Blind strategies")
    st.caption(
        "Expected score, in percent, of a candidate who never reads a stem, over each exam "
        f"profile's pool. A strategy more than {STRATEGY_MARGIN:g} points above pure guessing "
        "is a warning."
    )
    if results:
        st.dataframe(strategies_frame(results), hide_index=True, width="stretch")
    else:
        st.info("No exam profile to measure.")
