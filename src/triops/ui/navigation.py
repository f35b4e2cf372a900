"""The app's pages in one place: the sidebar's sections, and the activities Home leads to."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import streamlit as st


@dataclass(frozen=True)
class PageSpec:
    path: str  # under app_pages/
    title: str
    icon: str  # a Material Symbols name (the font ships with Streamlit: no download)
    url: str | None = None
    blurb: str | None = None  # set on the activities Home offers as a way in
    default: bool = False

    @property
    def script(self) -> str:
        return f"app_pages/{self.path}"


SECTIONS: dict[str, list[PageSpec]] = {
    "Learn": [
        PageSpec("home.py", "Home", "home", default=True),
        PageSpec("learn.py", "Learn", "menu_book", "learn"),
        PageSpec("progress.py", "Progress", "trending_up", "progress"),
    ],
    "Prepare": [
        PageSpec(
            "practice.py",
            "Practice",
            "quiz",
            "practice",
            "Questions from every track, with instant feedback, the right answer and why.",
        ),
        PageSpec(
            "review.py",
            "Review",
            "event_repeat",
            "review",
            "Spaced review with FSRS: the questions you answered come back just before you "
            "would forget them, sooner as your exam date nears.",
        ),
        PageSpec(
            "placement.py",
            "Placement test",
            "explore",
            "placement",
            "An adaptive test per track: a few questions chosen for you, then your level and "
            "readiness.",
        ),
        PageSpec(
            "exam.py",
            "Exams",
            "timer",
            "exam",
            "Timed mock exams with a countdown, flags, a review screen and results per domain.",
        ),
        PageSpec(
            "labs.py",
            "Labs",
            "science",
            "labs",
            "Hands-on pipelines run in a local sandbox: CI, drift and retraining, prompt "
            "evaluation.",
        ),
    ],
    "Find": [
        PageSpec("search.py", "Search", "search", "search"),
        PageSpec("ask.py", "Ask the course", "forum", "ask"),
    ],
    "Explore": [
        PageSpec("lifecycles.py", "Lifecycles", "autorenew", "lifecycles"),
        PageSpec("compare.py", "Compare", "compare_arrows", "compare"),
        PageSpec("applications.py", "Applications", "apps", "applications"),
        PageSpec("careers.py", "Careers & Market", "payments", "careers"),
    ],
    "Instructor": [
        PageSpec("content_health.py", "Content health", "health_and_safety", "content-health"),
        PageSpec("item_analysis.py", "Item analysis", "analytics", "item-analysis"),
        PageSpec("exam_coverage.py", "Exam coverage", "fact_check", "exam-coverage"),
        PageSpec("learners.py", "Learners", "group", "learners"),
        PageSpec("cohorts.py", "Cohorts", "groups", "cohorts"),
    ],
}


INSTRUCTOR = "Instructor"
ADMIN = "Admin"
# Only on a class server (TRIOPS_SIGN_IN=password): one person's laptop has no accounts.
ADMIN_SECTION = [PageSpec("accounts.py", "Accounts", "manage_accounts", "accounts")]


# st.Page resolves its script's path on the disk (realpath, a stat per folder) and checks its
# icon: about a fifth of a millisecond each, for every page on every script run, exam page
# reruns included. What it builds depends only on the spec and the app's folder, so each page is
# built once per process and every run gets its own shallow copy (st.navigation and a page's
# run() flip flags on the object they are given, so no two sessions share one).
_BUILT: dict[tuple[str, PageSpec, bool], st.Page] = {}


def _page(spec: PageSpec, *, hidden: bool = False) -> st.Page:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    key = (str(ctx.pages_manager.main_script_parent) if ctx else "", spec, hidden)
    built = _BUILT.get(key) if ctx else None
    if built is None:
        built = st.Page(
            spec.script,
            title=spec.title,
            icon=f":material/{spec.icon}:",
            url_path=spec.url,
            default=spec.default,
            visibility="hidden" if hidden else "visible",
        )
        if ctx:
            _BUILT[key] = built
    return copy.copy(built)


def pages(can_instruct: bool = True, is_admin: bool | None = None) -> dict[str, list[st.Page]]:
    """The sections as st.navigation takes them.

    `is_admin` None (one person's laptop) leaves the admin pages out altogether. Pages a user
    may not open are left out of the menu but still registered, hidden, so that opening one's
    address is answered by `refuse_if_not_allowed`, not by Streamlit's "page not found" and a
    silent switch to Home."""
    sections = {
        section: [_page(spec) for spec in specs]
        for section, specs in SECTIONS.items()
        if can_instruct or section != INSTRUCTOR
    }
    if is_admin:
        sections[ADMIN] = [_page(spec) for spec in ADMIN_SECTION]
    hidden = [] if can_instruct else SECTIONS[INSTRUCTOR]
    hidden = hidden + (ADMIN_SECTION if is_admin is False else [])
    if hidden:
        last = list(sections)[-1]
        sections[last] = sections[last] + [_page(spec, hidden=True) for spec in hidden]
    return sections


def instructor_only(page: st.Page) -> bool:
    """Whether a page of st.navigation's is one of the instructor pages."""
    return page.url_path in {spec.url for spec in SECTIONS[INSTRUCTOR]}


def admin_only(page: st.Page) -> bool:
    """Whether a page of st.navigation's is one of the admin pages."""
    return page.url_path in {spec.url for spec in ADMIN_SECTION}


NOT_ALLOWED = "Not allowed: this page is for instructors. Ask an admin if you need it."
NOT_ALLOWED_ADMIN = "Not allowed: this page is for admins."


def refuse_if_not_allowed(page: st.Page, can_instruct: bool, is_admin: bool = False) -> None:
    """Stop before a page runs for someone whose role may not open it."""
    refusal = None
    if instructor_only(page) and not can_instruct:
        refusal = NOT_ALLOWED
    elif admin_only(page) and not is_admin:
        refusal = NOT_ALLOWED_ADMIN
    if refusal:
        st.title(page.title)
        st.error(refusal)
        st.stop()


def activities() -> list[PageSpec]:
    """The pages Home offers as ways in besides the lessons (each has a blurb)."""
    return [spec for specs in SECTIONS.values() for spec in specs if spec.blurb]


# Streamlit draws a page link on one line, cut with an ellipsis: long lesson titles in narrow
# cards lose their end. Wrapped, they stay readable.
WRAP_PAGE_LINKS = (
    "<style>[data-testid='stPageLink'] p "
    "{white-space: normal; overflow: visible; text-overflow: clip;}</style>"
)


def wrap_page_links() -> None:
    """Let page links on this page wrap instead of being cut off."""
    st.html(WRAP_PAGE_LINKS)


def activity_cards() -> None:
    """One bordered card per activity: its link and what it offers."""
    specs = activities()
    for col, spec in zip(st.columns(len(specs)), specs, strict=True):
        with col, st.container(border=True):
            st.page_link(spec.script, label=spec.title, icon=f":material/{spec.icon}:")
            st.caption(spec.blurb)
