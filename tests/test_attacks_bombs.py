"""Attack class 4 (SECURITY.md): resource bombs in root-side code.

A 1.5 MB zip drove the CI lab's wheel check to 15.8 GB; a 543-byte YAML alias bomb took 45 s
(hours at depth 10); a 100 KB workflow nested 50,000 levels deep crashed the process parsing it
(libyaml's composer recursion); sparse files slipped past the disk quota when artifacts were
copied (1.3 GB shown, about 640 GB possible). Now learner files are parsed with bounds, archives
are checked by declared and real size with capped reads, and copies count apparent sizes."""

from __future__ import annotations

import resource
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest
from attacklib import play

from conftest import REPO
from triops.errors import TriopsError
from triops.evals import load_config
from triops.labs.ci.model import WorkflowError, load_workflow
from triops.labs.runs import load_lab_module
from triops.labs.sandbox import Limits
from triops.labs.spec import load_labs

ALIAS_BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(97 + i)}: &{chr(97 + i)} [" + ", ".join([f"*{chr(96 + i)}"] * 9) + "]\n"
    for i in range(1, 9)
)
WORKFLOW_HEAD = "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps: [{run: echo}]\n"
BOMBED_ENV = "env:\n" + textwrap.indent(ALIAS_BOMB, "  ")
DEEP = "env: {a: " + "[" * 50_000 + "]" * 50_000 + "}\n"


def test_a_zip_bomb_wheel_is_refused_without_inflating_it(tmp_path):
    check = load_lab_module(load_labs(REPO).get("ci-build"), "check.py")
    wheel = tmp_path / "textstats-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("textstats/__init__.py", "")
        with archive.open("textstats-0.1.0.dist-info/METADATA", "w", force_zip64=True) as entry:
            block = b"\0" * (1 << 20)
            for _ in range(300):  # 300 MB of zeros, a few hundred KB compressed
                entry.write(block)
    assert wheel.stat().st_size < 2 << 20
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with pytest.raises(ValueError, match="METADATA says it is"):
        check._read_wheel(wheel, "textstats", "0.1.0")
    assert time.monotonic() - started < 2
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 50


def test_a_wheel_that_lies_about_its_metadata_size_is_read_only_up_to_the_cap(tmp_path):
    check = load_lab_module(load_labs(REPO).get("ci-build"), "check.py")
    wheel = tmp_path / "textstats-0.1.0-py3-none-any.whl"
    big = b"Name: textstats\n" + b"X" * (3 << 20)
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("textstats-0.1.0.dist-info/METADATA", big)
    # Rewrite the declared (uncompressed) size in the central directory to a small number.
    raw = bytearray(wheel.read_bytes())
    central = raw.rfind(b"PK\x01\x02")
    raw[central + 24 : central + 28] = (100).to_bytes(4, "little")
    wheel.write_bytes(bytes(raw))
    with pytest.raises((ValueError, zipfile.BadZipFile)):
        check._read_wheel(wheel, "textstats", "0.1.0")


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "alias bomb",
            WORKFLOW_HEAD + BOMBED_ENV,
            "aliases",
        ),
        (
            "deep brackets",
            WORKFLOW_HEAD + DEEP,
            "nested more",
        ),
        ("deep values", WORKFLOW_HEAD + "env: {a: " + "[" * 80 + "]" * 80 + "}\n", "nested more"),
        ("huge file", WORKFLOW_HEAD + "env: {a: '" + "x" * (2 << 20) + "'}\n", "at most"),
    ],
)
def test_a_hostile_workflow_is_refused_quickly_with_its_line(tmp_path, name, text, message):
    path = tmp_path / "ci.yml"
    path.write_text(text)
    # In a child process: before the fix, the deep one killed the process that parsed it.
    code = (
        "import sys, time\n"
        "from triops.labs.ci.model import WorkflowError, load_workflow\n"
        "t = time.monotonic()\n"
        "try:\n"
        f"    load_workflow({str(path)!r})\n"
        "except WorkflowError as exc:\n"
        "    print(exc.user_message)\n"
        "print(round(time.monotonic() - t, 2))\n"
    )
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    message_line, seconds = done.stdout.strip().splitlines()
    assert message in message_line and message_line.startswith(f"{path}:")
    assert float(seconds) < 2


def test_the_alias_bomb_is_refused_in_process_too(tmp_path):
    path = tmp_path / "ci.yml"
    path.write_text(WORKFLOW_HEAD + BOMBED_ENV)
    with pytest.raises(WorkflowError, match="aliases"):
        load_workflow(path)


def test_an_eval_config_alias_bomb_is_a_config_error(tmp_path):
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text(
        "prompts: [hi]\nproviders: [echo]\ntests: []\nextra:\n  "
        + ALIAS_BOMB.replace("\n", "\n  ").rstrip()
        + "\n"
    )
    started = time.monotonic()
    with pytest.raises(TriopsError) as caught:
        load_config(path, root=tmp_path)
    assert "aliases" in caught.value.user_message
    assert time.monotonic() - started < 2


def test_sparse_files_count_at_their_apparent_size_in_the_disk_quota(attack_sandbox, tmp_path):
    limits = Limits(wall_seconds=20, cpu_seconds=10, memory_mb=256, disk_mb=16, file_size_mb=8)
    result = attack_sandbox.run(
        ["sh", "-c", "for i in 1 2 3 4; do truncate -s 7M sparse$i; done; sleep 3"],
        limits=limits,
    )
    attack_sandbox.cleanup(result.workdir)
    assert result.status == "disk-limit"


def test_sparse_files_cannot_inflate_an_artifact_copy(attack_sandbox, tmp_path):
    seed = tmp_path / "seed"
    seed.mkdir()
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    played = play(
        attack_sandbox,
        """
        on: push
        jobs:
          attack:
            runs-on: ubuntu-latest
            steps:
              - run: mkdir out && for i in 1 2 3 4 5 6; do truncate -s 8M out/s$i; done
              - name: upload
                uses: actions/upload-artifact@v4
                with: {name: sparse, path: out/}
        """,
        seed,
        copy_budget=16 << 20,
        artifacts=artifacts,
    )
    step = played.step("upload")
    assert step.status == "failure" and "apparent size" in step.message
    written = sum(p.stat().st_size for p in Path(artifacts).rglob("*") if p.is_file())
    assert written <= 16 << 20
