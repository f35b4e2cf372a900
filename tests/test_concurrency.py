"""Script runs share one database connection (a cursor each): racing writes must not fail."""

import random
import threading
from datetime import datetime

from conftest import REPO
from triops.quiz import exam as engine
from triops.quiz.bank import load_bank
from triops.quiz.blueprint import load_exams
from triops.store import attempts, users
from triops.store.connection import open_state

T0 = datetime(2026, 11, 28, 9, 0)


def run_threads(target, n: int) -> list[BaseException]:
    errors: list[BaseException] = []

    def wrapped(i: int) -> None:
        try:
            target(i)
        except BaseException as exc:  # collected and asserted on below
            errors.append(exc)

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_sessions_racing_to_record_the_last_profile_all_succeed(tmp_path):
    conn = open_state(tmp_path / "state.duckdb")

    def session(i: int) -> None:
        cur = conn.cursor()
        for k in range(30):
            users.set_state(cur, "last_profile", f"user-{i}-{k}")

    assert run_threads(session, 8) == []
    assert users.get_state(conn, "last_profile").startswith("user-")


def test_two_tabs_starting_the_same_exam_get_one_attempt(tmp_path):
    conn = open_state(tmp_path / "state.duckdb")
    ada = users.create_user(conn, "Ada", T0).id
    bank = load_bank(REPO)
    exam = load_exams(REPO, bank).get("devops-practitioner")
    tokens: list[str] = []

    def tab(i: int) -> None:
        tokens.append(engine.start(conn.cursor(), exam, bank, ada, T0, random.Random(i)).token)

    assert run_threads(tab, 6) == []
    assert len(set(tokens)) == 1
    assert len(attempts.history(conn, ada)) == 1


def test_two_tabs_finalizing_at_the_deadline_grade_once(tmp_path):
    conn = open_state(tmp_path / "state.duckdb")
    ada = users.create_user(conn, "Ada", T0).id
    bank = load_bank(REPO)
    row = engine.start(conn, load_exams(REPO, bank).get("devops-practitioner"), bank, ada, T0)
    late = row.deadline.replace(microsecond=0)
    states: list[str] = []

    def tab(i: int) -> None:
        states.append(engine.status(conn.cursor(), row.token, ada, late).state)

    assert run_threads(tab, 6) == []
    assert set(states) == {"finished"}
    assert attempts.by_token(conn, row.token).finished_at == row.deadline
