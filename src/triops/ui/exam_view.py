"""Exam screens: the list of exams, taking an attempt, and results. Every write goes through
triops.quiz.exam, which commits it before the page confirms it."""

from __future__ import annotations

import json
from datetime import datetime

import altair as alt
import pandas as pd
import streamlit as st

from triops.errors import TriopsError
from triops.quiz import exam as engine
from triops.quiz.blueprint import Exams
from triops.quiz.exam import ACCOMMODATIONS, AttemptView
from triops.quiz.grading import describe, grade, right_answer
from triops.ui import question_view, resources
from triops.ui.identity import Identity, now
from triops.ui.lesson_view import lesson_link
from triops.ui.timer import countdown

RESYNC_SECONDS = 15
FACTOR_LABEL = {"1": "standard time", "1.5": "time x1.5", "2": "time x2", "untimed": "untimed"}


def _time_text(minutes: float | None) -> str:
    if minutes is None:
        return "untimed"
    return f"{minutes:g} min"


def exam_list(exams: Exams, identity: Identity) -> None:
    """Every exam with its rules, a start or resume button, and the attempt history."""
    db = resources.state_db()
    user_id = identity.user_id
    factor = engine.accommodation(db, user_id)
    multiplier = ACCOMMODATIONS[factor]
    if factor != "1":
        st.info(f"Your profile has a time accommodation: {FACTOR_LABEL[factor]}.")
    for ex in exams.exams:
        bp = ex.blueprint
        history = engine.history(db, user_id, ex.id)
        open_row = next((a for a in history if a.state in engine.OPEN_STATES), None)
        with st.container(border=True):
            st.subheader(bp.title)
            st.markdown(bp.description)
            limit = None if multiplier is None else bp.time_limit_minutes * multiplier
            used = len(history)
            allowed = "unlimited" if not bp.attempts_allowed else f"{used} of {bp.attempts_allowed}"
            st.caption(
                f"{bp.total} questions · {_time_text(limit)} · pass mark {bp.pass_mark:g}% · "
                f"attempts used: {allowed} · "
                + (
                    "auto-submits at the deadline"
                    if bp.expiry.policy == "auto-submit"
                    else f"{bp.expiry.grace_minutes} min grace period to submit"
                )
            )
            label = "Resume attempt" if open_row else "Start exam"
            if st.button(label, key=f"start-{ex.id}", type="primary"):
                row = open_row or engine.start(db, ex, resources.bank(), user_id, now())
                st.query_params["attempt"] = row.token
                st.query_params["q"] = "1"
                st.rerun()
    history_chart(engine.history(db, user_id), exams)


def history_chart(rows, exams: Exams) -> None:
    finished = [r for r in rows if r.state == "finished" and r.score is not None]
    if not finished:
        return
    st.header("Your attempts")
    titles = {e.id: e.blueprint.title for e in exams.exams}
    frame = pd.DataFrame(
        [
            {
                "exam": titles.get(r.exam_id, r.exam_id),
                "finished": r.finished_at,
                "score": round(r.score, 1),
                "result": "pass" if r.passed else "fail",
            }
            for r in finished
        ]
    )
    chart = (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("finished:T", title="Finished"),
            y=alt.Y("score:Q", title="Score (%)", scale=alt.Scale(domain=[0, 100])),
            color=alt.Color("exam:N", title="Exam"),
            tooltip=["exam", "finished", "score", "result"],
        )
    )
    st.altair_chart(chart, width="stretch")
    st.dataframe(frame, hide_index=True, width="stretch")


def _position() -> int:
    try:
        return max(0, int(st.query_params.get("q", "1")) - 1)
    except ValueError:
        return 0


def _go(position: int) -> None:
    st.query_params["q"] = str(position + 1)
    st.session_state.pop("exam_summary", None)


def _save(view: AttemptView, position: int, key: str, user_id: str) -> None:
    """on_change: commit the answer, then record the confirmation the page shows."""
    question = view.questions[position].question
    status = st.session_state.setdefault("exam_saved", {})
    try:
        response = question_view.read(question, view.questions[position].option_order, key)
        engine.save_answer(
            resources.state_db(), view.token, user_id, position, response, now(), question
        )
    except question_view.Unparsed as exc:
        status[(view.token, position)] = ("warning", str(exc))
    except TriopsError as exc:
        status[(view.token, position)] = ("error", exc.user_message)
    else:
        status[(view.token, position)] = ("ok", f"Answer saved at {now():%H:%M:%S} UTC")


def _flag(view: AttemptView, position: int, user_id: str) -> None:
    flagged = st.session_state.get(f"{view.token}-flag-{position}", False)
    try:
        engine.set_flag(resources.state_db(), view.token, user_id, position, flagged, now())
    except TriopsError as exc:
        st.session_state.setdefault("exam_saved", {})[(view.token, position)] = (
            "error",
            exc.user_message,
        )


def _clock(view: AttemptView, user_id: str) -> None:
    """Resync with the server at least every 15 s; finalize and redraw at the deadline."""
    moment = now()
    row = engine.status(resources.state_db(), view.token, user_id, moment)
    if row.state != view.state:
        st.rerun(scope="app")
    end = row.grace_until if row.state == "overdue" else row.deadline
    if end is None:
        st.caption("Untimed attempt")
        return
    countdown(end, moment, "Grace period left" if row.state == "overdue" else "Time left")


def take(view: AttemptView, identity: Identity) -> None:
    """The attempt screen: countdown, navigator, one question, review and submit."""
    user_id = identity.user_id
    n = len(view.questions)
    moment = now()
    left = view.seconds_left(moment)
    interval = RESYNC_SECONDS if left is None else max(1.0, min(RESYNC_SECONDS, left + 0.5))
    st.fragment(run_every=interval)(_clock)(view, user_id)
    overdue = view.state == "overdue"
    if overdue:
        st.warning(
            "Time is up. Your answers are locked; submit before the grace period ends "
            "or the attempt will not count."
        )

    nav, main = st.columns([1, 2], gap="large")
    with nav:
        _navigator(view)
    with main:
        if st.session_state.get("exam_summary") == view.token:
            _summary(view, user_id)
            return
        position = min(_position(), n - 1)
        drawn = view.questions[position]
        question = drawn.question
        key = f"{view.token}-q{position}"
        question_view.seed_state(question, drawn.option_order, key, view.responses.get(position))
        st.markdown(f"**Question {position + 1} of {n}**")
        question_view.stem(question)
        question_view.inputs(
            question,
            drawn.option_order,
            key,
            disabled=overdue,
            on_change=lambda p=position, k=key: _save(view, p, k, user_id),
        )
        flag_key = f"{view.token}-flag-{position}"
        st.session_state.setdefault(flag_key, position in view.flags)
        st.checkbox(
            "Flag for review", key=flag_key, on_change=lambda p=position: _flag(view, p, user_id)
        )
        status = st.session_state.get("exam_saved", {}).get((view.token, position))
        if status:
            kind, text = status
            (st.caption if kind == "ok" else st.warning if kind == "warning" else st.error)(text)
        prev_col, next_col, review_col = st.columns(3)
        prev_col.button(
            "Previous",
            key="exam-prev",
            disabled=position == 0,
            on_click=_go,
            args=(position - 1,),
            width="stretch",
        )
        next_col.button(
            "Next",
            key="exam-next",
            disabled=position == n - 1,
            on_click=_go,
            args=(position + 1,),
            width="stretch",
        )
        review_col.button(
            "Review and submit",
            key="exam-review",
            type="primary",
            on_click=lambda: st.session_state.update(exam_summary=view.token),
            width="stretch",
        )


def _navigator(view: AttemptView) -> None:
    """Every question as a pill (keyboard reachable): number, ✓ answered, ⚑ flagged."""
    answered, flags = view.answered(), view.flags
    st.markdown(f"**{len(answered)} of {len(view.questions)} answered**")
    st.caption("✓ answered · ⚑ flagged")
    key = f"nav-{view.token}"
    st.session_state[key] = _position()

    def label(p: int) -> str:
        return f"{p + 1}" + ("✓" if p in answered else "") + ("⚑" if p in flags else "")

    st.pills(
        "Questions",
        [d.position for d in view.questions],
        format_func=label,
        key=key,
        label_visibility="collapsed",
        wrap=True,
        on_change=lambda: _go(
            st.session_state[key] if st.session_state[key] is not None else _position()
        ),
    )


def _summary(view: AttemptView, user_id: str) -> None:
    answered, flags = view.answered(), view.flags
    unanswered = [d.position for d in view.questions if d.position not in answered]
    st.subheader("Review before you submit")
    a, b, c = st.columns(3)
    a.metric("Answered", len(answered))
    b.metric("Unanswered", len(unanswered))
    c.metric("Flagged", len(flags))
    frame = pd.DataFrame(
        [
            {
                "question": d.position + 1,
                "status": "answered" if d.position in answered else "unanswered",
                "flagged": "yes" if d.position in flags else "",
            }
            for d in view.questions
        ]
    )
    st.dataframe(frame, hide_index=True, width="stretch", height=260)
    if unanswered:
        st.warning(
            f"{len(unanswered)} question(s) have no answer: "
            + ", ".join(str(p + 1) for p in unanswered[:20])
            + (" ..." if len(unanswered) > 20 else "")
        )
    confirm = st.checkbox("I have finished and want to submit this attempt", key="exam-confirm")
    if st.button("Submit exam", type="primary", disabled=not confirm, key="exam-submit"):
        engine.submit(resources.state_db(), view.token, user_id, now())
        st.session_state.pop("exam_summary", None)
        st.rerun()
    st.button(
        "Back to the questions",
        key="exam-back",
        on_click=lambda: st.session_state.pop("exam_summary", None),
    )


def results(view: AttemptView, identity: Identity) -> None:
    """Score, pass or fail, per-domain breakdown and review, as the blueprint allows."""
    bp = view.blueprint
    review = bp.review
    course = resources.course()
    vocab = resources.bank().vocabulary
    st.subheader(bp.title)
    if view.state == "abandoned":
        st.error(
            "This attempt was not submitted before the grace period ended, so it was "
            "abandoned and does not count."
        )
        return
    result = json.loads(view.row.result_json or "{}")
    if review.score:
        verdict = "Passed" if view.row.passed else "Not passed"
        (st.success if view.row.passed else st.error)(
            f"{verdict}: {view.row.score:.1f}% (pass mark {bp.pass_mark:g}%)"
        )
        _finished_at(view.row.finished_at, view.row.started_at)
        rows = []
        for d in result.get("domains", []):
            track, name = d["domain"].split("/")
            rows.append(
                {
                    "domain": f"{track}: {vocab.domain_title(track, name)}",
                    "score": round(d["percent"], 1),
                    "questions": d["possible"],
                }
            )
        frame = pd.DataFrame(rows)
        if not frame.empty:
            weakest = frame[frame["score"] < bp.pass_mark].head(2)["domain"].tolist()
            if weakest:
                st.markdown("**Weakest domains:** " + "; ".join(weakest))
            chart = (
                alt.Chart(frame)
                .mark_bar()
                .encode(
                    x=alt.X("score:Q", scale=alt.Scale(domain=[0, 100]), title="Score (%)"),
                    y=alt.Y("domain:N", sort="x", title=None),
                    tooltip=["domain", "score", "questions"],
                )
            )
            st.altair_chart(chart, width="stretch")
    if not (review.correctness or review.right_answer or review.explanation):
        return
    st.header("Review")
    for d in view.questions:
        q = d.question
        response = view.responses.get(d.position)
        g = grade(q, response)
        mark = "✓" if g.correct else ("½" if g.score > 0 else "✗")
        title = f"{d.position + 1}. {mark if review.correctness else ''} {q.stem.splitlines()[0]}"
        with st.expander(title[:120]):
            question_view.stem(q)
            st.markdown(f"**Your answer:** {describe(q, response)}")
            if review.correctness:
                st.caption(f"Score: {g.score:.0%}")
            if review.right_answer and not g.correct:
                st.markdown(f"**Right answer:** {describe(q, right_answer(q))}")
            if review.feedback:
                for text in g.feedback:
                    st.markdown(f"- {text}")
            if review.explanation and q.explanation:
                st.info(q.explanation)
            lesson = course.lesson(q.lesson) if q.lesson else None
            if lesson is not None:
                lesson_link(lesson)


def _finished_at(finished: datetime | None, started: datetime) -> None:
    if finished is not None:
        minutes = (finished - started).total_seconds() / 60
        st.caption(f"Finished {finished:%Y-%m-%d %H:%M} UTC after {minutes:.0f} min")
