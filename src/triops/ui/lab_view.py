"""Lab screens: the list with each lab's status, and one lab with editors, runs and checks.
Learner files and logs are shown as text (text areas and code blocks), never as HTML."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from triops.errors import TriopsError
from triops.labs import service
from triops.labs.spec import Lab, Labs
from triops.ui import lab_results, resources
from triops.ui.identity import Identity
from triops.ui.lesson_view import lesson_link
from triops.ui.text import plain

LAB_PAGE = "app_pages/labs.py"


def lab_list(labs: Labs, identity: Identity) -> None:
    db = resources.state_db()
    for lab in labs.labs:
        status = service.status_for(db, identity.user_id, lab)
        with st.container(border=True):
            st.subheader(lab.spec.title)
            st.caption(f"{lab.spec.track} · {lab.spec.minutes} min · {status}")
            st.markdown("\n".join(f"- {o}" for o in lab.spec.objectives))
            st.page_link(
                LAB_PAGE,
                label="Open the lab",
                query_params={"lab": lab.id},
                icon=":material/science:",
            )


def _settings():
    cfg = resources.settings()
    return cfg.home, cfg.sandbox_root, cfg.labs_venv


def _start(lab: Lab, user_id: str, kind: str) -> None:
    home, sandbox_root, venv = _settings()
    try:
        service.start(
            resources.jobs(),
            home=home,
            sandbox_root=sandbox_root,
            labs_venv=venv,
            user_id=user_id,
            lab=lab,
            kind=kind,
        )
    except TriopsError as exc:
        st.session_state["lab_message"] = exc.user_message


def _save(lab: Lab, user_id: str, rel: str, key: str) -> None:
    home, _, _ = _settings()
    folder = service.files_dir(home, user_id, lab)
    try:
        service.save_file(folder, lab, rel, st.session_state[key])
        st.session_state["lab_message"] = f"Saved {rel}."
    except TriopsError as exc:
        st.session_state["lab_message"] = exc.user_message


def _reset(lab: Lab, user_id: str) -> None:
    home, _, _ = _settings()
    service.reset(home, user_id, lab)
    for rel in lab.spec.editable:
        st.session_state.pop(_key(lab, rel), None)
    st.session_state["lab_message"] = "The starter files are back."


def _key(lab: Lab, rel: str) -> str:
    return f"lab-{lab.id}-{rel}"


def lab_page(lab: Lab, identity: Identity) -> None:
    user_id = identity.user_id
    db = resources.state_db()
    home, _, _ = _settings()
    course = resources.course()
    st.caption(f"{lab.spec.track} · {lab.spec.minutes} min")
    st.title(lab.spec.title)
    linked = [course.lesson(i) for i in lab.spec.lessons if course.lesson(i) is not None]
    if linked:
        st.markdown("**Goes with**")
        for lesson in linked:
            lesson_link(lesson)
    with st.expander("Instructions", expanded=True):
        st.markdown(lab.instructions)
        st.markdown("**Steps**")
        for i, step in enumerate(lab.spec.steps, start=1):
            st.markdown(f"{i}. **{step.title}.** {step.instructions}")

    message = st.session_state.pop("lab_message", None)
    if message:
        st.info(message)

    folder = service.files_dir(home, user_id, lab)
    st.header("Your files")
    tabs = st.tabs(lab.spec.editable)
    for tab, rel in zip(tabs, lab.spec.editable, strict=True):
        with tab:
            key = _key(lab, rel)
            if key not in st.session_state:
                st.session_state[key] = service.read_file(folder, lab, rel)
            st.text_area(rel, key=key, height=360, label_visibility="collapsed")
            st.button("Save", key=f"{key}-save", on_click=_save, args=(lab, user_id, rel, key))

    active = service.current_job(db, user_id)
    running = active is not None and active.subject == lab.id
    a, b, c = st.columns(3)
    a.button(
        "Run",
        type="primary",
        key="lab-run",
        disabled=active is not None,
        on_click=_start,
        args=(lab, user_id, "run"),
        width="stretch",
    )
    b.button(
        "Check",
        key="lab-check",
        disabled=active is not None,
        on_click=_start,
        args=(lab, user_id, "check"),
        width="stretch",
    )
    with c.popover("Reset", width="stretch"):
        st.write("Put the starter files back? Your edits are lost.")
        st.button("Reset my files", key="lab-reset", on_click=_reset, args=(lab, user_id))
    if active is not None and not running:
        st.caption(f"Your run of another lab ({active.subject}) is still going.")

    st.header("Run")
    st.fragment(run_every=1.0 if running else None)(_live)(lab, user_id, running)
    latest = service.latest_job(db, user_id, lab)
    if latest is not None and latest.state != "running":
        folder = service.results_folder(db, home, user_id, lab, latest.id)
        lab_results.show(folder, lab.spec.run.kind)

    hints = service.unlocked_hints(db, user_id, lab)
    if hints:
        st.header("Hints")
        for i, text in enumerate(hints, start=1):
            st.markdown(f"{i}. {text}")
    locked = len(lab.spec.hints) - len(hints)
    if locked:
        st.caption(f"{locked} more hint(s) unlock after failed checks.")
    with st.expander("Show solution"):
        st.caption("Looking is allowed; typing it in yourself teaches more.")
        for rel, text in service.solution_files(lab).items():
            st.markdown(f"**{rel}**")
            st.code(text, language=_language(rel))
    _history(lab, user_id)


def _live(lab: Lab, user_id: str, was_running: bool) -> None:
    """The latest job's log, refreshed every second while it runs."""
    db = resources.state_db()
    job = service.latest_job(db, user_id, lab)
    if job is None:
        st.caption("No run yet: press Run to run the lab.")
        return
    if was_running and job.state != "running":
        st.rerun(scope="app")  # show the results, hints and history of the finished job
    label = {"running": "Running…", "succeeded": "Finished", "failed": "Failed"}[job.state]
    st.markdown(f"**{label}** · {job.kind.removeprefix('lab-')} started {job.started_at:%H:%M:%S}")
    if job.state != "running":
        # The verdict first, in words (no emoji font needed), then the log, folded.
        rows = [r for r in service.history(db, user_id, lab) if r.job_id == job.id]
        if rows and rows[0].criteria:
            passed_count = sum(1 for _, passed, _ in rows[0].criteria if passed)
            total = len(rows[0].criteria)
            verdict = "passed" if passed_count == total else "not passed yet"
            st.markdown(f"**Check {verdict}: {passed_count} of {total} criteria.**")
            for name, passed, reason in rows[0].criteria:
                # Reasons quote what a run left: shown literally, never as markdown.
                word = "Passed" if passed else "Failed"
                (st.success if passed else st.error)(plain(f"{word}: {name}: {reason}"))
    log = service.read_log(job) or "(no output yet)"
    lines = log.count("\n") + 1
    with st.expander(f"Log ({lines} lines)", expanded=job.state == "running"):
        st.code(log, language="text", wrap_lines=True)


def _history(lab: Lab, user_id: str) -> None:
    rows = service.history(resources.state_db(), user_id, lab)
    if not rows:
        return
    st.header("Your runs")
    frame = pd.DataFrame(
        [
            {
                "finished": r.finished_at,
                "kind": r.kind,
                "status": r.status,
                "check": "" if r.passed is None else ("passed" if r.passed else "failed"),
                "seconds": round(r.seconds, 1),
            }
            for r in reversed(rows)
        ]
    )
    st.dataframe(frame, hide_index=True, width="stretch")


def _language(rel: str) -> str:
    return {"py": "python", "yml": "yaml", "yaml": "yaml", "toml": "toml", "md": "markdown"}.get(
        rel.rsplit(".", 1)[-1], "text"
    )
