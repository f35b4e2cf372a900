"""The countdown in a real chromium: server time wins, and screen readers hear only thresholds."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from triops.ui.timer import countdown_html

pytestmark = pytest.mark.browser


def open_timer(browser, deadline_in: float, server_ahead: float = 0.0):
    server_now = datetime.utcnow() + timedelta(seconds=server_ahead)
    page = browser.new_page()
    page.set_content(countdown_html(server_now + timedelta(seconds=deadline_in), server_now))
    return page


def test_timer_has_accessible_roles(browser):
    page = open_timer(browser, 300)
    clock = page.locator("#clock")
    assert clock.get_attribute("role") == "timer"
    assert clock.get_attribute("aria-live") == "off"
    assert page.locator("#announce").get_attribute("aria-live") == "assertive"
    page.close()


def test_timer_uses_the_server_clock_not_the_browser_clock(browser):
    # The server is an hour ahead of this browser: the countdown must still read about 2:05.
    page = open_timer(browser, 125, server_ahead=3600)
    text = page.locator("#clock").inner_text()
    assert text in {"02:05", "02:04", "02:03"}
    page.close()


def test_announces_ten_minutes_once_when_crossing_and_nothing_every_second(browser):
    page = open_timer(browser, 601.5)
    page.wait_for_function(
        "() => document.getElementById('announce').textContent !== ''", timeout=5000
    )
    assert page.locator("#announce").inner_text() == "10 minutes left"
    page.evaluate(
        "() => { window.changes = 0; new MutationObserver(() => window.changes++)"
        ".observe(document.getElementById('announce'), "
        "{childList: true, characterData: true, subtree: true}); }"
    )
    page.wait_for_timeout(2500)
    assert page.evaluate("() => window.changes") == 0
    page.close()


def test_no_announcement_between_thresholds(browser):
    page = open_timer(browser, 200)
    page.wait_for_timeout(2200)
    assert page.locator("#announce").inner_text() == ""
    assert page.locator("#clock").inner_text() in {"03:20", "03:19", "03:18", "03:17"}
    page.close()


def test_deadline_reached_says_time_is_up(browser):
    page = open_timer(browser, 1.2)
    page.wait_for_function(
        "() => document.getElementById('clock').textContent === 'Time is up'", timeout=5000
    )
    assert page.locator("#announce").inner_text() == "Time is up"
    page.close()
