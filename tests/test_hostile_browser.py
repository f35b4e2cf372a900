"""Hostile text in a real chromium against a real server (TRIOPS_SIGN_IN=password), issue 18
item 5: every field a user can fill (usernames, an email, a cohort name, an assignment title, a
short-text exam answer, a lab file, what a lab run printed, a problem report's comment; typed
search, Ask and join-code text) holds the usual attacks (script and event-handler HTML,
javascript: and markdown links, markdown images pointing at a tracking address, template braces,
an RTL override, HTML entities, a very long string), and every page of app_pages/ is opened as a
learner, an instructor and an admin. Nothing may run (no dialog, no console line or global set by
a payload), nothing may be fetched from the tracking address, no element the payloads describe
may exist, and where a page shows the text, it shows it literally. One server for the module,
given the course's search index (built once per test run), so Search and Ask answer the hostile
text they are given."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from conftest import REPO, copy_derived
from triops import accounts, cohorts
from triops.labs import service as lab_service
from triops.labs.spec import load_labs
from triops.quiz import exam as engine
from triops.quiz import reports
from triops.quiz.bank import load_bank
from triops.quiz.blueprint import load_exams
from triops.store import jobs as job_store
from triops.store import labruns
from triops.store.connection import open_state
from triops.testing import streamlit_server
from triops.ui import navigation

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
TRACKER = "http://127.0.0.1:9"  # the discard port: a fetch of it is a markdown image obeyed
RTL = "\u202e"

# Usernames are 1-60 printable characters (an RTL override is refused as a control character,
# so it goes into the free-text fields instead).
LEARNER = "<img src=x onerror=window.__pwned='name'>"
MEMBERS = [
    "<script>window.__pwned='member'</script>",
    "[me](javascript:window.__pwned='link')",
    f"![m]({TRACKER}/member.png) **bold** _it_",
    "{{7*7}} ${7*7} &lt;b&gt; &amp;amp; &#60;i&#62;",
    "W" * 60,
]
EMAIL = "<b>e</b>@example.org"
COHORT = "<svg onload=window.__pwned='co'> [c](javascript:window.__pwned=1) {{c}}"
TITLE = f"![t]({TRACKER}/t.png) <script>window.__pwned='t'</script> &amp; {{{{t}}}}"
ANSWER = (
    f"<img src=x onerror=window.__pwned='answer'> ![a]({TRACKER}/answer.png) "
    f"[a](javascript:window.__pwned='a') {RTL}txet {{{{answer}}}} &lt;i&gt; " + "long " * 150
).strip()
LAB_TEXT = (
    "# <script>window.__pwned='lab'</script>\n"
    f"# ![l]({TRACKER}/lab.png) [l](javascript:window.__pwned='l') {RTL}bal\n"
)
COMMENT = f"<img src=x onerror=window.__pwned='report'> ![r]({TRACKER}/report.png) &#60;b&#62;"
TYPED = (
    f"<img src=x onerror=window.__pwned='typed'> [q](javascript:window.__pwned='q') "
    f"![q]({TRACKER}/q.png) {{{{q}}}} {RTL}deppyt"
)
JOIN = "<b>{{7*7}}</b>&amp;"  # the join field takes 20 characters
# What a learner's code printed: a check's reason quotes it, and the run's log holds it.
RUN_OUTPUT = (
    f"<script>window.__pwned='run'</script> ![o]({TRACKER}/run.png) "
    f"[o](javascript:window.__pwned='o') {RTL}tuptuo &lt;b&gt; {{{{run}}}}"
)

QUICK = "devops-practitioner"  # draws one short-text question


@dataclass
class Seeded:
    url: str
    attempt: str  # the learner's finished attempt, answered with ANSWER
    answered: int  # the position of its short-text question (the review numbers from 1)
    stem: str  # the start of that question's stem, which its review's title shows
    lab: str


@pytest.fixture(scope="module")
def server(tmp_path_factory, course_derived) -> Iterator[Seeded]:
    home = tmp_path_factory.mktemp("hostile") / "home"
    copy_derived(course_derived.derived, home / "derived")  # Search and Ask ready at once
    conn = open_state(home / "state.duckdb")  # seeded before the app holds the file
    try:
        now = datetime.now(UTC).replace(tzinfo=None)
        accounts.add_user(conn, "Root", PASSWORD, now, role="admin", email=EMAIL)
        grace = accounts.add_user(conn, "Grace", PASSWORD, now, role="instructor")
        learner = accounts.add_user(conn, LEARNER, PASSWORD, now)
        for name in MEMBERS:
            accounts.add_user(conn, name, PASSWORD, now)
        cohort = cohorts.create_cohort(conn, COHORT, now, owner=grace)
        for name in [LEARNER, *MEMBERS]:
            cohorts.add_learner(conn, cohort.id, name, now)
        bank = load_bank(REPO)
        exams = load_exams(REPO, bank)
        cohorts.assign(
            conn, cohort.id, exams, QUICK, now - timedelta(hours=1), now + timedelta(days=3), 2,
            now, title=TITLE,
        )  # fmt: skip
        started = now - timedelta(minutes=30)
        row = engine.start(conn, exams.get(QUICK), bank, learner.id, started, random.Random(7))
        view = engine.load(conn, row.token, learner.id, started)
        short = [d for d in view.questions if d.question.type == "short_text"]
        assert short, "the exam drew no short-text question"
        for d in short:
            engine.save_answer(conn, row.token, learner.id, d.position, ANSWER, started, d.question)
        engine.submit(conn, row.token, learner.id, started + timedelta(minutes=5))
        reports.submit(
            conn, learner.id, short[0].question, short[0].track, source="exam",
            category="wrong-key", comment=COMMENT, now=now, attempt_id=row.token,
        )  # fmt: skip
        labs = load_labs(REPO)
        lab = labs.labs[0]
        folder = lab_service.files_dir(home, learner.id, lab)
        lab_service.save_file(folder, lab, lab.spec.editable[0], LAB_TEXT)
        log = home / "hostile-run.log"
        log.write_text(RUN_OUTPUT + "\n", encoding="utf-8")
        job = job_store.Job(
            id="hostilejob", kind="lab-check", owner=learner.id, subject=lab.id,
            state="running", started_at=now, heartbeat=now, finished_at=None,
            log_path=str(log), result_json=None,
        )  # fmt: skip
        job_store.start(conn, job)
        job_store.finish(conn, job.id, "failed", now, None)
        labruns.record(
            conn,
            labruns.LabRunRow(
                job_id=job.id, user_id=learner.id, lab_id=lab.id, kind="check",
                status="failed", seconds=1.0, passed=False,
                criteria=[["the tests pass", False, RUN_OUTPUT]], log=RUN_OUTPUT,
                finished_at=now,
            ),
        )  # fmt: skip
        conn.execute("CHECKPOINT")
    finally:
        conn.close()
    env = {"TRIOPS_HOME": str(home), "TRIOPS_SIGN_IN": "password", "TRIOPS_SEARCH_WARMUP": "1"}
    with streamlit_server(REPO / "app.py", env=env) as srv:
        stem = short[0].question.stem.splitlines()[0][:30]
        yield Seeded(srv.url, row.token, short[0].position, stem, lab.id)


@dataclass
class Watch:
    """What a page did that a payload could have made it do."""

    dialogs: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)

    def attach(self, page) -> None:
        page.on("dialog", self._dialog)
        page.on("console", lambda m: "pwned" in m.text and self.console.append(m.text))
        page.on("request", lambda r: r.url.startswith(TRACKER) and self.fetched.append(r.url))

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


# A setter on window.__pwned logs to the console, so a payload that runs is seen even if a
# later rerun of the page replaces the element it came in.
TRAP = """
Object.defineProperty(window, '__pwned', {
  configurable: false,
  set(v) { console.log('pwned: ' + v); window.__pwnedBy = v; },
  get() { return window.__pwnedBy; },
});
"""

DOM_CHECK = """() => ({
  pwned: window.__pwnedBy === undefined ? null : String(window.__pwnedBy),
  handlers: [...document.querySelectorAll('[onerror],[onload],[onclick]')]
    .map(e => e.outerHTML.slice(0, 120)),
  scripts: [...document.querySelectorAll('script')]
    .filter(s => s.textContent.includes('__pwned')).length,
  jsLinks: [...document.querySelectorAll('a[href]')]
    .filter(a => a.getAttribute('href').trim().toLowerCase().startsWith('javascript:'))
    .map(a => a.outerHTML.slice(0, 120)),
  images: [...document.querySelectorAll('img')]
    .map(i => i.getAttribute('src') || '')
    .filter(s => s === 'x' || s.startsWith('http://127.0.0.1:9')),
  svgs: document.querySelectorAll('main svg[onload], section svg[onload]').length,
})"""


def untouched(page, watch: Watch, where: str) -> None:
    page.wait_for_timeout(300)  # a payload's event handler or image load fires by then
    found = page.evaluate(DOM_CHECK)
    assert found == {
        "pwned": None,
        "handlers": [],
        "scripts": 0,
        "jsLinks": [],
        "images": [],
        "svgs": 0,
    }, where
    assert watch.dialogs == [], where
    assert watch.console == [], where
    assert watch.fetched == [], where


def flat(text: str) -> str:
    return " ".join(text.split())


def shows_literally(page, text: str, where: str) -> None:
    """The text is on the page as typed (whitespace aside): not markup, not dropped."""
    body = flat(page.locator("body").inner_text())
    at = body.find(flat(text)[:24])
    shown = body[at : at + len(flat(text)) + 40] if at >= 0 else "(not there)"
    assert flat(text) in body, f"{where}: {text!r} is shown as {shown!r}"


def open_page(browser, url: str) -> tuple:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_init_script(TRAP)
    page = context.new_page()
    page.set_default_timeout(45_000)
    watch = Watch()
    watch.attach(page)
    page.goto(url)
    return page, watch


def sign_in(page, name: str) -> None:
    page.get_by_role("heading", name="Sign in to Triops").wait_for()
    page.get_by_role("textbox", name="Username").fill(name)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_test_id("stSidebar").get_by_text("Signed in as").wait_for()


def settle(page) -> None:
    """Wait until the script run that drew the page has finished."""
    page.wait_for_timeout(200)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=stApp]')"
        "?.getAttribute('data-test-script-state') === 'notRunning'"
    )


# Each page's title in the menu, its address, and the heading its script draws.
PAGES = [
    (spec.title, spec.url or "", spec.title)
    for section in navigation.SECTIONS.values()
    for spec in section
] + [(spec.title, spec.url or "", spec.title) for spec in navigation.ADMIN_SECTION]
HEADINGS = {
    "Home": "Triops",
    "Careers & Market": "Careers & Market",
    "Compare": "Compare DevOps, MLOps and LLMOps",
    "Applications": "Applications in 2026",
}
INSTRUCTOR_PAGES = {spec.title for spec in navigation.SECTIONS[navigation.INSTRUCTOR]}
ADMIN_PAGES = {spec.title for spec in navigation.ADMIN_SECTION}


def test_every_app_page_is_in_the_sweep():
    scripts = {p.name for p in (REPO / "app_pages").glob("*.py")}
    swept = {spec.path for section in navigation.SECTIONS.values() for spec in section}
    swept |= {spec.path for spec in navigation.ADMIN_SECTION}
    assert scripts == swept


def visit_all(page, watch: Watch, role: str, allowed: set[str]) -> None:
    """Open every page the role's menu offers, by its link (the session stays signed in)."""
    nav = page.get_by_test_id("stSidebarNav")
    for title, _, _ in PAGES:
        if title not in allowed:
            assert nav.get_by_role("link", name=title, exact=True).count() == 0, title
            continue
        nav.get_by_role("link", name=title, exact=True).click()
        heading = HEADINGS.get(title, title)
        page.get_by_role("heading", name=heading, exact=True).first.wait_for()
        settle(page)
        untouched(page, watch, f"{role} on {title}")


def test_a_learner_walks_every_page_and_nothing_hostile_runs(browser, server):
    page, watch = open_page(browser, server.url)
    sign_in(page, LEARNER)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text(f"Signed in as {LEARNER} (learner)").wait_for()
    allowed = {t for t, _, _ in PAGES} - INSTRUCTOR_PAGES - ADMIN_PAGES
    visit_all(page, watch, "learner", allowed)

    # Exams: the assignment and its cohort as text, and a hostile join code refused as text.
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Exams", exact=True).click()
    page.get_by_role("heading", name="Assigned to you").wait_for()
    settle(page)  # the heading is drawn before the assignments below it (CI read it mid-run)
    shows_literally(page, f"{TITLE} · {COHORT} · closes", "learner on Exams")
    page.get_by_text("Join a cohort", exact=True).click()
    page.get_by_role("textbox", name="Join code from your instructor").fill(JOIN)
    page.get_by_role("button", name="Join", exact=True).click()
    settle(page)
    untouched(page, watch, "learner joining with a hostile code")

    # Search and Ask answer the typed text; nothing of it runs, and Ask names it as typed.
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Search", exact=True).click()
    box = page.get_by_role("textbox", name="Search the course")
    box.fill(TYPED)
    box.press("Enter")
    answered = page.get_by_text(re.compile(r" · score \d")).or_(
        page.get_by_text("Nothing in the course matches")
    )
    answered.first.wait_for(timeout=180_000)  # the model loads for the first query
    settle(page)
    assert box.input_value() == TYPED
    if page.get_by_text("Nothing in the course matches").count():
        shows_literally(page, f"Nothing in the course matches “{TYPED[:80]}”", "learner searching")
    untouched(page, watch, "learner searching")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Ask the course").click()
    question = page.get_by_role("textbox", name="Your question")
    question.fill(TYPED)
    page.get_by_role("button", name="Ask", exact=True).click()
    page.get_by_text("You asked:").wait_for(timeout=120_000)
    settle(page)
    assert question.input_value() == TYPED
    asked = page.get_by_test_id("stText").filter(has_text="deppyt")
    assert asked.count() == 1 and asked.inner_text() == TYPED
    untouched(page, watch, "learner asking")
    page.context.close()

    # The finished attempt's review shows the short-text answer as typed.
    page, watch = open_page(browser, f"{server.url}/exam?attempt={server.attempt}")
    sign_in(page, LEARNER)
    page.get_by_role("heading", name="Review", exact=True).wait_for()
    settle(page)
    number = server.answered + 1
    review = page.get_by_test_id("stExpander").filter(
        has=page.locator(
            "summary", has_text=re.compile(rf"(?<![0-9]){number}\. .*{re.escape(server.stem)}")
        )
    )
    review.locator("summary").click()
    review.get_by_text("Your answer:").wait_for()
    settle(page)
    untouched(page, watch, "learner's exam review")
    shows_literally(page, f"Your answer: {ANSWER}", "learner's exam review")
    page.context.close()

    # The lab's editor holds the hostile file as its text; the last check's reason quotes what
    # the learner's code printed, and its log holds it too.
    page, watch = open_page(browser, f"{server.url}/labs?lab={server.lab}")
    sign_in(page, LEARNER)
    page.get_by_role("heading", name="Your files").wait_for()
    page.get_by_text("Check not passed yet: 0 of 1 criteria.").wait_for()
    settle(page)
    from playwright.sync_api import expect  # here: collecting needs no playwright

    expect(page.get_by_test_id("stTextArea").locator("textarea").first).to_have_value(LAB_TEXT)
    shows_literally(page, f"Failed: the tests pass: {RUN_OUTPUT}", "learner's lab check")
    page.get_by_text("Log (", exact=False).first.click()
    settle(page)
    shows_literally(page, RUN_OUTPUT, "learner's lab log")
    untouched(page, watch, "learner's lab")
    page.context.close()

    # Instructor and admin addresses are refused before their scripts run.
    for title, url, _ in PAGES:
        if title in INSTRUCTOR_PAGES | ADMIN_PAGES:
            page, watch = open_page(browser, f"{server.url}/{url}")
            sign_in(page, LEARNER)
            page.get_by_text("Not allowed").first.wait_for()
            untouched(page, watch, f"learner refused {title}")
            page.context.close()


def test_an_instructor_walks_every_page_and_sees_hostile_names_as_text(browser, server):
    page, watch = open_page(browser, server.url)
    sign_in(page, "Grace")
    allowed = {t for t, _, _ in PAGES} - ADMIN_PAGES
    visit_all(page, watch, "instructor", allowed)

    nav = page.get_by_test_id("stSidebarNav")
    nav.get_by_role("link", name="Cohorts", exact=True).click()
    page.get_by_role("heading", name="Gradebook").wait_for()
    settle(page)
    shows_literally(page, f"Join code of {COHORT}:", "instructor on Cohorts")
    shows_literally(page, TITLE, "instructor on Cohorts")
    untouched(page, watch, "instructor on Cohorts")

    nav.get_by_role("link", name="Learners", exact=True).click()
    page.get_by_role("heading", name="Learners", exact=True).wait_for()
    settle(page)
    for name in [LEARNER, *MEMBERS]:
        shows_literally(page, name, "instructor on Learners")
    untouched(page, watch, "instructor on Learners")

    nav.get_by_role("link", name="Content health", exact=True).click()
    page.get_by_role("heading", name="Resolve a report").wait_for()
    settle(page)
    shows_literally(page, f"{LEARNER} wrote: {COMMENT}", "instructor on Content health")
    untouched(page, watch, "instructor on Content health")
    page.context.close()


def test_an_admin_walks_every_page_including_accounts(browser, server):
    page, watch = open_page(browser, server.url)
    sign_in(page, "Root")
    visit_all(page, watch, "admin", {t for t, _, _ in PAGES})
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Accounts", exact=True).click()
    page.get_by_role("heading", name="Audit log").wait_for()
    settle(page)
    untouched(page, watch, "admin on Accounts")
    page.context.close()
