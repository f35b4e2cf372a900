"""The countdown in a real chromium, on Playwright's clock: server time wins, screen readers hear
each threshold exactly once, and a resync (Streamlit calling the component again with new
data, as it does every 15 s) neither repeats nor loses an announcement."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta

import pytest

from triops.ui.timer import CSS, HTML, JS, countdown_data

pytestmark = pytest.mark.browser

T0 = datetime(2026, 12, 6, 9, 0, 0)  # the browser's (fake) clock at the start

# The component's contract, as Streamlit's frontend keeps it: the HTML is mounted once, the
# module's default export is called with the data and the element, and on new data the
# previous call's cleanup runs and the export is called again on the same element.
HARNESS = """
<style>__CSS__</style>
<div id="host">__HTML__</div>
<script type="module">
  const module = await import("data:text/javascript;base64,__JS__");
  const host = document.getElementById("host");
  let cleanup = null;
  window.resync = (data) => {
    if (cleanup) cleanup();
    cleanup = module.default({ data, parentElement: host });
  };
  window.heard = [];
  new MutationObserver(() => {
    window.heard.push(host.querySelector(".triops-timer-announce").textContent);
  }).observe(host.querySelector(".triops-timer-announce"),
             { childList: true, characterData: true, subtree: true });
  // Streamlit's resync: a timer every `period` ms that sends the server's now. Its next firing
  // is scheduled before the component is called again, so when both are due at once the
  // resync comes first, as when a rerun's data lands on the very second of a mark.
  window.autoResync = (period, data, browserStart) => {
    setTimeout(() => {
      const next = { ...data, server_now: data.server_now + (Date.now() - browserStart) };
      window.autoResync(period, data, browserStart);
      window.resync(next);
    }, period);
  };
  window.resync(__DATA__);
  window.ready = true;
</script>
"""


class Timer:
    """A countdown page whose server clock runs `server_ahead` seconds ahead of the browser's."""

    def __init__(self, browser, deadline_in: float, server_ahead: float = 0.0):
        import json

        self.page = browser.new_page()
        # The installed clock runs until paused: start it early enough that T0 is still ahead
        # when pause_at runs on a busy machine (pausing "in the past" is an error).
        self.page.clock.install(time=T0 - timedelta(seconds=30))
        self.page.clock.pause_at(T0)
        self.server_start = T0 + timedelta(seconds=server_ahead)
        self.deadline = self.server_start + timedelta(seconds=deadline_in)
        self.elapsed = 0.0
        html = (
            HARNESS.replace("__CSS__", CSS)
            .replace("__HTML__", HTML)
            .replace("__JS__", base64.b64encode(JS.encode()).decode())
            .replace("__DATA__", json.dumps(countdown_data(self.deadline, self.server_start)))
        )
        self.page.set_content(html)
        self.page.wait_for_function("() => window.ready === true")

    def run(self, seconds: float) -> None:
        """Let `seconds` pass on the browser's clock, firing every timer due on the way."""
        self.page.clock.run_for(int(seconds * 1000))
        self.elapsed += seconds

    def resync(self, label: str = "Time left", deadline: datetime | None = None) -> None:
        """What the server's resync sends: its own now, and the deadline."""
        server_now = self.server_start + timedelta(seconds=self.elapsed)
        data = countdown_data(deadline or self.deadline, server_now, label)
        self.page.evaluate("data => window.resync(data)", data)

    def resync_every(self, seconds: float) -> None:
        """Resync by itself every `seconds`, as Streamlit's fragment timer does."""
        data = countdown_data(self.deadline, self.server_start)
        self.page.evaluate(
            "([period, data]) => window.autoResync(period, data, Date.now())",
            [int(seconds * 1000), data],
        )

    def clock(self) -> str:
        return self.page.locator(".triops-timer-clock").inner_text()

    def heard(self) -> list[str]:
        return self.page.evaluate("() => window.heard")


def test_timer_has_accessible_roles_and_a_name(browser):
    timer = Timer(browser, 300)
    clock = timer.page.get_by_role("timer", name="Time left")
    assert clock.count() == 1
    assert clock.get_attribute("aria-live") == "off"
    announce = timer.page.locator(".triops-timer-announce")
    assert announce.get_attribute("aria-live") == "assertive"
    assert announce.get_attribute("role") == "status"
    timer.page.close()


def test_timer_uses_the_server_clock_not_the_browser_clock(browser):
    # The server is an hour ahead of this browser: the countdown still reads 2:05, and after
    # five seconds 2:00.
    timer = Timer(browser, 125, server_ahead=3600)
    assert timer.clock() == "02:05"
    timer.run(5)
    assert timer.clock() == "02:00"
    timer.page.close()


def test_each_threshold_is_announced_exactly_once_though_resyncs_fall_on_the_marks(browser):
    """A 15-minute exam resynced every 15 s from its start: resyncs fall on every whole minute,
    so on the 10, 5 and 1-minute marks, and each lands before that second's tick. Each mark is
    heard once, then "Time is up"."""
    timer = Timer(browser, 15 * 60)
    timer.resync_every(15)
    assert timer.clock() == "15:00"
    timer.run(300)
    assert timer.clock() == "10:00"
    assert timer.heard() == ["10 minutes left"]
    timer.run(600)
    assert timer.clock() == "Time is up"
    assert timer.heard() == ["10 minutes left", "5 minutes left", "1 minute left", "Time is up"]
    assert int(timer.page.locator(".triops-timer").get_attribute("data-resyncs")) == 61
    timer.page.close()


def test_a_mark_crossed_between_two_resyncs_is_announced_once_at_the_right_second(browser):
    timer = Timer(browser, 607)
    timer.run(6)
    assert timer.clock() == "10:01" and timer.heard() == []
    timer.run(1)
    assert timer.clock() == "10:00"
    assert timer.heard() == ["10 minutes left"]
    for _ in range(4):  # resyncs just after the mark repeat nothing
        timer.run(2)
        timer.resync()
    assert timer.heard() == ["10 minutes left"]
    timer.page.close()


def test_nothing_is_announced_every_second_or_between_thresholds(browser):
    timer = Timer(browser, 200)
    timer.run(60)
    timer.resync()
    timer.run(60)
    assert timer.clock() == "01:20"
    assert timer.heard() == []
    timer.page.close()


def test_a_reload_after_a_mark_does_not_announce_it_again(browser):
    # A fresh page (a reload) starts 4:50 before the deadline: 5 minutes has passed unheard
    # by this page, and is not announced late; 1 minute is.
    timer = Timer(browser, 290)
    timer.run(240)
    assert timer.heard() == ["1 minute left"]
    timer.page.close()


def test_a_grace_period_is_a_new_deadline_with_its_own_announcements(browser):
    timer = Timer(browser, 62)
    timer.run(63)
    assert timer.heard() == ["1 minute left", "Time is up"]
    grace = timer.deadline + timedelta(minutes=2)
    timer.resync("Grace period left", grace)
    assert timer.page.get_by_role("timer", name="Grace period left").count() == 1
    timer.run(62)
    assert timer.heard() == ["1 minute left", "Time is up", "1 minute left"]
    timer.page.close()


def test_the_deadline_reached_says_time_is_up(browser):
    timer = Timer(browser, 1.2)
    timer.run(2)
    assert timer.clock() == "Time is up"
    assert timer.heard() == ["Time is up"]
    timer.page.close()


def test_time_left_is_read_on_demand_with_alt_t_into_a_polite_region(browser):
    """WCAG 2.2 SC 2.2.1 and 4.1.3: the time left is there when asked for, in words, in a
    polite live region; the clock's ticking never writes to it."""
    timer = Timer(browser, 12 * 60 + 5)
    ondemand = timer.page.get_by_role("status").filter(has_text="left")
    region = timer.page.locator(".triops-timer-ondemand")
    assert region.get_attribute("aria-live") == "polite"
    assert region.get_attribute("role") == "status"
    timer.run(30)
    assert region.inner_text() == ""
    timer.page.keyboard.press("Alt+t")
    assert ondemand.inner_text().strip() == "11 minutes 35 seconds left"
    timer.run(95)
    assert region.inner_text().strip() == "11 minutes 35 seconds left"  # no ticking here
    timer.page.get_by_role("button", name="Read time left (Alt+T)").click()
    assert region.inner_text().strip() == "10 minutes left"
    # Asked again at once: the text changes (a no-break space), so it is spoken again.
    before = region.evaluate("e => e.textContent")
    timer.page.keyboard.press("Alt+t")
    after = region.evaluate("e => e.textContent")
    assert before != after and after.strip() == "10 minutes left"
    assert timer.page.locator(".triops-timer-read").get_attribute("aria-keyshortcuts") == "Alt+T"
    timer.page.keyboard.press("t")  # a plain letter, as typed into an answer, reads nothing
    assert region.evaluate("e => e.textContent") == after
    timer.page.close()


def test_the_timer_can_be_hidden_and_stays_hidden_across_resyncs_and_a_grace_period(browser):
    timer = Timer(browser, 62)
    toggle = timer.page.get_by_role("button", name="Hide timer")
    toggle.focus()
    timer.page.keyboard.press("Enter")
    assert timer.page.get_by_role("timer").count() == 0
    assert timer.page.get_by_text("Timer hidden").is_visible()
    shown = timer.page.get_by_role("button", name="Show timer")
    assert shown.evaluate(
        "e => e === e.getRootNode().activeElement || e === document.activeElement"
    )
    timer.run(5)
    timer.resync()
    assert timer.page.get_by_role("timer").count() == 0
    # Hidden, the thresholds are still announced and the time can still be read.
    timer.run(60)
    assert timer.heard() == ["1 minute left", "Time is up"]
    timer.resync("Grace period left", timer.deadline + timedelta(minutes=2))
    assert timer.page.get_by_role("timer").count() == 0
    timer.page.keyboard.press("Alt+t")
    assert (
        timer.page.locator(".triops-timer-ondemand").inner_text().strip()
        == "Grace period left: 1 minute 57 seconds left"
    )
    shown.click()
    assert timer.page.get_by_role("timer", name="Grace period left").is_visible()
    timer.page.close()
