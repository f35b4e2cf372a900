"""The drift-retrain lab's results on the lab page: read from a real run's artifacts (the real
lab, run once in the real sandbox for this module) and drawn by the Labs page through AppTest."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_app_labs import user_id, with_profile
from test_labs import needs_sandbox

from conftest import REPO
from triops.config import get_settings
from triops.labs import runs
from triops.labs.results import ResultsError, read_monitoring, registry_over_time
from triops.labs.spec import load_labs

pytestmark = needs_sandbox


@pytest.fixture
def artifacts(lab_check) -> Path:
    """The artifacts of one real run of the drift-retrain solution: the run its check made, once
    per run (tests/conftest.py `lab_check`). Read them; change a `copy`."""
    run = lab_check("drift-retrain", "solution").result.run
    assert run.status == "success", run.log[-2000:]
    return run.artifacts


@pytest.fixture
def copy(artifacts, tmp_path) -> Path:
    target = tmp_path / "artifacts"
    shutil.copytree(artifacts, target)
    return target


def test_the_monitoring_results_are_read_into_tables(artifacts):
    m = read_monitoring(artifacts)
    assert m.status == "complete"
    assert [b.name for b in m.batches] == ["week-1", "week-2", "week-3", "week-4"]
    week2, week4 = m.batches[1], m.batches[3]
    assert week2.dataset_drift and not week4.dataset_drift
    assert week4.decision == "promoted" and week4.trigger == "performance"
    # Only drifted columns get distribution charts, with the reference and the batch side by side.
    drifted = set(week2.drift.loc[week2.drift["verdict"] == "DRIFT", "column"])
    assert {d.column for d in week2.distributions} == drifted
    shares = week2.distributions[0].frame.groupby("sample")["share"].sum()
    assert shares.round(6).to_dict() == {"reference": 1.0, "week-2": 1.0}
    assert week4.distributions == []
    # Performance: the champion's AUC falls in the concept-drift week.
    auc = m.performance[m.performance.metric == "auc"].set_index("batch")["value"]
    assert auc["week-4"] < auc["week-3"] - 0.1
    assert m.aliases["champion"] == int(m.decisions.iloc[-1]["champion after"])


def test_the_registry_reads_as_a_timeline(artifacts):
    m = read_monitoring(artifacts)
    over = registry_over_time(m)
    champion = over[over.role == "champion"].set_index("step")["version"]
    assert list(champion.index) == ["bootstrap", "week-1", "week-2", "week-3", "week-4"]
    assert champion["bootstrap"] == 1 and champion["week-4"] == m.aliases["champion"]
    registered = over[over.role == "registered"]
    assert sorted(registered.version) == sorted(float(v) for v in m.versions.version)


def test_a_run_without_monitoring_files_has_no_results(tmp_path):
    assert read_monitoring(tmp_path) is None


def test_a_result_file_pointing_outside_the_run_is_refused(copy):
    summary = copy / "monitoring" / "summary.json"
    data = json.loads(summary.read_text())
    data["batches"][0]["drift"]["file"] = "../../../../etc/passwd"
    summary.write_text(json.dumps(data))
    with pytest.raises(ResultsError, match="outside the run's artifacts"):
        read_monitoring(copy)


def test_a_broken_result_file_is_named(copy):
    (copy / "monitoring" / "registry.json").write_text("{not json")
    with pytest.raises(ResultsError, match="registry.json: not JSON"):
        read_monitoring(copy)
    (copy / "monitoring" / "registry.json").write_text(json.dumps({"versions": "v1"}))
    with pytest.raises(ResultsError, match="'versions' has the wrong type"):
        read_monitoring(copy)


def _finished(at: AppTest, seconds: float = 180) -> AppTest:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        at.run()
        if any(m.value.startswith(("**Finished**", "**Failed**")) for m in at.markdown):
            return at.run()
        time.sleep(0.5)
    pytest.fail("the lab job did not finish")


def test_the_lab_page_draws_the_results_of_the_last_run_and_never_markup():
    at = with_profile()
    at.switch_page("app_pages/labs.py")
    at.query_params["lab"] = "drift-retrain"
    at.run()
    lab = load_labs(REPO).get("drift-retrain")
    runs.solve(lab, get_settings().home / "labs" / user_id() / "drift-retrain" / "files")
    at.button(key="lab-run").click().run()
    at = _finished(at)
    assert not at.exception
    headers = [h.value for h in at.header]
    assert "Results" in headers
    subheaders = [h.value for h in at.subheader]
    assert "Model registry" in subheaders and "Each week" in subheaders
    assert [t.label for t in at.tabs][-4:] == ["week-1", "week-2", "week-3", "week-4"]
    assert any(t.value.startswith("AUC") for t in at.text)  # each week's reason, as text
    assert any("**promoted**" in m.value for m in at.markdown)

    # A reason written by learner code is text: markup in it is shown, not rendered.
    kept = sorted(
        (get_settings().home / "labs" / user_id() / "drift-retrain" / "runs").glob("*"),
        key=lambda p: p.stat().st_mtime,
    )[-1]
    summary = kept / "artifacts" / "monitoring" / "summary.json"
    data = json.loads(summary.read_text())
    data["batches"][0]["reason"] = "<img src=x onerror=alert(1)> **bold**"
    data["batches"][0]["decision"] = "<b>promoted</b>"
    summary.write_text(json.dumps(data))
    at.run()
    assert not at.exception
    assert "<img src=x onerror=alert(1)> **bold**" in [t.value for t in at.text]
    assert not any("<b>promoted</b>" in m.value for m in at.markdown)
    assert any(r"\<b\>promoted\</b\>" in m.value for m in at.markdown)


# --------------------------------------------------------------------------- prompt-eval

EVAL_CONFIG = """\
prompts:
  - id: v1
    raw: "Answer: {{question}}"
  - id: v2
    raw: "Answer briefly and cite: {{question}} <b>bold</b>"
providers: [echo]
prices:
  unit: 1K
  currency: USD
  providers:
    echo: {prompt: 0.5, completion: 1.5}
gate:
  baseline: v1
  candidate: v2
  pass_rate: {min_delta: 0}
  cost: {max_increase_pct: 10}
tests:
  - description: mentions canary
    vars: {question: what is a canary release}
    assert:
      - type: icontains
        value: canary
  - description: briefly
    vars: {question: what is drift}
    assert:
      - type: contains
        value: briefly
"""


@pytest.fixture
def eval_run_folder(tmp_path) -> Path:
    """A real eval run (echo provider: no model) kept the way a prompt-eval run keeps it."""
    from triops.evals import load_config, run_eval

    config = tmp_path / "promptfooconfig.yaml"
    config.write_text(EVAL_CONFIG)
    run = run_eval(load_config(config))
    results = tmp_path / "run" / "artifacts" / "eval" / "results.json"
    results.parent.mkdir(parents=True)
    results.write_text(json.dumps(run.to_dict()))
    return tmp_path / "run"


@pytest.mark.filterwarnings("ignore")
def test_eval_results_read_as_a_matrix_totals_and_the_gate(eval_run_folder):
    from triops.labs.eval_lab import eval_case, read_eval, side_by_side

    view = read_eval(eval_run_folder / "artifacts")
    assert view.columns == ["v1 / echo", "v2 / echo"]
    assert view.matrix["test"].tolist() == ["1. mentions canary", "2. briefly"]
    assert view.matrix["v1 / echo"].str.split().str[0].tolist() == ["pass", "FAIL"]
    assert view.matrix["v2 / echo"].str.split().str[0].tolist() == ["pass", "pass"]
    (candidate, baseline, passed, rows) = view.gates[0]
    assert (candidate, baseline) == ("v2 / echo", "v1 / echo")
    # v2's longer prompt costs more than 10 % above v1's: the gate fails on cost alone.
    verdicts = dict(zip(rows.metric, rows.verdict, strict=True))
    assert verdicts == {"pass_rate": "pass", "cost": "fail"} and not passed
    side = side_by_side(view)
    assert side.loc["passed"].tolist() == ["1 of 2", "2 of 2"]
    answers = eval_case(view, "2. briefly")
    assert [a["status"] for a in answers] == ["fail", "pass"]
    assert answers[0]["assertions"]["reason"].str.len().iloc[0] > 0


def test_a_file_that_is_not_an_eval_run_is_named(eval_run_folder):
    from triops.labs.eval_lab import read_eval

    path = eval_run_folder / "artifacts" / "eval" / "results.json"
    path.write_text(json.dumps({"schema_name": "something else"}))
    with pytest.raises(ResultsError, match="results.json: not a Triops eval run"):
        read_eval(eval_run_folder / "artifacts")


def test_the_eval_results_page_shows_outputs_as_text(eval_run_folder, tmp_path):
    page = tmp_path / "page.py"
    page.write_text(
        "from pathlib import Path\n"
        "from triops.ui import lab_results\n"
        f"lab_results.show(Path({str(eval_run_folder)!r}), 'eval')\n"
    )
    at = AppTest.from_file(str(page)).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Gate on v2 / echo against v1 / echo: fails"]
    assert [h.value for h in at.subheader] == ["Side by side", "Cost and latency", "Results matrix"]
    at.selectbox(key="eval-case").select("2. briefly").run()
    texts = [t.value for t in at.text]
    assert "Answer briefly and cite: what is drift <b>bold</b>" in texts
    assert not any("<b>bold</b>" in m.value for m in at.markdown)


def test_a_config_error_run_shows_its_problems(tmp_path):
    from triops.labs.eval_lab import read_eval

    summary = tmp_path / "run" / "artifacts" / "eval" / "summary.json"
    summary.parent.mkdir(parents=True)
    problem = {
        "path": "promptfooconfig.yaml",
        "line": 12,
        "key": "prompts[1].config.k",
        "message": "must be at least 1",
        "severity": "error",
    }
    summary.write_text(
        json.dumps(
            {
                "format": 1,
                "status": "config-error",
                "verdict": "fail",
                "reasons": ["the config has 1 error"],
                "problems": [problem],
            }
        )
    )
    view = read_eval(tmp_path / "run" / "artifacts")
    assert view.run is None and view.status == "config-error"
    assert view.problems == ["promptfooconfig.yaml:12: prompts[1].config.k: must be at least 1"]
    page = tmp_path / "page.py"
    page.write_text(
        "from pathlib import Path\n"
        "from triops.ui import lab_results\n"
        f"lab_results.show(Path({str(tmp_path / 'run')!r}), 'eval')\n"
    )
    at = AppTest.from_file(str(page)).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["The config has errors; nothing ran:"]
    assert "prompts[1].config.k" in at.code[0].value


@pytest.mark.slow
def test_the_prompt_eval_lab_page_shows_the_solution_passing_its_gate(indexed_home):
    # The eval child answers from the course index: the session's, copied into this home.
    at = with_profile()
    at.switch_page("app_pages/labs.py")
    at.query_params["lab"] = "prompt-eval"
    at.run()
    lab = load_labs(REPO).get("prompt-eval")
    runs.solve(lab, get_settings().home / "labs" / user_id() / "prompt-eval" / "files")
    at.button(key="lab-run").click().run()
    at = _finished(at, 300)
    assert not at.exception
    assert "Results" in [h.value for h in at.header]
    assert "Every test passes and the gate holds." in [s.value for s in at.success]
    assert any(s.value.startswith("Gate on v2") for s in at.success)
    assert at.selectbox(key="eval-case").options[0].startswith("1. answerable")
