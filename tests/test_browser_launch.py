"""The tests' chromium (triops.testing.launch_chromium): Playwright's own disabled features kept,
and no address-bar drop-down preloaded for each window."""

from __future__ import annotations

import time

from triops.testing import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DISABLED_FEATURES,
    browser_command_lines,
    disabled_features,
)


def preloaded_pages(browser, seconds: float = 5.0) -> list[str]:
    """The browser's own WebUI pages once a new window has a page; waits up to `seconds` for
    one to appear."""
    context = browser.new_context()
    try:
        context.new_page().goto("about:blank")
        session = browser.new_browser_cdp_session()
        deadline = time.monotonic() + seconds
        while True:
            targets = session.send("Target.getTargets")["targetInfos"]
            found = [t["url"] for t in targets if t["type"] != "page"]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.2)
    finally:
        context.close()


def test_the_tests_chromium_keeps_playwrights_features_off_and_preloads_no_address_bar(browser):
    before = browser_command_lines()
    # The session's browser (another test of this process may have left one of its own).
    ours = [a for a in before.values() if set(DISABLED_FEATURES) <= set(disabled_features(a))]
    assert len(ours) >= 1, before
    plain = browser.browser_type.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        [theirs] = [a for pid, a in browser_command_lines().items() if pid not in before]
        # Without the features turned off, each window preloads the drop-down's WebUI pages.
        assert any("omnibox-popup" in url for url in preloaded_pages(plain)), (
            "Chromium no longer preloads the address bar's drop-down: DISABLED_FEATURES in "
            "triops/testing.py may be dropped"
        )
    finally:
        plain.close()
    # One --disable-features switch (Chromium keeps only the last), holding Playwright's list
    # and ours.
    assert disabled_features(theirs)
    for argv in ours:
        assert sum(a.startswith("--disable-features=") for a in argv) == 1
        assert disabled_features(argv) == [*disabled_features(theirs), *DISABLED_FEATURES]
    assert [u for u in preloaded_pages(browser, seconds=1.0) if "omnibox" in u] == []
