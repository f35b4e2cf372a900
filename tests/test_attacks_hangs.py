"""Attack class 3 (SECURITY.md): hangs in the root runner.

A step replaced $GITHUB_ENV, $GITHUB_OUTPUT, $GITHUB_PATH or the step summary with a FIFO, and
the root runner blocked forever reading it, keeping its pool UID (64 such runs lock everyone
out); a link loop and a `**` upload pattern walked forever. Now the runner opens only regular
files, without blocking, walks without following links, and every root-side step has a
deadline."""

from __future__ import annotations

import time

import pytest
from attacklib import play

from triops.labs.sandbox import processes_of


@pytest.fixture
def seed(tmp_path):
    folder = tmp_path / "seed"
    folder.mkdir()
    return folder


@pytest.mark.parametrize(
    "variable", ["GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_PATH", "GITHUB_STEP_SUMMARY"]
)
def test_a_fifo_in_place_of_a_file_command_fails_the_step_instead_of_hanging(
    attack_sandbox, seed, variable
):
    started = time.monotonic()
    played = play(
        attack_sandbox,
        f"""
        on: push
        jobs:
          attack:
            runs-on: ubuntu-latest
            steps:
              - name: fifo
                run: rm "${variable}" && mkfifo "${variable}"
              - name: after
                if: always()
                run: echo after
        """,
        seed,
    )
    assert time.monotonic() - started < 20
    step = played.step("fifo")
    assert step.status == "failure" and "not a regular file" in step.message
    assert played.step("after").status == "success"
    # The pool UID and its work folder were handed back: nothing holds the slot.
    assert not attack_sandbox._slots
    assert all(not processes_of(uid) for uid in attack_sandbox.uids)


def test_a_link_loop_with_a_recursive_upload_pattern_ends(attack_sandbox, seed, tmp_path):
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    started = time.monotonic()
    played = play(
        attack_sandbox,
        """
        on: push
        jobs:
          attack:
            runs-on: ubuntu-latest
            steps:
              - run: |
                  mkdir -p a/b
                  ln -s .. a/b/up
                  ln -s ../.. a/b/top
                  ln -s a a/self
                  echo real > a/b/file.txt
              - name: upload
                uses: actions/upload-artifact@v4
                with: {name: loop, path: "**/*"}
              - name: hash
                run: echo "${{ hashFiles('**/*') }}"
        """,
        seed,
        artifacts=artifacts,
    )
    assert time.monotonic() - started < 20
    assert played.step("upload").status == "success"
    assert sorted(p.name for p in artifacts.rglob("*") if p.is_file()) == ["file.txt"]
    assert played.step("hash").status == "success"


def test_a_run_stops_at_its_time_limit_whatever_the_workflow_asks(attack_sandbox, seed, tmp_path):
    from attacklib import LIMITS, VENV

    from triops.labs.ci.engine import run_workflow
    from triops.labs.ci.model import parse_workflow
    from triops.labs.workflow_lab import SandboxStepRunner

    workflow = parse_workflow(
        """
        on: push
        jobs:
          long:
            runs-on: ubuntu-latest
            timeout-minutes: 360
            strategy:
              matrix:
                n: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]
            steps:
              - run: sleep 1
              - run: sleep 1
        """.replace("\n        ", "\n"),
        "long.yml",
    )
    started = time.monotonic()
    report = run_workflow(
        workflow,
        runner=SandboxStepRunner(attack_sandbox, LIMITS, [VENV]),
        workspace_seed=seed,
        artifacts_dir=tmp_path / "artifacts",
        time_limit=3,
    )
    assert time.monotonic() - started < 10
    assert report.status == "failure"
    cells = report.jobs[0].cells
    assert any("time limit (3 s for the whole run)" in c.message for c in cells)
    assert cells[-1].steps[0].status == "cancelled"
