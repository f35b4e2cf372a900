"""Triops entry point: page config, the profile picker or sign-in, navigation."""

import logging
import time

import streamlit as st

from triops.tasks import register as register_tasks
from triops.ui import fragment_race, navigation, resources, search_state, signin
from triops.ui.guard import guard
from triops.ui.identity import sidebar_identity
from triops.ui.offline import PAGE_ICON, connection_text
from triops.ui.reconnect import reconnecting

st.set_page_config(page_title="Triops", page_icon=PAGE_ICON, layout="wide")
fragment_race.install()  # the exam clock's fragment runs never cut a page's run short
register_tasks()  # exam profiles with tasks load them, and attempts grade them (quiz.hooks)


def _page() -> None:
    if resources.settings().sign_in in ("password", "oidc"):
        # A class server: nothing but the sign-in form until someone signs in; then the pages
        # their role may use, and a refusal (before the page's script runs) for any other page's
        # address. With oidc, signing in and out is Streamlit's st.login and st.logout
        # (secrets.toml [auth]).
        oidc = resources.settings().sign_in == "oidc"
        with guard(), reconnecting():
            db = resources.state_db()
            identity = signin.oidc_identity(db) if oidc else signin.session_identity(db)
        signed_in = identity.user is not None
        current_page = st.navigation(
            navigation.pages(can_instruct=identity.can_instruct, is_admin=identity.is_admin),
            position="sidebar" if signed_in else "hidden",
            expanded=True,
        )
        with guard(), reconnecting():
            if not signed_in:
                if oidc:
                    signin.oidc_sign_in_page()
                else:
                    signin.sign_in_form(resources.state_db())
                st.stop()
            (signin.oidc_sidebar_account if oidc else signin.sidebar_account)(identity)
            with st.sidebar:
                connection_text()
            navigation.refuse_if_not_allowed(current_page, identity.can_instruct, identity.is_admin)
            current_page.run()
    else:
        # Every page is listed: none is folded behind "View N more".
        current_page = st.navigation(navigation.pages(), expanded=True)
        with guard(), reconnecting():
            sidebar_identity(resources.state_db())
            with st.sidebar:
                connection_text()
            current_page.run()


# One structured line per script run (JSON under TRIOPS_LOG_FORMAT=json, with the user and the
# attempt: triops.ops); a database that stops answering is a notice and a retry (reconnecting).
_started = time.perf_counter()
try:
    _page()
finally:
    logging.getLogger("triops.app").info(
        "script run", extra={"ms": round((time.perf_counter() - _started) * 1000, 1)}
    )
    # Search and Ask's index builds in the background from the first page view on, once per
    # process: started once this view's page has been drawn (also when the page stopped or
    # asked for a rerun), so the first page a new server shows does not share the CPU and the
    # interpreter with loading the model.
    search_state.start_index_build()
