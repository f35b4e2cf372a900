"""Attack class 1 (SECURITY.md): root code execution through the launcher's environment.

A step wrote LD_PRELOAD (or LD_DEBUG_OUTPUT, LD_LIBRARY_PATH ...) to $GITHUB_ENV, and the next
step's launcher, which starts as root, loaded the learner's library before dropping privileges.
Now the launcher starts with a fixed environment, the command's arrives through a memory file and
is applied only at the command's execve, and GITHUB_ENV refuses loader and interpreter-startup
variables."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from attacklib import evil_library, play, require_sandbox

from conftest import REPO
from triops.labs import runs
from triops.labs.ci.envfiles import REFUSED_ENV
from triops.labs.launcher import read_env
from triops.labs.sandbox import _env_file
from triops.labs.spec import load_labs

VARIABLES = ["LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "LD_DEBUG_OUTPUT", "PYTHONSTARTUP"]


def test_the_command_environment_travels_as_data_and_comes_back_intact():
    env = {"PATH": "/usr/bin", "WEIRD": "a=b\tc", "EMPTY": "", "UNICODE": "é ✓"}
    fd = _env_file(env)
    try:
        assert read_env(fd) == env
    finally:
        import os

        os.close(fd)


@pytest.mark.parametrize("name", VARIABLES + ["BASH_ENV", "NODE_OPTIONS", "LD_whatever"])
def test_github_env_refuses_loader_and_startup_variables(name):
    assert REFUSED_ENV.match(name)


@pytest.mark.parametrize("name", ["PYTHONPATH", "PATH_EXTRA", "MY_LD_PRELOAD", "ENVIRONMENT"])
def test_github_env_keeps_ordinary_variables(name):
    assert not REFUSED_ENV.match(name)


def test_ld_preload_in_a_commands_env_never_runs_as_root(attack_sandbox, root_only, tmp_path):
    marker = root_only / "pwned"
    seed = tmp_path / "seed"
    seed.mkdir()
    evil_library(seed, marker)
    played = play(
        attack_sandbox,
        f"""
        on: push
        jobs:
          attack:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - name: preload in the step env
                env:
                  LD_PRELOAD: ${{{{ github.workspace }}}}/evil.so
                  LD_DEBUG: files
                  LD_DEBUG_OUTPUT: {root_only}/debug
                run: echo step-ran
        """,
        seed,
    )
    step = played.step("preload in the step env")
    # The library did load, in the command, as the pool UID: the environment reached it...
    assert "step-ran" in step.log
    assert "evil loaded uid=6" in step.log
    # ...and never in the launcher, which is root.
    assert "evil loaded uid=0" not in step.log
    assert not marker.exists()
    assert sorted(p.name for p in root_only.iterdir()) == ["precious.txt"]


def test_ld_preload_through_github_env_is_refused_and_never_runs_as_root(
    attack_sandbox, root_only, tmp_path
):
    marker = root_only / "pwned"
    seed = tmp_path / "seed"
    seed.mkdir()
    evil_library(seed, marker)
    lines = "\n".join(
        f'echo "{name}=$GITHUB_WORKSPACE/evil.so" >> "$GITHUB_ENV"'
        for name in ("LD_PRELOAD", "LD_AUDIT")
    )
    played = play(
        attack_sandbox,
        f"""
        on: push
        jobs:
          attack:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - name: write the environment file
                run: |
                  {lines.replace(chr(10), chr(10) + " " * 18)}
                  echo "LD_DEBUG=files" >> "$GITHUB_ENV"
                  echo "LD_DEBUG_OUTPUT={root_only}/debug" >> "$GITHUB_ENV"
                  echo "KEEP_ME=yes" >> "$GITHUB_ENV"
              - name: the next step
                run: echo "next KEEP_ME=$KEEP_ME LD_PRELOAD=${{LD_PRELOAD:-unset}}"
        """,
        seed,
    )
    written = played.step("write the environment file")
    for name in ("LD_PRELOAD", "LD_AUDIT", "LD_DEBUG", "LD_DEBUG_OUTPUT"):
        assert f"Warning: {name} cannot be set through GITHUB_ENV" in written.log
    nxt = played.step("the next step")
    assert nxt.status == "success"
    assert "next KEEP_ME=yes LD_PRELOAD=unset" in nxt.log
    assert "evil loaded" not in played.text
    assert not marker.exists()
    assert sorted(p.name for p in root_only.iterdir()) == ["precious.txt"]


def test_the_ci_lab_attack_by_editing_only_the_workflow_is_contained(tmp_path, root_only):
    require_sandbox()
    lab = load_labs(REPO).get("ci-build")
    files = tmp_path / "files"
    runs.solve(lab, files)
    marker = root_only / "pwned"
    evil_library(files, marker)
    workflow = files / lab.spec.run.workflow
    workflow.write_text(
        "on: push\n"
        "jobs:\n"
        "  lint:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - uses: actions/checkout@v4\n"
        '      - run: echo "LD_PRELOAD=$GITHUB_WORKSPACE/evil.so" >> "$GITHUB_ENV"\n'
        f'      - run: echo "LD_DEBUG_OUTPUT={root_only}/debug" >> "$GITHUB_ENV"\n'
        "      - run: echo after\n"
    )
    from triops.labs.sandbox import Sandbox

    box = Sandbox(root=Path("/tmp") / f"triops-attack-ci-{tmp_path.name}", uids=range(61940, 61944))
    try:
        run = runs.execute(lab, files, sandbox=box, labs_venv=runs_venv())
    finally:
        box.close()
        shutil.rmtree(box.root, ignore_errors=True)
    shutil.rmtree(run.artifacts, ignore_errors=True)
    assert run.status == "success"
    assert "LD_PRELOAD cannot be set through GITHUB_ENV" in run.log
    assert "evil loaded" not in run.log
    assert not marker.exists()
    assert sorted(p.name for p in root_only.iterdir()) == ["precious.txt"]


def test_the_drift_lab_attack_from_gate_py_is_contained_when_check_adds_its_step(
    tmp_path, root_only
):
    require_sandbox()
    lab = load_labs(REPO).get("drift-retrain")
    files = tmp_path / "files"
    runs.solve(lab, files)
    marker = root_only / "pwned"
    evil_library(files, marker)
    gate = files / "gate.py"
    gate.write_text(
        "import os as _os\n"
        "with open(_os.environ['GITHUB_ENV'], 'a') as _f:\n"
        "    _f.write('LD_PRELOAD=' + _os.environ['GITHUB_WORKSPACE'] + '/evil.so\\n')\n"
        + gate.read_text()
    )
    from triops.labs.sandbox import Sandbox

    box = Sandbox(
        root=Path("/tmp") / f"triops-attack-drift-{tmp_path.name}", uids=range(61944, 61948)
    )
    lines: list[str] = []
    try:
        result = runs.check(lab, files, sandbox=box, labs_venv=runs_venv(), on_line=lines.append)
    finally:
        box.close()
        shutil.rmtree(box.root, ignore_errors=True)
    shutil.rmtree(result.run.artifacts, ignore_errors=True)
    log = "\n".join(lines)
    # The check's rerun adds a step after the learner's code: the one the attack aimed at.
    assert "the check runs the lab again" in log
    assert log.count("LD_PRELOAD cannot be set through GITHUB_ENV") >= 2
    assert "evil loaded" not in log
    assert not marker.exists()
    assert sorted(p.name for p in root_only.iterdir()) == ["precious.txt"]


def runs_venv() -> Path:
    from triops.config import get_settings

    return get_settings().labs_venv
