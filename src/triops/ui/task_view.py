"""A task inside an exam attempt: its instruction, an editor per editable file, Run in the
sandbox with its live log, and the review of its criteria after submit.

The files the candidate edits are the item's answer, saved through the exam's durable answer
save on every change (triops.quiz.exam.save_answer), so they survive a reload and a restart and
nothing changes after the deadline. File texts, logs and reasons are shown as text, never as
HTML or markdown."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from triops.errors import TriopsError
from triops.labs import service as lab_service
from triops.quiz.exam import AttemptView, DrawnQuestion
from triops.tasks import service
from triops.tasks.spec import Task
from triops.ui import resources
from triops.ui.text import plain


def task(key: str) -> Task:
    """The task folder of a drawn task item."""
    return service.task_by_key(resources.settings().root, key)


def editor_key(token: str, position: int, index: int) -> str:
    return f"{token}-t{position}-f{index}"


def texts(view: AttemptView, position: int) -> dict[str, str]:
    """What the editors of a task hold now: each editable path -> text."""
    item = view.questions[position].question
    return {
        rel: st.session_state.get(editor_key(view.token, position, i), "")
        for i, rel in enumerate(item.editable)
    }


def seed(view: AttemptView, position: int, reseed: bool) -> None:
    """Fill the editors from the saved answer, else the starter (once per session, and again
    when another tab changed the answer)."""
    item = view.questions[position].question
    saved = (view.responses.get(position) or {}).get("files") or {}
    folder = None
    for i, rel in enumerate(item.editable):
        key = editor_key(view.token, position, i)
        if key in st.session_state and not reseed:
            continue
        if rel in saved:
            st.session_state[key] = saved[rel]
        else:
            folder = folder or task(item.task)
            st.session_state[key] = folder.starter_text(rel)


def take(
    view: AttemptView,
    drawn: DrawnQuestion,
    user_id: str,
    *,
    disabled: bool,
    reseed: bool,
    on_change: Callable[[], None],
) -> None:
    """The task as the candidate works on it."""
    item = drawn.question
    position = drawn.position
    st.markdown(f"**Hands-on task: {plain(item.title)}** · time budget {item.minutes} min")
    st.markdown(item.stem)  # the author's instruction (course content, markdown)
    with st.expander("What is checked", expanded=False):
        for c in item.criteria:
            st.markdown(f"- {plain(c.description)} ({c.weight} points)")
    try:
        seed(view, position, reseed)
    except TriopsError as exc:
        st.error(exc.user_message)
        return
    tabs = st.tabs(item.editable)
    for i, (tab, rel) in enumerate(zip(tabs, item.editable, strict=True)):
        with tab:
            st.text_area(
                rel,
                key=editor_key(view.token, position, i),
                height=360,
                disabled=disabled,
                on_change=on_change,
                help="Saved as your answer when you leave the field (or press Ctrl+Enter).",
            )
    _run_panel(view, drawn, user_id, disabled=disabled)


def _start(view: AttemptView, drawn: DrawnQuestion, user_id: str) -> None:
    """Run the saved files in the sandbox (the answer as the grader will see it)."""
    cfg = resources.settings()
    try:
        service.start_run(
            resources.jobs(),
            sandbox_root=cfg.sandbox_root,
            labs_venv=cfg.labs_venv,
            user_id=user_id,
            task=task(drawn.question.task),
            files=(view.responses.get(drawn.position) or {}).get("files"),
        )
    except TriopsError as exc:
        st.session_state["task_message"] = exc.user_message


def _run_panel(view: AttemptView, drawn: DrawnQuestion, user_id: str, *, disabled: bool) -> None:
    db = resources.state_db()
    active = service.current_job(db, user_id)
    folder = task(drawn.question.task)
    running = active is not None and active.subject == service.subject(folder)
    st.button(
        "Run in the sandbox",
        key=f"{view.token}-t{drawn.position}-run",
        disabled=disabled or active is not None,
        on_click=_start,
        args=(view, drawn, user_id),
        help="Runs your saved files; it does not grade them. Grading happens at submit.",
    )
    message = st.session_state.pop("task_message", None)
    if message:
        st.warning(message)
    st.fragment(run_every=1.0 if running else None)(_live)(folder, user_id, running)


def _live(folder: Task, user_id: str, was_running: bool) -> None:
    job = service.latest_run(resources.state_db(), user_id, folder)
    if job is None:
        st.caption("No run yet.")
        return
    if was_running and job.state != "running":
        st.rerun(scope="app")  # the Run button is enabled again
    label = {"running": "Running…", "succeeded": "Finished", "failed": "Failed"}[job.state]
    st.markdown(f"**{label}** · run started {job.started_at:%H:%M:%S} UTC")
    log = lab_service.read_log(job) or "(no output yet)"
    with st.expander(f"Log ({log.count(chr(10)) + 1} lines)", expanded=job.state == "running"):
        st.code(log, language="text", wrap_lines=True)


def response_of(view: AttemptView, position: int) -> dict[str, Any]:
    """The answer the editors hold: every editable file's text."""
    return {"files": texts(view, position)}


def review(item, response: Any, criteria: list[dict[str, Any]], *, correctness: bool) -> None:
    """A graded task in the results: the files as submitted and each criterion's verdict."""
    st.markdown(item.stem)
    files = (response or {}).get("files") or {}
    if not files:
        st.markdown("**Your answer:** no file changed")
    for rel, text in sorted(files.items()):
        st.markdown(f"**{plain(rel)}** as submitted")
        st.code(text, language="text")
    if not correctness:
        return
    points = sum(int(c.get("weight", 0)) for c in criteria if c.get("passed"))
    st.markdown(f"**Checked at submit: {points} of 100 points**")
    for c in criteria:
        word = "Passed" if c.get("passed") else "Failed"
        text = f"{word} ({c.get('weight')} points): {c.get('description', c.get('id'))}"
        (st.success if c.get("passed") else st.error)(plain(text))
        if c.get("reason"):
            st.caption(plain(str(c["reason"])))
