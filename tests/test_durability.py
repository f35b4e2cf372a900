"""An answer the server acknowledged survives a SIGKILL of the server process, on DuckDB and on
PostgreSQL (where the reader is another process and connection than the writer)."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime

from conftest import REPO
from triops.quiz import exam as engine
from triops.store.connection import open_state

pytest_plugins = ["tests.pgserver"]

WRITER = textwrap.dedent("""
    import random, sys
    from datetime import datetime, timedelta
    from pathlib import Path
    from triops.quiz import exam as engine
    from triops.quiz.bank import load_bank
    from triops.quiz.blueprint import load_exams
    from triops.quiz.grading import right_answer
    from triops.store import users
    from triops.store.connection import open_state

    db = open_state(Path(sys.argv[1]))
    now = datetime(2026, 11, 28, 9, 0)
    user = users.create_user(db, "Candidate", now)
    bank = load_bank(Path(sys.argv[2]))
    exam = load_exams(Path(sys.argv[2]), bank).get("triad-mock-certification")
    row = engine.start(db, exam, bank, user.id, now, random.Random(5))
    print("START", row.token, user.id, flush=True)
    view = engine.load(db, row.token, user.id, now)
    i = 0
    while True:  # the parent kills this process; each ACK follows a committed write
        d = view.questions[i % len(view.questions)]
        engine.save_answer(db, row.token, user.id, d.position, right_answer(d.question),
                           now + timedelta(milliseconds=i), d.question)
        print("ACK", d.position, i, flush=True)
        i += 1
""")


def test_acknowledged_answers_survive_sigkill(tmp_path, state_backend):
    state = tmp_path / "state.duckdb"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(state), str(REPO)],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    start = proc.stdout.readline().split()
    assert start[0] == "START", start
    token, user_id = start[1], start[2]
    acked: dict[int, int] = {}
    deadline = time.monotonic() + 60
    while len(acked) < 40 and time.monotonic() < deadline:
        kind, position, seq = proc.stdout.readline().split()
        assert kind == "ACK"
        acked[int(position)] = int(seq)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert len(acked) >= 40

    db = open_state(state)
    view = engine.load(db, token, user_id, datetime(2026, 11, 28, 9, 1))
    missing = [p for p in acked if view.responses.get(p) is None]
    assert missing == []
    from triops.quiz.grading import right_answer

    for position in acked:
        question = view.questions[position].question
        assert json.dumps(view.responses[position]) == json.dumps(right_answer(question))
    db.close()
