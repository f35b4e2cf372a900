"""Triops entry point: page config, the profile picker, navigation."""

import streamlit as st

from triops.ui import resources
from triops.ui.guard import guard
from triops.ui.identity import sidebar_identity

st.set_page_config(page_title="Triops", page_icon=":material/all_inclusive:", layout="wide")

PAGES = {
    "Learn": [
        st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("app_pages/learn.py", title="Learn", icon=":material/menu_book:", url_path="learn"),
        st.Page(
            "app_pages/progress.py",
            title="Progress",
            icon=":material/trending_up:",
            url_path="progress",
        ),
    ],
    "Explore": [
        st.Page(
            "app_pages/lifecycles.py",
            title="Lifecycles",
            icon=":material/autorenew:",
            url_path="lifecycles",
        ),
        st.Page(
            "app_pages/compare.py",
            title="Compare",
            icon=":material/compare_arrows:",
            url_path="compare",
        ),
        st.Page(
            "app_pages/applications.py",
            title="Applications",
            icon=":material/apps:",
            url_path="applications",
        ),
        st.Page(
            "app_pages/careers.py",
            title="Careers & Market",
            icon=":material/payments:",
            url_path="careers",
        ),
    ],
    "Instructor": [
        st.Page(
            "app_pages/content_health.py",
            title="Content health",
            icon=":material/health_and_safety:",
            url_path="content-health",
        ),
    ],
}

page = st.navigation(PAGES)
with guard():
    sidebar_identity(resources.state_db())
    page.run()
