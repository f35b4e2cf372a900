"""Practice and exam pages through AppTest, on the real bank and a real DuckDB file."""

from __future__ import annotations

from datetime import timedelta

from streamlit.testing.v1 import AppTest

from conftest import REPO, fresh_state
from triops.config import get_settings
from triops.quiz import exam as engine
from triops.store import attempts, practice, users


def app() -> AppTest:
    return AppTest.from_file(str(REPO / "app.py"), default_timeout=60)


def with_profile(name: str = "Ada") -> AppTest:
    at = app().run()
    at.sidebar.text_input(key="new_profile_name").input(name)
    at.sidebar.button[0].click()
    return at.run()


def state():
    return fresh_state(get_settings().state_db)


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
        "Hands-on practitioner mock",
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
    assert at.warning[0].value.startswith("Time is up: the attempt was submitted at the deadline")
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


PILOT_PROFILE = """\
title: Pilot check
description: Twelve questions, four of them unscored.
tracks: [devops]
time_limit_minutes: 30
questions: 8
pilot: 4
pass_mark: 60
scaled: {min: 100, max: 1000, cut: 700}
multiple_response: all-or-nothing
domains:
  - title: Build and release
    weight: 50
    draws_from: [devops/integration-and-testing, devops/delivery-and-deployment]
  - title: Run and observe
    weight: 50
    draws_from: [devops/monitoring-and-feedback, devops/culture-and-collaboration]
review: {score: true, domains: verdict, correctness: false, right_answer: false,
         explanation: false, feedback: false}
"""

UNFILLABLE_PROFILE = """\
title: Not yet
tracks: [devops]
time_limit_minutes: 30
questions: 400
pass_mark: 70
domains:
  - {title: Everything DevOps, weight: 100, draws_from: [devops/integration-and-testing]}
"""


def _root_with(course_copy, use_root, **files: str):
    """The real course and bank, with extra files under quizzes/ (relative path -> text)."""
    import shutil

    shutil.copytree(REPO / "quizzes", course_copy / "quizzes")
    for rel, text in files.items():
        (course_copy / "quizzes" / rel).write_text(text)
    return use_root(course_copy)


def test_a_profile_the_bank_cannot_fill_shows_why_and_has_no_start_button(course_copy, use_root):
    _root_with(course_copy, use_root, **{"exams/not-yet.yaml": UNFILLABLE_PROFILE})
    at = with_profile()
    at.switch_page("app_pages/exam.py").run()
    assert not at.exception
    assert "Not yet" in [s.value for s in at.subheader]
    warnings = [w.value for w in at.warning]
    assert any(
        w.startswith("Not yet cannot be started yet: the bank is short by ")
        and "questions in Everything DevOps (" in w
        for w in warnings
    ), warnings
    keys = {b.key for b in at.button}
    assert "start-not-yet" not in keys and "start-devops-practitioner" in keys


def test_pilot_questions_look_like_the_others_and_the_results_name_them(course_copy, use_root):
    _root_with(course_copy, use_root, **{"exams/pilot-check.yaml": PILOT_PROFILE})
    at = with_profile()
    at.switch_page("app_pages/exam.py").run()
    assert "12 questions (4 of them unscored" in " ".join(c.value for c in at.caption)
    at.button(key="start-pilot-check").click().run()
    assert not at.exception
    assert "**Question 1 of 12**" in [m.value for m in at.markdown]
    token = at.query_params["attempt"]
    token = token[0] if isinstance(token, list) else token
    conn = state()
    user = users.find_by_name(conn, "Ada")
    view = engine.load(conn, token, user.id, engine_now())
    conn.close()
    pilot = sorted(d.position for d in view.questions if d.pilot)
    assert len(pilot) == 4
    for position in range(12):  # no screen of the attempt tells a pilot item apart
        at.query_params["q"] = str(position + 1)
        at.run()
        shown = [
            e.value for kind in ("markdown", "caption", "info", "warning") for e in at.get(kind)
        ]
        assert not any("pilot" in text.lower() or "unscored" in text.lower() for text in shown)
    at.button(key="exam-review").click().run()
    at.checkbox(key="exam-confirm").check().run()
    at.button(key="exam-submit").click().run()
    assert not at.exception
    assert at.error[0].value == "Not passed: scaled score 100 (pass 700, scale 100–1000)"
    assert any(
        i.value.startswith("4 of the 12 questions were unscored pilot questions (questions ")
        and ", ".join(str(p + 1) for p in pilot) in i.value
        for i in at.info
    )
    assert any(m.value.startswith("**Margin of error:** ±0.0 points") for m in at.markdown)
    assert (
        "**Form reliability:** not known yet: it needs 29 more submitted attempts of this exam "
        "(it has 1)."
    ) in [m.value for m in at.markdown]
    table = at.dataframe[0].value
    assert list(table.columns) == ["domain", "result"]
    assert list(table["domain"]) == ["Build and release", "Run and observe"]
    assert set(table["result"]) == {"needs work"}
    assert "Review" not in [h.value for h in at.header]


CHOOSE_BANK = """\
questions:
  - id: devops-choose-two-pr-checks
    type: multiple
    domain: integration-and-testing
    difficulty: practitioner
    lesson: devops-continuous-integration
    choose: 2
    stem: A team wants fast feedback on every pull request. Which two checks belong there?
    options:
      - {text: Unit tests of the changed packages, correct: true}
      - {text: A linter with the team's rules, correct: true}
      - {text: A week-long soak test of the release}
      - {text: A manual sign-off by the release board}
      - {text: A quarterly dependency licence audit}
    explanation: Checks that finish in minutes run on every pull request; slow ones run later.
"""

CHOOSE_PROFILE = """\
title: Choose check
tracks: [devops]
time_limit_minutes: 10
pass_mark: 70
item_types: [multiple]
multiple_response: all-or-nothing
domains:
  - {domain: devops/integration-and-testing, count: 1}
"""


def test_choose_n_is_shown_and_all_or_nothing_exams_cap_the_ticks_at_n(course_copy, use_root):
    import shutil

    _root_with(course_copy, use_root)
    quizzes = course_copy / "quizzes"
    for track in ("triad", "devops", "mlops", "llmops"):
        shutil.rmtree(quizzes / track)
    for old in (quizzes / "exams").glob("*.yaml"):
        old.unlink()
    (quizzes / "devops").mkdir()
    (quizzes / "devops" / "choose.yaml").write_text(CHOOSE_BANK)
    (quizzes / "exams" / "choose-check.yaml").write_text(CHOOSE_PROFILE)
    at = with_profile()
    at.switch_page("app_pages/exam.py").run()
    at.button(key="start-choose-check").click().run()
    assert not at.exception
    assert "Choose 2." in [c.value for c in at.caption]
    token = at.query_params["attempt"]
    token = token[0] if isinstance(token, list) else token
    boxes = [f"{token}-q0-{i}" for i in range(5)]
    at.checkbox(key=boxes[0]).check().run()
    assert not any(at.checkbox(key=k).disabled for k in boxes)
    at.checkbox(key=boxes[1]).check().run()
    assert [at.checkbox(key=k).disabled for k in boxes] == [False, False, True, True, True]
    assert "2 chosen: untick one to change your choice." in [c.value for c in at.caption]
    at.checkbox(key=boxes[0]).uncheck().run()
    assert not any(at.checkbox(key=k).disabled for k in boxes)
    # Practice shows the same "Choose 2." but, scoring partial credit, caps nothing.
    at.switch_page("app_pages/practice.py").run()
    assert not at.exception
    assert "Choose 2." in [c.value for c in at.caption]
    key = f"practice-{at.session_state['practice_seq']}"
    for i in range(3):
        at.checkbox(key=f"{key}-{i}").check().run()
    assert not any(at.checkbox(key=f"{key}-{i}").disabled for i in range(5))
    assert any("3 options are ticked, but this question asks for 2" in w.value for w in at.warning)


def test_an_attempt_graded_before_pilot_items_and_scaled_scores_still_renders():
    """An attempt stored by the previous version (schema before 0004, old blueprint and result
    JSON) opens after the upgrade with its score, margin and domains."""
    import json

    from triops.quiz.bank import load_bank
    from triops.store.connection import connect
    from triops.store.schema import applied_versions, migrations

    conn = connect(get_settings().state_db)
    applied_versions(conn)
    for mig in migrations():
        if mig.version < 4:
            conn.execute(mig.sql)
            conn.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                [mig.version, mig.name, engine_now()],
            )
    ada = users.create_user(conn, "Ada", engine_now())
    pools = load_bank(REPO).exam_pools()
    picked = [
        pools["devops/culture-and-collaboration"][0],
        pools["devops/culture-and-collaboration"][1],
        pools["devops/integration-and-testing"][0],
        pools["devops/integration-and-testing"][1],
    ]
    old_blueprint = (
        '{"title":"DevOps practitioner mock exam","description":"","tracks":["devops"],'
        '"time_limit_minutes":45,"pass_mark":70.0,"questions":30,"domains":['
        '{"domain":"devops/culture-and-collaboration","count":null,"weight":1.0},'
        '{"domain":"devops/integration-and-testing","count":null,"weight":1.0}],'
        '"shuffle_questions":true,"shuffle_options":true,'
        '"expiry":{"policy":"auto-submit","grace_minutes":0},"attempts_allowed":0,'
        '"review":{"score":true,"correctness":true,"right_answer":true,"explanation":true,'
        '"feedback":true}}'
    )
    old_result = {
        "percent": 50.0,
        "passed": False,
        "domains": [
            {
                "domain": "devops/integration-and-testing",
                "earned": 0.0,
                "possible": 2,
                "percent": 0.0,
            },
            {
                "domain": "devops/culture-and-collaboration",
                "earned": 2.0,
                "possible": 2,
                "percent": 100.0,
            },
        ],
        "questions": [{"position": i, "score": 1.0 if i < 2 else 0.0} for i in range(4)],
    }
    start = engine_now() - timedelta(hours=3)
    conn.execute(
        "INSERT INTO exam_attempts VALUES (?, ?, ?, ?, ?, ?, 'finished', '1', ?, ?, NULL, ?, "
        "50.0, false, ?)",
        [
            "old-attempt",
            "old-attempt",
            ada.id,
            "devops-practitioner",
            old_blueprint,
            4,
            start,
            start + timedelta(minutes=45),
            start + timedelta(minutes=20),
            json.dumps(old_result),
        ],
    )
    for i, bq in enumerate(picked):
        conn.execute(
            "INSERT INTO attempt_questions VALUES (?, ?, ?, ?, ?, ?)",
            [
                "old-attempt",
                i,
                bq.id,
                bq.track,
                json.dumps(bq.question.model_dump(mode="json")),
                json.dumps(list(range(4))),
            ],
        )
    conn.close()
    at = app()
    at.query_params["profile"] = ada.id
    at.run()
    at.switch_page("app_pages/exam.py")
    at.query_params["attempt"] = "old-attempt"
    at.run()
    assert not at.exception
    assert at.error[0].value == "Not passed: 50.0% (pass mark 70%)"
    assert any(m.value == "**Margin of error:** ±25.0 points" for m in at.markdown)
    assert not any("pilot" in i.value for i in at.info)
    table = at.dataframe[0].value
    assert list(table["result"]) == ["meets", "needs work"]
    assert list(table["score"]) == [100.0, 0.0]
    assert "Review" in [h.value for h in at.header]
    assert len(at.main.expander) == 4


KR_PROFILE = """\
title: Reliability check
tracks: [devops]
time_limit_minutes: 20
pass_mark: 60
item_types: [single]
domains:
  - {domain: devops/integration-and-testing, count: 5}
  - {domain: devops/delivery-and-deployment, count: 5}
"""


def test_results_report_the_forms_reliability_once_30_attempts_are_in(course_copy, use_root):
    """Thirty candidates of spread ability take a 0/1-scored form; the results page reports
    the KR-20 that triops.quiz.analysis computes from the same attempts."""
    import random

    from triops.quiz import analysis
    from triops.quiz.bank import load_bank
    from triops.quiz.blueprint import load_exams
    from triops.quiz.grading import right_answer

    root = _root_with(course_copy, use_root, **{"exams/kr-check.yaml": KR_PROFILE})
    bank = load_bank(root)
    exam = load_exams(root, bank).get("kr-check")
    rng = random.Random(7)
    conn = state()
    start = engine_now() - timedelta(hours=2)
    tokens = {}
    for i in range(30):
        user = users.create_user(conn, f"Candidate {i}", start)
        row = engine.start(conn, exam, bank, user.id, start, rng)
        view = engine.load(conn, row.token, user.id, start)
        ability = (i + 0.5) / 30
        for d in view.questions:
            key = right_answer(d.question)
            answer = key if rng.random() < ability else (key + 1) % len(d.question.options)
            engine.save_answer(conn, row.token, user.id, d.position, answer, start, d.question)
        engine.submit(conn, row.token, user.id, start + timedelta(minutes=10))
        tokens[user.id] = row.token
    expected = analysis.form_reliability(conn, "kr-check")
    conn.close()
    assert expected.needed == 0 and expected.method == "KR-20" and expected.coefficient > 0.5
    user_id, token = next(iter(tokens.items()))
    at = app()
    at.query_params["profile"] = user_id
    at.run()
    at.switch_page("app_pages/exam.py")
    at.query_params["attempt"] = token
    at.run()
    assert not at.exception
    assert (
        f"**Form reliability:** KR-20 {expected.coefficient:.2f} over 30 attempts; standard "
        f"error of measurement ±{expected.sem_points:.1f} points."
    ) in [m.value for m in at.markdown]


def _all_types_root(course_copy, use_root):
    """The real course with only the seven-types fixture bank and its blueprint."""
    import shutil

    quizzes = course_copy / "quizzes"
    shutil.copytree(REPO / "tests" / "fixtures" / "exam_types" / "quizzes", quizzes)
    shutil.copy(REPO / "quizzes" / "vocabulary.yaml", quizzes / "vocabulary.yaml")
    return use_root(course_copy)


def _answer(at: AppTest, question, key: str):
    """Answer a question through its widgets; return the widget values that must come back."""
    t = question.type
    if t in ("single", "true_false"):
        radio = at.radio(key=key)
        value = radio.options[1] if t == "single" else radio.options[0]
        radio.set_value(value).run()
        return {key: at.radio(key=key).value}
    if t == "multiple":
        at.checkbox(key=f"{key}-1").check().run()
        at.checkbox(key=f"{key}-2").check().run()
        return {f"{key}-{i}": i in (1, 2) for i in range(len(question.options))}
    if t == "numeric":
        at.text_input(key=key).input("15").run()
        return {key: "15"}
    if t == "short_text":
        at.text_input(key=key).input("trunk-based development").run()
        return {key: "trunk-based development"}
    if t == "ordering":
        box = at.multiselect(key=key)
        box.set_value([3, 1, 0, 2]).run()
        return {key: at.multiselect(key=key).value}
    values = {}
    for i in range(len(question.pairs)):
        at.selectbox(key=f"{key}-{i}").set_value(i + 1).run()
        values[f"{key}-{i}"] = i + 1
    return values


def _widget_values(at: AppTest, keys) -> dict:
    found = {}
    for kind in ("radio", "checkbox", "text_input", "multiselect", "selectbox"):
        for w in at.get(kind):
            if w.key in keys:
                found[w.key] = w.value
    return found


def test_every_question_type_shows_its_saved_answer_when_shown_again(course_copy, use_root):
    """Issue 14, item 13: Streamlit drops a widget's state when a run does not draw it, so a
    question shown again must be seeded again from the stored answer, for every type."""
    _all_types_root(course_copy, use_root)
    at = with_profile()
    at.switch_page("app_pages/exam.py").run()
    at.button(key="start-all-types").click().run()
    assert not at.exception
    token = at.query_params["attempt"]
    token = token[0] if isinstance(token, list) else token
    conn = state()
    user = users.find_by_name(conn, "Ada")
    view = engine.load(conn, token, user.id, engine_now())
    conn.close()
    assert {d.question.type for d in view.questions} == {
        "single",
        "multiple",
        "true_false",
        "numeric",
        "short_text",
        "ordering",
        "matching",
    }
    expected = {}
    for d in view.questions:
        at.query_params["q"] = str(d.position + 1)
        at.run()
        expected[d.position] = _answer(at, d.question, f"{token}-q{d.position}")
        assert any(c.value.startswith("Answer saved at") for c in at.caption), d.question.type
    assert "**7 of 7 answered**" in [m.value for m in at.markdown]
    for d in view.questions:
        # Away to another question (Next, or Previous from the last), then back.
        away = "exam-prev" if d.position == len(view.questions) - 1 else "exam-next"
        at.query_params["q"] = str(d.position + 1)
        at.run()
        at.button(key=away).click().run()
        at.button(key="exam-next" if away == "exam-prev" else "exam-prev").click().run()
        assert f"**Question {d.position + 1} of 7**" in [m.value for m in at.markdown]
        shown = _widget_values(at, expected[d.position])
        assert shown == expected[d.position], d.question.type


def test_a_stale_second_tab_says_so_and_does_not_overwrite_the_other_tabs_answer(
    course_copy, use_root
):
    """Two tabs (two sessions) on one attempt: an answer changed in tab B is not silently
    overwritten by a change built on what tab A showed before; tab A says it is stale and shows
    the stored answer."""
    _all_types_root(course_copy, use_root)
    tab_a = with_profile()
    tab_a.switch_page("app_pages/exam.py").run()
    tab_a.button(key="start-all-types").click().run()
    token = tab_a.query_params["attempt"]
    token = token[0] if isinstance(token, list) else token
    conn = state()
    user = users.find_by_name(conn, "Ada")
    view = engine.load(conn, token, user.id, engine_now())
    conn.close()
    position = next(d.position for d in view.questions if d.question.type == "multiple")
    key = f"{token}-q{position}"
    tab_a.query_params["q"] = str(position + 1)
    tab_a.run()
    tab_a.checkbox(key=f"{key}-0").check().run()
    tab_a.checkbox(key=f"{key}-1").check().run()

    tab_b = app()
    tab_b.query_params.update(profile=user.id, attempt=token, q=str(position + 1))
    tab_b.switch_page("app_pages/exam.py").run()
    assert [tab_b.checkbox(key=f"{key}-{i}").value for i in range(4)] == [True, True, False, False]
    tab_b.checkbox(key=f"{key}-0").uncheck().run()
    tab_b.checkbox(key=f"{key}-3").check().run()
    order = view.questions[position].option_order
    b_answer = [order[1], order[3]]

    # Tab A still shows boxes 0 and 1; ticking box 2 there would store 0, 1 and 2.
    tab_a.checkbox(key=f"{key}-2").check().run()
    assert not tab_a.exception
    warnings = [w.value for w in tab_a.warning]
    assert any(w.startswith("This question's answer was changed in another tab") for w in warnings)
    assert any(
        w.startswith("This attempt was changed in another tab or window: question ")
        for w in warnings
    )
    assert [tab_a.checkbox(key=f"{key}-{i}").value for i in range(4)] == [False, True, False, True]
    conn = state()
    stored = engine.load(conn, token, user.id, engine_now()).responses[position]
    conn.close()
    assert sorted(stored) == sorted(b_answer)
    # Now that tab A shows the stored answer, a change there is saved as usual.
    tab_a.checkbox(key=f"{key}-2").check().run()
    assert any(c.value.startswith("Answer saved at") for c in tab_a.caption)
    assert not any("another tab" in w.value for w in tab_a.warning)


def test_results_chart_names_domains_in_full_marks_the_pass_mark_and_parts_unanswered(
    course_copy, use_root
):
    """Issue 14, item 21: the per-domain chart splits each domain's points into earned, lost on
    answers and unanswered, draws the pass mark as a line, and keeps full domain names; the
    review marks an unanswered question apart from a wrong one."""
    import json

    from triops.quiz.grading import right_answer

    _all_types_root(course_copy, use_root)
    at = with_profile()
    at.switch_page("app_pages/exam.py").run()
    at.button(key="start-all-types").click().run()
    token = at.query_params["attempt"]
    token = token[0] if isinstance(token, list) else token
    conn = state()
    user = users.find_by_name(conn, "Ada")
    view = engine.load(conn, token, user.id, engine_now())
    for d in view.questions:
        q = d.question
        if q.type in ("numeric", "short_text", "ordering"):
            answer = right_answer(q)
        elif q.type == "single":
            answer = (right_answer(q) + 1) % len(q.options)
        elif q.type == "true_false":
            answer = not right_answer(q)
        else:  # multiple and matching stay unanswered
            continue
        engine.save_answer(conn, token, user.id, d.position, answer, engine_now(), q)
    conn.close()
    at.run()
    at.button(key="exam-review").click().run()
    at.checkbox(key="exam-confirm").check().run()
    at.button(key="exam-submit").click().run()
    assert not at.exception
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    chart = at.get("vega_lite_chart")[-1].proto
    spec = json.loads(chart.spec)
    rows = [
        row
        for dataset in chart.datasets
        for row in convert_arrow_bytes_to_pandas_df(dataset.data.data).to_dict("records")
    ]
    parts = {row["part"]: round(row["share"], 1) for row in rows if "part" in row}
    assert parts == {
        "earned": round(300 / 7, 1),
        "lost on wrong or partly right answers": round(200 / 7, 1),
        "unanswered": round(200 / 7, 1),
    }
    assert {row["domain"] for row in rows if "domain" in row} == {"DevOps: Integration and testing"}
    assert [row["pass"] for row in rows if "pass" in row] == [70.0]
    assert spec["layer"][1]["mark"]["type"] == "rule"
    titles = [e.label for e in at.main.expander]
    by_type = {d.question.type: titles[d.position] for d in view.questions}
    assert "(not answered)" in by_type["multiple"] and "(not answered)" in by_type["matching"]
    assert "✗" in by_type["single"] and "(not answered)" not in by_type["single"]
