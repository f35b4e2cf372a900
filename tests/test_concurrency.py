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


def test_a_checkpoint_refused_by_an_active_write_is_skipped_and_done_later(tmp_path):
    """DuckDB refuses CHECKPOINT while another transaction has updated rows; the maintenance
    thread's checkpoint then reports a skip instead of raising, and succeeds once it is done."""
    from triops.ui.resources import Maintenance

    conn = open_state(tmp_path / "state.duckdb")
    users.set_state(conn, "last_profile", "ada")
    writer = conn.cursor()
    writer.execute("BEGIN TRANSACTION")
    users.set_state(writer, "last_profile", "bob")  # an UPDATE, as a job heartbeat is
    maintenance = Maintenance(conn.cursor, checkpoint_seconds=3600)
    assert maintenance.checkpoint_once() is False
    assert (maintenance.skipped, maintenance.checkpoints) == (1, 0)
    writer.execute("COMMIT")
    assert maintenance.checkpoint_once() is True
    assert (maintenance.skipped, maintenance.checkpoints) == (1, 1)
    assert users.get_state(conn, "last_profile") == "bob"


def test_page_loads_never_fail_while_a_lab_writes_and_checkpoints_run():
    """Issue 14, item 14: a writer keeps update transactions open (as a lab run's heartbeat and
    log writes do) while the checkpoint runs every 50 ms and pages load: no page raises, no
    write fails, and checkpoints are both refused (so the race happened) and done."""
    import time

    from streamlit.testing.v1 import AppTest

    from triops.store import jobs
    from triops.ui import resources
    from triops.ui.identity import now

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    at.sidebar.text_input(key="new_profile_name").input("Ada")
    at.sidebar.button[0].click()
    at.run()
    maintenance = resources.maintenance()
    connect = resources.state_connector()
    job = jobs.Job(
        id="job-1",
        kind="run",
        owner="someone",
        subject="ci-build",
        state="running",
        started_at=now(),
        heartbeat=now(),
        finished_at=None,
        log_path=None,
        result_json=None,
    )
    assert jobs.start_lab_job(connect(), job) is not None
    stop = threading.Event()
    failures: list[BaseException] = []

    def lab_run() -> None:
        cursor = connect()
        while not stop.is_set():
            try:
                cursor.execute("BEGIN TRANSACTION")
                jobs.heartbeat(cursor, job.id, now())
                time.sleep(0.004)
                cursor.execute("COMMIT")
            except BaseException as exc:  # any failed write fails the test
                failures.append(exc)
                return

    writer = threading.Thread(target=lab_run)
    maintenance.checkpoint_seconds, maintenance.retry_seconds = 0.05, 0.01
    maintenance.wake()
    writer.start()
    try:
        pages = ["home.py", "exam.py", "progress.py", "learners.py", "practice.py"]
        for i in range(40):
            at.switch_page(f"app_pages/{pages[i % len(pages)]}").run()
            assert not at.exception, [e.value for e in at.exception]
    finally:
        stop.set()
        writer.join()
        maintenance.stop()
    assert failures == []
    assert maintenance.skipped > 0 and maintenance.checkpoints > 0, (
        maintenance.skipped,
        maintenance.checkpoints,
    )
