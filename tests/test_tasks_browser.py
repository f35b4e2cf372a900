"""A task inside an exam in a real chromium (issue 20 items 1 and 4): the task screen and the
review of graded tasks have no serious or critical axe violation, and Run on the task screen
runs the saved files in the sandbox and shows the run's log.

One app serves the module: the real course, and two profiles made before it starts, one with an
open attempt of the hands-on profile (one task's files saved) and one with a submitted attempt
(its tasks graded by a stand-in grader, so the module runs no check at set-up)."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
from attacklib import sandbox_required  # noqa: F401  (the fixture)
from test_a11y_browser import audit
from test_browser_exam import idle

from conftest import REPO
from triops.quiz import exam as engine
from triops.quiz.bank import load_bank
from triops.quiz.blueprint import load_exams
from triops.quiz.exam import AttemptView
from triops.store import users
from triops.store.connection import open_state
from triops.tasks.grader import solution_files
from triops.tasks.spec import load_tasks
from triops.testing import streamlit_server
from triops.ui.identity import now as utc_now

pytestmark = pytest.mark.browser
EXAM = "triops-hands-on"
GATE = "devops/gate-build-on-tests"


@dataclass(frozen=True)
class App:
    url: str
    open_user: str
    open_view: AttemptView
    done_user: str
    done_view: AttemptView


def _stand_in(item, response):
    criteria = [
        {**c.model_dump(), "passed": i % 2 == 0, "reason": f"found {i} in the run's report"}
        for i, c in enumerate(item.criteria)
    ]
    points = sum(c["weight"] for c in criteria if c["passed"])
    return {"points": points, "criteria": criteria}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    home = tmp_path_factory.mktemp("tasks-browser") / "home"
    moment = utc_now()
    db = open_state(home / "state.duckdb")
    bank = load_bank(REPO)
    exam = load_exams(REPO, bank).get(EXAM)
    made = {name: users.create_user(db, name, moment).id for name in ("Open", "Done")}
    views = {}
    for i, name in enumerate(made):
        row = engine.start(db, exam, bank, made[name], moment, random.Random(i))
        views[name] = engine.load(db, row.token, made[name], moment)
    opened = views["Open"]
    gate = next(d for d in opened.questions if getattr(d.question, "task", "") == GATE)
    answer = {"files": solution_files(load_tasks(REPO).get(GATE))}
    engine.save_answer(db, opened.token, made["Open"], gate.position, answer, moment, gate.question)
    engine.TASK_GRADER = _stand_in
    try:
        engine.submit(db, views["Done"].token, made["Done"], moment)
    finally:
        engine.TASK_GRADER = None
    done = engine.load(db, views["Done"].token, made["Done"], moment)
    db.close()
    with streamlit_server(REPO / "app.py", env={"TRIOPS_HOME": str(home)}) as server:
        yield App(server.url, made["Open"], opened, made["Done"], done)


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    yield page
    page.close()


def _open_task(page, app: App):
    view = app.open_view
    d = next(d for d in view.questions if getattr(d.question, "task", "") == GATE)
    n = len(view.questions)
    url = f"{app.url}/exam?profile={app.open_user}&attempt={view.token}&q={d.position + 1}"
    page.goto(url)
    page.get_by_text(f"Question {d.position + 1} of {n}").wait_for()
    page.get_by_text(f"Hands-on task: {d.question.title}").wait_for()
    return d


def test_the_task_screen_has_no_serious_accessibility_violation(app, page):
    _open_task(page, app)
    # The editor is a labelled text area holding the saved files, not the starter.
    editor = page.get_by_role("textbox", name=".github/workflows/ci.yml")
    editor.wait_for()
    assert "needs: test" in editor.input_value()
    audit(page, "exam, task")


@pytest.mark.usefixtures("sandbox_required")
def test_run_on_the_task_screen_runs_the_saved_files_and_shows_the_log(app, page):
    _open_task(page, app)
    idle(page)
    page.get_by_role("button", name="Run in the sandbox").click()
    page.get_by_text("Finished", exact=False).first.wait_for(timeout=240_000)
    idle(page)
    page.get_by_text("Log (", exact=False).first.click()
    page.get_by_text("run: success in", exact=False).wait_for()


def test_the_review_of_graded_tasks_has_no_serious_violation(app, page):
    view = app.done_view
    page.goto(f"{app.url}/exam?profile={app.done_user}&attempt={view.token}")
    page.get_by_role("heading", name="Review").wait_for()
    tasks = [d for d in view.questions if engine.is_task(d.question)]
    # Every expander is on the page before any is opened: CI once counted them mid-run and
    # left the first task's verdict folded.
    idle(page)
    expanders = page.get_by_test_id("stExpander").filter(has_text="Hands-on task:")
    assert expanders.count() == len(tasks)
    for i in range(len(tasks)):
        expander = expanders.nth(i)
        verdict = expander.get_by_text("Checked at submit:")
        expander.locator("summary").click()
        verdict.wait_for()
    assert page.get_by_text("Checked at submit:").count() == len(tasks)
    page.get_by_text("found 1 in the run's report").first.wait_for()
    audit(page, "results with each task's verdicts open")
