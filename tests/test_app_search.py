"""Search and Ask pages through AppTest with the real model (the index builds in the background
while the page stays usable)."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from conftest import REPO


def wait_ready(at: AppTest, seconds: float = 300) -> AppTest:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        at.run()
        if not any(i.value.startswith(("Loading", "Building")) for i in at.info):
            return at
        time.sleep(1)
    pytest.fail("the search index was not ready in time")


def test_search_shows_progress_then_results_that_link_to_the_lesson_section():
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    at.switch_page("app_pages/search.py").run()
    assert not at.exception
    at = wait_ready(at)
    at.text_input(key="search_query").input("my model got worse when the data changed").run()
    assert not at.exception
    links = [m.value for m in at.markdown if "](/learn?lesson=" in m.value]
    assert links and any("mlops-" in link for link in links[:3])
    at.text_input(key="search_query").input("   ").run()
    assert not at.exception
    at.text_input(key="search_query").input("canary release " * 600).run()
    assert not at.exception
    assert any("only the first 1,000 were used" in c.value for c in at.caption)

    at.switch_page("app_pages/ask.py").run()
    at.text_area(key="ask_question").input("What is a good recipe for lasagna?")
    at.button(key="ask_button").click().run()
    assert not at.exception
    assert any("I don't know" in w.value for w in at.warning)
    at.text_area(key="ask_question").input("What is concept drift?")
    at.button(key="ask_button").click().run()
    assert "**Sources**" in [m.value for m in at.markdown]
    assert any("lesson=mlops-" in m.value for m in at.markdown)
