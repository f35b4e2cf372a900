"""A real exam in chromium: answers and the remaining time survive a reload and a server restart."""

from __future__ import annotations

import re

import pytest

from conftest import REPO
from triops.testing import free_port, streamlit_server

pytestmark = pytest.mark.browser


def seconds_left(page) -> int:
    clock = page.frame_locator("iframe").first.locator("#clock")
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
        page.get_by_role("button", name="Start exam").first.click()
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
