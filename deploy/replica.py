"""One Triops app replica: `streamlit run deploy/replica.py --server.port N`.

app.py's pages as an ASGI app (Streamlit's st.App), with the replica's health check
(GET /healthz, which asks its database), JSON logs and the database check at start-up
(see triops.ui.server), and the route that sets and clears a password sign-in's signed session
cookie (POST/DELETE /triops/session, see triops.ui.session_cookie; used only with TRIOPS_SECRET,
which must then be at least 32 characters, or the replica stops at start-up with one line).
Streamlit finds `app` below by reading this file."""

import sys

import streamlit as st

from triops.ui import server, session_cookie

server.prepare()
if (problem := session_cookie.startup_problem()) is not None:
    print(f"error: {problem}", file=sys.stderr, flush=True)
    raise SystemExit(1)

app = st.App(
    server.SCRIPT,
    routes=server.routes() + session_cookie.routes(),
    on_script_error=server.on_script_error,
)
