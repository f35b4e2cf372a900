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
from triops.labs.sandbox import Sandbox
from triops.labs.spec import load_labs

pytestmark = needs_sandbox


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    """The artifacts of one real run of the drift-retrain solution."""
    lab = load_labs(REPO).get("drift-retrain")
    work = tmp_path_factory.mktemp("drift-lab") / "files"
    runs.solve(lab, work)
    settings = get_settings()
    box = Sandbox(root=settings.sandbox_root)
    try:
        run = runs.execute(lab, work, sandbox=box, labs_venv=settings.labs_venv)
    finally:
        box.close()
    assert run.status == "success", run.log[-2000:]
    kept = tmp_path_factory.mktemp("kept") / "artifacts"
    shutil.copytree(run.artifacts, kept)
    shutil.rmtree(run.artifacts, ignore_errors=True)
    return kept


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
