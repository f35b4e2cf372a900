"""A task inside an exam on the app's pages (AppTest, the real hands-on profile, a real DuckDB
file): the candidate opens it, edits its file, the edit is saved as the answer and is there
after a reload; after submit the review shows each criterion's verdict."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from conftest import REPO
from triops.config import get_settings
from triops.quiz import exam as engine
from triops.store import attempts, users
from triops.store.connection import open_state
from triops.tasks.grader import solution_files
from triops.tasks.spec import load_tasks
from triops.ui.identity import now
from triops.ui.text import plain

EXAM = "triops-hands-on"


def app() -> AppTest:
    return AppTest.from_file(str(REPO / "app.py"), default_timeout=60)


def with_profile(name: str = "Ada") -> AppTest:
    at = app().run()
    at.sidebar.text_input(key="new_profile_name").input(name)
    at.sidebar.button[0].click()
    return at.run()


def token_of(at: AppTest) -> str:
    token = at.query_params["attempt"]
    return token[0] if isinstance(token, list) else token


def load(token: str):
    conn = open_state(get_settings().state_db)
    try:
        user = users.find_by_name(conn, "Ada")
        return user.id, engine.load(conn, token, user.id, now())
    finally:
        conn.close()


def test_a_task_is_edited_saved_kept_across_a_reload_and_reviewed_by_criterion():
    at = with_profile()
    at.switch_page("app_pages/exam.py").run()
    at.button(key=f"start-{EXAM}").click().run()
    assert not at.exception
    token = token_of(at)
    _, view = load(token)
    drawn = next(d for d in view.questions if engine.is_task(d.question))
    item = drawn.question
    at.query_params["q"] = str(drawn.position + 1)
    at.run()
    assert not at.exception
    texts = [m.value for m in at.markdown]
    assert any(t.startswith("**Hands-on task: ") for t in texts)
    assert item.stem.strip() in [t.strip() for t in texts]
    key = f"{token}-t{drawn.position}-f0"
    task = load_tasks(REPO).get(item.task)
    rel = item.editable[0]
    assert at.text_area(key=key).value == task.starter_text(rel)
    solved = solution_files(task)[rel]
    at.text_area(key=key).input(solved).run()
    assert not at.exception
    assert any(c.value.startswith("Files saved at") for c in at.caption)
    conn = open_state(get_settings().state_db)
    saved = attempts.responses(conn, view.row.id)
    conn.close()
    assert json.loads(saved[drawn.position]) == {"files": {rel: solved}}

    # A reload (a new session on the same URL) shows the saved text, not the starter.
    again = app()
    again.query_params["attempt"] = token
    again.query_params["q"] = str(drawn.position + 1)
    again.run().switch_page("app_pages/exam.py").run()
    assert not again.exception
    assert again.text_area(key=key).value == solved

    calls = []

    def grader(graded_item, response):
        calls.append(graded_item.task)
        criteria = [
            {**c.model_dump(), "passed": i == 0, "reason": f"reason {i}"}
            for i, c in enumerate(graded_item.criteria)
        ]
        return {"points": graded_item.criteria[0].weight, "criteria": criteria}

    engine.TASK_GRADER = grader
    try:
        at.button(key="exam-review").click().run()
        at.checkbox(key="exam-confirm").check().run()
        at.button(key="exam-submit").click().run()
    finally:
        engine.TASK_GRADER = None
    assert not at.exception
    assert sorted(calls) == sorted(
        d.question.task for d in view.questions if engine.is_task(d.question)
    )
    first, second = item.criteria[0], item.criteria[1]
    assert plain(f"Passed ({first.weight} points): {first.description}") in [
        s.value for s in at.success
    ]
    assert plain(f"Failed ({second.weight} points): {second.description}") in [
        e.value for e in at.error
    ]
    assert "reason 1" in [c.value for c in at.caption]
