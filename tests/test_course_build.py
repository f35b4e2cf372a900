"""The run's background build of the course index (tests/course_build.py): started once per
run, holding the index lock before any test process can take it, and ending by itself when the
run it serves is over."""

from __future__ import annotations

import subprocess

import course_build


def test_the_build_starts_once_per_run_and_ends_when_its_run_is_over(tmp_path, monkeypatch):
    gone = subprocess.Popen(["true"])
    gone.wait()  # a run that has ended: its process is no more
    monkeypatch.setattr(course_build, "run_owner", lambda: gone.pid)
    home = tmp_path / "course-home"
    log = tmp_path / "course-build.log"

    child = course_build.start(home, None, log)
    assert child is not None
    # start() returned once the child held the lock: nobody else can build meanwhile.
    assert course_build.start(home, None, log) is None  # once per run, whoever asks
    assert child.wait(timeout=30) == 3  # its run is over: it stops without building
    assert not (home / course_build.BUILT).exists()
    with course_build.course_lock(home).acquire(timeout=5):
        pass  # and the lock is free for a test process to build the index itself
