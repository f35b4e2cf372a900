"""A real chromium (Playwright) against a real server: progress survives a browser reload."""

from __future__ import annotations

import pytest

from conftest import REPO
from triops.testing import streamlit_server

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path):
    with streamlit_server(REPO / "app.py", env={"TRIOPS_HOME": str(tmp_path / "home")}) as srv:
        yield srv


def test_mark_complete_then_reload_still_complete(browser, server):
    page = browser.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{server.url}/learn?lesson=devops-continuous-integration")
    page.get_by_role("heading", name="Check yourself").wait_for()

    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_label("Name").fill("Playwright Learner")
    sidebar.get_by_role("button", name="Create profile").click()
    page.get_by_role("button", name="Mark complete").click()
    page.get_by_text("Completed on").wait_for()
    assert "profile=" in page.url and "lesson=devops-continuous-integration" in page.url

    page.reload()
    page.get_by_role("heading", name="Check yourself").wait_for()
    page.get_by_text("Completed on").wait_for()
    page.get_by_role("button", name="Mark as not complete").wait_for()
    assert page.get_by_role("button", name="Mark complete", exact=True).count() == 0
    page.close()


def test_profile_name_with_markup_is_shown_as_text(browser, server):
    page = browser.new_page()
    page.set_default_timeout(30_000)
    page.goto(server.url)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_label("Name").fill("<b>Bold</b> Learner")
    sidebar.get_by_role("button", name="Create profile").click()
    picker = sidebar.get_by_role("combobox")
    picker.wait_for()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stSidebar] input')]"
        ".some(i => i.value === '<b>Bold</b> Learner')"
    )
    assert sidebar.locator("b", has_text="Bold").count() == 0
    page.close()
