"""'Report a problem' through AppTest from the entry point, on the real bank and a real DuckDB
file: a learner reports a practice question (a hostile comment stays text), the instructor
resolves it on Content health, the learner sees the verdict; a bad comment is refused with a
message; a learner is refused the resolve action on the server; an exam result says it was
regraded."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from conftest import REPO, fresh_state
from triops import accounts
from triops.accounts import Actor
from triops.config import get_settings
from triops.quiz import exam as engine
from triops.quiz import reports
from triops.quiz.blueprint import load_exams
from triops.quiz.grading import right_answer
from triops.store import users

HOSTILE = "<img src=x onerror=alert(1)> **bold** [x](javascript:alert(2))"
RAW_MARKUP = re.compile(r"(?<!\\)<img|(?<!\\)\]\(javascript")
PASSWORD = "correct horse battery staple"


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def app(**params) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    return at


def state():
    return fresh_state(get_settings().state_db)


def markup(at: AppTest) -> list[str]:
    """Every element whose value Streamlit renders as markdown."""
    kinds = (at.markdown, at.success, at.info, at.error, at.warning, at.caption)
    return [str(e.value) for kind in kinds for e in kind]


def unescaped(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def texts(at: AppTest) -> list[str]:
    return [t.value for t in at.text]


def a_single(bank):
    return next(q for q in bank.practice() if q.question.type == "single")


def answered_practice(user_id: str, bq) -> AppTest:
    """The practice page with `bq` answered (the deep link opens it)."""
    at = app(profile=user_id, question=bq.id).run()
    at.switch_page("app_pages/practice.py").run()
    assert at.session_state["practice_current"] == bq.id
    key = f"practice-{at.session_state['practice_seq']}"
    at.radio(key=key).set_value(0)
    at.button(key=f"{key}-check").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_learner_reports_a_practice_question_and_sees_the_instructors_verdict(bank):
    conn = state()
    try:
        ada = users.create_user(conn, "Ada", utc_now()).id
    finally:
        conn.close()
    bq = a_single(bank)
    at = answered_practice(ada, bq)
    key = f"report-practice-{bq.id}"
    # A wrong key needs a comment: refused with a message, nothing stored.
    at.radio(key=f"{key}-category").set_value("wrong-key")
    at.button(key=f"FormSubmitter:{key}-Send report").click().run()
    assert not at.exception
    assert any("Write a comment for 'Wrong key'" in e.value for e in at.error)
    at.text_area(key=f"{key}-comment").input(HOSTILE)
    at.button(key=f"FormSubmitter:{key}-Send report").click().run()
    assert not at.exception
    assert "Report sent: an instructor will answer here." in [s.value for s in at.success]
    assert f"Your comment: {HOSTILE}" in texts(at)  # st.text: never markdown
    assert not [m for m in markup(at) if RAW_MARKUP.search(m)]

    # Content health: the queue names the file and line; the instructor resolves the report.
    at.switch_page("app_pages/content_health.py").run()
    assert not at.exception, [e.value for e in at.exception]
    queue = at.dataframe[0].value
    assert list(queue["where"]) == [f"{bq.path}:{bq.line}"]
    assert list(queue["comment"]) == [HOSTILE]
    assert list(queue["verdict"]) == ["open"]
    assert f"Ada wrote: {HOSTILE}" in texts(at)
    assert not [m for m in markup(at) if RAW_MARKUP.search(m)]
    at.radio(key="rep_verdict").set_value("rejected")
    at.text_area(key="rep_note").input("The key follows the 2026 docs: <b>see</b> the lesson.")
    submit = next(b for b in at.button if b.key and b.key.startswith("FormSubmitter:health_"))
    submit.click().run()
    assert not at.exception
    assert any(s.value.startswith("Resolved ") for s in at.success)
    at.segmented_control(key="health_rep_state").set_value("resolved").run()
    assert list(at.dataframe[0].value["verdict"]) == ["Rejected"]

    # Back on the practice question, the reporter sees the verdict and the note, as text.
    at = answered_practice(ada, bq)
    assert "Instructor's note: The key follows the 2026 docs: <b>see</b> the lesson." in texts(at)
    assert any("Verdict: Rejected" in c.value for c in at.caption)


def test_the_content_health_filters_narrow_the_queue(bank):
    moment = utc_now()
    conn = state()
    try:
        ada = users.create_user(conn, "Ada", moment).id
        for bq, category in ((a_single(bank), "typo"), (bank.practice()[-1], "unclear")):
            reports.submit(
                conn,
                ada,
                bq.question,
                bq.track,
                source="practice",
                category=category,
                comment="",
                now=moment,
                bank_file=bq.path,
            )
    finally:
        conn.close()
    at = app(profile=ada).run()
    at.switch_page("app_pages/content_health.py").run()
    assert not at.exception
    assert len(at.dataframe[0].value) == 2
    at.multiselect(key="health_rep_categories").set_value(["typo"]).run()
    assert list(at.dataframe[0].value["category"]) == ["Typo"]
    at.multiselect(key="health_rep_categories").set_value([]).run()
    at.segmented_control(key="health_rep_state").set_value("resolved").run()
    assert "No reports match these filters." in [i.value for i in at.info]


@pytest.fixture
def password_mode(monkeypatch):
    monkeypatch.setenv("TRIOPS_SIGN_IN", "password")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def sign_in(at: AppTest, name: str) -> AppTest:
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_password").input(PASSWORD)
    at.button[0].click()
    return at.run()


def test_a_learner_is_refused_the_resolve_action_on_the_server(password_mode, bank):
    moment = utc_now()
    conn = state()
    try:
        accounts.add_user(conn, "Grace", PASSWORD, moment, role="instructor")
        lea = accounts.add_user(conn, "Lea", PASSWORD, moment)
        bq = a_single(bank)
        made, _ = reports.submit(
            conn,
            lea.id,
            bq.question,
            bq.track,
            source="practice",
            category="typo",
            comment="a typo",
            now=moment,
            bank_file=bq.path,
        )
    finally:
        conn.close()
    at = sign_in(app().run(), "Grace")
    at.switch_page("app_pages/content_health.py").run()
    assert not at.exception
    # Grace's role is taken away after the page was drawn: the resolve is checked again.
    conn = state()
    try:
        accounts.set_role(conn, "Grace", "learner", moment)
    finally:
        conn.close()
    at.radio(key="rep_verdict").set_value("upheld-fixed")
    at.text_area(key="rep_note").input("Fixed.")
    submit = next(b for b in at.button if b.key and b.key.startswith("FormSubmitter:health_"))
    submit.click().run()
    # The next script run re-reads the role: the page (or, past it, the resolve) refuses.
    refusals = [e.value for e in at.error if e.value.startswith("Not allowed")]
    assert refusals in (
        ["Not allowed: this page is for instructors. Ask an admin if you need it."],
        ["Not allowed: only an instructor resolves reports."],
    )
    assert not any(s.value.startswith("Resolved ") for s in at.success)
    conn = state()
    try:
        assert reports.mine(conn, lea.id, bq.id)[0].is_open
    finally:
        conn.close()
    # And a learner does not get the page at all.
    learner = sign_in(app().run(), "Lea")
    learner.switch_page("app_pages/content_health.py").run()
    assert not learner.dataframe and not learner.text_area
    assert made.id not in " ".join(texts(learner))


def test_a_regraded_exam_result_says_so_and_why(bank):
    exams = load_exams(REPO, bank)
    moment = utc_now()
    conn = state()
    try:
        bo = users.create_user(conn, "Bo", moment).id
        row = engine.start(
            conn, exams.get("devops-practitioner"), bank, bo, moment, random.Random(5)
        )
        view = engine.load(conn, row.token, bo, moment)
        target = next(d for d in view.questions if d.question.type == "single" and not d.pilot)
        other = next(i for i, w in enumerate(target.question.weights()) if w == 0)
        for d in view.questions:
            response = other if d is target else right_answer(d.question)
            engine.save_answer(conn, row.token, bo, d.position, response, moment, d.question)
        before = engine.submit(conn, row.token, bo, moment + timedelta(seconds=5)).score
        made, _ = reports.submit(
            conn,
            bo,
            target.question,
            target.track,
            source="exam",
            category="wrong-key",
            comment="Another option is right.",
            now=moment,
            attempt_id=row.id,
        )
        reports.resolve(
            conn,
            made.id,
            "upheld-miskeyed",
            "Both options are right since the 2026 release.",
            moment,
            Actor(None, "command line"),
            remedy="rekey",
            key=[other],
        )
    finally:
        conn.close()
    at = app(profile=bo, attempt=row.token).run()
    at.switch_page("app_pages/exam.py")
    at.query_params["attempt"] = row.token
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    notice = next(i.value for i in at.info if i.value.startswith("Regraded on"))
    assert f"Score {before:.1f}% → 100.0%" in notice and "Your answers were not changed." in notice
    assert "Instructor's note: Both options are right since the 2026 release." in texts(at)
    assert at.success[0].value.startswith("Passed: 100.0%")
    item = (
        "Regraded (credit the corrected key as well as the published one): this question's "
        "score 0% → 100%."
    )
    assert item in [unescaped(c.value) for c in at.caption]


def test_a_card_answered_on_the_review_page_can_be_reported(bank):
    from triops.quiz import review

    moment = utc_now()
    bq = a_single(bank)
    conn = state()
    try:
        ada = users.create_user(conn, "Ada", moment).id
        review.record_answer(conn, ada, bq.question, bq.track, 0.0, moment - timedelta(days=3))
    finally:
        conn.close()
    at = app(profile=ada).run()
    at.switch_page("app_pages/review.py").run()
    assert at.session_state["review_current"] == bq.id
    key = f"review-{at.session_state['review_seq']}"
    at.radio(key=key).set_value(0)
    at.button(key=f"{key}-check").click().run()
    assert not at.exception, [e.value for e in at.exception]
    form = f"report-review-{bq.id}"
    at.radio(key=f"{form}-category").set_value("typo")
    at.text_area(key=f"{form}-comment").input("'recieve' in the second option")
    at.button(key=f"FormSubmitter:{form}-Send report").click().run()
    assert not at.exception
    assert "Report sent: an instructor will answer here." in [s.value for s in at.success]
    conn = state()
    try:
        (made,) = reports.mine(conn, ada, bq.id)
    finally:
        conn.close()
    assert (made.source, made.category, made.bank_file) == ("review", "typo", bq.path)


def test_a_reported_exam_item_is_flagged_on_the_item_analysis_page(bank):
    exams = load_exams(REPO, bank)
    moment = utc_now()
    conn = state()
    try:
        bo = users.create_user(conn, "Bo", moment).id
        row = engine.start(conn, exams.get("devops-practitioner"), bank, bo, moment)
        view = engine.load(conn, row.token, bo, moment)
        engine.submit(conn, row.token, bo, moment + timedelta(seconds=5))
        target = view.questions[0]
        reports.submit(
            conn,
            bo,
            target.question,
            target.track,
            source="exam",
            category="unclear",
            comment="",
            now=moment,
            attempt_id=row.id,
        )
    finally:
        conn.close()
    at = app(profile=bo).run()
    at.switch_page("app_pages/item_analysis.py").run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    flagged = table[table["question_id"] == target.question.id].iloc[0]
    assert flagged["flags"] == "learner reports, needs 29 more responses"
    assert flagged["notes"] == "reports: 1 open (unclear 1)"
    assert table.iloc[0]["question_id"] == target.question.id  # worst flags first


def test_an_exam_review_question_is_reported_from_its_toggle(bank):
    exams = load_exams(REPO, bank)
    moment = utc_now()
    conn = state()
    try:
        bo = users.create_user(conn, "Bo", moment).id
        row = engine.start(conn, exams.get("devops-practitioner"), bank, bo, moment)
        view = engine.load(conn, row.token, bo, moment)
        engine.submit(conn, row.token, bo, moment + timedelta(seconds=5))
    finally:
        conn.close()
    at = app(profile=bo, attempt=row.token).run()
    at.switch_page("app_pages/exam.py")
    at.query_params["attempt"] = row.token
    at.run()
    target = view.questions[1]
    key = f"report-exam-{target.question.id}-1"
    toggle = at.toggle(key=f"{key}-open")
    assert toggle.label == "Report a problem with question 2"
    toggle.set_value(True).run()
    at.radio(key=f"{key}-category").set_value("outdated")
    at.text_area(key=f"{key}-comment").input("The tool's 2026 release changed this default.")
    at.button(key=f"FormSubmitter:{key}-Send report").click().run()
    assert not at.exception, [e.value for e in at.exception]
    conn = state()
    try:
        (made,) = reports.mine(conn, bo, target.question.id)
    finally:
        conn.close()
    assert (made.source, made.attempt_id, made.category) == ("exam", row.id, "outdated")
    assert made.version == reports.version_of(target.question)
    assert at.toggle(key=f"{key}-open").label == "Report a problem with question 2 (1 sent)"
