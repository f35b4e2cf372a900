"""What the attack tests (tests/test_attacks_*.py) share: a sandbox of their own, a workflow
runner wired as the labs wire it, and places only root can reach; and the rule every sandbox
test follows (require_sandbox and its fixtures).

Each attack test plays one class of attack from SECURITY.md through the real parts (the
launcher, the pool UIDs, the runner's built-in actions, the labs' checks) and asserts that it is
contained. They need root and the labs' tool environment; without them they skip, and with
TRIOPS_REQUIRE_SANDBOX=1 (as .ci/run sets) they fail instead, so CI can never pass them by
skipping.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from triops.config import get_settings
from triops.labs.ci.model import parse_workflow
from triops.labs.ci.report import RunReport, format_event
from triops.labs.sandbox import Limits, Sandbox
from triops.labs.workflow_lab import run_sandboxed

VENV = get_settings().labs_venv
UIDS = range(61920, 61940)  # apart from the default pool and from tests/test_sandbox.py
SECRET = "root-only-secret-5f1c"  # the content of root_only/precious.txt: must never leak
LIMITS = Limits(wall_seconds=30, cpu_seconds=20, memory_mb=512, disk_mb=64, files=2000)


def sandbox_missing_reason(*, venv: bool = True, packages: tuple[str, ...] = ()) -> str | None:
    """Why the sandbox cannot run here, or None: root for the pool UIDs, and (with `venv`) the
    labs' tool environment with `packages` in its site-packages."""
    if os.geteuid() != 0:
        return "needs root: pool UIDs and the root-side runner are what is tested"
    if venv and not (VENV / "bin" / "ruff").exists():
        return f"needs the labs' tool environment at {VENV} (make install)"
    site = next(iter(sorted(VENV.glob("lib/python3*/site-packages"))), VENV / "missing")
    absent = [name for name in packages if not (site / name).is_dir()]
    if venv and absent:
        return f"needs {', '.join(absent)} in the labs' tool environment (make install)"
    return None


def require_sandbox(*, venv: bool = True, packages: tuple[str, ...] = ()) -> None:
    """Skip without root (and the labs venv); fail instead under TRIOPS_REQUIRE_SANDBOX=1, as
    .ci/run sets it, so that CI can never pass a sandbox test by skipping it."""
    reason = sandbox_missing_reason(venv=venv, packages=packages)
    if reason:
        if os.environ.get("TRIOPS_REQUIRE_SANDBOX") == "1":
            pytest.fail(f"sandbox required (TRIOPS_REQUIRE_SANDBOX=1) but {reason}")
        pytest.skip(reason)


@pytest.fixture
def sandbox_required() -> None:
    """Root and the labs' tool environment, or skip (fail under TRIOPS_REQUIRE_SANDBOX=1)."""
    require_sandbox()


@pytest.fixture
def root_required() -> None:
    """Root, or skip (fail under TRIOPS_REQUIRE_SANDBOX=1)."""
    require_sandbox(venv=False)


@pytest.fixture(scope="module")
def attack_sandbox():
    require_sandbox()
    # Under the system temp dir: /tmp/pytest-of-root is 0700, which no pool UID can traverse.
    root = Path(tempfile.mkdtemp(prefix="triops-attacks-"))
    os.chmod(root, 0o711)
    sandbox = Sandbox(root=root / "sandbox", uids=UIDS)
    yield sandbox
    sandbox.close()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def root_only(tmp_path) -> Path:
    """A folder below pytest's 0700 tmp root: root reaches it, no pool UID does. An attack that
    makes root-side code write or read here has escaped."""
    folder = tmp_path / "root-only"
    folder.mkdir()
    (folder / "precious.txt").write_text(f"{SECRET}\n")
    os.chmod(folder / "precious.txt", 0o600)
    return folder


def snapshot(folder: Path) -> dict[str, tuple[int, bytes | None]]:
    """Every entry below `folder` with its mode and (for files) its bytes."""
    out = {}
    for path in sorted(folder.rglob("*")):
        st = path.lstat()
        content = path.read_bytes() if path.is_file() and not path.is_symlink() else None
        out[path.relative_to(folder).as_posix()] = (st.st_mode, content)
    out["."] = (folder.lstat().st_mode, None)
    return out


@dataclass
class Played:
    report: RunReport
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def step(self, name: str):
        for job in self.report.jobs:
            for cell in job.cells:
                for step in cell.steps:
                    if step.name == name:
                        return step
        raise KeyError(name)


def play(
    sandbox: Sandbox,
    workflow: str,
    seed: Path,
    *,
    limits: Limits = LIMITS,
    copy_budget: int = 64 << 20,
    artifacts: Path | None = None,
) -> Played:
    """Run `workflow` on `seed` exactly as a lab run does: steps in the sandbox, one pool UID per
    job, the built-in actions in this (root) process."""
    played = Played(report=None)  # type: ignore[arg-type]

    def on_event(event) -> None:
        text = format_event(event)
        if text:
            played.lines.append(text)

    own_artifacts = artifacts is None
    artifacts = artifacts or Path(tempfile.mkdtemp(prefix="triops-attack-artifacts-"))
    try:
        played.report, _ = run_sandboxed(
            parse_workflow(textwrap.dedent(workflow), "attack.yml"),
            seed,
            sandbox=sandbox,
            limits=limits,
            venv=VENV,
            on_event=on_event,
            artifacts_dir=artifacts,
            copy_budget=copy_budget,
        )
    finally:
        if own_artifacts:
            shutil.rmtree(artifacts, ignore_errors=True)
    return played


EVIL_C = r"""
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

__attribute__((constructor)) static void evil(void) {
    if (geteuid() == 0) {
        int fd = open(MARKER, O_CREAT | O_WRONLY, 0644);
        if (fd >= 0) close(fd);
    }
    dprintf(2, "evil loaded uid=%d\n", (int)geteuid());
}
"""


def evil_library(folder: Path, marker: Path) -> Path:
    """A shared library whose constructor, run as root, creates `marker`, and in any process
    prints 'evil loaded uid=N' on stderr: the learner's payload for LD_PRELOAD."""
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        pytest.fail("the LD_PRELOAD attack needs a C compiler (Debian's gcc) to build its payload")
    source = folder / "evil.c"
    source.write_text(EVIL_C)
    library = folder / "evil.so"
    subprocess.run(
        [gcc, "-shared", "-fPIC", f'-DMARKER="{marker}"', "-o", str(library), str(source)],
        check=True,
        capture_output=True,
    )
    source.unlink()
    return library
