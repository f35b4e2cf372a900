"""One supervisor for every process a lab starts: the sandbox's launcher, a workflow step of the
local runner, and the eval child.

`supervise` starts the command in a session of its own, passes each line of its output on as it
arrives (at most `output_cap` bytes: past it the run is stopped), and stops it at the wall clock
or when `on_tick` names a reason: SIGTERM to its process group, `grace` seconds, then SIGKILL to
the group and `on_force` (the sandbox kills the pool UID there). When the command ends, its group
is killed too, so nothing it started in the background outlives it. Lines are passed on as the
run wrote them: a caller that shows them escapes them (triops.terminal.visible).
"""

from __future__ import annotations

import codecs
import os
import select
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

LINE_MAX = 65_536  # a longer line without a newline is passed on in pieces
TICK = 0.1  # seconds between looks at the clock and on_tick while the output is quiet


@dataclass(frozen=True)
class Finished:
    """How a supervised process ended.

    `exit_code` is its exit status, or -N when signal N ended it. `stopped` says why the
    supervisor stopped it (timeout, output-truncated, killed, or the reason on_tick gave), None
    when it ended by itself; `forced` when it had to be killed after the grace period. `output`
    holds the first `output_cap` bytes it wrote (nothing without a cap) and `side` all it wrote
    on the side descriptor."""

    exit_code: int | None
    stopped: str | None
    forced: bool
    seconds: float
    output: bytes = b""
    side: bytes = b""


class _Lines:
    """Bytes in, lines out: an incremental UTF-8 decoder (bad bytes replaced), a line cut at
    every newline and at LINE_MAX characters."""

    def __init__(self, on_line: Callable[[str], None] | None):
        self.on_line = on_line
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.pending = ""

    def feed(self, data: bytes, *, final: bool = False) -> None:
        self.pending += self.decoder.decode(data, final=final)
        while True:
            cut = self.pending.find("\n")
            if cut < 0:
                if len(self.pending) < LINE_MAX:
                    break
                line, self.pending = self.pending[:LINE_MAX], self.pending[LINE_MAX:]
            else:
                line, self.pending = self.pending[:cut], self.pending[cut + 1 :]
            self._emit(line)
        if final and self.pending:
            line, self.pending = self.pending, ""
            self._emit(line)

    def _emit(self, line: str) -> None:
        if self.on_line is not None:
            self.on_line(line)


def supervise(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str | Path,
    wall: float | None,
    output_cap: int | None,
    on_line: Callable[[str], None] | None,
    on_tick: Callable[[], str | None] | None = None,
    on_force: Callable[[], None] | None = None,
    grace: float = 2.0,
    linger: float = 1.0,
    pass_fds: Sequence[int] = (),
    side_fd: int | None = None,
) -> Finished:
    """Run `cmd` to its end, or stop it: at `wall` seconds ("timeout"), past `output_cap` bytes of
    output ("output-truncated", only that much is kept and passed on), or when `on_tick`
    (called at least every TICK seconds) returns a reason. Stopping sends SIGTERM to the process
    group, then after `grace` seconds SIGKILL and `on_force()`.

    stdout and stderr are one pipe. Once the process has exited, what is left in its output is
    read for at most `linger` seconds (a background process may hold the pipe open). `pass_fds`
    are inherited by the process and closed here once it has started; `side_fd` is read to its
    end as well (the launcher's status pipe). Raises OSError when the command cannot start.
    """
    try:
        proc = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            close_fds=True,
            pass_fds=tuple(pass_fds),
            start_new_session=True,  # a process group of its own, stopped and killed as one
        )
    finally:
        for fd in pass_fds:
            os.close(fd)
    started = time.monotonic()
    deadline = started + wall if wall is not None else None
    lines = _Lines(on_line)
    kept = bytearray()
    side = bytearray()
    out_fd = proc.stdout.fileno()  # type: ignore[union-attr]
    poller = select.poll()
    open_fds = {out_fd}
    poller.register(out_fd, select.POLLIN)
    if side_fd is not None:
        poller.register(side_fd, select.POLLIN)
        open_fds.add(side_fd)
    stopped: str | None = None
    stopped_at = 0.0
    forced = False
    exited_at: float | None = None

    def stop(reason: str) -> None:
        nonlocal stopped, stopped_at
        if stopped is None:
            stopped, stopped_at = reason, time.monotonic()
            if grace <= 0:
                force()
            else:
                _signal_group(proc, signal.SIGTERM)

    def force() -> None:
        nonlocal forced
        forced = True
        _signal_group(proc, signal.SIGKILL)
        if on_force is not None:
            on_force()

    try:
        while True:
            now = time.monotonic()
            if stopped is None and deadline is not None and now >= deadline:
                stop("timeout")
            if stopped is None and on_tick is not None:
                reason = on_tick()
                if reason:
                    stop(reason)
            if stopped is not None and not forced and now - stopped_at > grace:
                force()
            if forced and now - stopped_at > grace + 2:
                break  # something still holds the pipe; stop waiting for it
            if proc.poll() is not None:
                exited_at = exited_at or now
                if not open_fds or now - exited_at > linger:
                    break
            wait = TICK
            if stopped is None and deadline is not None:
                wait = min(wait, max(deadline - now, 0.0))
            if not open_fds:
                # The output is closed but the process has not exited yet (it usually does a
                # moment later): wait on the process itself, which returns as soon as it exits,
                # rather than sleeping a whole tick.
                try:
                    proc.wait(timeout=wait)
                except subprocess.TimeoutExpired:
                    pass
                continue
            for fd, _event in poller.poll(wait * 1000):
                data = os.read(fd, 65536)
                if not data:
                    poller.unregister(fd)
                    open_fds.discard(fd)
                elif fd == side_fd:
                    side += data
                elif output_cap is None:
                    lines.feed(data)
                elif stopped != "output-truncated":
                    room = output_cap - len(kept)
                    kept += data[:room]
                    lines.feed(data[:room])
                    if len(data) > room:
                        stop("output-truncated")
    except BaseException:
        stop("killed")
        raise
    finally:
        try:
            proc.wait(timeout=grace + 3)
        except subprocess.TimeoutExpired:
            force()
            proc.wait()
        _signal_group(proc, signal.SIGKILL)  # what the command left running goes with it
        proc.stdout.close()  # type: ignore[union-attr]
        lines.feed(b"", final=True)
    return Finished(
        exit_code=proc.returncode,
        stopped=stopped,
        forced=forced,
        seconds=time.monotonic() - started,
        output=bytes(kept),
        side=bytes(side),
    )


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except OSError:
        pass  # the group is gone (or was never ours to signal)
