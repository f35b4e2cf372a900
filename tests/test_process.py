"""triops.labs.process: the one supervisor of the sandbox's launcher, the local runner's steps and
the eval child; real processes, no root needed."""

from __future__ import annotations

import os
import sys
import time

from triops.labs.process import LINE_MAX, supervise

ENV = {"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8"}


def run(script: str, **kwargs):
    lines: list[str] = []
    kwargs.setdefault("wall", 10)
    kwargs.setdefault("output_cap", None)
    finished = supervise(["bash", "-c", script], env=ENV, cwd="/", on_line=lines.append, **kwargs)
    return finished, lines


def test_lines_are_passed_on_as_written_and_the_exit_code_is_kept():
    finished, lines = run("printf 'one\\ntwo\\r\\nno newline'; exit 3")
    assert lines == ["one", "two\r", "no newline"]
    assert finished.exit_code == 3 and finished.stopped is None and not finished.forced


def test_a_signal_ends_as_minus_its_number():
    finished, _ = run("kill -KILL $$")
    assert finished.exit_code == -9 and finished.stopped is None


def test_the_wall_clock_stops_the_whole_group_and_nothing_outlives_it(tmp_path):
    marker = tmp_path / "survived"
    started = time.monotonic()
    finished, _ = run(f"(sleep 1.5; touch {marker}) & sleep 30", wall=0.3, grace=0.5)
    assert finished.stopped == "timeout"
    assert time.monotonic() - started < 5
    time.sleep(1.6)
    assert not marker.exists()


def test_a_command_that_ignores_sigterm_is_killed_after_the_grace_period():
    forced: list[bool] = []
    finished, lines = run(
        "trap '' TERM; echo ready; sleep 30", wall=0.3, grace=0.5, on_force=lambda: forced.append(1)
    )
    assert lines == ["ready"]
    assert finished.stopped == "timeout" and finished.forced and forced == [1]
    assert finished.seconds < 5


def test_past_the_output_cap_the_run_stops_and_only_the_cap_is_kept():
    finished, lines = run("yes 0123456789 | head -c 10000000; sleep 30", output_cap=1000)
    assert finished.stopped == "output-truncated"
    assert len(finished.output) == 1000
    assert sum(len(line) + 1 for line in lines) <= 1001
    assert finished.seconds < 5


def test_on_tick_stops_the_run_with_its_reason():
    ticks = []

    def tick():
        ticks.append(time.monotonic())
        return "disk-limit" if len(ticks) > 3 else None

    finished, _ = run("sleep 30", on_tick=tick, grace=0.2)
    assert finished.stopped == "disk-limit" and len(ticks) == 4
    assert finished.seconds < 3


def test_a_long_line_without_newline_comes_in_pieces():
    finished, lines = run(f"head -c {LINE_MAX * 2 + 5} /dev/zero | tr '\\0' x")
    assert [len(line) for line in lines] == [LINE_MAX, LINE_MAX, 5]
    assert finished.exit_code == 0


def test_a_background_process_holding_the_pipe_is_not_waited_for():
    started = time.monotonic()
    finished, lines = run("echo done; sleep 30 &", linger=0.2)
    assert lines == ["done"] and finished.exit_code == 0
    assert time.monotonic() - started < 3


def test_the_side_descriptor_is_read_and_passed_descriptors_are_closed_here():
    read_end, write_end = os.pipe()
    script = f"import os; os.write({write_end}, b'status'); print('out')"
    lines: list[str] = []
    try:
        finished = supervise(
            [sys.executable, "-c", script],
            env=ENV,
            cwd="/",
            wall=10,
            output_cap=None,
            on_line=lines.append,
            pass_fds=(write_end,),
            side_fd=read_end,
        )
    finally:
        os.close(read_end)
    assert finished.side == b"status" and lines == ["out"]
    try:
        os.fstat(write_end)
        still_open = True
    except OSError:
        still_open = False
    assert not still_open
