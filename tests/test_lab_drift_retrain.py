"""The drift-retrain lab: its generated data has the property each week teaches, reset writes it,
the starter fails its check for the intended reasons, the solution passes, and a gate without
guardrails lets the check's sabotaged challenger through."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from attacklib import require_sandbox

from conftest import REPO
from triops.config import get_settings
from triops.drift import DriftReport, drift_report
from triops.labs import runs
from triops.labs.sandbox import Sandbox
from triops.labs.spec import load_labs

LAB_DIR = REPO / "labs" / "drift-retrain"
VENV = get_settings().labs_venv
needs_sandbox = pytest.mark.usefixtures("drift_sandbox")


@pytest.fixture
def drift_sandbox() -> None:
    """Root and the labs venv with scikit-learn, MLflow and triops.drift; skip, or fail under
    TRIOPS_REQUIRE_SANDBOX=1 (CI)."""
    require_sandbox(packages=("mlflow", "sklearn", "triops/drift"))


def lab():
    return load_labs(REPO).get("drift-retrain")


@pytest.fixture(scope="module")
def gen():
    return runs.load_lab_module(lab(), "generate.py")


@pytest.fixture(scope="module")
def model():
    return runs.load_lab_module(lab(), "starter/pipeline/model.py")


def trained(gen, model, *names):
    import pandas as pd

    frame = pd.concat([gen.frame(name) for name in names], ignore_index=True)
    return model.train(frame, list(names))


# --- the spec and reset -------------------------------------------------------------------------


def test_lab_loads_with_its_reset_hook_and_lessons():
    from triops.content.loader import load_course

    course = load_course(REPO)
    labs = load_labs(REPO, {lesson.id for lesson in course.lessons()})
    assert labs.problems == []
    spec = labs.get("drift-retrain").spec
    assert spec.reset == "generate.py"
    assert spec.editable == ["policy.py", "gate.py"]
    assert spec.run.kind == "workflow"


def test_a_reset_hook_that_is_missing_is_a_lab_problem(tmp_path):
    root = tmp_path / "root"
    shutil.copytree(LAB_DIR, root / "labs" / "drift-retrain")
    (root / "labs" / "drift-retrain" / "generate.py").unlink()
    labs = load_labs(root)
    assert labs.labs == []
    assert [p.message for p in labs.problems] == [
        "reset hook 'generate.py' is not in labs/drift-retrain/"
    ]


def test_reset_writes_the_starter_and_the_generated_data(tmp_path, gen):
    work = tmp_path / "work"
    result = subprocess.run(
        [sys.executable, "-m", "triops.cli", "lab", "reset", "drift-retrain", "--dir", str(work)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (work / "policy.py").is_file() and (work / "gate.py").is_file()
    manifest = json.loads((work / "data" / "manifest.json").read_text())
    assert manifest["seed"] == gen.SEED
    assert [b["name"] for b in manifest["batches"]] == ["week-1", "week-2", "week-3", "week-4"]
    for name, digest in manifest["sha256"].items():
        assert gen.sha256((work / "data" / name).read_bytes()) == digest
    rows = {name: len(gen.frame(name)) for name in gen.STREAMS}
    assert rows["reference"] == 1000
    assert {rows[f"week-{n}"] for n in range(1, 5)} == {500}
    assert {rows[f"week-{n}-holdout"] for n in range(1, 5)} == {500}


def test_solve_writes_the_solution_over_a_fresh_reset(tmp_path):
    work = tmp_path / "work"
    runs.solve(lab(), work)
    assert (work / "policy.py").read_text() == (LAB_DIR / "solution" / "policy.py").read_text()
    assert (work / "data" / "week-4.csv").is_file()


# --- the generator ------------------------------------------------------------------------------


def test_the_generator_is_deterministic_and_the_seed_matters(gen):
    assert gen.files() == gen.files()
    other = gen.files(gen.SEED + 1)
    assert all(other[name] != text for name, text in gen.files().items())


def test_hidden_holdouts_differ_from_every_learner_file(gen):
    hidden = gen.hidden_holdout("week-4", 12345, rows=500)
    ids = set(hidden[gen.ID])
    for name in gen.STREAMS:
        assert ids.isdisjoint(gen.frame(name)[gen.ID])


@pytest.mark.parametrize(
    ("week", "drifted", "dataset_drift"),
    [
        ("week-1", ["payment_method"], False),  # the false alarm of multiple testing
        ("week-2", ["tenure_months", "monthly_charges", "usage_gb", "support_calls"], True),
        ("week-3", ["payment_method", "region"], False),
        ("week-4", [], False),  # concept drift: the inputs do not move
    ],
)
def test_each_week_has_the_drift_it_teaches(gen, week, drifted, dataset_drift):
    report = drift_report(gen.frame("reference"), gen.frame(week), columns=gen.FEATURES)
    assert report.drifted_columns == drifted
    assert report.dataset_drift is dataset_drift
    # Verdicts well away from the threshold, so that they do not hinge on rounding.
    for column in report.columns:
        assert column.score < 0.035 if column.drifted else column.score > 0.1, column


def test_the_tests_are_statistical_tests_on_a_reference_of_1000_rows(gen):
    report = drift_report(gen.frame("reference"), gen.frame("week-1"), columns=gen.FEATURES)
    tests = {c.column: (c.kind, c.test) for c in report.columns}
    assert tests["tenure_months"] == ("numeric", "ks")
    assert tests["support_calls"] == ("categorical", "chisquare")  # an integer with few values
    assert tests["contract"] == ("categorical", "chisquare")
    assert tests["paperless_billing"] == ("binary", "z")
    import pandas as pd

    one_more = pd.concat([gen.frame("reference"), gen.frame("week-1").head(1)])
    bigger = drift_report(one_more, gen.frame("week-1"), columns=gen.FEATURES)
    assert {c.test for c in bigger.columns} <= {"wasserstein", "jensenshannon"}


def test_the_instructions_quote_the_week_1_false_alarm_and_its_arithmetic(gen):
    text = " ".join((LAB_DIR / "instructions.md").read_text().split())
    report = drift_report(gen.frame("reference"), gen.frame("week-1"), columns=gen.FEATURES)
    (alarm,) = [c for c in report.columns if c.drifted]
    assert f"`{alarm.column}` is flagged (p = {alarm.score:.4f})" in text
    assert f"1 − 0.95⁸ ≈ {1 - 0.95**8:.2f}" in text
    # Bonferroni at 0.05 / 8 would not flag it, as the instructions say.
    assert 0.05 / 8 < alarm.score < 0.05


def test_concept_drift_hurts_the_first_model_and_retraining_on_week_4_recovers(gen, model):
    first = trained(gen, model, "reference")
    baseline = model.scores(first, gen.frame("reference-holdout"))["auc"]
    for week in ("week-1", "week-2", "week-3"):
        assert model.scores(first, gen.frame(week))["auc"] > baseline - 0.03, week
    assert model.scores(first, gen.frame("week-4"))["auc"] < baseline - 0.15
    holdout = gen.frame("week-4-holdout")
    old, new = model.scores(first, holdout), model.scores(trained(gen, model, "week-4"), holdout)
    assert new["auc"] > old["auc"] + 0.15
    assert new["recall"] > old["recall"] and new["brier"] < old["brier"]


def test_lab_readme_documents_every_summary_and_batch_field():
    readme = (LAB_DIR / "README.md").read_text()
    run = (LAB_DIR / "starter" / "pipeline" / "run.py").read_text()
    fields = set(re.findall(r'^\s+"([a-z_]+)":', run, re.M))
    fields |= set(re.findall(r'record\["([a-z_]+)"\]', run))
    missing = sorted(f for f in fields if f'"{f}"' not in readme)
    assert missing == []


# --- end to end in the sandbox ------------------------------------------------------------------


def check_lab(folder: Path):
    box = Sandbox(root=get_settings().sandbox_root)
    try:
        return runs.check(lab(), folder, sandbox=box, labs_venv=VENV)
    finally:
        box.close()


@pytest.fixture
def starter_check(lab_check):
    """The starter's check, run once per run through the CLI (tests/conftest.py `lab_check`)."""
    return lab_check("drift-retrain", "starter").result


@pytest.fixture
def solution_check(lab_check):
    """The solution's check, run once per run through the CLI (tests/conftest.py `lab_check`)."""
    return lab_check("drift-retrain", "solution").result


def verdicts(result) -> list[bool]:
    return [c.passed for c in result.criteria]


def reason(result, start: str) -> str:
    return next(c.reason for c in result.criteria if c.name.startswith(start))


@needs_sandbox
def test_the_starter_runs_but_fails_on_concept_drift_and_the_gate(starter_check):
    assert starter_check.run.status == "success", starter_check.run.log[-3000:]
    assert verdicts(starter_check) == [True, True, False, True, False, False]
    concept = reason(starter_check, "The concept drift")
    assert concept.startswith("week-4: no retrain, although the champion v2's AUC")
    assert "0 of 8 columns" in concept
    sabotage = reason(starter_check, "Sabotaged")
    assert sabotage.startswith("the gate promoted: week-1 v2 (trained on shuffled labels")
    assert "week-4 v5 (threshold pushed up" in sabotage
    probe = reason(starter_check, "The gate demands")
    assert "promoted a challenger 0.002 AUC better" in probe
    assert "whose recall fell from 0.55 to 0.02" in probe


@needs_sandbox
def test_the_solution_passes_and_its_gate_keeps_every_sabotaged_challenger_out(solution_check):
    assert verdicts(solution_check) == [True] * 6, solution_check.criteria
    assert reason(solution_check, "Sabotaged") == (
        "all 4 sabotaged challengers were kept out (week-1, week-2, week-3, week-4)"
    )
    assert reason(solution_check, "`champion`").startswith("champion v3 is the pick")


@needs_sandbox
def test_the_solution_run_leaves_the_documented_artifacts(solution_check):
    folder = solution_check.run.artifacts / "monitoring"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "complete"
    decisions = [(b["batch"], b["decision"], b["policy"]["trigger"]) for b in summary["batches"]]
    assert decisions == [
        ("week-1", "no-retrain", "none"),
        ("week-2", "rejected", "drift"),
        ("week-3", "no-retrain", "none"),
        ("week-4", "promoted", "performance"),
    ]
    registry = json.loads((folder / "registry.json").read_text())
    assert registry["aliases"] == {"champion": 3}
    assert [v["window"] for v in registry["versions"]] == [
        ["reference"],
        ["reference", "week-2"],
        ["week-4"],
    ]
    events = [(e["event"], e.get("alias"), e["version"]) for e in registry["timeline"]]
    assert events[-3:] == [
        ("alias-set", "challenger", 3),
        ("alias-set", "champion", 3),
        ("alias-removed", "challenger", None),
    ]
    assert registry["served"]["version"] == 3
    report = DriftReport.from_dict(json.loads((folder / "drift" / "week-2.json").read_text()))
    assert report.dataset_drift
    shown = json.loads((folder / "distributions" / "week-2.json").read_text())["columns"]
    tenure = shown["tenure_months"]
    assert tenure["drifted"] and len(tenure["edges"]) == len(tenure["reference"]) + 1
    assert sum(tenure["reference"]) == 1000 and sum(tenure["current"]) == 500


@needs_sandbox
def test_a_gate_without_guardrails_promotes_the_sabotaged_challenger(tmp_path):
    work = tmp_path / "work"
    runs.solve(lab(), work)
    (work / "gate.py").write_text(
        "from pipeline.contracts import Promotion\n\n\n"
        "def decide(champion, challenger):\n"
        "    gain = challenger.auc - champion.auc\n"
        "    return Promotion(gain >= 0.01, reason=f'AUC gain {gain:+.3f}, margin 0.01')\n"
    )
    result = check_lab(work)
    try:
        assert verdicts(result) == [True, True, True, True, False, False]
        sabotage = reason(result, "Sabotaged")
        assert sabotage.startswith("the gate promoted: week-4 v5 (threshold pushed up")
        assert "recall 0.000 vs" in sabotage
        assert reason(result, "The gate demands").startswith(
            "promoted a challenger 0.06 AUC better whose recall fell"
        )
    finally:
        shutil.rmtree(result.run.artifacts, ignore_errors=True)


@needs_sandbox
def test_a_policy_that_trains_on_a_holdout_stops_the_run_and_the_check_says_why(tmp_path):
    work = tmp_path / "work"
    runs.solve(lab(), work)
    policy = (work / "policy.py").read_text()
    (work / "policy.py").write_text(
        policy.replace("window=[batch.name],", 'window=[f"{batch.name}-holdout"],')
    )
    box = Sandbox(root=get_settings().sandbox_root)
    try:
        run = runs.execute(lab(), work, sandbox=box, labs_venv=VENV)
    finally:
        box.close()
    try:
        assert run.status == "failure"
        assert "week-4: week-4-holdout is a holdout: the gate judges models on it" in run.log
        summary = json.loads((run.artifacts / "monitoring" / "summary.json").read_text())
        assert summary["status"] == "failed"
        assert [b["batch"] for b in summary["batches"]] == ["week-1", "week-2", "week-3"]

        def no_rerun(change):
            raise AssertionError("the check reran a pipeline that did not finish")

        check = runs.load_lab_module(lab(), "check.py").check
        context = runs.CheckContext(work, run.report, run.artifacts, no_rerun)
        results = check(context)
        assert len(results) == 6 and not any(passed for _, passed, _ in results)
        assert {why for _, _, why in results} == {
            "the pipeline did not finish: week-4: week-4-holdout is a holdout: the gate judges "
            "models on it, so no model may learn from it (weeks recorded: week-1, week-2, week-3)"
        }
    finally:
        shutil.rmtree(run.artifacts, ignore_errors=True)


def test_the_check_refuses_data_that_is_not_the_lab_s(tmp_path):
    work = tmp_path / "work"
    runs.reset(lab(), work)
    week = work / "data" / "week-2.csv"
    week.write_text(week.read_text().replace(",north,", ",west,", 5))
    check = runs.load_lab_module(lab(), "check.py")
    name, passed, why = check._drift_tables(check.Truth(), work, {}, tmp_path / "none")
    assert not passed
    assert why.startswith("data/week-2.csv differ from the lab's generated data")
