"""Practice and exam pages through AppTest, on the real bank and a real DuckDB file."""

from __future__ import annotations

from datetime import timedelta

from streamlit.testing.v1 import AppTest

from conftest import REPO
from triops.config import get_settings
from triops.quiz import exam as engine
from triops.store import attempts, practice, users
from triops.store.connection import open_state


def app() -> AppTest:
    return AppTest.from_file(str(REPO / "app.py"), default_timeout=60)


def with_profile(name: str = "Ada") -> AppTest:
    at = app().run()
    at.sidebar.text_input(key="new_profile_name").input(name)
    at.sidebar.button[0].click()
    return at.run()


def state():
    return open_state(get_settings().state_db)


def answer_current_practice_question(at: AppTest) -> None:
    """Give some answer to whatever question is shown (right or wrong does not matter)."""
    key = f"practice-{at.session_state['practice_seq']}"
    if at.radio:
        at.radio(key=key).set_value(at.radio(key=key).options and 0)
    elif at.text_input and any(t.key == key for t in at.text_input):
        at.text_input(key=key).input("42")
    elif at.multiselect and any(m.key == key for m in at.multiselect):
        box = at.multiselect(key=key)
        box.set_value(list(range(len(box.options))))
    elif at.checkbox:
        at.checkbox[0].check()
    else:
        for box in at.selectbox:
            if box.key and box.key.startswith(key):
                box.set_value(0)


def test_practice_shows_a_question_and_gives_instant_feedback_with_explanation():
    at = with_profile()
    at.switch_page("app_pages/practice.py").run()
    assert not at.exception
    answer_current_practice_question(at)
    at.button(key=f"practice-{at.session_state['practice_seq']}-check").click().run()
    assert not at.exception
    verdicts = (
        [e.value for e in at.success] + [e.value for e in at.warning] + [e.value for e in at.error]
    )
    assert any(v.startswith(("Correct", "Partly right", "Not right")) for v in verdicts)
    assert at.info, "the explanation is shown"
    conn = state()
    user = users.find_by_name(conn, "Ada")
    assert len(practice.latest_scores(conn, user.id)) == 1
    conn.close()


def test_practice_filters_and_another_like_this_keeps_the_lesson():
    at = with_profile()
    at.switch_page("app_pages/practice.py").run()
    at.selectbox(key="practice_lesson").set_value("mlops-governance").run()
    first = at.session_state["practice_current"]
    answer_current_practice_question(at)
    at.button(key=f"practice-{at.session_state['practice_seq']}-check").click().run()
    at.button(key=f"practice-{at.session_state['practice_seq']}-like").click().run()
    assert not at.exception
    assert at.session_state["practice_current"] != first
    assert at.session_state["practice_current"].startswith("mlops-")


def test_practice_never_shows_exam_only_questions():
    from triops.quiz.bank import load_bank

    exam_only = {q.id for q in load_bank(REPO).questions if q.question.exam_only}
    at = with_profile()
    at.switch_page("app_pages/practice.py").run()
    seen = set()
    for _ in range(12):
        seen.add(at.session_state["practice_current"])
        answer_current_practice_question(at)
        at.button(key=f"practice-{at.session_state['practice_seq']}-check").click().run()
        at.button(key=f"practice-{at.session_state['practice_seq']}-next").click().run()
    assert seen and not seen & exam_only


def test_exam_list_shows_every_exam_and_needs_a_profile():
    at = app().run()
    at.switch_page("app_pages/exam.py").run()
    assert "Create a profile" in at.info[0].value
    at = with_profile()
    at.switch_page("app_pages/exam.py").run()
    assert [s.value for s in at.subheader] == [
        "DevOps mock in the DOP-C02 format",
        "DevOps quick mock",
        "LLMOps mock in the Databricks GenAI Engineer Associate format",
        "LLMOps quick mock",
        "MLOps mock in the Professional ML Engineer format",
        "MLOps quick mock",
        "Ops triad mock certification",
    ]
    captions = " ".join(c.value for c in at.caption)
    assert "pass at 750 on a 100–1000 scale" in captions
    assert "75 questions (10 of them unscored" in captions
    assert "a Triops study target: the issuer publishes no pass mark" in captions
    assert "checked 2026-12-06" in captions


def test_starting_an_exam_puts_the_token_in_the_url_and_saves_answers_on_change():
    at = with_profile()
    at.switch_page("app_pages/exam.py").run()
    at.button(key="start-devops-practitioner").click().run()
    assert not at.exception
    token = at.query_params["attempt"]
    token = token[0] if isinstance(token, list) else token
    assert "**Question 1 of 30**" in [m.value for m in at.markdown]
    conn = state()
    user = users.find_by_name(conn, "Ada")
    view = engine.load(conn, token, user.id, engine_now())
    conn.close()
    first = view.questions[0].question
    key = f"{token}-q0"
    if first.type in ("single", "true_false"):
        at.radio(key=key).set_value(at.radio(key=key).options[0]).run()
    elif first.type in ("numeric", "short_text"):
        at.text_input(key=key).input("3").run()
    elif first.type == "multiple":
        at.checkbox(key=f"{key}-0").check().run()
    elif first.type == "ordering":
        box = at.multiselect(key=key)
        box.set_value(list(range(len(box.options)))).run()
    else:
        at.selectbox(key=f"{key}-0").set_value(0).run()
    assert not at.exception
    assert any(c.value.startswith("Answer saved at") for c in at.caption)
    conn = state()
    saved = attempts.responses(conn, view.row.id)
    conn.close()
    assert 0 in saved and saved[0] is not None
    assert "**1 of 30 answered**" in [m.value for m in at.markdown]


def test_review_screen_lists_unanswered_and_submit_shows_results():
    at = with_profile()
    at.switch_page("app_pages/exam.py").run()
    at.button(key="start-llmops-practitioner").click().run()
    at.button(key="exam-review").click().run()
    assert "Review before you submit" in [s.value for s in at.subheader]
    assert [m.value for m in at.metric] == ["0", "30", "0"]
    at.checkbox(key="exam-confirm").check().run()
    at.button(key="exam-submit").click().run()
    assert not at.exception
    assert at.error and at.error[0].value.startswith("Not passed: 0.0%")
    assert "Review" in [h.value for h in at.header]


def test_a_token_of_another_profile_is_refused_on_the_page():
    conn = state()
    bob = users.create_user(conn, "Bob", engine_now())
    from triops.quiz.bank import load_bank
    from triops.quiz.blueprint import load_exams

    bank = load_bank(REPO)
    row = engine.start(
        conn, load_exams(REPO, bank).get("mlops-practitioner"), bank, bob.id, engine_now()
    )
    conn.close()
    at = with_profile("Ada")
    at.switch_page("app_pages/exam.py")
    at.query_params["attempt"] = row.token
    at.run()
    assert not at.exception
    assert "belongs to another profile" in at.error[0].value


def test_an_expired_attempt_is_finalized_on_the_next_read():
    at = with_profile()
    conn = state()
    user = users.find_by_name(conn, "Ada")
    from triops.quiz.bank import load_bank
    from triops.quiz.blueprint import load_exams

    bank = load_bank(REPO)
    row = engine.start(
        conn,
        load_exams(REPO, bank).get("devops-practitioner"),
        bank,
        user.id,
        engine_now() - timedelta(hours=2),
    )
    conn.close()
    at.switch_page("app_pages/exam.py")
    at.query_params["attempt"] = row.token
    at.run()
    assert not at.exception
    assert at.error[0].value.startswith("Not passed")
    conn = state()
    assert attempts.by_token(conn, row.token).state == "finished"
    conn.close()


def test_learners_page_sets_an_accommodation_used_by_the_next_attempt():
    at = with_profile()
    at.switch_page("app_pages/learners.py").run()
    conn = state()
    user = users.find_by_name(conn, "Ada")
    conn.close()
    at.selectbox(key=f"acc-{user.id}").set_value("1.5").run()
    at.switch_page("app_pages/exam.py").run()
    assert "time x1.5" in at.info[0].value
    assert "67.5 min" in " ".join(c.value for c in at.caption)


def engine_now():
    from triops.ui.identity import now

    return now()
