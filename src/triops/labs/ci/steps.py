"""Where a workflow's commands run: the StepRunner protocol, and LocalRunner, a plain one for
testing workflow semantics (the labs run steps in the sandbox: triops.labs.workflow_lab)."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class StepOutcome:
    """How one process ended: status is ok, failed, timeout or error (could not start)."""

    exit_code: int | None
    status: str
    output: str
    seconds: float


class StepRunner(Protocol):
    """Runs one command in `workdir` (cwd relative to it) and reports how it ended."""

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
    ) -> StepOutcome: ...


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
        """Run `cmd`, streaming each output line to `on_output`."""
        start = time.monotonic()
        full_env = dict(env)
        full_env.setdefault("PATH", os.environ.get("PATH", os.defpath))
        directory = Path(workdir) / cwd if cwd else Path(workdir)
        try:
            proc = subprocess.Popen(
                cmd,
                cwd=directory,
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            message = f"could not start {cmd[0]}: {exc.strerror or exc}"
            return StepOutcome(None, "error", message, time.monotonic() - start)
        output = CappedOutput()
        deadline = start + timeout if timeout is not None else None
        pending = b""

        def emit(raw: bytes) -> None:
            line = raw.decode("utf-8", errors="replace").rstrip("\r")
            output.add(line)
            if on_output is not None:
                on_output(line)

        timed_out = False
        fd = proc.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            exited_at: float | None = None
            while True:
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    timed_out = True
                    break
                if exited_at is None and proc.poll() is not None:
                    exited_at = now
                if exited_at is not None and now - exited_at > 0.2:
                    break  # a background process holds the pipe open; the step is over
                wait = 0.1 if deadline is None else min(0.1, max(deadline - now, 0))
                if not selector.select(timeout=wait):
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for raw in lines:
                    emit(raw)
        if pending:
            emit(pending)
        self._kill_group(proc, graceful=timed_out)
        proc.stdout.close()
        seconds = time.monotonic() - start
        if timed_out:
            return StepOutcome(None, "timeout", output.text(), seconds)
        code = proc.returncode
        return StepOutcome(code, "ok" if code == 0 else "failed", output.text(), seconds)

    def _kill_group(self, proc: subprocess.Popen, *, graceful: bool) -> None:
        if graceful:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=self.kill_grace)
            except (ProcessLookupError, PermissionError, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
