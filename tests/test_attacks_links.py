"""Attack class 2 (SECURITY.md): file writes and reads as root through links a step planted.

Steps run as a pool UID, but the built-in actions (checkout, upload/download-artifact,
setup-python's version file) and the file commands ($GITHUB_ENV and friends) run in the root
runner. A step made a folder a link to a place outside its work folder, and
actions/download-artifact wrote there as root; actions/checkout emptied the link's target. Now
the runner reaches every path through descriptors and refuses links (triops.labs.safefs)."""

from __future__ import annotations

from pathlib import Path

import pytest
from attacklib import SECRET, play, snapshot


@pytest.fixture
def seed(tmp_path) -> Path:
    folder = tmp_path / "seed"
    folder.mkdir()
    (folder / "app.py").write_text("print('hi')\n")
    return folder


def test_download_artifact_into_a_planted_link_writes_nothing_outside(
    attack_sandbox, root_only, seed
):
    before = snapshot(root_only)
    played = play(
        attack_sandbox,
        f"""
        on: push
        jobs:
          up:
            runs-on: ubuntu-latest
            steps:
              - run: mkdir out && echo payload > out/evil.txt && chmod 777 out/evil.txt
              - uses: actions/upload-artifact@v4
                with: {{name: drop, path: out/}}
          down:
            needs: up
            runs-on: ubuntu-latest
            steps:
              - run: ln -s {root_only} target && ln -s {root_only} "$RUNNER_TEMP/t2"
              - name: into the link
                uses: actions/download-artifact@v4
                with: {{name: drop, path: target}}
              - name: into a link below the runner's temp
                if: always()
                uses: actions/download-artifact@v4
                with: {{name: drop, path: "${{{{ runner.temp }}}}/t2/sub"}}
        """,
        seed,
    )
    first, second = played.step("into the link"), played.step("into a link below the runner's temp")
    assert first.status == "failure" and "link" in first.message
    assert second.status == "failure" and "link" in second.message
    assert snapshot(root_only) == before


def test_checkout_into_a_planted_link_never_empties_the_target(attack_sandbox, root_only, seed):
    before = snapshot(root_only)
    played = play(
        attack_sandbox,
        f"""
        on: push
        jobs:
          attack:
            runs-on: ubuntu-latest
            steps:
              - run: ln -s {root_only} sub
              - name: checkout into the link
                uses: actions/checkout@v4
                with: {{path: sub}}
              - name: the workspace itself replaced by a link
                if: always()
                run: cd .. && mv workspace moved && ln -s {root_only} workspace
              - name: checkout into the replaced workspace
                if: always()
                uses: actions/checkout@v4
        """,
        seed,
    )
    assert played.step("checkout into the link").status == "failure"
    assert played.step("checkout into the replaced workspace").status == "failure"
    assert snapshot(root_only) == before


def test_upload_artifact_never_follows_a_link_out(attack_sandbox, root_only, seed, tmp_path):
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    played = play(
        attack_sandbox,
        f"""
        on: push
        jobs:
          attack:
            runs-on: ubuntu-latest
            steps:
              - run: |
                  mkdir -p dist
                  echo mine > dist/own.txt
                  ln -s {root_only}/precious.txt dist/stolen.txt
                  ln -s {root_only} dist/folder
                  ln -s /etc/shadow dist/shadow
              - uses: actions/upload-artifact@v4
                with: {{name: loot, path: dist/}}
              - uses: actions/upload-artifact@v4
                with: {{name: deep, path: "**/precious.txt", if-no-files-found: error}}
        """,
        seed,
        artifacts=artifacts,
    )
    kept = sorted(p.relative_to(artifacts).as_posix() for p in artifacts.rglob("*") if p.is_file())
    assert kept == ["loot/own.txt"]
    assert SECRET not in (artifacts / "loot" / "own.txt").read_text()
    assert played.report.jobs[0].cells[0].steps[2].status == "failure"  # nothing matched


def test_setup_python_version_file_that_is_a_link_is_not_read(attack_sandbox, root_only, seed):
    secret = root_only / "precious.txt"
    played = play(
        attack_sandbox,
        f"""
        on: push
        jobs:
          attack:
            runs-on: ubuntu-latest
            steps:
              - run: ln -s {secret} .python-version
              - name: setup
                uses: actions/setup-python@v5
                with: {{python-version-file: .python-version}}
        """,
        seed,
    )
    step = played.step("setup")
    assert step.status == "failure" and "not a regular file" in step.message
    assert SECRET not in played.text


def test_file_commands_replaced_by_links_are_neither_read_nor_written_through(
    attack_sandbox, root_only, seed
):
    before = snapshot(root_only)
    played = play(
        attack_sandbox,
        f"""
        on: push
        jobs:
          attack:
            runs-on: ubuntu-latest
            steps:
              - name: env file becomes a link to a root-only file
                run: rm "$GITHUB_ENV" && ln -s {root_only}/precious.txt "$GITHUB_ENV"
              - name: the runner's files folder becomes a link
                if: always()
                run: |
                  files=$(dirname "$GITHUB_ENV")
                  mv "$files" "$files.old" && ln -s {root_only} "$files"
              - name: next
                if: always()
                run: echo next
        """,
        seed,
    )
    env_link = played.step("env file becomes a link to a root-only file")
    assert env_link.status == "failure" and "GITHUB_ENV was replaced" in env_link.message
    assert SECRET not in played.text
    assert played.step("next").status == "failure"  # its files cannot be made behind a link
    assert snapshot(root_only) == before
