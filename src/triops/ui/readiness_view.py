"""The readiness panel (Home and Progress): ability per domain, pass probability per exam
profile with its interval, what to study next, and the labs beside it."""

from __future__ import annotations

import math
from datetime import datetime

import altair as alt
import pandas as pd
import streamlit as st

from triops.quiz import readiness
from triops.store import readiness as store
from triops.ui import navigation, resources
from triops.ui.identity import Identity, now
from triops.ui.lesson_view import lesson_link
from triops.ui.text import plain

PLACEMENT_PAGE = "app_pages/placement.py"
PROGRESS_PAGE = "app_pages/progress.py"
REVIEW_SCRIPT = "review.py"
VERDICT = {
    "ready": ("Ready", ":material/verified:"),
    "labs missing": ("Ready on questions; labs still to pass", ":material/science:"),
    "not yet": ("Not yet", ":material/trending_up:"),
    "needs evidence": ("Needs more answers", ":material/hourglass_empty:"),
}


@st.cache_resource(show_spinner=False, max_entries=4)
def _model(key: str, _bank, _exams, _row, _parameters) -> readiness.Model:
    return readiness.build_model(_bank, _exams, _row, _parameters)


def model(db, at: datetime | None = None) -> readiness.Model:
    """The readiness model for the bank and exams as they are now, recalibrated first when the
    installation's answers have grown enough since the last calibration."""
    bank = resources.bank()
    exams = resources.exams()
    row, parameters = store.latest_calibration(db)
    if readiness.stale(row, store.evidence_count(db)):
        with st.spinner("Calibrating the questions from everyone's answers…"):
            row, parameters = readiness.ensure_calibration(db, bank, at or now())
    return _model(readiness.model_key(bank, exams, row), bank, exams, row, parameters)


def _review_page() -> str | None:
    """The Review page's script when the app has one."""
    for specs in navigation.SECTIONS.values():
        for spec in specs:
            if spec.path == REVIEW_SCRIPT:
                return spec.script
    return None


def _review_service():
    try:
        from triops.quiz import review
    except ImportError:
        return None
    return review


def _due_by_domain(db, user_id: str, bank, at: datetime) -> dict[str, int] | None:
    """Reviews due now per track/domain, or None without the review service."""
    review = _review_service()
    if review is None or not hasattr(review, "due_queue"):
        return None
    counts: dict[str, int] = {}
    for card in review.due_queue(db, user_id, bank, at):
        key = f"{card.question.track}/{card.question.question.domain}"
        counts[key] = counts.get(key, 0) + 1
    return counts


def _exam_dates(db, user_id: str) -> dict:
    review = _review_service()
    if review is None or not hasattr(review, "exam_dates"):
        return {}
    return review.exam_dates(db, user_id)


def assess(db, identity: Identity, at: datetime | None = None) -> readiness.Readiness:
    """The profile's readiness now."""
    at = at or now()
    m = model(db, at)
    labs = [(lab.id, lab.spec.title, lab.spec.track) for lab in resources.labs().labs]
    placed = {p.track for p in store.placements(db, identity.user_id) if p.state == "finished"}
    return readiness.assess(
        m,
        store.answers(db, identity.user_id),
        at,
        labs=labs,
        passes=store.lab_passes(db, identity.user_id),
        due=_due_by_domain(db, identity.user_id, resources.bank(), at),
        exam_dates=_exam_dates(db, identity.user_id),
        placed=placed,
    )


def probability_text(exam: readiness.ExamReadiness) -> str:
    """The pass probability with its interval, or how many more answers it needs."""
    if exam.probability is None:
        return (
            f"needs {exam.needed} more answer{'s' if exam.needed != 1 else ''} in its domains "
            f"before a pass probability can be given ({exam.answers} so far)"
        )
    return "pass probability " + readiness.format_probability(
        exam.probability,
        exam.low,  # type: ignore[arg-type]
        exam.high,  # type: ignore[arg-type]
    )


def _exam_block(exam: readiness.ExamReadiness, course, compact: bool) -> None:
    label, icon = VERDICT[exam.verdict]
    with st.container(border=True):
        st.markdown(f"{icon} **{plain(exam.title)}** · {label}")
        st.caption(probability_text(exam))
        if exam.labs:
            parts = [
                f"{plain(lab.title)}: "
                + (f"passed {lab.passed_at:%Y-%m-%d}" if lab.passed_at else "not passed yet")
                for lab in exam.labs
            ]
            st.caption("Labs this exam needs: " + "; ".join(parts))
        if exam.study_next:
            st.markdown("What to study next")
            review_page = _review_page()
            shown = exam.study_next[:1] if compact else exam.study_next
            for item in shown:
                st.markdown(
                    f"- **{plain(item.title)}**: raising this domain by half a standard "
                    f"deviation would lift the pass probability by {item.gain:.2f}"
                )
                for lesson_id in item.lessons[: 1 if compact else 3]:
                    lesson = course.lesson(lesson_id)
                    if lesson is not None:
                        lesson_link(lesson)
                if item.due:
                    text = f"{item.due} review{'s' if item.due != 1 else ''} due in this domain"
                    if review_page:
                        st.page_link(review_page, label=text, icon=":material/replay:")
                    else:
                        st.caption(text)


def domain_frame(track: readiness.TrackReadiness) -> pd.DataFrame:
    """One row per domain: answers, ability with its interval, share right on its questions."""
    rows = []
    for d in track.domains:
        if d.mean is None:
            ability = f"needs {d.needed} more answer{'s' if d.needed != 1 else ''}"
            share = ""
        else:
            ability = f"{d.mean:+.2f} ({d.low:+.2f} to {d.high:+.2f})"
            share = (
                f"{d.typical[0]:.2f} ({d.typical[1]:.2f}–{d.typical[2]:.2f})" if d.typical else ""
            )
        rows.append(
            {
                "Domain": d.title,
                "Answers": d.answers,
                "Ability (90 % interval)": ability,
                "Chance of a right answer (90 % interval)": share,
            }
        )
    return pd.DataFrame(rows)


def _ability_chart(track: readiness.TrackReadiness) -> None:
    shown = [d for d in track.domains if d.mean is not None]
    if not shown:
        return
    frame = pd.DataFrame(
        {
            "Domain": [d.title for d in shown],
            "Ability": [d.mean for d in shown],
            "Low": [d.low for d in shown],
            "High": [d.high for d in shown],
        }
    )
    bars = (
        alt.Chart(frame)
        .mark_rule()
        .encode(
            x=alt.X("Low:Q", title="Ability (0 = the average learner here; 90 % interval)"),
            x2="High:Q",
            y=alt.Y("Domain:N", sort=None, title=None),
        )
    )
    points = alt.Chart(frame).mark_point(filled=True).encode(x="Ability:Q", y="Domain:N")
    st.altair_chart(bars + points, width="stretch")


def _labs(track: readiness.TrackReadiness) -> None:
    if not track.labs:
        return
    st.markdown("Labs")
    frame = pd.DataFrame(
        {
            "Lab": [lab.title for lab in track.labs],
            "Passed": [
                f"{lab.passed_at:%Y-%m-%d %H:%M}" if lab.passed_at else "not yet"
                for lab in track.labs
            ],
            "First passed": [
                f"{lab.first_passed_at:%Y-%m-%d}" if lab.first_passed_at else ""
                for lab in track.labs
            ],
        }
    )
    st.dataframe(frame, hide_index=True, width="stretch")


def _calibration_caption(result: readiness.Readiness) -> None:
    row = result.calibration
    if row is None:
        st.caption(
            "No answers on this installation yet: every question is assumed to sit at its "
            "authored difficulty level until answers calibrate it."
        )
    else:
        st.caption(
            f"Question parameters calibrated {row.created_at:%Y-%m-%d %H:%M} UTC from "
            f"{row.answers} first answers by {row.learners} learner"
            f"{'s' if row.learners != 1 else ''} on this installation."
        )


def panel(db, identity: Identity, course, *, compact: bool) -> readiness.Readiness | None:
    """The readiness panel: compact on Home, in full on Progress."""
    if identity.user is None:
        return None
    result = assess(db, identity)
    st.header("Readiness")
    for track in result.tracks:
        if track.exam_date_note:
            (st.warning if track.exam_date and track.exam_date < now().date() else st.caption)(
                track.exam_date_note
            )
    if result.message:
        st.info(result.message)
        st.page_link(PLACEMENT_PAGE, label="Take a placement test", icon=":material/explore:")
        return result
    if compact:
        exams = [e for e in result.exams if e.answers]
        cols = st.columns(max(1, min(3, len(exams))))
        for k, exam in enumerate(exams):
            with cols[k % len(cols)]:
                _exam_block(exam, course, compact=True)
        st.page_link(
            PROGRESS_PAGE, label="Readiness per domain and exam", icon=":material/trending_up:"
        )
        return result
    for track in result.tracks:
        st.subheader(f"{track.title} · {track.answers} answers")
        _ability_chart(track)
        st.dataframe(domain_frame(track), hide_index=True, width="stretch")
        for exam in result.track_exams(track.track):
            _exam_block(exam, course, compact=False)
        _labs(track)
    waiting = [e for e in result.exams if e.track not in {t.track for t in result.tracks}]
    if waiting:
        st.caption(
            f"Not started yet (a pass probability needs {readiness.MINIMUM_ANSWERS} answers in "
            "an exam's domains, or a placement test of its track): "
            + "; ".join(plain(e.title) for e in waiting)
        )
    _calibration_caption(result)
    return result


def item_parameters(db) -> None:
    """The question parameters readiness works with (an expander on Progress)."""
    m = model(db)
    level_means = m.calibration.level_means if m.calibration else None
    table = readiness.item_table(m.items, level_means)
    with st.expander(f"Question parameters ({int((table['model'] != 'prior').sum())} calibrated)"):
        st.caption(
            "Difficulty b and discrimination a of the two-parameter logistic model, fitted "
            "from everyone's first answers; a question nobody has answered has no estimate."
        )
        st.dataframe(
            table.assign(
                a=table["a"].map(lambda v: "" if math.isnan(v) else f"{v:.2f}"),
                b=table["b"].map(lambda v: "" if math.isnan(v) else f"{v:+.2f}"),
            ),
            hide_index=True,
            width="stretch",
        )
