"""The Labs pages through AppTest: list, editors, a real run in the sandbox, checks and hints."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest
from test_labs import needs_sandbox

from conftest import REPO
from triops.config import get_settings
from triops.labs import runs
from triops.labs.spec import load_labs
from triops.store import users
from triops.store.connection import open_state


def with_profile() -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    at.sidebar.text_input(key="new_profile_name").input("Ada")
    at.sidebar.button[0].click()
    return at.run()


def open_lab(at: AppTest) -> AppTest:
    at.switch_page("app_pages/labs.py")
    at.query_params["lab"] = "ci-build"
    return at.run()


def wait_finished(at: AppTest, seconds: float = 120) -> AppTest:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        at.run()
        if any(m.value.startswith(("**Finished**", "**Failed**")) for m in at.markdown):
            return at
        time.sleep(0.5)
    pytest.fail("the lab job did not finish")


def user_id() -> str:
    conn = open_state(get_settings().state_db)
    uid = users.find_by_name(conn, "Ada").id
    conn.close()
    return uid


def test_labs_list_shows_each_lab_with_its_status():
    at = with_profile()
    at.switch_page("app_pages/labs.py").run()
    assert not at.exception
    assert [s.value for s in at.subheader] == [
        "Make the CI pipeline green",
        "Catch drift, retrain, and promote only a better model",
        "Gate a prompt change with an eval set",
    ]
    assert "not started" in at.caption[0].value


def test_lab_page_shows_instructions_and_an_editor_per_editable_file():
    at = open_lab(with_profile())
    assert not at.exception
    lab = load_labs(REPO).get("ci-build")
    assert [t.label for t in at.tabs] == lab.spec.editable
    areas = {a.key: a.value for a in at.text_area}
    starter = (lab.starter / ".github/workflows/ci.yml").read_text()
    assert areas["lab-ci-build-.github/workflows/ci.yml"] == starter


def test_saving_an_edit_writes_the_profiles_copy_only():
    at = open_lab(with_profile())
    key = "lab-ci-build-src/textstats/core.py"
    at.text_area(key=key).input("# edited in the browser\n")
    at.button(key=f"{key}-save").click().run()
    saved = get_settings().home / "labs" / user_id() / "ci-build" / "files/src/textstats/core.py"
    assert saved.read_text() == "# edited in the browser\n"
    lab = load_labs(REPO).get("ci-build")
    assert (lab.starter / "src/textstats/core.py").read_text() != saved.read_text()


@needs_sandbox
def test_check_of_the_starter_fails_unlocks_a_hint_and_records_the_run():
    at = open_lab(with_profile())
    at.button(key="lab-check").click().run()
    assert at.button(key="lab-run").disabled  # one lab job at a time
    at = wait_finished(at)
    assert not at.exception
    assert any("Every job is green" in e.value for e in at.error)
    assert "Hints" in [h.value for h in at.header]
    assert "Your runs" in [h.value for h in at.header]
    assert at.dataframe[0].value["check"].tolist() == ["failed"]


@needs_sandbox
def test_check_of_the_solution_passes_every_criterion():
    at = open_lab(with_profile())
    lab = load_labs(REPO).get("ci-build")
    runs.solve(lab, get_settings().home / "labs" / user_id() / "ci-build" / "files")
    at.button(key="lab-check").click().run()
    at = wait_finished(at, 180)
    assert at.success and not at.error
    kept = list((get_settings().home / "labs" / user_id() / "ci-build" / "runs").glob("*"))
    assert len(kept) == 1
    assert (kept[0] / "report.json").is_file()
    assert [p.name for p in (kept[0] / "artifacts" / "wheel").glob("*.whl")] == [
        "textstats-0.3.0-py3-none-any.whl"
    ]
    at.switch_page("app_pages/labs.py")
    at.query_params.pop("lab", None)
    at.run()
    assert "passed" in at.caption[0].value


def test_a_saved_file_gets_a_final_newline_and_lf_endings(tmp_path):
    from triops.labs import service

    lab = load_labs(REPO).get("ci-build")
    rel = lab.spec.editable[0]
    service.save_file(tmp_path, lab, rel, "line one\r\nline two")
    assert (tmp_path / rel).read_bytes() == b"line one\nline two\n"
    service.save_file(tmp_path, lab, rel, "")
    assert (tmp_path / rel).read_bytes() == b""
