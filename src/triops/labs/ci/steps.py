"""Where a workflow's commands run: the StepRunner protocol, and LocalRunner, a plain one for
testing workflow semantics (the labs run steps in the sandbox: triops.labs.workflow_lab)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from triops.labs.process import supervise


@dataclass(frozen=True)
class StepOutcome:
    """How one process ended: status is ok, failed, timeout or error (could not start)."""

    exit_code: int | None
    status: str
    output: str
    seconds: float


class StepRunner(Protocol):
    """Where a workflow's commands run. It owns the work folders: one per job cell, from
    `new_workdir()` until `release(workdir)`; `prepare(workdir)` is called before each
    command, after the runner (this process) wrote the step's script and files into it."""

    def new_workdir(self) -> Path:
        """A fresh, empty work folder for one job cell."""

    def prepare(self, workdir: Path) -> None:
        """Make what the runner wrote into `workdir` usable by the command (the sandbox hands
        it to the folder's UID)."""

    def release(self, workdir: Path) -> None:
        """The cell is done with `workdir`: remove it (and whatever still runs there)."""

    def run(
        self,
        cmd: list[str],
        *,
        workdir: Path,
        cwd: str | None,
        env: dict[str, str],
        timeout: float | None,
        on_output: Callable[[str], None] | None,
        allow_network: bool,
    ) -> StepOutcome:
        """Run one command in `workdir` (cwd relative to it) and report how it ended."""


class CappedOutput:
    """Keeps the head and the tail of a long output, and counts what was left out."""

    def __init__(self, head: int = 200_000, tail: int = 800_000):
        self.head_limit, self.tail_limit = head, tail
        self.head: list[str] = []
        self.head_size = 0
        self.tail: deque[str] = deque()
        self.tail_size = 0
        self.dropped = 0

    def add(self, line: str) -> None:
        if self.head_size + len(line) <= self.head_limit and not self.tail:
            self.head.append(line)
            self.head_size += len(line) + 1
            return
        self.tail.append(line)
        self.tail_size += len(line) + 1
        while self.tail_size > self.tail_limit and len(self.tail) > 1:
            self.tail_size -= len(self.tail.popleft()) + 1
            self.dropped += 1

    def text(self) -> str:
        middle = [f"... {self.dropped} lines omitted ..."] if self.dropped else []
        return "\n".join([*self.head, *middle, *self.tail])


class LocalRunner:
    """Plain subprocesses with a clean environment (only `env`, plus PATH when missing).

    Each command runs in its own process group, which is killed on timeout and when the
    command ends, so background processes do not outlive their step. `allow_network` is not
    enforced here: this runner is for testing workflow semantics, not for isolation.
    """

    def __init__(self, kill_grace: float = 0.5):
        self.kill_grace = kill_grace

    def new_workdir(self) -> Path:
        """A fresh temporary folder."""
        return Path(tempfile.mkdtemp(prefix="triops-job-"))

    def prepare(self, workdir: Path) -> None:
        """Nothing to do: the commands run as this process."""

    def release(self, workdir: Path) -> None:
        """Remove the folder."""
        shutil.rmtree(workdir, ignore_errors=True)

    def run(self, cmd, *, workdir, cwd, env, timeout, on_output, allow_network) -> StepOutcome:
        """Run `cmd`, streaming each output line to `on_output` (StepRunner.run)."""
        full_env = dict(env)
        full_env.setdefault("PATH", os.environ.get("PATH", os.defpath))
        directory = Path(workdir) / cwd if cwd else Path(workdir)
        output = CappedOutput()

        def on_line(line: str) -> None:
            line = line.rstrip("\r")
            output.add(line)
            if on_output is not None:
                on_output(line)

        try:
            finished = supervise(
                cmd,
                env=full_env,
                cwd=directory,
                wall=timeout,
                output_cap=None,
                on_line=on_line,
                grace=self.kill_grace,
                linger=0.2,  # then a background process that holds the pipe open is not waited for
            )
        except OSError as exc:
            return StepOutcome(
                None, "error", f"could not start {cmd[0]}: {exc.strerror or exc}", 0.0
            )
        if finished.stopped == "timeout":
            return StepOutcome(None, "timeout", output.text(), finished.seconds)
        code = finished.exit_code
        return StepOutcome(code, "ok" if code == 0 else "failed", output.text(), finished.seconds)
