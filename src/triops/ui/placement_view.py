"""The placement page's parts: the question asked now, the result, past placements."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from triops.quiz import irt, placement
from triops.quiz.grading import describe, right_answer
from triops.store import readiness as store
from triops.ui import question_view
from triops.ui.identity import Identity, now
from triops.ui.text import plain

TRACKS = {"triad": "The Ops triad", "devops": "DevOps", "mlops": "MLOps", "llmops": "LLMOps"}


def intro(p: placement.Pool) -> None:
    st.markdown(
        f"Up to {placement.MAX_ITEMS} questions from {len(p.ids)} in this track, chosen one at "
        "a time for what they tell about you: after a right answer the next one is harder, "
        "after a wrong one easier, and every domain of the track gets its turn. The test "
        f"stops as soon as your ability is pinned down to a standard error of "
        f"{placement.TARGET_SE}. Answers are marked at the end, so that each question measures "
        "what you know now; they then count toward your readiness like any other answer."
    )


def ask(db, session: store.PlacementRow, p: placement.Pool, vocabulary) -> None:
    """The question the session asks now, with its answer button."""
    progress, _ = placement.state(db, session, p)
    if progress.done:
        return
    candidate = p.candidates[progress.next]  # type: ignore[index]
    question = candidate.question.question
    key = f"placement-{session.id}-{progress.asked}"
    order = placement.option_order(session.id, question)
    st.progress(
        min(1.0, progress.asked / placement.MAX_ITEMS),
        text=f"Question {progress.asked + 1} of at most {placement.MAX_ITEMS}",
    )
    with st.container(border=True):
        track = candidate.question.track
        st.caption(
            f"{TRACKS.get(track, track)} · {vocabulary.domain_title(track, question.domain)}"
        )
        question_view.stem(question)
        question_view.inputs(question, order, key)
        if st.button("Submit answer", type="primary", key=f"{key}-submit"):
            try:
                response = question_view.read(question, order, key)
            except question_view.Unparsed as exc:
                st.warning(str(exc))
                st.stop()
            if response is None:
                st.warning("Answer the question first.")
                st.stop()
            placement.submit(db, session, p, question.id, response, now())
            st.rerun()


def result(db, session: store.PlacementRow, p: placement.Pool) -> None:
    """A finished placement: the estimate with its interval, and every question marked."""
    answers = store.placement_answers(db, session.id)
    low = session.theta - irt.Z90 * session.se  # type: ignore[operator]
    high = session.theta + irt.Z90 * session.se  # type: ignore[operator]
    st.success(
        f"Placement finished ({session.stop_reason}): ability {session.theta:+.2f}, "
        f"90 % interval {low:+.2f} to {high:+.2f}, standard error {session.se:.2f}, after "
        f"{len(answers)} questions. 0 is the average learner on this installation.",
        icon=":material/explore:",
    )
    st.caption(
        "These answers now count toward your readiness, and a finished placement meets the "
        "minimum of evidence for this track's exams."
    )
    by_id = {c.question.id: c.question for c in p.candidates}
    frame = pd.DataFrame(
        [
            {
                "Question": a.position + 1,
                "Domain": a.domain,
                "Score": round(a.score, 2),
            }
            for a in answers
        ]
    )
    if not frame.empty:
        per_domain = frame.groupby("Domain").agg(Asked=("Score", "size"), Right=("Score", "sum"))
        st.dataframe(per_domain.reset_index(), hide_index=True, width="stretch")
    for a in answers:
        bq = by_id.get(a.question_id)
        verdict = "right" if a.score >= 1 else ("partly right" if a.score > 0 else "wrong")
        with st.expander(f"Question {a.position + 1}: {verdict}"):
            if bq is None:
                st.caption("This question is no longer in the bank.")
                continue
            question_view.stem(bq.question)
            st.markdown(f"Your answer: {plain(describe(bq.question, a.response))}")
            if a.score < 1:
                st.markdown(
                    f"Right answer: {plain(describe(bq.question, right_answer(bq.question)))}"
                )
            if bq.question.explanation:
                st.markdown(bq.question.explanation)


def history(db, identity: Identity, track: str) -> None:
    rows = [p for p in placement.history(db, identity.user_id, track) if p.state == "finished"]
    if len(rows) < 2:
        return
    st.markdown("Earlier placements in this track")
    st.dataframe(
        pd.DataFrame(
            {
                "Finished": [f"{r.finished_at:%Y-%m-%d %H:%M}" for r in rows],
                "Ability": [f"{r.theta:+.2f}" for r in rows],
                "Standard error": [f"{r.se:.2f}" for r in rows],
                "Stopped": [r.stop_reason for r in rows],
            }
        ),
        hide_index=True,
        width="stretch",
    )
