"""A fix for a race in Streamlit 1.67.0's AppSession that can leave a page half drawn.

The exam's clock is a fragment that reruns itself every few seconds (`st.fragment(run_every=)`).
When the browser asks for such a fragment run just after a full run of the page has ended on its
script thread, but before the server's event loop has handled that run's last messages (its last
elements and its "finished"), AppSession.request_rerun finds the ScriptRunner stopped, so it
starts a new ScriptRunner for the fragment at once. The old runner's messages, still queued on
the event loop, then come from a runner that is no longer current and are dropped
(`_handle_scriptrunner_event_on_event_loop`: "Ignoring event from non-current ScriptRunner"):
the page never receives the rest of the run. In a browser the page then keeps elements of the
previous run, lacks some of the new one's, and is marked not running, so nothing shows it is
stale until the next full run. Under load (500 candidates, LOAD_TEST.md) a few answers in ten
thousand hit it; `tests/test_fragment_race.py` reproduces it with ten sessions on a small page.

A stopped runner refuses reruns only after it has posted every event of its last run to the
event loop (ScriptRunner._run_script_thread: `_run_script` returns, then
`on_scriptrunner_ready` marks it stopped), and the loop runs callbacks first in, first out. So
the fix posts the new runner's creation to the loop as well: by the time it runs, the old
runner's messages have been handled while it was still current. If a full run has started a
runner meanwhile, the fragment's run is handed to that runner, as request_rerun would have.

Streamlit's own comment in request_rerun describes this same failure for a fragment that a full
run removed (its issue 9921) and guards only that case. This module patches the one private
method, for the one version it was written against; `install` refuses any other version (a
test fails until this module is looked at again)."""

from __future__ import annotations

import logging

import streamlit
from streamlit.runtime.app_session import AppSession, AppSessionState
from streamlit.runtime.scriptrunner import RerunData

FIXED_VERSION = "1.67.0"

log = logging.getLogger("triops.fragment_race")
_original = AppSession._create_scriptrunner
_warned: list[str] = []  # the other version already warned about


def _create_scriptrunner(self: AppSession, initial_rerun_data: RerunData) -> None:
    old = self._scriptrunner
    if old is None or not initial_rerun_data.fragment_id:
        _original(self, initial_rerun_data)
        return
    # request_rerun comes here for a fragment only when `old` refused the rerun: it has
    # stopped, and the events of its last run may still wait on the loop.
    # (AppSession's own way of posting to its loop, which drops the call once the loop is
    # closed, at shutdown.)
    self._call_soon_on_event_loop(lambda: _after_queued_events(self, old, initial_rerun_data))


def _after_queued_events(self: AppSession, old: object, rerun_data: RerunData) -> None:
    if self._state == AppSessionState.SHUTDOWN_REQUESTED:
        return
    current = self._scriptrunner
    if current is None or current is old:
        _original(self, rerun_data)
    elif not current.request_rerun(rerun_data):
        _create_scriptrunner(self, rerun_data)


def installed() -> bool:
    return AppSession._create_scriptrunner is _create_scriptrunner


def install() -> bool:
    """Patch AppSession (once per process); False, with a warning, on another Streamlit."""
    if installed():
        return True
    if streamlit.__version__ != FIXED_VERSION:
        # app.py calls this on every page run: the warning is logged once per process.
        if _warned:
            return False
        _warned.append(streamlit.__version__)
        log.warning(
            "the fragment-run race fix is written for Streamlit %s, not %s: not applied",
            FIXED_VERSION,
            streamlit.__version__,
        )
        return False
    AppSession._create_scriptrunner = _create_scriptrunner
    return True
