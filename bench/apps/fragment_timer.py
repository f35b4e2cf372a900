"""Benchmark app: an idle page whose only activity is a timed fragment.

An `st.navigation` app, like Triops itself, with two pages:

* "Overview" (the default page, URL ``/``): static content only, no fragment.
* "Timer" (URL ``/timer``): static content plus ``@st.fragment(run_every=...)`` that writes
  the server time. Idle sessions must be on ``/timer`` to exercise the timed fragment, so a
  client that picks the page wrongly shows up as zero fragment runs.

Environment:

* ``BENCH_RUN_EVERY``: the fragment's ``run_every`` in seconds (default 15).
* ``BENCH_COUNTS``: optional path of a file to which every run of the fragment body appends one
  tab-separated line ``<unix time> <session id> <full|auto> <query string>``. ``full`` is a
  run inside a whole-page run, ``auto`` a fragment-only rerun, which on this page (no
  widgets) only the client's ``run_every`` timer can trigger.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from urllib.parse import urlencode

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

RUN_EVERY = float(os.environ.get("BENCH_RUN_EVERY", "15"))
COUNTS = os.environ.get("BENCH_COUNTS", "")

STATIC_TEXT = """
Continuous delivery keeps software in a releasable state. Every change goes through the
same pipeline: build, unit tests, integration tests, a staging deploy and a production
deploy behind a feature flag. The four DORA metrics measure how well that works:

* **Deployment frequency**: how often a change reaches production.
* **Lead time for changes**: from commit to running in production.
* **Change failure rate**: the share of deployments that need a fix.
* **Time to restore service**: how long an incident lasts.
"""


def _record_run() -> None:
    """Append one line per fragment-body run to BENCH_COUNTS, if set."""
    if not COUNTS:
        return
    ctx = get_script_run_ctx()
    session_id = ctx.session_id if ctx else "?"
    kind = "auto" if ctx and ctx.fragment_ids_this_run else "full"
    query = urlencode(st.query_params.to_dict())
    # One short O_APPEND write per line: lines from concurrent sessions do not interleave.
    with open(COUNTS, "a", encoding="utf-8") as out:
        out.write(f"{time.time():.3f}\t{session_id}\t{kind}\t{query}\n")


@st.fragment(run_every=RUN_EVERY)
def server_clock() -> None:
    """The timed fragment: the server time, refreshed every RUN_EVERY seconds."""
    _record_run()
    st.metric("Server time", datetime.now().strftime("%H:%M:%S"))
    st.caption(f"refreshes every {RUN_EVERY:g} s")


def timer_page() -> None:
    """The page under test: static content around the timed fragment."""
    st.title("Fragment timer")
    st.markdown(STATIC_TEXT)
    server_clock()
    st.code("while idle:\n    wait_for_the_next_tick()", language="python")
    st.table({"metric": ["frequency", "lead time"], "elite": ["on demand", "< 1 day"]})


def overview_page() -> None:
    """The default page: static content only."""
    st.title("Overview")
    st.markdown(STATIC_TEXT)


st.navigation(
    [
        st.Page(overview_page, title="Overview", default=True),
        st.Page(timer_page, title="Timer", url_path="timer"),
    ]
).run()
