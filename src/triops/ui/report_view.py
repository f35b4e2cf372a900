"""'Report a problem' under a question (Practice, Review, an exam's review screen), the reporter's
verdicts, and what a regrade changed on an exam result. Every rule is in triops.quiz.reports;
comments and notes are shown as text, never as markdown or HTML."""

from __future__ import annotations

import streamlit as st

from triops.errors import TriopsError
from triops.quiz import reports
from triops.quiz.exam import AttemptView
from triops.ui import resources
from triops.ui.identity import Identity, now
from triops.ui.text import plain

_SENT = "report_sent"  # form key -> the confirmation to show once


def report_problem(
    db,
    identity: Identity,
    question,
    track: str,
    source: str,
    *,
    attempt: AttemptView | None = None,
    position: int | None = None,
) -> None:
    """The 'Report a problem' expander for one question as shown, and (on an exam's review) what
    a regrade changed on it."""
    if attempt is not None and position is not None:
        _regraded_item(attempt, position)
    key = f"report-{source}-{question.id}" + ("" if position is None else f"-{position}")
    mine = reports.mine(db, identity.user_id, question.id)
    # Each question of an exam review gets its own accessible name.
    label = "Report a problem" + ("" if position is None else f" with question {position + 1}")
    label += f" ({len(mine)} sent)" if mine else ""
    if attempt is None:
        with st.expander(label, icon=":material/flag:"):
            _body(db, identity, question, track, source, key, mine, attempt)
    else:
        # An exam review shows each question in an expander, and expanders cannot nest.
        with st.container(border=True):
            if st.toggle(label, key=f"{key}-open"):
                _body(db, identity, question, track, source, key, mine, attempt)


def _body(db, identity: Identity, question, track, source, key, mine, attempt) -> None:
    for report in mine:
        _verdict(report)
    if identity.user is None:
        st.caption("Create a profile in the sidebar to report a problem with this question.")
        return
    if any(r.is_open for r in mine):
        st.caption("Your report is open: sending again updates its category and comment.")
    with st.form(key, border=False):
        category = st.radio(
            "What is wrong?",
            list(reports.CATEGORIES),
            format_func=reports.CATEGORIES.get,
            horizontal=True,
            key=f"{key}-category",
        )
        comment = st.text_area(
            "Comment",
            max_chars=reports.MAX_COMMENT,
            key=f"{key}-comment",
            help="What is wrong and, for a wrong key or an outdated fact, a source an "
            "instructor can check (required for those two).",
        )
        sent = st.form_submit_button("Send report")
    if sent:
        bank_question = resources.bank().by_id().get(question.id)
        try:
            _, updated = reports.submit(
                db,
                identity.user_id,
                question,
                track,
                source=source,
                category=category,
                comment=comment,
                now=now(),
                bank_file=bank_question.path if bank_question is not None else "",
                attempt_id=attempt.row.id if attempt is not None else None,
            )
        except TriopsError as exc:
            st.error(plain(exc.user_message))
        else:
            st.session_state[_SENT] = (key, updated)
            st.rerun()
    done = st.session_state.get(_SENT)
    if done is not None and done[0] == key:
        st.session_state.pop(_SENT)
        st.success("Report updated." if done[1] else "Report sent: an instructor will answer here.")


def _verdict(report) -> None:
    """One of the reporter's reports: what they sent and, once resolved, the verdict and note."""
    sent = f"{report.updated_at:%Y-%m-%d %H:%M} UTC"
    category = reports.CATEGORIES.get(report.category, report.category)
    if report.is_open:
        st.caption(f"You reported '{category}' on {sent}: open, not answered yet.")
    else:
        verdict = reports.VERDICTS.get(report.verdict, report.verdict)
        st.caption(
            f"You reported '{category}' on {sent}. Verdict: {verdict} "
            f"({report.resolved_at:%Y-%m-%d %H:%M} UTC)."
        )
    if report.comment:
        st.text(f"Your comment: {report.comment}")
    if report.note:
        st.text(f"Instructor's note: {report.note}")


def regrade_notice(view: AttemptView) -> None:
    """On a result page: that the attempt was regraded, why, and the score before and after."""
    for note in reports.regrade_notes(view.row.result_json):
        passed = ""
        if note.passed_after != note.passed_before:
            passed = " It now passes." if note.passed_after else " It no longer passes."
        st.info(
            f"Regraded on {note.at.replace('T', ' ')} UTC: a question was found miskeyed "
            f"({note.remedy.lower()}). Score {note.before:.1f}% → {note.after:.1f}%.{passed} "
            "Your answers were not changed.",
            icon=":material/published_with_changes:",
        )
        if note.note:
            st.text(f"Instructor's note: {note.note}")


def _regraded_item(view: AttemptView, position: int) -> None:
    for note in reports.regrade_notes(view.row.result_json):
        found = note.items.get(position)
        if found is None:
            continue
        before, after, counts = found
        was = "–" if before is None else f"{before:.0%}"
        st.caption(
            plain(
                f"Regraded ({note.remedy.lower()}): this question's score {was} → {after:.0%}"
                + ("" if counts else ", and it no longer counts toward your score")
                + "."
            )
        )
