"""A real exam in chromium: answers and the remaining time survive a reload and a server restart."""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from conftest import REPO
from triops.quiz import exam as engine
from triops.quiz.bank import load_bank
from triops.quiz.blueprint import load_exams
from triops.store import users
from triops.store.connection import open_state
from triops.testing import free_port, streamlit_server
from triops.ui.identity import now as utc_now

pytestmark = pytest.mark.browser


def seconds_left(page) -> int:
    clock = page.get_by_role("timer")
    text = clock.inner_text(timeout=30_000)
    for _ in range(50):
        if re.fullmatch(r"\d+:\d\d(:\d\d)?", text):
            break
        page.wait_for_timeout(100)
        text = clock.inner_text()
    parts = [int(p) for p in text.split(":")]
    return parts[-1] + 60 * parts[-2] + (3600 * parts[-3] if len(parts) == 3 else 0)


def answered_marks(page, expected: int) -> set[int]:
    page.wait_for_function(
        "n => [...document.querySelectorAll('[data-testid=stMainBlockContainer] button')]"
        ".filter(b => /^\\d+✓/.test(b.innerText.trim())).length === n",
        arg=expected,
    )
    buttons = page.locator("[data-testid=stMainBlockContainer] button").all_inner_texts()
    return {int(m.group(1)) for b in buttons if (m := re.fullmatch(r"(\d+)✓⚑?", b.strip()))}


def test_exam_answers_and_time_survive_reload_and_restart(browser, tmp_path):
    env = {"TRIOPS_HOME": str(tmp_path / "home")}
    port = free_port()
    with streamlit_server(REPO / "app.py", env=env, port=port) as server:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(30_000)
        page.goto(f"{server.url}/exam")
        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_label("Name").fill("Candidate")
        sidebar.get_by_role("button", name="Create profile").click()
        # The 30-question DevOps practitioner mock (the list also holds the real-exam profiles).
        page.locator(".st-key-start-devops-practitioner").get_by_role("button").click()
        page.get_by_text("Question 1 of 30").wait_for()
        start_left = seconds_left(page)
        assert 44 * 60 <= start_left <= 45 * 60

        answered = []
        position = 1
        while len(answered) < 3 and position <= 30:
            radios = page.locator("[data-testid=stMainBlockContainer] [data-testid=stRadio]")
            if radios.count():
                radios.first.locator("label:has(input[type=radio])").first.click()
                page.get_by_text("Answer saved at").wait_for()
                answered.append(position)
            page.get_by_role("button", name="Next", exact=True).click()
            position += 1
            page.get_by_text(f"Question {position} of 30").wait_for()
        assert len(answered) == 3
        assert answered_marks(page, 3) == set(answered)
        url = page.url
        assert "attempt=" in url

        page.reload()
        page.get_by_text(f"Question {position} of 30").wait_for()
        page.get_by_text("3 of 30 answered").wait_for()
        assert answered_marks(page, 3) == set(answered)
        after_reload = seconds_left(page)
        assert start_left - 120 <= after_reload <= start_left

        page.locator(
            "[data-testid=stMainBlockContainer] button", has_text=re.compile(rf"^{answered[0]}✓")
        ).first.click()
        page.get_by_text(f"Question {answered[0]} of 30").wait_for()
        checked = page.locator(
            "[data-testid=stMainBlockContainer] [data-testid=stRadio] input:checked"
        )
        checked.first.wait_for()
        assert checked.count() == 1
        page.close()

    with streamlit_server(REPO / "app.py", env=env, port=port) as server:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(30_000)
        page.goto(url)
        page.get_by_text("3 of 30 answered").wait_for()
        assert answered_marks(page, 3) == set(answered)
        after_restart = seconds_left(page)
        assert after_reload - 120 <= after_restart <= after_reload
        page.close()


def idle(page) -> None:
    """Wait until the app has no script run going (Streamlit marks it on its root element)."""
    page.wait_for_function(
        "() => document.querySelector('[data-testid=stApp]')"
        "?.getAttribute('data-test-script-state') === 'notRunning'"
    )


def all_types_root(tmp_path: Path) -> Path:
    """The real course with only the seven-types fixture bank and its 15-minute blueprint."""
    root = tmp_path / "root"
    root.mkdir()
    for name in ("content", "data"):
        shutil.copytree(REPO / name, root / name)
    shutil.copytree(REPO / "tests" / "fixtures" / "exam_types" / "quizzes", root / "quizzes")
    shutil.copy(REPO / "quizzes" / "vocabulary.yaml", root / "quizzes" / "vocabulary.yaml")
    return root


def start_attempt(root: Path, home: Path, name: str, started: datetime):
    """Create a profile and an attempt of the all-types exam before the app opens the file."""
    db = open_state(home / "state.duckdb")
    user = users.create_user(db, name, started)
    bank = load_bank(root)
    row = engine.start(db, load_exams(root, bank).get("all-types"), bank, user.id, started)
    view = engine.load(db, row.token, user.id, started)
    db.close()
    return user.id, view


@pytest.fixture(scope="module")
def all_types(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("all-types")
    root, home = all_types_root(tmp), tmp / "home"
    user_id, view = start_attempt(root, home, "Candidate", utc_now())
    env = {"TRIOPS_HOME": str(home), "TRIOPS_ROOT": str(root)}
    with streamlit_server(REPO / "app.py", env=env) as server:
        yield server, user_id, view


def _answer_in_browser(page, main, question):
    """Answer through the widgets as a candidate would; return a check of what is shown."""
    t = question.type
    if t in ("single", "true_false"):
        text = question.options[1].text if t == "single" else "False"
        main.get_by_text(text, exact=True).click()
        return lambda: main.get_by_role("radio", name=text).is_checked()
    if t == "multiple":
        chosen = [question.options[0].text, question.options[2].text]
        for text in chosen:
            main.get_by_text(text, exact=True).click()
            idle(page)
        return lambda: (
            [main.get_by_role("checkbox", name=o.text).is_checked() for o in question.options]
            == [o.text in chosen for o in question.options]
        )
    if t in ("numeric", "short_text"):
        text = "15" if t == "numeric" else "trunk-based development"
        box = main.get_by_role("textbox", name=re.compile("^Your answer"))
        box.fill(text)
        box.press("Enter")
        return lambda: box.input_value() == text
    if t == "ordering":
        wanted = list(reversed(question.items))
        box = main.get_by_test_id("stMultiSelect")
        for text in wanted:
            box.get_by_role("combobox").click()
            page.get_by_role("option", name=text, exact=True).click()
            page.keyboard.press("Escape")
            idle(page)
        tags = box.locator("[data-tag]")
        return lambda: (
            [tags.nth(i).get_attribute("aria-label") for i in range(tags.count())] == (wanted)
        )
    choices = question.choices()
    wanted = {pair.left: choices[(i + 1) % len(choices)] for i, pair in enumerate(question.pairs)}
    for left, right in wanted.items():
        main.get_by_role("combobox", name=left, exact=True).click()
        page.get_by_role("option", name=right, exact=True).click()
        idle(page)
    return lambda: all(
        main.get_by_role("combobox", name=left, exact=True).input_value() == right
        for left, right in wanted.items()
    )


@pytest.mark.parametrize(
    "qtype",
    ["single", "multiple", "true_false", "numeric", "short_text", "ordering", "matching"],
)
def test_a_saved_answer_is_shown_again_after_moving_away_and_back(browser, all_types, qtype):
    """Issue 14, item 13: answer, go to another question, come back: the answer is shown (the
    navigator's ✓ alone is not enough), for every question type."""
    server, user_id, view = all_types
    drawn = next(d for d in view.questions if d.question.type == qtype)
    n = len(view.questions)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    page.goto(f"{server.url}/exam?profile={user_id}&attempt={view.token}&q={drawn.position + 1}")
    page.get_by_text(f"Question {drawn.position + 1} of {n}").wait_for()
    idle(page)
    main = page.get_by_test_id("stMainBlockContainer")
    shown = _answer_in_browser(page, main, drawn.question)
    main.get_by_text("Answer saved at").wait_for()
    idle(page)
    assert shown()
    away = "Previous" if drawn.position == n - 1 else "Next"
    back = "Next" if away == "Previous" else "Previous"
    other = drawn.position + (-1 if away == "Previous" else 1)
    main.get_by_role("button", name=away, exact=True).click()
    page.get_by_text(f"Question {other + 1} of {n}").wait_for()
    idle(page)
    main.get_by_role("button", name=back, exact=True).click()
    page.get_by_text(f"Question {drawn.position + 1} of {n}").wait_for()
    idle(page)
    assert shown(), f"the {qtype} answer is not shown after coming back"
    page.close()


def test_the_countdown_keeps_its_element_and_announces_once_across_resyncs(browser, tmp_path):
    """Issue 14, item 16, in the real app: the countdown is one element, named for screen
    readers, that survives resyncs (moving between questions, the 15-second fragment); the
    1-minute mark, crossed while the candidate moves between questions, is heard once."""
    root, home = all_types_root(tmp_path), tmp_path / "home"
    env = {"TRIOPS_HOME": str(home), "TRIOPS_ROOT": str(root)}
    with streamlit_server(REPO / "app.py", env=env) as server:
        # A 15-minute attempt started long enough ago that 90 s are left now: time to load.
        started = utc_now() - timedelta(seconds=15 * 60 - 90)
        user_id, view = start_attempt(root, home, "Timed", started)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(30_000)
        page.goto(f"{server.url}/exam?profile={user_id}&attempt={view.token}&q=1")
        page.get_by_text("Question 1 of 7").wait_for()
        idle(page)
        timer = page.get_by_role("timer", name="Time left")
        timer.wait_for()  # the component mounts after the page's text on a busy machine
        assert timer.count() == 1
        assert page.locator("iframe").count() == 0
        element = page.locator(".triops-timer")
        element.evaluate(
            """e => {
                e.kept = true;
                window.heard = [];
                const live = e.querySelector(".triops-timer-announce");
                new MutationObserver(() => window.heard.push(live.textContent))
                    .observe(live, {childList: true, characterData: true, subtree: true});
            }"""
        )
        assert seconds_left(page) > 62, "the page took too long to load to reach the mark"
        position = 1
        main = page.get_by_test_id("stMainBlockContainer")
        while seconds_left(page) > 56:  # move back and forth across the mark
            step = "Next" if position == 1 else "Previous"
            main.get_by_role("button", name=step, exact=True).click()
            position = 2 if step == "Next" else 1
            page.get_by_text(f"Question {position} of 7").wait_for()
            idle(page)
        assert page.evaluate("() => window.heard") == ["1 minute left"]
        assert element.evaluate("e => e.kept") is True
        assert int(element.get_attribute("data-resyncs")) >= 3
        page.close()
