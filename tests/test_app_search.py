"""Search and Ask pages through AppTest with the real model (the index builds in the background
while the page stays usable)."""

from __future__ import annotations

import re
import time

import pytest
from streamlit.testing.v1 import AppTest

from conftest import REPO

pytestmark = pytest.mark.slow

WAITING = ("Loading the language model", "Building the search index")


def waiting(at: AppTest) -> str:
    """The index's progress line, or "" once the page no longer waits."""
    return next((i.value for i in at.info if i.value.startswith(WAITING)), "")


def wait_ready(at: AppTest, seconds: float = 300) -> AppTest:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        at.run()
        if not waiting(at):
            return at
        time.sleep(1)
    pytest.fail("the search index was not ready in time")


def test_search_shows_progress_then_results_that_link_to_the_lesson_section(indexed_home):
    # The session's course index is in this home's derived/ (tests/conftest.py): the page opens
    # it instead of embedding the course again. The next test builds from nothing.
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
    # The answer stays on the page through other reruns, with the question it answers.
    at.run()
    assert "**Sources**" in [m.value for m in at.markdown]
    assert [t.value for t in at.text] == ["What is concept drift?"]


def test_a_question_asked_while_the_index_builds_is_answered_once_it_is_ready(
    monkeypatch, small_course, use_root
):
    """A fresh home, as on a new install: the app's first page view starts the build; a
    question asked on Ask before it is ready is kept and answered without a second click.
    The course is a few real modules (tests/conftest.py `small_course`): the whole course
    would take minutes to embed, and the behaviour is the same."""
    monkeypatch.setenv("TRIOPS_SEARCH_WARMUP", "1")
    use_root(small_course)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()  # Home
    assert not at.exception
    time.sleep(3)
    at.switch_page("app_pages/ask.py").run()
    line = waiting(at)
    assert line, "the index cannot be ready this early on a fresh home"
    so_far = re.search(r"(\d+) s so far", line)
    assert line.startswith("Building") or int(so_far.group(1)) >= 2, (
        f"the build started with the app, not with the Ask page: {line}"
    )

    question = "how do I roll back a bad deploy"
    at.text_area(key="ask_question").input(question)
    at.button(key="ask_button").click().run()
    assert not at.exception
    assert any(c.value.startswith("Your question is kept.") for c in at.caption)
    assert "**Sources**" not in [m.value for m in at.markdown]

    counts: list[int] = []
    deadline = time.monotonic() + 300
    while waiting(at) and time.monotonic() < deadline:
        found = re.search(r"(\d+) of (\d+) passages", waiting(at))
        if found:
            counts.append(int(found.group(1)))
        time.sleep(1)
        at.run()  # what the page's one-second refresh does in a browser
    assert not waiting(at), "the search index was not ready in time"
    assert not at.exception
    assert len(set(counts)) >= 3, f"the progress numbers did not move: {counts}"
    assert "**Sources**" in [m.value for m in at.markdown], "the kept question was not answered"
    assert [t.value for t in at.text] == [question]
    assert any("lesson=devops-continuous-delivery" in m.value for m in at.markdown)
