"""Attack class 5 (SECURITY.md): information leaks.

hashFiles() was evaluated as root over any path, so it told which names exist in root-only
folders and gave a hash oracle for files such as /etc/shadow; and a run could read the command
lines of other learners' runs in /proc. Now hashFiles() is confined to the workspace without
following links, and each run gets a private /proc that shows it only its own processes."""

from __future__ import annotations

import threading
import time

from attacklib import LIMITS, SECRET, play

from triops.labs.sandbox import processes_of


def test_hash_files_sees_only_regular_files_inside_the_workspace(
    attack_sandbox, root_only, tmp_path
):
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "own.txt").write_text("mine\n")
    played = play(
        attack_sandbox,
        f"""
        on: push
        jobs:
          attack:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - run: |
                  ln -s /etc/shadow shadow
                  ln -s {root_only} outside
              - name: own
                run: echo "own=${{{{ hashFiles('own.txt') }}}}"
              - name: everything
                run: echo "all=${{{{ hashFiles('**') }}}}"
              - name: absolute
                run: echo "abs=${{{{ hashFiles('/etc/shadow', '{root_only}/*') }}}}"
              - name: upwards
                run: echo "up=${{{{ hashFiles('../**', '../../**/precious.txt') }}}}"
              - name: through a link
                run: echo "link=${{{{ hashFiles('outside/*', 'shadow') }}}}"
        """,
        seed,
    )
    own = played.step("own").log.strip().removeprefix("own=")
    assert len(own) == 64
    assert played.step("everything").log.strip() == f"all={own}"
    assert played.step("absolute").log.strip() == "abs="
    assert played.step("upwards").log.strip() == "up="
    assert played.step("through a link").log.strip() == "link="
    assert SECRET not in played.text


def test_a_run_cannot_see_another_runs_command_line(attack_sandbox):
    marker = f"other-learner-secret-{time.monotonic_ns()}"
    work = attack_sandbox.workdir()
    other = {}

    def first_run():
        other["result"] = attack_sandbox.run(
            ["python3", "-c", "import time; time.sleep(4)", marker], workdir=work, limits=LIMITS
        )

    thread = threading.Thread(target=first_run)
    thread.start()
    try:
        uid = attack_sandbox.uid_of(work)
        deadline = time.monotonic() + 5
        while not processes_of(uid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert processes_of(uid), "the first run did not start"
        spy = attack_sandbox.run(
            ["sh", "-c", "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '; echo; ls /proc"],
            limits=LIMITS,
        )
        attack_sandbox.cleanup(spy.workdir)
    finally:
        thread.join()
        attack_sandbox.cleanup(work)
    assert "proc-private" in spy.protections
    assert marker not in spy.output
    assert "cat /proc" in spy.output or "sh -c" in spy.output  # it does see its own processes
    assert other["result"].status == "ok"
