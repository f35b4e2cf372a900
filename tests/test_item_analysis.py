"""Item analysis: statistics on hand-computable matrices, reports from attempts made through the
real exam engine on a DuckDB file, planted bad items among simulated candidates, the CLI and the
Instructor › Item analysis page."""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import REPO
from triops.quiz import analysis, simulate
from triops.quiz import exam as engine
from triops.quiz.bank import load_bank
from triops.quiz.blueprint import load_exams
from triops.store import users
from triops.store.connection import open_state

T0 = datetime(2026, 12, 1, 9, 0, 0)

# Six attempts of four 0/1 items: totals 4, 3, 2, 2, 1, 0.
MATRIX = np.array(
    [
        [1, 1, 1, 1],
        [1, 1, 1, 0],
        [1, 1, 0, 0],
        [1, 0, 1, 0],
        [0, 1, 0, 0],
        [0, 0, 0, 0],
    ],
    dtype=float,
)


def matrix_data(matrix: np.ndarray, exam_id: str = "hand") -> analysis.ItemData:
    """A fixed form: every attempt answers every item; no option data."""
    n, k = matrix.shape
    items = pd.DataFrame(
        {
            "exam_id": exam_id,
            "attempt_id": np.repeat([f"a{i}" for i in range(n)], k),
            "question_id": np.tile([f"q{j}" for j in range(k)], n),
            "type": "numeric",
            "score": matrix.ravel(),
            "scored": True,
            "seconds": np.tile(np.arange(1, k + 1) * 10.0, n),
        }
    )
    empty_options = pd.DataFrame(
        {"question_id": [], "option": [], "key": pd.Series([], dtype=bool), "order": []}
    )
    return analysis.ItemData(
        items,
        empty_options,
        pd.DataFrame({"row": pd.Series([], dtype="int64"), "option": pd.Series([], dtype="int64")}),
        pd.DataFrame({"question_id": [], "type": [], "stem": [], "versions": []}),
    )


def by_question(form: analysis.FormReport) -> pd.DataFrame:
    return form.items.set_index("question_id").sort_index()


def test_facility_discrimination_upper_lower_kr20_and_sem_match_hand_computation():
    form = analysis.analyse(matrix_data(MATRIX), minimum=2)[0]
    items = by_question(form)
    # Facility: the share right per item.
    assert items["facility"].tolist() == pytest.approx([4 / 6, 4 / 6, 3 / 6, 1 / 6])
    # Point-biserial against the rest score (total minus the item), by numpy's own Pearson.
    totals = MATRIX.sum(axis=1)
    for j in range(4):
        rest = totals - MATRIX[:, j]
        expected = np.corrcoef(MATRIX[:, j], rest)[0, 1]
        assert items.loc[f"q{j}", "discrimination"] == pytest.approx(expected)
    # 27 % of 6 attempts rounds to 2: top = totals 4 and 3, bottom = totals 1 and 0.
    assert items["upper_lower"].tolist() == pytest.approx([1.0, 0.5, 1.0, 0.5])
    # KR-20 by hand: sum pq = 30/36, population variance of totals = 10/6,
    # KR-20 = 4/3 * (1 - (5/6) / (5/3)) = 2/3.
    rel = form.reliability
    assert rel.method == "KR-20"
    assert rel.coefficient == pytest.approx(2 / 3)
    # Percent scores 100, 75, 50, 50, 25, 0: sample SD 25 * sqrt(2); SEM = SD * sqrt(1/3).
    assert form.sd == pytest.approx(25 * math.sqrt(2))
    assert rel.sem_points == pytest.approx(25 * math.sqrt(2) * math.sqrt(1 / 3))
    assert items["median_seconds"].tolist() == [10.0, 20.0, 30.0, 40.0]


def test_partial_credit_uses_cronbachs_alpha_from_its_formula():
    matrix = np.array(
        [
            [1.0, 0.5, 1.0],
            [0.5, 0.5, 1.0],
            [1.0, 1.0, 0.5],
            [0.0, 0.5, 0.0],
            [0.5, 0.0, 0.5],
        ]
    )
    form = analysis.analyse(matrix_data(matrix), minimum=2)[0]
    k = matrix.shape[1]
    alpha = k / (k - 1) * (1 - matrix.var(axis=0).sum() / matrix.sum(axis=1).var())
    assert form.reliability.method == "Cronbach's alpha"
    assert form.reliability.coefficient == pytest.approx(alpha)
    assert analysis.reliability(matrix) == (pytest.approx(alpha), "Cronbach's alpha")


def test_too_few_responses_say_how_many_more_instead_of_a_number():
    form = analysis.analyse(matrix_data(MATRIX))[0]  # minimum 30
    assert form.items["needed"].tolist() == [24, 24, 24, 24]
    assert form.items["facility"].isna().all()
    assert form.items["discrimination"].isna().all()
    assert form.items["flags"].map(len).sum() == 0
    assert form.reliability.needed == 24
    assert form.reliability.coefficient is None and form.reliability.sem_points is None


# --- attempts through the real exam engine ---------------------------------------------------

BANK = """\
questions:
  - id: ia-single-one
    type: single
    domain: culture-and-collaboration
    stem: Which option is keyed in item one? <b>not bold</b>
    options:
      - {text: Alpha one, correct: true}
      - Beta one
      - Gamma one
      - Delta one
  - id: ia-single-two
    type: single
    domain: culture-and-collaboration
    stem: Which option is keyed in item two?
    options:
      - {text: Alpha two, correct: true}
      - Beta two
      - Gamma two
  - id: ia-true-false
    type: true_false
    domain: culture-and-collaboration
    stem: Item three is true.
    answer: true
  - id: ia-multiple
    type: multiple
    domain: culture-and-collaboration
    stem: Which two options are keyed in item four?
    options:
      - {text: Right A, correct: true}
      - {text: Right B, correct: true}
      - Wrong C
      - Wrong D
  - id: ia-numeric
    type: numeric
    domain: culture-and-collaboration
    stem: How many items are in this bank?
    answers:
      - {value: 5}
"""

EXAM = """\
title: Item analysis check
tracks: [devops]
time_limit_minutes: 30
pass_mark: 50
domains:
  - {domain: devops/culture-and-collaboration, count: 5}
"""

ORDER = ["ia-single-one", "ia-single-two", "ia-true-false", "ia-multiple", "ia-numeric"]
# Per candidate, the answers in ORDER: single = authored option index, multiple = list,
# true_false = bool, numeric = number; None leaves the question unanswered.
ANSWERS = [
    dict(zip(ORDER, answers, strict=True))
    for answers in [
        (0, 0, True, [0, 1], 5),
        (0, 0, True, [0, 1], 4),
        (0, 1, True, [0, 2], 5),
        (1, 0, False, [0], None),
        (2, 2, False, [2, 3], 1),
        (1, None, False, [3], 2),
    ]
]


@pytest.fixture
def quiz_root(tmp_path) -> Path:
    root = tmp_path / "root"
    (root / "quizzes" / "devops").mkdir(parents=True)
    (root / "quizzes" / "exams").mkdir()
    shutil.copy(REPO / "quizzes" / "vocabulary.yaml", root / "quizzes" / "vocabulary.yaml")
    (root / "quizzes" / "devops" / "analysis.yaml").write_text(BANK, encoding="utf-8")
    (root / "quizzes" / "exams" / "analysis-check.yaml").write_text(EXAM, encoding="utf-8")
    return root


def take_exams(db, root: Path, answers=ANSWERS) -> tuple[list[str], list[list[float]]]:
    """Each candidate starts the exam, saves answers 20 s apart in question order, submits.

    Returns the attempt ids and, per attempt, the graded score of each question id in bank
    order (as the engine stored them)."""
    bank = load_bank(root)
    exam = load_exams(root, bank).get("analysis-check")
    assert exam is not None
    ids, scores = [], []
    order = [q.id for q in bank.questions]
    for n, wanted in enumerate(answers):
        user = users.create_user(db, f"Candidate {n}", T0)
        started = T0 + timedelta(hours=n)
        row = engine.start(db, exam, bank, user.id, started, random.Random(n))
        view = engine.load(db, row.token, user.id, started)
        by_id = {d.question.id: d for d in view.questions}
        now = started
        for qid in order:
            d = by_id[qid]
            now += timedelta(seconds=20)
            if wanted[qid] is not None:
                engine.save_answer(db, row.token, user.id, d.position, wanted[qid], now, d.question)
        finished = engine.submit(db, row.token, user.id, now + timedelta(seconds=5))
        assert finished.state == "finished"
        ids.append(row.id)
        result = json.loads(finished.result_json)
        per_position = {q["position"]: q["score"] for q in result["questions"]}
        scores.append([per_position[by_id[qid].position] for qid in order])
    return ids, scores


def test_report_from_real_exam_attempts_reads_scores_choices_and_times(tmp_path, quiz_root):
    db = open_state(tmp_path / "state.duckdb")
    _, scores = take_exams(db, quiz_root)
    # The bank changes after the attempts: the report still reads the options as shown.
    bank_file = quiz_root / "quizzes" / "devops" / "analysis.yaml"
    bank_file.write_text(
        bank_file.read_text(encoding="utf-8").replace("Beta one", "Beta one, reworded"),
        encoding="utf-8",
    )
    report = analysis.item_report(db, bank=load_bank(quiz_root), minimum=3)
    db.close()
    form = report.form("analysis-check")
    items = by_question(form)
    matrix = np.array(scores)
    order = ORDER
    assert items.loc[order, "responses"].tolist() == [6] * 5
    assert items.loc[order, "facility"].tolist() == pytest.approx(matrix.mean(axis=0).tolist())
    # ia-single-one: 3 of 6 right.
    assert items.loc["ia-single-one", "facility"] == pytest.approx(0.5)
    options = form.options.set_index(["question_id", "option"])
    assert options.loc[("ia-single-one", "Alpha one"), "overall"] == pytest.approx(3 / 6)
    assert options.loc[("ia-single-one", "Beta one"), "overall"] == pytest.approx(2 / 6)
    assert options.loc[("ia-single-one", "Delta one"), "overall"] == 0.0
    assert ("ia-single-one", "Beta one, reworded") not in options.index
    # The omitted answer counts in the denominator: Alpha two 3 of 6, not 3 of 5.
    assert options.loc[("ia-single-two", "Alpha two"), "overall"] == pytest.approx(3 / 6)
    assert options.loc[("ia-multiple", "Wrong C"), "overall"] == pytest.approx(2 / 6)
    assert options.loc[("ia-true-false", "True"), "key"]
    assert options.loc[("ia-true-false", "False"), "overall"] == pytest.approx(3 / 6)
    # Top 27 % of 6 = 2 attempts (candidates 0 and 1): both picked Alpha one.
    assert options.loc[("ia-single-one", "Alpha one"), "upper"] == 1.0
    # Saves are 20 s apart: each answered item took 20 s, the one after a skipped item 40 s.
    assert items.loc["ia-single-one", "median_seconds"] == 20.0
    totals = matrix.sum(axis=1)
    rest = totals - matrix[:, 0]
    assert items.loc["ia-single-one", "discrimination"] == pytest.approx(
        np.corrcoef(matrix[:, 0], rest)[0, 1]
    )
    where = report.where["ia-single-one"]
    assert where == ("quizzes/devops/analysis.yaml", 2)
    # The multiple-response item gives partial credit: Cronbach's alpha, on the same matrix.
    alpha, method = analysis.reliability(matrix)
    assert form.reliability.method == method == "Cronbach's alpha"
    assert form.reliability.coefficient == pytest.approx(alpha)


def test_form_reliability_counts_attempts_and_needs_the_minimum(tmp_path, quiz_root):
    db = open_state(tmp_path / "state.duckdb")
    assert analysis.form_reliability(db, "analysis-check") == analysis.FormReliability(
        0, 30, None, "KR-20", None
    )
    _, scores = take_exams(db, quiz_root)
    few = analysis.form_reliability(db, "analysis-check")
    assert (few.attempts, few.needed, few.coefficient, few.sem_points) == (6, 24, None, None)
    enough = analysis.form_reliability(db, "analysis-check", minimum=6)
    db.close()
    matrix = np.array(scores)
    alpha, _ = analysis.reliability(matrix)
    percent = 100 * matrix.sum(axis=1) / matrix.shape[1]
    assert enough.needed == 0 and enough.coefficient == pytest.approx(alpha)
    assert enough.sem_points == pytest.approx(
        np.std(percent, ddof=1) * math.sqrt(1 - min(1, max(0, alpha)))
    )


# --- simulated candidates with planted bad items ------------------------------------------------


def sim_blueprint(count: int = 65):
    from triops.quiz.blueprint import Blueprint

    return Blueprint(
        title="Simulated form",
        tracks=["devops"],
        time_limit_minutes=90,
        pass_mark=70,
        domains=[{"domain": "devops/culture-and-collaboration", "count": count}],
    )


def test_planted_items_are_flagged_at_500_candidates_from_a_demo_database(tmp_path):
    plan = simulate.plan_form(simulate.synthetic_questions(65), seed=13)
    sim = simulate.simulate(plan, 500, seed=13)
    db = open_state(tmp_path / "demo-items.duckdb")
    marker = simulate.write(db, sim, "simulated-form", sim_blueprint(), T0)
    report = analysis.item_report(db)
    names = [u.name for u in users.list_users(db)]
    db.close()
    assert names[0] == "Simulated candidate 001" and len(names) == 500
    assert report.simulated == marker and report.simulated["candidates"] == 500
    form = report.form("simulated-form")
    assert form.reliability.attempts == 500 and form.reliability.method == "KR-20"
    result = simulate.check(form.items, sim)
    assert result["planted_found"] == dict.fromkeys(result["planted_found"], True)
    assert len(result["planted_found"]) == 3
    assert result["good_flagged_share"] <= 0.05
    # The database round trip gives the same figures as the simulation analysed in memory.
    direct = analysis.analyse(simulate.item_data(sim, "simulated-form"))[0]
    left, right = by_question(form), by_question(direct)
    for column in ("responses", "facility", "discrimination", "upper_lower", "median_seconds"):
        assert np.allclose(left[column].astype(float), right[column].astype(float))
    assert left["flags"].tolist() == right["flags"].tolist()
    assert form.reliability == direct.reliability


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_planted_items_are_flagged_for_other_seeds(seed):
    plan = simulate.plan_form(simulate.synthetic_questions(65), seed=seed)
    sim = simulate.simulate(plan, 500, seed=seed)
    form = analysis.analyse(simulate.item_data(sim))[0]
    result = simulate.check(form.items, sim)
    assert all(result["planted_found"].values()), result
    assert result["good_flagged_share"] <= 0.05, result


def test_each_planted_item_gets_its_own_flag():
    plan = simulate.plan_form(simulate.synthetic_questions(20), seed=7)
    sim = simulate.simulate(plan, 500, seed=7)
    form = analysis.analyse(simulate.item_data(sim))[0]
    flags = dict(zip(form.items["question_id"], form.items["flags"], strict=True))
    roles = {it.question.id: it.role for it in plan}
    miskeyed = next(q for q, r in roles.items() if r == simulate.MISKEYED)
    flat = next(q for q, r in roles.items() if r == simulate.FLAT)
    dead = next(q for q, r in roles.items() if r == simulate.DEAD)
    assert flags[miskeyed][0] == "likely miskey"
    assert "low discrimination" in flags[flat]
    assert flags[dead] == ("dead distractor",)
    # The table puts the worst first.
    assert form.items["question_id"].iloc[0] == miskeyed


# --- the CLI ------------------------------------------------------------------------------------


def items_cli(*args):
    from typer.testing import CliRunner

    from triops.cli import app

    return CliRunner().invoke(app, ["items", *map(str, args)])


def test_cli_report_prints_form_statistics_and_flags_and_writes_the_csv(
    tmp_path, quiz_root, use_root, triops_home
):
    use_root(quiz_root)
    db = open_state(triops_home / "state.duckdb")
    take_exams(db, quiz_root)
    db.close()
    out = tmp_path / "items.csv"
    result = items_cli("report", "--exam", "analysis-check", "--csv", out, "--minimum", "3")
    assert result.exit_code == 0, result.output
    assert "== analysis-check: 6 submitted attempts" in result.output
    assert "reliability: Cronbach's alpha" in result.output
    assert "SIMULATED" not in result.output
    rows = pd.read_csv(out)
    assert len(rows) == 5 and set(rows["source"]) == {"exam"}
    first = rows.set_index("question_id").loc["ia-single-one"]
    assert first["where"] == "quizzes/devops/analysis.yaml:2"
    assert first["facility"] == pytest.approx(0.5)
    # With the default minimum of 30 the figures give way to what is missing.
    result = items_cli("report")
    assert "needs 24 more attempts" in result.output
    assert "needs 24 more responses" in result.output


def test_cli_simulate_writes_a_marked_demo_database_that_report_opens(
    tmp_path, quiz_root, use_root, triops_home
):
    extra = "questions:\n" + "".join(
        f"""  - id: ia-extra-{n}
    type: single
    domain: integration-and-testing
    stem: Extra item {n}?
    options: [{{text: Key {n}, correct: true}}, Other {n} b, Other {n} c, Other {n} d]
"""
        for n in range(4)
    )
    (quiz_root / "quizzes" / "devops" / "extra.yaml").write_text(extra, encoding="utf-8")
    (quiz_root / "quizzes" / "exams" / "sim-check.yaml").write_text(
        EXAM.replace(
            "count: 5}", "count: 5}\n  - {domain: devops/integration-and-testing, count: 4}"
        ),
        encoding="utf-8",
    )
    use_root(quiz_root)
    result = items_cli("simulate", "--candidates", 200, "--seed", 4, "--exam", "sim-check")
    assert result.exit_code == 0, result.output
    demo = triops_home / "demo-items.duckdb"
    assert f"wrote 200 simulated candidates of sim-check (9 items) to {demo}" in result.output
    assert result.output.count("planted: ") == 3
    assert not (triops_home / "state.duckdb").exists()
    report = items_cli("report", "--db", demo)
    assert report.exit_code == 0, report.output
    assert report.output.startswith("SIMULATED DATA: 200 simulated candidates of sim-check")
    assert report.output.count("planted: ") == 3
    assert "expected flag 'likely miskey' found" in report.output
    # Simulating again replaces the demo file; a file that is not a demo is never touched.
    again = items_cli("simulate", "--candidates", 50, "--exam", "sim-check")
    assert again.exit_code == 0, again.output
    state = open_state(triops_home / "state.duckdb")
    state.close()
    refused = items_cli("simulate", "--out", triops_home / "state.duckdb", "--exam", "sim-check")
    assert refused.exit_code == 1 and "learner state" in refused.output
    other = tmp_path / "other.duckdb"
    open_state(other).close()
    refused = items_cli("simulate", "--out", other, "--exam", "sim-check")
    assert refused.exit_code == 1 and "not a simulated demo database" in refused.output


def test_cli_report_says_in_one_line_when_the_app_holds_the_database(triops_home):
    db = open_state(triops_home / "state.duckdb")  # this process plays the running app
    try:
        done = subprocess.run(
            [sys.executable, "-m", "triops.cli", "items", "report"],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "TRIOPS_HOME": str(triops_home)},
        )
    finally:
        db.close()
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "locked by another process" in lines[0], done.stderr
    assert "Traceback" not in done.stderr


# --- the Instructor › Item analysis page ----------------------------------------------------------


def page() -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    at.switch_page("app_pages/item_analysis.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_page_shows_a_form_its_items_and_an_items_stem_as_text(quiz_root, triops_home):
    db = open_state(triops_home / "state.duckdb")
    take_exams(db, quiz_root)
    db.close()
    at = page()
    assert [t.value for t in at.title] == ["Item analysis"]
    assert at.selectbox(key="ia_exam").value == "analysis-check"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Submitted attempts"] == "6"
    assert metrics["Cronbach's alpha"] == "needs 24 more"
    table = at.dataframe[0].value
    assert len(table) == 5 and set(table["flags"]) == {"needs 24 more responses"}
    at.selectbox(key="ia_item").set_value("ia-single-one").run()
    assert not at.exception
    assert "Which option is keyed in item one? <b>not bold</b>" in [t.value for t in at.text]
    assert "not in the bank now" in [c.value for c in at.code]  # the repo's bank lacks it
    assert not any(w.value.startswith("SIMULATED") for w in at.warning)


def test_page_opens_the_simulated_demo_labelled_with_its_truth(triops_home):
    plan = simulate.plan_form(simulate.synthetic_questions(30), seed=5)
    sim = simulate.simulate(plan, 300, seed=5)
    db = open_state(triops_home / "demo-items.duckdb")
    simulate.write(db, sim, "simulated-form", sim_blueprint(30), T0)
    db.close()
    at = page()
    assert at.info  # no learner attempts
    at.radio(key="ia_source").set_value("Simulated demo").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.warning[0].value.startswith("SIMULATED DATA: 300 simulated candidates")
    truth = next(d.value for d in at.dataframe if "planted" in d.value.columns)
    assert set(truth["planted"]) == {"miskeyed", "zero discrimination", "dead distractor"}
    assert truth["found"].all()
    miskeyed = next(it.question.id for it in plan if it.role == simulate.MISKEYED)
    assert at.selectbox(key="ia_item").value == miskeyed  # the worst item comes first
    assert len(at.get("vega_lite_chart")) == 2  # histogram and the distractor chart
    at.toggle(key="ia_flagged_only").set_value(True).run()
    assert len(at.dataframe[0].value) == 3


def test_pilot_items_are_analysed_against_the_whole_score_and_left_out_of_reliability():
    data = matrix_data(MATRIX)
    pilot = data.items["question_id"] == "q3"
    data.items.loc[pilot, "scored"] = False
    form = analysis.analyse(data, minimum=2)[0]
    scored = MATRIX[:, :3]
    totals = scored.sum(axis=1)
    items = by_question(form)
    # A scored item's rest score leaves it out; the pilot item's rest score is the whole score.
    assert items.loc["q0", "discrimination"] == pytest.approx(
        np.corrcoef(scored[:, 0], totals - scored[:, 0])[0, 1]
    )
    assert items.loc["q3", "discrimination"] == pytest.approx(
        np.corrcoef(MATRIX[:, 3], totals)[0, 1]
    )
    assert form.reliability.coefficient == pytest.approx(analysis.reliability(scored)[0])
    assert form.scores.tolist() == pytest.approx((100 * totals / 3).tolist())


def test_practice_answers_are_reported_apart_with_first_tries(tmp_path, quiz_root):
    from triops.store import practice

    db = open_state(tmp_path / "state.duckdb")
    take_exams(db, quiz_root)
    learners = [users.create_user(db, f"Learner {n}", T0).id for n in range(3)]
    for n, user in enumerate(learners):
        practice.log_answer(db, user, "ia-single-one", float(n == 0), T0)
        practice.log_answer(db, user, "ia-single-one", 1.0, T0 + timedelta(minutes=5))
    report = analysis.item_report(db, minimum=2)
    db.close()
    row = report.practice.set_index("question_id").loc["ia-single-one"]
    assert (row["answers"], row["learners"]) == (6, 3)
    assert row["facility"] == pytest.approx(4 / 6)
    assert row["first_try"] == pytest.approx(1 / 3)
    # The exam figures do not mix practice in.
    assert by_question(report.form("analysis-check")).loc["ia-single-one", "responses"] == 6
    rows = analysis.csv_rows(report, practice=True)
    assert set(rows["source"]) == {"exam", "practice"}
    text = analysis.format_report(report, practice=True)
    assert "== practice answers (apart from exams)" in text
    assert "ia-single-one" in text.split("== practice answers")[1]
