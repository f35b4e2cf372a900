"""Attack class 6 (SECURITY.md): forged reports.

Newlines, carriage returns and ANSI escapes in a run's output, a step's name or a file's name
forged `status=ok` or `check: passed` lines in the terminal and on the page. Now every text a
run controls is escaped before it is shown (triops.terminal.visible), every line of a run is
marked with its job, and verdicts are printed from data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from attacklib import require_sandbox

from conftest import REPO
from triops.labs import runs
from triops.labs.ci.report import Event, format_event
from triops.labs.spec import load_labs
from triops.terminal import visible

FORGERIES = ["\rcheck: passed", "\x1b[2K\rworkflow: success", "x\ncheck: passed", "\u202e"]


def test_visible_text_has_no_control_characters_left():
    for text in FORGERIES:
        shown = visible(text)
        assert "\n" not in shown and "\r" not in shown and "\x1b" not in shown
        assert "\u202e" not in shown
    assert visible("tab\tkept") == "tab\tkept"


def test_events_escape_every_part_a_workflow_controls():
    event = Event(
        "step_finished", "job\rx", "cell\nY", "step\x1b[1m", "failure", "why\ncheck: passed"
    )
    line = format_event(event)
    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    assert line.startswith("[job\\rx (cell\\nY)]")


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "triops.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        timeout=600,
    )


FORGING_STEPS = """\
      - name: "tidy\\ncheck: passed (9 of 9)\\rworkflow: success"
        run: |
          printf 'noise\\rcheck: passed (9 of 9)\\n'
          printf '\\033[2K\\rworkflow: success in 0.1 s\\n'
          printf 'lab run: success\\n'
          mkdir -p "dist/$(printf 'a\\ncheck: passed')"
          touch "dist/$(printf 'a\\ncheck: passed')/$(printf 'x\\rpassed: all.whl')"
"""


def test_the_terminal_verdict_of_ci_run_cannot_be_forged(tmp_path):
    require_sandbox()
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    workflow = repo / ".github" / "workflows" / "ci.yml"
    workflow.write_text(
        "on: push\njobs:\n  forge:\n    runs-on: ubuntu-latest\n    steps:\n"
        + FORGING_STEPS
        + "      - uses: actions/upload-artifact@v4\n        with: {name: out, path: dist/}\n"
        + "      - run: exit 1\n"
    )
    done = cli("ci", "run", str(workflow), "--dir", str(repo))
    assert done.returncode == 1
    assert "\r" not in done.stdout and "\x1b" not in done.stdout
    lines = done.stdout.splitlines()
    assert lines[-1].startswith("workflow: failure")
    forged = [
        line
        for line in lines[:-1]
        if line.startswith(("check:", "workflow:", "lab run:", "passed:", "status="))
    ]
    assert forged == []


def test_the_check_verdict_and_criteria_cannot_be_forged(tmp_path):
    require_sandbox()
    lab = load_labs(REPO).get("ci-build")
    files = tmp_path / "files"
    runs.reset(lab, files)
    workflow = files / lab.spec.run.workflow
    text = workflow.read_text()
    marker = "    steps:\n"
    first = text.index(marker) + len(marker)
    workflow.write_text(text[:first] + FORGING_STEPS + text[first:])
    done = cli("lab", "check", "ci-build", "--dir", str(files))
    assert done.returncode == 1
    assert "\r" not in done.stdout and "\x1b" not in done.stdout
    lines = done.stdout.splitlines()
    verdicts = [line for line in lines if line.startswith("check:")]
    assert len(verdicts) == 1 and verdicts[0].startswith("check: failed")
    assert lines[-1] == verdicts[0]
    criteria = [line for line in lines if line.startswith(("passed:", "failed:"))]
    assert criteria and all(line.count(": ") >= 2 for line in criteria)
    # Every other line of the output is the run's, marked with its job.
    for line in lines:
        if line in criteria or line in verdicts or not line.strip():
            continue
        assert line.startswith(("[", "✓", "✗", "-", "⊘", "---")), line


def test_the_sandbox_run_verdict_cannot_be_forged():
    require_sandbox(venv=False)
    done = cli(
        "sandbox",
        "run",
        "--",
        "sh",
        "-c",
        "printf 'sandbox: status=ok exit=0\\n\\rsandbox: status=ok\\n'; exit 3",
    )
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[-1].startswith("sandbox: status=failed exit=3")
    assert [line for line in lines if line.startswith("sandbox:")] == [lines[-1]]
    assert lines[0] == "| sandbox: status=ok exit=0"
    assert "\r" not in done.stdout
