"""One Triops app replica: `streamlit run deploy/replica.py --server.port N`.

app.py's pages as an ASGI app (Streamlit's st.App), with the replica's health check
(GET /healthz, which asks its database), JSON logs and the database check at start-up
(see triops.ui.server). Streamlit finds `app` below by reading this file."""

import streamlit as st

from triops.ui import server

server.prepare()

app = st.App(server.SCRIPT, routes=server.routes(), on_script_error=server.on_script_error)
