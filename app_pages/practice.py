"""Practice: one question at a time with instant feedback; missed questions come back spaced out."""

import random

import streamlit as st

from triops.quiz import practice, practice_answers, practice_session
from triops.quiz.presentation import option_count
from triops.ui import question_view, report_view, resources
from triops.ui.identity import current, now
from triops.ui.lesson_view import lesson_link
from triops.ui.search_state import semantic_embedder

TRACKS = {"triad": "The Ops triad", "devops": "DevOps", "mlops": "MLOps", "llmops": "LLMOps"}

st.title("Practice")
question_view.readable_captions()
identity = current()
bank = resources.bank()
course = resources.course()
db = resources.state_db()
state = st.session_state
rng = state.setdefault("practice_rng", random.Random())
session: practice_session.Session = state.setdefault("practice_session", practice_session.Session())

left, middle, right = st.columns(3)
track = left.selectbox(
    "Track",
    list(TRACKS),
    format_func=TRACKS.get,
    index=None,
    placeholder="All tracks",
    key="practice_track",
)
domains = bank.vocabulary.track_domains(track) if track else []
domain = middle.selectbox(
    "Domain",
    domains,
    index=None,
    placeholder="All domains",
    format_func=lambda d: bank.vocabulary.domain_title(track, d),
    key="practice_domain",
    disabled=not track,
)
lessons = [lesson for lesson in course.lessons() if not track or lesson.track == track]
lesson_id = right.selectbox(
    "Lesson",
    [lesson.id for lesson in lessons],
    index=None,
    placeholder="All lessons",
    key="practice_lesson",
    format_func=lambda i: course.lesson(i).title,
)

candidates = practice.pool(bank, track, domain, lesson_id)
logged = practice_answers.latest_scores(db, identity.user_id)
filters = (track, domain, lesson_id)
if state.get("practice_filters") != filters:
    state["practice_filters"] = filters
    state.pop("practice_current", None)
by_id = bank.by_id()

pending = len(practice.missed(candidates, {**logged, **session.scores}))
st.caption(
    f"{len(candidates)} questions match · {pending} missed question(s) waiting to come "
    "back" + ("" if identity.user else " · create a profile to keep your practice history")
)

if not candidates:
    st.info("No practice questions match these filters.")
    st.stop()


def show(question_id: str, reason: str = practice_session.CHOSEN) -> None:
    practice_session.show(session, question_id, reason)
    state["practice_current"] = question_id
    state["practice_answered"] = None
    state["practice_seq"] = state.get("practice_seq", 0) + 1


def show_next() -> None:
    pick = practice_session.next_question(candidates, session, logged, rng)
    show(pick.question.id, pick.reason)


# A link from Search (?question=<id>) opens that question, if practice may show it.
linked_id = st.query_params.get("question")
if linked_id and state.get("practice_linked") != linked_id:
    state["practice_linked"] = linked_id
    if linked_id in by_id and not by_id[linked_id].question.exam_only:
        if by_id[linked_id] not in candidates:
            candidates = [*candidates, by_id[linked_id]]
        show(linked_id)

current_id = state.get("practice_current")
if current_id not in by_id or by_id[current_id] not in candidates:
    show_next()
    current_id = state["practice_current"]

bq = by_id[current_id]
question = bq.question
key = f"practice-{state['practice_seq']}"
order_key = f"{key}-order"
if order_key not in state:
    order = list(range(option_count(question)))
    rng.shuffle(order)
    state[order_key] = order
order = state[order_key]

with st.container(border=True):
    st.caption(
        f"{TRACKS[bq.track]} · {bank.vocabulary.domain_title(bq.track, question.domain)}"
        f" · {question.difficulty}"
    )
    question_view.stem(question)
    checked: practice_session.Checked | None = state.get("practice_answered")
    question_view.inputs(question, order, key, disabled=checked is not None)
    if checked is None and st.button("Check answer", type="primary", key=f"{key}-check"):
        response, embedder = question_view.to_check(question, order, key, semantic_embedder)
        result = practice_answers.answer(
            db, identity.user_id, session, bq, response, now(), embedder
        )
        state["practice_answered"] = result
        st.rerun()

checked = state.get("practice_answered")
if checked is not None:
    if checked.detail and getattr(question, "semantic", None) is not None:
        st.caption(f"Graded by meaning: {checked.detail}")
    back = f"It will come back after at least {practice_session.GAPS[0]} other questions."
    if checked.verdict == "correct":
        st.success("Correct.", icon=":material/check_circle:")
    elif checked.verdict == "partial":
        detail = f" {checked.detail}." if checked.detail else ""
        st.warning(f"Partly right: {checked.score:.0%}.{detail} {back}")
    else:
        st.error(f"Not right this time. {back}")
    for text in checked.feedback:
        st.markdown(f"- {text}")
    if checked.right_answer:
        st.markdown(f"**Right answer:** {checked.right_answer}")
    if question.explanation:
        st.info(question.explanation, icon=":material/school:")
    linked = course.lesson(question.lesson) if question.lesson else None
    if linked is not None:
        lesson_link(linked)
    report_view.report_problem(db, identity, question, bq.track, "practice")
    a, b = st.columns(2)
    if a.button("Next question", type="primary", key=f"{key}-next"):
        show_next()
        st.rerun()
    if b.button("Another like this", key=f"{key}-like"):
        nxt = practice.like(candidates, bq, session.shown, rng)
        if nxt is not None:
            show(nxt.id)
        st.rerun()
