"""Labs end to end: the starter fails its check, the solution passes, through the CLI; and a
step cannot make the runner (root) read or write outside the sandbox through links."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from triops.config import get_settings
from triops.labs.spec import load_labs

VENV = get_settings().labs_venv
# Skips without root and the labs venv, fails instead under TRIOPS_REQUIRE_SANDBOX=1 (CI).
needs_sandbox = pytest.mark.usefixtures("sandbox_required")


def triops(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "triops.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        timeout=600,
        env=None if env is None else {**os.environ, **env},
    )


def test_every_real_lab_loads():
    labs = load_labs(REPO)
    assert labs.problems == []
    assert [lab.id for lab in labs.labs] == ["ci-build", "drift-retrain", "prompt-eval"]


def test_a_lab_of_another_run_kind_is_refused_at_its_line(tmp_path):
    import shutil

    lab = tmp_path / "labs" / "ci-build"
    shutil.copytree(REPO / "labs" / "ci-build", lab)
    spec = lab / "lab.yaml"
    text = spec.read_text()
    run = "run:\n  kind: workflow\n  workflow: .github/workflows/ci.yml\n"
    assert run in text
    spec.write_text(text.replace(run, "run:\n  kind: command\n  command: [pytest, -q]\n"))
    line = text[: text.index(run)].count("\n") + 2
    labs = load_labs(tmp_path)
    assert labs.labs == []
    shown = [str(p) for p in labs.problems]
    assert any(
        s.startswith(f"labs/ci-build/lab.yaml:{line}:") and "'workflow' or 'eval'" in s
        for s in shown
    ), shown


def test_lab_list_names_the_ci_build_lab():
    result = triops("lab", "list")
    assert result.returncode == 0
    assert result.stdout.startswith("ci-build\tdevops\t40 min\t")


@needs_sandbox
# Sandbox labs; an eval lab (prompt-eval) runs no sandbox: tests/test_lab_prompt_eval.py.
@pytest.mark.parametrize(
    "lab", [lab.id for lab in load_labs(REPO).labs if lab.spec.run.kind == "workflow"]
)
def test_starter_fails_its_check_and_solution_passes(lab_check, lab):
    # `lab reset|solve` then `lab check` through the CLI, once per run (tests/conftest.py): the
    # lab's own tests (test_lab_drift_retrain.py, test_lab_results.py) read the same checks.
    starter, solution = lab_check(lab, "starter"), lab_check(lab, "solution")
    assert starter.written == 0
    assert starter.exit_code == 1, starter.stdout[-2000:]
    assert "check: failed" in starter.stdout
    assert solution.written == 0
    assert solution.exit_code == 0, solution.stdout[-3000:]
    lines = [
        line for line in solution.stdout.splitlines() if line.startswith(("passed:", "failed:"))
    ]
    assert lines and all(line.startswith("passed:") for line in lines)


@needs_sandbox
def test_ci_build_check_fails_when_the_gate_is_removed(tmp_path):
    work = tmp_path / "work"
    triops("lab", "solve", "ci-build", "--dir", str(work))
    workflow = work / ".github/workflows/ci.yml"
    text = workflow.read_text()
    assert "needs:" in text
    workflow.write_text("\n".join(line for line in text.splitlines() if "needs:" not in line))
    result = triops("lab", "check", "ci-build", "--dir", str(work))
    assert result.returncode == 1
    assert any(
        line.startswith("failed: build waits for lint and test")
        for line in result.stdout.splitlines()
    )


@needs_sandbox
def test_lab_run_prints_live_job_lines_and_exit_status(tmp_path):
    work = tmp_path / "work"
    triops("lab", "reset", "ci-build", "--dir", str(work))
    kept = tmp_path / "kept"
    # The run's temporary folders go to a folder of this test's own (TMPDIR), where no other
    # test process's run puts one; the sandbox stays where it was (the sandbox users cannot
    # reach a folder under pytest's).
    temp = tmp_path / "temp"
    temp.mkdir()
    result = triops(
        "lab", "run", "ci-build", "--dir", str(work), "--artifacts", str(kept),
        env={"TMPDIR": str(temp), "TRIOPS_SANDBOX_ROOT": str(get_settings().sandbox_root)},
    )  # fmt: skip
    assert result.returncode == 1
    assert "[lint]" in result.stdout and "lab run: failure" in result.stdout
    # The starter's build job runs ungated and uploads its wheel: kept where asked, and the
    # run's temporary artifacts folder is gone.
    assert [p.name for p in (kept / "wheel").glob("*.whl")] == ["textstats-0.3.0-py3-none-any.whl"]
    assert list(temp.glob("triops-artifacts-*")) == []


@needs_sandbox
def test_ci_run_refuses_a_bad_workflow_with_file_and_line(tmp_path):
    wf = tmp_path / "ci.yml"
    wf.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: [ghost]\n"
        "    steps:\n      - run: echo hi\n"
    )
    result = triops("ci", "run", str(wf), "--dir", str(tmp_path))
    assert result.returncode == 1
    assert f"{wf}:5:" in result.stderr and "ghost" in result.stderr


@needs_sandbox
def test_ci_run_writes_the_json_report(tmp_path):
    wf = tmp_path / "ci.yml"
    wf.write_text(
        "on: push\njobs:\n  hello:\n    runs-on: ubuntu-latest\n    steps:\n"
        '      - id: s\n        run: echo "greeting=hi" >> "$GITHUB_OUTPUT"\n'
    )
    report = tmp_path / "report.json"
    result = triops("ci", "run", str(wf), "--dir", str(tmp_path), "--json", str(report))
    assert result.returncode == 0, result.stdout + result.stderr
    import json

    data = json.loads(report.read_text())
    assert data["status"] == "success"
    assert data["jobs"][0]["cells"][0]["steps"][0]["outputs"] == {"greeting": "hi"}


@needs_sandbox
def test_links_planted_by_a_step_do_not_leak_root_files(tmp_path):
    secret = tmp_path / "root-only.txt"
    secret.write_text("TOP-SECRET-VALUE\n")
    secret.chmod(0o600)
    wf = tmp_path / "ci.yml"
    wf.write_text(
        "on: push\njobs:\n  steal:\n    runs-on: ubuntu-latest\n    steps:\n"
        f'      - run: ln -sf {secret} "$GITHUB_OUTPUT"; mkdir -p out; '
        f"ln -s {secret} out/loot.txt\n"
        "      - uses: actions/upload-artifact@v4\n"
        "        with: {name: loot, path: out/, if-no-files-found: ignore}\n"
    )
    artifacts = tmp_path / "artifacts"
    report = tmp_path / "report.json"
    triops(
        "ci",
        "run",
        str(wf),
        "--dir",
        str(tmp_path),
        "--json",
        str(report),
        "--artifacts",
        str(artifacts),
    )
    assert "TOP-SECRET-VALUE" not in report.read_text()
    leaked = [p for p in artifacts.rglob("*") if p.is_file() and "TOP-SECRET" in p.read_text()]
    assert leaked == []
