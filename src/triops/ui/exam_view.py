"""Exam screens: the list of exams, taking an attempt, and results. Every write goes through
triops.quiz.exam, which commits it before the page confirms it."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from triops.errors import TriopsError
from triops.quiz import analysis
from triops.quiz import exam as engine
from triops.quiz.blueprint import Exams
from triops.quiz.exam import ACCOMMODATIONS, AttemptView
from triops.quiz.grading import describe, grade, right_answer
from triops.store import attempts
from triops.ui import question_view, report_view, resources, task_view
from triops.ui.identity import Identity, now
from triops.ui.lesson_view import lesson_link
from triops.ui.text import plain
from triops.ui.timer import countdown

RESYNC_SECONDS = 15
FACTOR_LABEL = {"1": "standard time", "1.5": "time x1.5", "2": "time x2", "untimed": "untimed"}


def _time_text(minutes: float | None) -> str:
    if minutes is None:
        return "untimed"
    return f"{minutes:g} min"


def _pass_rule(bp) -> str:
    """The pass rule as the Exams page states it, with where it comes from."""
    basis = bp.source.pass_mark_basis if bp.source is not None else None
    if bp.scaled is not None:
        text = (
            f"pass at {bp.scaled.cut} on a {bp.scaled.min}–{bp.scaled.max} scale "
            f"(Triops: {bp.pass_mark:g}% of the scored questions)"
        )
    else:
        text = f"pass mark {bp.pass_mark:g}%"
    if basis == "study-target":
        text += " (a Triops study target: the issuer publishes no pass mark)"
    elif basis == "third-party":
        text += " (as a third-party summary reports it)"
    return text


def _rules(bp, multiplier: float | None, used: int) -> str:
    limit = None if multiplier is None else bp.time_limit_minutes * multiplier
    allowed = "unlimited" if not bp.attempts_allowed else f"{used} of {bp.attempts_allowed}"
    count = f"{bp.shown} questions"
    if bp.pilot:
        count += f" ({bp.pilot} of them unscored, not identified until the results)"
    if bp.tasks is not None:
        count += (
            f" + {bp.tasks.count} hands-on task{'' if bp.tasks.count == 1 else 's'} "
            f"({bp.tasks.weight:g}% of the score)"
        )
    multiple = (
        "multiple response all-or-nothing"
        if bp.multiple_response == "all-or-nothing"
        else "partial credit on multiple response"
    )
    expiry = (
        "auto-submits at the deadline"
        if bp.expiry.policy == "auto-submit"
        else f"{bp.expiry.grace_minutes} min grace period to submit"
    )
    return (
        f"{count} · {_time_text(limit)} · {_pass_rule(bp)} · {multiple} · "
        f"attempts used: {allowed} · {expiry}"
    )


def exam_list(exams: Exams, identity: Identity) -> None:
    """Every exam with its rules and source, a start or resume button (or why it cannot start
    yet), and the attempt history."""
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
            st.caption(_rules(bp, multiplier, len(history)))
            if bp.source is not None:
                src = bp.source
                st.caption(
                    f"Modelled on {src.exam} by {src.issuer}. Source: [{src.title}]({src.url}), "
                    f"checked {src.checked:%Y-%m-%d}. {src.note}".strip()
                )
            if open_row is None and not ex.startable:
                st.warning(f"{bp.title} {ex.shortfall_text()}.")
                continue
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
            color=alt.Color(
                "exam:N",
                legend=alt.Legend(
                    title="Exam", orient="bottom", direction="vertical", labelLimit=0
                ),
            ),
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


def _stored(db, view: AttemptView) -> tuple[dict[int, Any], set[int]]:
    """The attempt's answers and flags as the database holds them now."""
    answers = {
        p: (None if r is None else json.loads(r))
        for p, r in attempts.responses(db, view.row.id).items()
    }
    return answers, attempts.flags(db, view.row.id)


def _seen(token: str) -> dict[str, Any]:
    """What this session last showed or saved of an attempt: its answers and its flags, and
    the count of answer and flag rows written to it when the page last read it."""
    return st.session_state.setdefault("exam_seen", {}).setdefault(
        token, {"answers": None, "flags": None, "writes": None}
    )


def known(token: str) -> tuple[int, dict[int, Any], set[int]] | None:
    """What this session last read of an attempt and wrote to it since: (count of answer and
    flag rows, answers, flags), for `engine.load` to skip reading answers and flags while the
    count has not moved; None before the page has drawn the attempt in this session."""
    seen = st.session_state.get("exam_seen", {}).get(token)
    if seen is None or None in (seen["writes"], seen["answers"], seen["flags"]):
        return None
    return seen["writes"], seen["answers"], seen["flags"]


def _wrote(token: str, position: int, answer: Any = None, *, flag: bool | None = None) -> None:
    """Note this session's own committed write (one answer or flag row) in what it has seen:
    the answer as the database gives it back (JSON), and one more row in the count."""
    seen = _seen(token)
    if seen["answers"] is None or seen["flags"] is None or seen["writes"] is None:
        return
    if flag is None:
        seen["answers"][position] = None if answer is None else json.loads(json.dumps(answer))
    else:
        (seen["flags"].add if flag else seen["flags"].discard)(position)
    seen["writes"] += 1


def _changed_elsewhere(token: str, answers: dict[int, Any], flags: set[int]) -> list[int]:
    """Positions whose stored answer or flag is not what this session last showed or saved:
    another tab or window of the same attempt changed them."""
    seen = _seen(token)
    if seen["answers"] is None:
        return []
    before, after = seen["answers"], answers
    changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    changed |= seen["flags"] ^ flags
    return sorted(changed)


STALE_ANSWER = (
    "This question's answer was changed in another tab or window after this tab showed it, so "
    "your change here was not saved. The question now shows the answer saved there; change it "
    "again to replace it."
)


def _save(view: AttemptView, position: int, key: str, user_id: str) -> None:
    """on_change: commit the answer, then record the confirmation the page shows.

    An answer that another tab changed after this one showed it is not overwritten: the tab
    is stale, and says so (the next run shows the stored answer)."""
    question = view.questions[position].question
    status = st.session_state.setdefault("exam_saved", {})
    db = resources.state_db()
    try:
        response = question_view.read(question, view.questions[position].option_order, key)
        stored = attempts.response(db, view.row.id, position)
        if question_view.changed_since_shown(key, None if stored is None else json.loads(stored)):
            status[(view.token, position)] = ("warning", STALE_ANSWER)
            return
        engine.save_answer(db, view.token, user_id, position, response, now(), question)
    except question_view.Unparsed as exc:
        status[(view.token, position)] = ("warning", str(exc))
    except TriopsError as exc:
        status[(view.token, position)] = ("error", exc.user_message)
    else:
        question_view.mark_saved(key, response)
        _wrote(view.token, position, response)
        moment = now()
        status[(view.token, position)] = ("ok", f"Answer saved at {moment:%H:%M:%S} UTC")
        st.session_state["exam_just_saved"] = (
            f"Answer to question {position + 1} saved at {moment:%H:%M:%S} UTC."
        )


def _save_task(view: AttemptView, position: int, user_id: str) -> None:
    """on_change of a task's editor: commit every editable file's text as the answer."""
    status = st.session_state.setdefault("exam_saved", {})
    question = view.questions[position].question
    response = task_view.response_of(view, position)
    try:
        engine.save_answer(
            resources.state_db(), view.token, user_id, position, response, now(), question
        )
    except TriopsError as exc:
        status[(view.token, position)] = ("error", exc.user_message)
    else:
        view.responses[position] = response
        _wrote(view.token, position, response)
        moment = now()
        status[(view.token, position)] = ("ok", f"Files saved at {moment:%H:%M:%S} UTC")
        st.session_state["exam_just_saved"] = (
            f"Files of question {position + 1} saved at {moment:%H:%M:%S} UTC."
        )


def _flag(view: AttemptView, position: int, user_id: str) -> None:
    flagged = st.session_state.get(f"{view.token}-flag-{position}", False)
    try:
        engine.set_flag(resources.state_db(), view.token, user_id, position, flagged, now())
    except TriopsError as exc:
        st.session_state.setdefault("exam_saved", {})[(view.token, position)] = (
            "error",
            exc.user_message,
        )
    else:
        _wrote(view.token, position, flag=flagged)


def _clock(view: AttemptView, user_id: str, fresh: list[bool]) -> None:
    """Resync with the server at least every 15 s; redraw the page at the deadline, and when
    another tab has changed this attempt (so this one stops showing stale answers).

    `fresh` holds True in the page's own run, where `view` was read from the database
    moments before: that run draws the clock from it without reading the attempt again. The
    fragment's own runs (every `run_every` seconds) find it empty and read the database."""
    moment = now()
    if fresh:
        fresh.clear()
        row = view.row
    else:
        db = resources.state_db()
        row, writes = engine.resync(db, view.token, user_id, moment)
        if row.state != view.state:
            st.rerun(scope="app")
        # Answers and flags are read and compared only when some were written since the page
        # was drawn, other than this session's own (counted as they are made: _wrote).
        seen = _seen(view.token)
        if writes != seen["writes"]:
            if _changed_elsewhere(view.token, *_stored(db, view)):
                st.rerun(scope="app")
            seen["writes"] = writes
    end = row.grace_until if row.state == "overdue" else row.deadline
    if end is None:
        st.caption("Untimed attempt")
        return
    label = "Grace period left" if row.state == "overdue" else "Time left"
    countdown(end, moment, label, attempt=str(row.id))


def take(view: AttemptView, identity: Identity) -> None:
    """The attempt screen: countdown, navigator, one question, review and submit."""
    user_id = identity.user_id
    n = len(view.questions)
    moment = now()
    left = view.seconds_left(moment)
    interval = RESYNC_SECONDS if left is None else max(1.0, min(RESYNC_SECONDS, left + 0.5))
    # What another tab changed is noted before the clock's resync compares against it.
    changed = _changed_elsewhere(view.token, view.responses, view.flags)
    seen = _seen(view.token)
    seen["answers"], seen["flags"] = dict(view.responses), set(view.flags)
    seen["writes"] = view.writes
    st.fragment(run_every=interval)(_clock)(view, user_id, [True])
    if changed:
        st.warning(
            "This attempt was changed in another tab or window: "
            + ", ".join(f"question {p + 1}" for p in changed[:10])
            + (" and more" if len(changed) > 10 else "")
            + " now show what was saved there. Keep an exam open in one tab only."
        )
    overdue = view.state == "overdue"
    if overdue:
        st.warning(
            "Time is up. Your answers are locked; submit before the grace period ends "
            "or the attempt will not count."
        )

    nav, main = st.columns([1, 2], gap="large")
    with nav, st.container(key="exam-navigator"):
        _navigator(view)
        _saved_status(st.session_state.pop("exam_just_saved", ""))
    with main:
        if st.session_state.get("exam_summary") == view.token:
            _summary(view, user_id)
            return
        position = min(_position(), n - 1)
        drawn = view.questions[position]
        question = drawn.question
        key = f"{view.token}-q{position}"
        st.markdown(f"**Question {position + 1} of {n}**")
        if engine.is_task(question):
            task_view.take(
                view,
                drawn,
                user_id,
                disabled=overdue,
                reseed=position in changed,
                on_change=lambda p=position: _save_task(view, p, user_id),
            )
        else:
            question_view.seed_state(
                question, drawn.option_order, key, view.responses.get(position)
            )
            question_view.stem(question)
            question_view.inputs(
                question,
                drawn.option_order,
                key,
                disabled=overdue,
                on_change=lambda p=position, k=key: _save(view, p, k, user_id),
                at_most_choose=view.blueprint.multiple_response == "all-or-nothing",
            )
        flag_key = f"{view.token}-flag-{position}"
        if flag_key not in st.session_state or position in changed:
            st.session_state[flag_key] = position in view.flags
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


# The navigator's current question. Streamlit draws a selected pill in its primary colour on a
# tint of it (#c53948 on #f9ebed in the light theme: 4.47:1, under WCAG's 4.5:1 for body text).
# Its number is drawn larger (19.2 px), bold and underlined: large text needs 3:1 (SC 1.4.3),
# which the theme's colours meet light or dark, and the current question stands out by more
# than colour (SC 1.4.1).
CURRENT_PILL = (
    "<style>.st-key-exam-navigator button[data-selected='true'] p { font-size: 1.2rem; "
    "font-weight: 700; text-decoration: underline; text-underline-offset: 3px; }</style>"
)


# A save confirmation a screen reader hears (WCAG 2.2 SC 4.1.3): a polite live region that
# stays the same element across script runs (a Streamlit v2 component, drawn in the page), so
# that a new text in it is announced. A caption is not a live region; the visible "Answer saved
# at" caption stays as it was. The region is emptied on runs that saved nothing (silently), so
# the next save is heard even when its text repeats.
_SAVED_HTML = '<div class="triops-saved" role="status" aria-live="polite"></div>'
_SAVED_CSS = """
.triops-saved { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; }
"""
_SAVED_JS = """
export default function ({ data, parentElement }) {
  const region = parentElement.querySelector(".triops-saved");
  if (region.textContent !== data.text) region.textContent = data.text;
}
"""
_saved_region = st.components.v2.component(
    "triops_saved_status", html=_SAVED_HTML, css=_SAVED_CSS, js=_SAVED_JS
)


def _saved_status(text: str) -> None:
    """Say `text` (the save just made, or nothing) to screen readers."""
    _saved_region(key="exam-saved-status", data={"text": text})


def _navigator(view: AttemptView) -> None:
    """Every question as a pill (keyboard reachable): number, ✓ answered, ⚑ flagged."""
    answered, flags = view.answered(), view.flags
    st.html(CURRENT_PILL)
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
    tasks = sum(1 for d in view.questions if engine.is_task(d.question))
    if tasks:
        st.caption(
            f"Submitting runs the checks of your {tasks} hands-on task"
            f"{'' if tasks == 1 else 's'} in the sandbox: it can take a minute or two."
        )
    if st.button("Submit exam", type="primary", disabled=not confirm, key="exam-submit"):
        with st.spinner("Grading your answers and tasks…" if tasks else "Submitting…"):
            engine.submit(resources.state_db(), view.token, user_id, now())
        st.session_state.pop("exam_summary", None)
        st.rerun()
    st.button(
        "Back to the questions",
        key="exam-back",
        on_click=lambda: st.session_state.pop("exam_summary", None),
    )


RELIABILITY_NOTE = (
    "Reliability says how consistently this exam's questions rank candidates (1 is perfect); "
    "the standard error of measurement is the margin of error that follows from it."
)


@st.cache_data(show_spinner=False, max_entries=16)
def _reliability(_db, exam_id: str, version: tuple) -> analysis.FormReliability:
    return analysis.form_reliability(_db, exam_id)


def _form_reliability(exam_id: str) -> None:
    """The form's reliability from every submitted attempt, or how many more it needs."""
    db = resources.state_db()
    rel = _reliability(db, exam_id, analysis.data_version(db))
    if rel.needed > 0 or rel.coefficient is None:
        st.markdown(
            f"**Form reliability:** not known yet: it needs {rel.needed} more submitted "
            f"attempt{'' if rel.needed == 1 else 's'} of this exam (it has {rel.attempts})."
        )
    else:
        sem = (
            f"; standard error of measurement ±{rel.sem_points:.1f} points"
            if rel.sem_points is not None
            else ""
        )
        st.markdown(
            f"**Form reliability:** {rel.method} {rel.coefficient:.2f} over {rel.attempts} "
            f"attempts{sem}."
        )
    st.caption(RELIABILITY_NOTE)


MARGIN_NOTE = (
    "One attempt measures with error: this is the standard error of a proportion, "
    "√(p(1−p)/n) over the n scored questions. Another draw of questions would land within "
    "about this much of your score two times in three."
)


TRACK_NAMES = {"triad": "Triad", "devops": "DevOps", "mlops": "MLOps", "llmops": "LLMOps"}


def _domain_name(d: engine.DomainResult, vocab) -> str:
    """A domain's full name: a real exam's domain title, or track and course domain."""
    if d.title is not None:
        return d.title
    track, name = d.key.split("/")
    return f"{TRACK_NAMES.get(track, track)}: {vocab.domain_title(track, name)}"


PARTS = ["earned", "lost on wrong or partly right answers", "unanswered"]
PART_COLORS = ["#1d4f73", "#c2410c", "#b8bcc4"]


def domain_parts(view: AttemptView, r: engine.ExamResult) -> dict[str, dict[str, float]]:
    """Per domain key, the share (%) of its points earned, lost on answers that were wrong or
    partly right, and lost on questions left unanswered; the three add up to 100. Scored
    questions only, as graded at submission."""
    bp = view.blueprint
    points: dict[str, list[tuple[float, bool]]] = {}
    for d in view.questions:
        if d.pilot:
            continue
        if engine.is_task(d.question):
            key = engine.TASKS_DOMAIN
        else:
            course = f"{d.track}/{d.question.domain}"
            section = bp.domain_of(course)
            key = section.key if section is not None else course
        score = r.scores.get(d.position)
        if score is None:
            score = grade(
                d.question,
                view.responses.get(d.position),
                multiple_response=bp.multiple_response,
            ).score
        points.setdefault(key, []).append((score, view.responses.get(d.position) is not None))
    parts = {}
    for key, items in points.items():
        n = len(items)
        earned = sum(s for s, _ in items)
        unanswered = sum(1 for _, answered in items if not answered)
        parts[key] = {
            PARTS[0]: 100 * earned / n,
            PARTS[1]: 100 * (n - earned - unanswered) / n,
            PARTS[2]: 100 * unanswered / n,
        }
    return parts


def domain_chart(rows: list[dict], pass_mark: float) -> alt.LayerChart:
    """One bar per domain split into earned, lost on answers and unanswered, with the pass
    mark as a line: a domain meets the standard when its earned part reaches the line."""
    frame = pd.DataFrame(rows)
    order = list(dict.fromkeys(frame["domain"]))
    bars = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X(
                "share:Q",
                stack="zero",
                scale=alt.Scale(domain=[0, 100]),
                axis=alt.Axis(values=list(range(0, 101, 10))),
                title="Share of the domain's points (%)",
            ),
            y=alt.Y("domain:N", sort=order, title=None, axis=alt.Axis(labelLimit=0)),
            color=alt.Color(
                "part:N",
                scale=alt.Scale(domain=PARTS, range=PART_COLORS),
                legend=alt.Legend(
                    title=None, orient="bottom", direction="horizontal", labelLimit=0
                ),
            ),
            order=alt.Order("rank:Q"),
            tooltip=[
                "domain",
                "part",
                alt.Tooltip("share:Q", format=".0f", title="share (%)"),
                "questions",
            ],
        )
        .properties(height=alt.Step(34))
    )
    mark = pd.DataFrame({"pass": [pass_mark], "label": [f"pass mark {pass_mark:g}%"]})
    rule = alt.Chart(mark).mark_rule(color="#111", strokeDash=[5, 3], size=2).encode(x="pass:Q")
    text = (
        alt.Chart(mark)
        .mark_text(align="left", baseline="bottom", dx=4, dy=-2, color="#111")
        .encode(x="pass:Q", y=alt.value(0), text="label:N")
    )
    return alt.layer(bars, rule, text)


def _score(view: AttemptView, r: engine.ExamResult) -> None:
    """Pass or fail, the (scaled) score, and how precise it is."""
    bp = view.blueprint
    verdict = "Passed" if r.passed else "Not passed"
    show = st.success if r.passed else st.error
    if r.scaled is not None and bp.scaled is not None:
        show(
            f"{verdict}: scaled score {r.scaled} (pass {bp.scaled.cut}, "
            f"scale {bp.scaled.min}–{bp.scaled.max})"
        )
        st.caption(
            f"Raw score {r.percent:.1f}% of the {r.scored_items} scored questions. Triops maps "
            f"raw to scaled in two straight lines: 0% → {bp.scaled.min}, "
            f"{bp.pass_mark:g}% → {bp.scaled.cut}, 100% → {bp.scaled.max}. Real issuers equate "
            "each exam form to the scale statistically; Triops does not."
        )
    else:
        show(f"{verdict}: {r.percent:.1f}% (pass mark {bp.pass_mark:g}%)")
    if bp.source is not None and bp.source.pass_mark_basis != "published":
        st.caption(bp.source.note)
    _finished_at(view.row.finished_at, view.row.started_at)
    margin = f"±{r.margin:.1f} points"
    if r.scaled_margin is not None:
        margin += f" (about ±{r.scaled_margin:.0f} scaled points)"
    st.markdown(f"**Margin of error:** {margin}")
    extreme = r.percent in (0.0, 100.0)
    st.caption(
        MARGIN_NOTE
        + (
            " At 0% or 100% the formula gives no spread, though the next draw could."
            if extreme
            else ""
        )
    )
    _form_reliability(view.row.exam_id)
    if r.pilot_positions:
        shown = ", ".join(str(p + 1) for p in sorted(r.pilot_positions))
        st.info(
            f"{len(r.pilot_positions)} of the {len(view.questions)} questions were unscored "
            f"pilot questions (questions {shown}): they were shown like the others and do not "
            "count toward your score or the domain results."
        )


def _domains(view: AttemptView, r: engine.ExamResult) -> None:
    """Per domain: meets or needs work (and, unless the profile reports only that, the score)."""
    bp = view.blueprint
    vocab = resources.bank().vocabulary
    if not r.domains:
        return
    st.subheader("Results by domain")
    st.caption(
        f"A domain meets the standard when your score on its scored questions reaches the pass "
        f"mark ({bp.pass_mark:g}%). Issuers do not publish their rule; this one is Triops's. "
        "With a few questions per domain, a domain result is rougher than the total."
    )
    order = {d.key: i for i, d in enumerate(bp.domains)}
    rows = []
    for d in sorted(r.domains, key=lambda d: order.get(d.key, len(order))):
        row = {
            "domain": _domain_name(d, vocab),
            "result": "meets" if d.meets else "needs work",
        }
        if bp.review.domains == "percent":
            row |= {
                "score": round(d.percent, 1),
                "margin (± points)": round(d.margin, 1),
                "questions": d.possible,
            }
        rows.append(row)
    frame = pd.DataFrame(rows)
    st.dataframe(frame, hide_index=True, width="stretch")
    if bp.review.domains != "percent":
        return
    weakest = [_domain_name(d, vocab) for d in r.domains if not d.meets][:2]
    if weakest:
        st.markdown("**Weakest domains:** " + "; ".join(weakest))
    parts = domain_parts(view, r)
    rows = []
    for d in sorted(r.domains, key=lambda d: order.get(d.key, len(order))):
        for rank, (part, share) in enumerate(parts.get(d.key, {}).items()):
            rows.append(
                {
                    "domain": _domain_name(d, vocab),
                    "part": part,
                    "share": share,
                    "rank": rank,
                    "questions": d.possible,
                }
            )
    if rows:
        st.altair_chart(domain_chart(rows, bp.pass_mark), width="stretch")


def results(view: AttemptView, identity: Identity) -> None:
    """Score, pass or fail, per-domain results and review, as the blueprint allows.

    Attempts graded before pilot items and scaled scores existed render from what they stored."""
    bp = view.blueprint
    review = bp.review
    course = resources.course()
    st.subheader(bp.title)
    if view.state == "abandoned":
        st.error(
            "This attempt was not submitted before the grace period ended, so it was "
            "abandoned and does not count."
        )
        return
    if view.row.deadline is not None and view.row.finished_at == view.row.deadline:
        # The countdown's "Time is up" is gone with the attempt screen: say it here.
        st.warning(
            "Time is up: the attempt was submitted at the deadline with every answer saved "
            "before it."
        )
    r = engine.result(view)
    report_view.regrade_notice(view)
    if review.score:
        _score(view, r)
        _domains(view, r)
    if not review.questions:
        if not review.score:
            _finished_at(view.row.finished_at, view.row.started_at)
        return
    st.header("Review")
    pilot = set(r.pilot_positions)
    for d in view.questions:
        q = d.question
        response = view.responses.get(d.position)
        if engine.is_task(q):
            _task_review(view, d, r, review.correctness)
            continue
        g = grade(q, response, multiple_response=bp.multiple_response)
        if response is None:
            mark = "(not answered)"  # told apart from a wrong answer (✗)
        else:
            mark = "✓" if g.correct else ("½" if g.score > 0 else "✗")
        unscored = " (unscored pilot)" if d.position in pilot else ""
        first = q.stem.splitlines()[0]
        shown = mark if review.correctness or response is None else ""
        title = f"{d.position + 1}. {shown}{unscored} {first}"
        with st.expander(title[:120]):
            question_view.stem(q)
            st.markdown(f"**Your answer:** {plain(describe(q, response))}")  # typed text
            if review.correctness:
                st.caption(
                    f"Score: {g.score:.0%}"
                    + (" (a pilot question: not counted)" if d.position in pilot else "")
                    + (f" · {g.detail}" if g.detail and g.score < 1 else "")
                )
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
            report_view.report_problem(
                resources.state_db(),
                identity,
                q,
                d.track,
                "exam",
                attempt=view,
                position=d.position,
            )


def _task_review(view: AttemptView, d, r: engine.ExamResult, correctness: bool) -> None:
    """A task in the review: its score and each criterion's verdict as graded at submit."""
    points = round(100 * r.scores.get(d.position, 0.0))
    shown = f"{points}/100 " if correctness else ""
    title = f"{d.position + 1}. {shown}Hands-on task: {d.question.title}"
    with st.expander(title[:120]):
        task_view.review(
            d.question,
            view.responses.get(d.position),
            r.criteria.get(d.position, []),
            correctness=correctness,
        )


def _finished_at(finished: datetime | None, started: datetime) -> None:
    if finished is not None:
        minutes = (finished - started).total_seconds() / 60
        st.caption(f"Finished {finished:%Y-%m-%d %H:%M} UTC after {minutes:.0f} min")
