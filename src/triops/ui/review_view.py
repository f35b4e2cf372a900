"""The Review page's parts: today's due cards per track, the review session (question, the same
feedback as practice, the rating and how to change it), the days ahead, exam dates."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import altair as alt
import pandas as pd
import streamlit as st

from triops.content.models import Course
from triops.errors import TriopsError
from triops.quiz import review
from triops.quiz.bank import Bank, BankQuestion
from triops.quiz.presentation import option_count
from triops.quiz.review import Graded, Overview, Rating, Reviewed
from triops.ui import question_view
from triops.ui.identity import now
from triops.ui.lesson_view import lesson_link
from triops.ui.search_state import semantic_embedder

CURRENT, SHOWN_AT, SEQ, DONE, COUNT = (
    "review_current",
    "review_shown_at",
    "review_seq",
    "review_done",
    "review_count",
)
RATING_HELP = {
    Rating.Again: "Not recalled: it comes back soon.",
    Rating.Hard: "Recalled with serious difficulty, or only partly.",
    Rating.Good: "Recalled after some thought.",
    Rating.Easy: "Recalled easily.",
}


def when(moment: datetime | None, today: date) -> str:
    """A due time in words, relative to today (UTC)."""
    if moment is None:
        return "nothing scheduled"
    days = (moment.date() - today).days
    if days <= 0:
        return f"today at {moment:%H:%M} UTC"
    if days == 1:
        return "tomorrow"
    return f"in {days} days ({moment:%d %b %Y})"


def today(summary: Overview, titles: dict[str, str], moment: datetime) -> None:
    """What is due now and later today, per track, with each track's exam date."""
    cols = st.columns(max(1, len(summary.tracks)))
    for col, track in zip(cols, summary.tracks, strict=False):
        with col, st.container(border=True):
            st.metric(
                titles.get(track.track, track.track),
                track.due_now,
                help="Cards due now in this track, pulled-forward ones included.",
            )
            parts = ["due now", f"{track.later_today} more later today"]
            if track.pulled:
                parts.append(f"{track.pulled} pulled forward by the exam date")
            if track.exam_day is not None:
                days = (track.exam_day - moment.date()).days
                if days >= 0:
                    parts.append(
                        f"exam {track.exam_day:%d %b %Y} ({days} days): target recall "
                        f"{track.retention:.0%}"
                    )
                else:
                    parts.append(f"exam date {track.exam_day:%d %b %Y} has passed")
            st.caption(" · ".join(parts))


def forecast_chart(summary: Overview, titles: dict[str, str]) -> None:
    """Cards due per day ahead, stacked by track."""
    if not summary.forecast:
        st.caption(f"Nothing falls due in the next {review.FORECAST_DAYS} days.")
        return
    first = summary.forecast[0][0]
    days = [first + timedelta(days=n) for n in range(review.FORECAST_DAYS)]
    counts = {(day, track): n for day, track, n in summary.forecast}
    tracks = sorted({track for _, track, _ in summary.forecast})
    # Every day of the window is on the axis, so a day with nothing due shows as a gap.
    frame = pd.DataFrame(
        [
            {
                "Day": f"{day:%d %b}",
                "Track": titles.get(track, track),
                "Cards": counts.get((day, track), 0),
            }
            for day in days
            for track in tracks
        ]
    )
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("Day:O", sort=None, title=None, axis=alt.Axis(labelOverlap=True)),
            y=alt.Y("sum(Cards):Q", title="Cards due"),
            color=alt.Color("Track:N", legend=alt.Legend(orient="bottom", title=None)),
            tooltip=["Day", "Track", "Cards"],
        )
        .properties(height=260)
    )
    st.altair_chart(chart, width="stretch")
    st.caption(
        f"Reviews due per day for the next {review.FORECAST_DAYS} days (UTC); today includes "
        "every overdue card."
    )


def _show(question_id: str) -> None:
    state = st.session_state
    state[CURRENT] = question_id
    state[SHOWN_AT] = now()
    state[DONE] = None
    state[SEQ] = state.get(SEQ, 0) + 1


def session(
    db, user_id: str, summary: Overview, bank: Bank, course: Course, titles: dict[str, str]
) -> BankQuestion | None:
    """One card at a time through the due queue: answer, feedback, rating. Returns the card's
    question once it is answered (the page offers 'Report a problem' under it)."""
    state = st.session_state
    ids = summary.queue.ids()
    current = state.get(CURRENT)
    done: tuple[Graded, Reviewed] | None = state.get(DONE)
    if current not in ids and done is None:
        if not summary.queue:
            reviewed = state.get(COUNT, 0)
            if reviewed:
                st.success(f"Done for now: {reviewed} card(s) reviewed in this session.")
            else:
                st.info("Nothing is due now.")
            st.caption(f"Next card due: {when(summary.next_due, now().date())}.")
            return None
        _show(summary.queue[0].question.id)
        current = state[CURRENT]
    if current in ids:
        state["review_card"] = summary.queue[ids.index(current)]
    card = state["review_card"]  # once answered, no longer due: the card as it was shown
    bq = card.question
    question = bq.question
    key = f"review-{state[SEQ]}"
    order_key = f"{key}-order"
    if order_key not in state:
        order = list(range(option_count(question)))
        random.Random().shuffle(order)  # a fresh shuffle per showing, as practice does
        state[order_key] = order
    order = state[order_key]

    with st.container(border=True):
        domain = bank.vocabulary.domain_title(bq.track, question.domain)
        why = "pulled forward by your exam date" if card.pulled else f"due {card.due:%d %b}"
        st.caption(f"{titles.get(bq.track, bq.track)} · {domain} · {question.difficulty} · {why}")
        question_view.stem(question)
        question_view.inputs(question, order, key, disabled=done is not None)
        if done is None and st.button("Check answer", type="primary", key=f"{key}-check"):
            response, embedder = question_view.to_check(question, order, key, semantic_embedder)
            answered = now()
            seconds = (answered - state[SHOWN_AT]).total_seconds()
            state[DONE] = review.answer_and_review(
                db, user_id, bq, response, answered, seconds, embedder
            )
            state[COUNT] = state.get(COUNT, 0) + 1
            st.rerun()

    done = state.get(DONE)
    if done is None:
        return None
    graded, reviewed = done
    feedback(graded, question, course)
    rating(db, user_id, reviewed, key)
    if st.button("Next card", type="primary", key=f"{key}-next"):
        state[CURRENT] = None
        state[DONE] = None
        st.rerun()
    return bq


def feedback(graded: Graded, question, course: Course) -> None:
    """The verdict, per-choice feedback, the right answer, the explanation, the lesson."""
    if graded.detail and getattr(question, "semantic", None) is not None:
        st.caption(f"Graded by meaning: {graded.detail}")
    if graded.verdict == "correct":
        st.success("Correct.", icon=":material/check_circle:")
    elif graded.verdict == "partial":
        detail = f" {graded.detail}." if graded.detail else ""
        st.warning(f"Partly right: {graded.score:.0%}.{detail}")
    else:
        st.error("Not right this time.")
    for text in graded.feedback:
        st.markdown(f"- {text}")
    if graded.right_answer:
        st.markdown(f"**Right answer:** {graded.right_answer}")
    if question.explanation:
        st.info(question.explanation, icon=":material/school:")
    linked = course.lesson(question.lesson) if question.lesson else None
    if linked is not None:
        lesson_link(linked)


def rating(db, user_id: str, reviewed: Reviewed, key: str) -> None:
    """The rating applied, why, when the card comes back, and buttons to change it."""
    state = st.session_state
    suggested = (
        f"suggested {reviewed.suggested.name} ({reviewed.reason})"
        if reviewed.rating == reviewed.suggested
        else f"you changed it from the suggested {reviewed.suggested.name}"
    )
    back = when(reviewed.due, now().date())
    pulled = " (pulled forward by your exam date)" if reviewed.pulled else ""
    st.markdown(f"**Rated {reviewed.rating.name}**: {suggested}. Next review {back}{pulled}.")
    st.caption("Not how it felt? Change the rating:")
    for col, choice in zip(st.columns(len(Rating)), Rating, strict=True):
        applied = choice == reviewed.rating
        if col.button(
            choice.name,
            key=f"{key}-rate-{choice.name}",
            type="primary" if applied else "secondary",
            disabled=applied,
            help=RATING_HELP[choice],
            width="stretch",
        ):
            try:
                changed = review.change_rating(db, user_id, reviewed.log_id, choice)
            except TriopsError as exc:
                st.error(exc.user_message)
                return
            graded, _ = state[DONE]
            state[DONE] = (graded, changed)
            st.rerun()


def exam_dates(db, user_id: str, titles: dict[str, str], moment: datetime) -> None:
    """Set or clear an exam date per track."""
    dates = review.exam_dates(db, user_id)
    with st.expander("Exam dates", expanded=False):
        st.caption(
            f"From {review.RAMP_DAYS} days before an exam, review aims for a higher recall on "
            f"the day ({review.BASE_RETENTION:.0%} rising to {review.EXAM_RETENTION:.0%}), and "
            "cards that would next fall due after the exam come up before it."
        )
        with st.form("review-exam-date", border=False):
            left, right = st.columns(2)
            track = left.selectbox(
                "Track", list(titles), format_func=titles.get, key="review_exam_track"
            )
            day = right.date_input(
                "Exam date", value=None, format="YYYY-MM-DD", key="review_exam_day"
            )
            a, b = st.columns(2)
            save = a.form_submit_button("Set exam date", type="primary")
            clear = b.form_submit_button("Clear the track's date")
        if save or clear:
            if save and day is None:
                st.warning("Pick the day of your exam first.")
            else:
                try:
                    pulled = review.set_exam_date(
                        db, user_id, track, None if clear else day, moment, titles
                    )
                except TriopsError as exc:
                    st.error(exc.user_message)
                else:
                    if clear:
                        st.success(f"{titles[track]}: exam date cleared.")
                    else:
                        st.success(
                            f"{titles[track]}: exam on {day:%d %b %Y}; {pulled} card(s) "
                            "pulled forward to come up before it."
                        )
                    dates = review.exam_dates(db, user_id)
        if dates:
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "Track": titles.get(t, t),
                            "Exam": d.isoformat(),
                            "Days left": (d - moment.date()).days,
                            "Target recall now": f"{review.target_retention(d, moment):.1%}",
                        }
                        for t, d in sorted(dates.items())
                    ]
                ),
                hide_index=True,
            )


def parameters(db, user_id: str) -> None:
    """Which FSRS parameters schedule this profile, and what a fit of its own needs."""
    fitted = review.fitted(db, user_id)
    counted, needed = review.evidence(db, user_id)
    if fitted is not None:
        st.caption(
            f"Scheduled with FSRS parameters fitted to your reviews on "
            f"{fitted.fitted_at:%d %b %Y} ({fitted.reviews} reviews)."
        )
    elif counted < needed:
        st.caption(
            f"Scheduled with FSRS's default parameters. Fitting your own needs {needed} reviews "
            f"made a day or more after the same question's previous one; you have {counted}."
        )
    else:
        st.caption(
            f"Scheduled with FSRS's default parameters; you have {counted} reviews, enough to "
            "fit your own: run `triops review optimize --profile <your profile>` with the app "
            "stopped."
        )
