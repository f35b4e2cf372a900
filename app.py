"""Triops entry point: page config, the profile picker, navigation."""

import streamlit as st

from triops.ui import navigation, resources, search_state
from triops.ui.guard import guard
from triops.ui.identity import sidebar_identity
from triops.ui.offline import PAGE_ICON, connection_text

st.set_page_config(page_title="Triops", page_icon=PAGE_ICON, layout="wide")
# Search and Ask's index builds in the background from the first page view on, once per process.
search_state.start_index_build()


# Every page is listed: none is folded behind "View N more".
current_page = st.navigation(navigation.pages(), expanded=True)
with guard():
    sidebar_identity(resources.state_db())
    with st.sidebar:
        connection_text()
    current_page.run()
