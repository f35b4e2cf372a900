"""Triops entry point: page config, the profile picker, navigation."""

import streamlit as st

from triops.ui import resources
from triops.ui.guard import guard
from triops.ui.identity import sidebar_identity

st.set_page_config(page_title="Triops", page_icon=":material/all_inclusive:", layout="wide")


def page(path: str, title: str, icon: str, url: str | None = None, **kw) -> st.Page:
    return st.Page(f"app_pages/{path}", title=title, icon=f":material/{icon}:", url_path=url, **kw)


PAGES = {
    "Learn": [
        page("home.py", "Home", "home", default=True),
        page("learn.py", "Learn", "menu_book", "learn"),
        page("progress.py", "Progress", "trending_up", "progress"),
    ],
    "Prepare": [
        page("practice.py", "Practice", "quiz", "practice"),
        page("exam.py", "Exams", "timer", "exam"),
        page("labs.py", "Labs", "science", "labs"),
    ],
    "Find": [
        page("search.py", "Search", "search", "search"),
        page("ask.py", "Ask the course", "forum", "ask"),
    ],
    "Explore": [
        page("lifecycles.py", "Lifecycles", "autorenew", "lifecycles"),
        page("compare.py", "Compare", "compare_arrows", "compare"),
        page("applications.py", "Applications", "apps", "applications"),
        page("careers.py", "Careers & Market", "payments", "careers"),
    ],
    "Instructor": [
        page("content_health.py", "Content health", "health_and_safety", "content-health"),
        page("item_analysis.py", "Item analysis", "analytics", "item-analysis"),
        page("learners.py", "Learners", "group", "learners"),
    ],
}

current_page = st.navigation(PAGES)
with guard():
    sidebar_identity(resources.state_db())
    current_page.run()
