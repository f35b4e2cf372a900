"""The exam clock's fragment body as a page of its own, for bench/exam_page_bench.py: AppTest
cannot run a fragment alone, so each run of this script does what one `run_every` run of
triops.ui.exam_view's clock does when nothing changed (the attempt read once, in the first run,
as the page does)."""

import streamlit as st

from triops.quiz import exam as engine
from triops.ui import exam_view, resources
from triops.ui.identity import now

user_id, token = st.query_params["profile"], st.query_params["attempt"]
if "bench_view" not in st.session_state:
    view = engine.load(resources.state_db(), token, user_id, now())
    seen = exam_view._seen(token)
    seen["answers"], seen["flags"] = dict(view.responses), set(view.flags)
    seen["writes"] = view.writes
    st.session_state["bench_view"] = view
exam_view._clock(st.session_state["bench_view"], user_id, [])
