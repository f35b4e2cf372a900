"""Content health: item-writing warnings and blind-strategy scores as filterable tables, and the
queue of learners' question reports with a resolve form for instructors. Report comments and
notes are learner and instructor text: shown in dataframes and `st.text`, never as markdown."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from triops.accounts import Actor
from triops.content.problems import Problem, group_problems
from triops.errors import InvalidInputError, TriopsError
from triops.quiz import reports
from triops.quiz.itemwriting import (
    CHECKS,
    STRATEGIES,
    STRATEGY_MARGIN,
    ExamStrategies,
    Finding,
    findings_and_strategies,
)
from triops.store import users
from triops.ui import resources
from triops.ui.identity import current, now
from triops.ui.text import plain

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
    return findings_and_strategies(bank, exams)


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


# --- learners' reports ------------------------------------------------------------------------

_RESOLVED = "health_report_resolved"  # the outcome of the last resolve, shown once
STATES = {"open": "Open", "resolved": "Resolved", "all": "All"}
NO_REMEDY = "none"


def _actor() -> Actor:
    """Who resolves: on a class server the signed-in instructor, checked again in the database
    (a role may have changed since the page was drawn); on one person's laptop the profile."""
    identity = current()
    if identity.mode == "local":
        return Actor.of(identity.user) if identity.user else Actor(None, "local instructor")
    fresh = users.get_user(resources.state_db(), identity.user_id) if identity.user else None
    if fresh is None or fresh.role not in ("instructor", "admin"):
        raise InvalidInputError("Not allowed: only an instructor resolves reports.")
    return Actor.of(fresh)


def reports_frame(items: list[reports.QueueItem]) -> pd.DataFrame:
    """A row per report: where the question lives, what was said, and how it was resolved."""
    return pd.DataFrame(
        [
            {
                "report": i.report.id,
                "reported": i.report.updated_at,
                "question": i.report.question_id,
                "where": i.where,
                "track": i.report.track,
                "category": reports.CATEGORIES.get(i.report.category, i.report.category),
                "from": reports.SOURCES.get(i.report.source, i.report.source),
                "reporter": i.reporter,
                "comment": i.report.comment,
                "verdict": reports.VERDICTS.get(i.report.verdict or "", "open"),
                "note": i.report.note or "",
            }
            for i in items
        ],
        columns=[
            "report",
            "reported",
            "question",
            "where",
            "track",
            "category",
            "from",
            "reporter",
            "comment",
            "verdict",
            "note",
        ],
    )


def reports_section(db, bank) -> None:
    """The queue of reports with filters, then the resolve form for one open report."""
    st.header("Reports")
    st.caption(
        "Learners report a problem under a question in Practice, Review and an exam's review. "
        "Resolve each with a verdict and a note: the reporter sees both under the question. "
        "'Upheld: miskeyed' regrades the finished exam attempts that drew the question "
        "(the rule is in quizzes/README.md). Also `triops reports list|resolve`."
    )
    kind, text = st.session_state.pop(_RESOLVED, (None, None))
    if kind == "success":
        st.success(plain(text))
    a, b, c = st.columns(3)
    state = (
        a.segmented_control(
            "Reports", list(STATES), format_func=STATES.get, default="open", key="health_rep_state"
        )
        or "open"
    )
    categories = b.multiselect(
        "Category",
        list(reports.CATEGORIES),
        format_func=reports.CATEGORIES.get,
        key="health_rep_categories",
    )
    tracks = c.multiselect("Track", sorted(bank.vocabulary.domains), key="health_rep_tracks")
    items = reports.queue(
        db, bank, state=None if state == "all" else state, categories=categories, tracks=tracks
    )
    if not items:
        st.info("No reports match these filters.")
        return
    st.caption(f"{len(items)} report(s), oldest first")
    st.dataframe(
        reports_frame(items),
        hide_index=True,
        width="stretch",
        column_config={
            "reported": st.column_config.DatetimeColumn(
                "reported (UTC)", format="YYYY-MM-DD HH:mm"
            ),
            "where": st.column_config.TextColumn("file and line"),
        },
    )
    waiting = [i for i in items if i.report.is_open]
    if waiting:
        resolve_form(db, waiting)


def resolve_form(db, waiting: list[reports.QueueItem]) -> None:
    """Resolve one open report: verdict, note, and for a miskeyed item the remedy."""
    st.subheader("Resolve a report")
    by_id = {i.report.id: i for i in waiting}
    chosen = st.selectbox(
        "Report",
        list(by_id),
        format_func=lambda rid: (
            f"{rid} · {by_id[rid].report.question_id} · "
            f"{reports.CATEGORIES.get(by_id[rid].report.category)} · {by_id[rid].where}"
        ),
        key="health_rep_pick",
    )
    item = by_id[chosen]
    report = item.report
    question = reports.reported_question(report)
    st.text(f"{item.reporter} wrote: {report.comment or '(no comment)'}")
    st.text(f"Question as reported ({item.where}):\n{question.stem.strip()}")
    options = [o.text for o in getattr(question, "options", [])]
    form = reports.rekey_form(question)
    if form is not None:
        st.text(f"Published key: {question.describe(question.right_answer())}")
    with st.form(f"health_resolve_{chosen}"):
        verdict = st.radio(
            "Verdict", list(reports.VERDICTS), format_func=reports.VERDICTS.get, key="rep_verdict"
        )
        note = st.text_area(
            "Note to the reporter (required)", max_chars=reports.MAX_NOTE, key="rep_note"
        )
        remedy = st.radio(
            "Remedy, for 'Upheld: miskeyed' only",
            [NO_REMEDY, *reports.REMEDIES],
            format_func=lambda r: "—" if r == NO_REMEDY else reports.REMEDIES[r],
            key="rep_remedy",
        )
        corrected = None
        if form == "options":
            corrected = st.multiselect(
                "Corrected key, for the remedy 'rekey'",
                list(range(len(options))),
                format_func=lambda i: options[i],
                key="rep_key",
            )
        elif form == "flip":
            st.caption(f"'Rekey' credits {str(not question.answer).lower()} as well.")
        submitted = st.form_submit_button("Resolve")
    if not submitted:
        return
    miskeyed = verdict == "upheld-miskeyed"
    chosen_remedy = remedy if miskeyed and remedy != NO_REMEDY else None
    key = None
    if chosen_remedy == "rekey":
        key = (not question.answer) if form == "flip" else (corrected or None)
    try:
        outcome = reports.resolve(
            db, chosen, verdict, note, now(), _actor(), remedy=chosen_remedy, key=key
        )
    except TriopsError as exc:
        st.error(plain(exc.user_message))
        return
    text = f"Resolved {chosen}: {reports.VERDICTS[verdict]}."
    if miskeyed:
        text += (
            f" Regraded {len(outcome.regrades)} of {outcome.attempts_checked} finished "
            "attempt(s) that drew the question."
        )
    st.session_state[_RESOLVED] = ("success", text)
    st.rerun()
