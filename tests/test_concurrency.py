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
    """DuckDB refuses CHECKPOINT while another transaction has updated rows; the checkpoint job
    then reports a skip instead of raising, and succeeds once it is done."""
    from triops.jobs import Jobs
    from triops.ui.resources import checkpoint_now

    conn = open_state(tmp_path / "state.duckdb")
    users.set_state(conn, "last_profile", "ada")
    writer = conn.cursor()
    writer.execute("BEGIN TRANSACTION")
    users.set_state(writer, "last_profile", "bob")  # an UPDATE, as a job heartbeat is
    runner = Jobs(conn.cursor, lambda: T0)
    checkpoints = runner.every("checkpoint", checkpoint_now, seconds=3600, first_after=3600)
    try:
        assert checkpoints.run_once() is False
        assert (checkpoints.skipped, checkpoints.done) == (1, 0)
        writer.execute("COMMIT")
        assert checkpoints.run_once() is True
        assert (checkpoints.skipped, checkpoints.done) == (1, 1)
    finally:
        runner.close()
    assert users.get_state(conn, "last_profile") == "bob"


def test_page_loads_never_fail_while_a_lab_writes_and_checkpoints_run():
    """Issue 14, item 14: a writer keeps update transactions open (as a lab run's heartbeat and
    log writes do) while the checkpoint job runs every 10 ms and pages load: no page raises, no
    write fails, and checkpoints are both refused (so the race happened) and done.

    Deterministic whatever the load: the writer holds each transaction until the checkpoint job
    has been refused by it. A page run that overlaps a held write leaves a transaction open for
    as long as AppTest keeps that run's cursors (a half-read result), which refuses checkpoints
    until the next run; so the last page is loaded after the writer stops, and a checkpoint must
    then succeed."""
    from streamlit.testing.v1 import AppTest

    from triops.store import jobs
    from triops.ui import resources
    from triops.ui.identity import now

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    at.sidebar.text_input(key="new_profile_name").input("Ada")
    at.sidebar.button[0].click()
    at.run()
    checkpoints = resources.maintenance().checkpoint
    writes, claims = resources.state_db(), resources.state_db()  # a cursor each
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
    assert jobs.start(claims, job, one_per_owner=True) is not None
    stop = threading.Event()
    failures: list[BaseException] = []
    held: list[int] = []

    def lab_run() -> None:
        while not stop.is_set():
            try:
                writes.execute("BEGIN TRANSACTION")
                jobs.heartbeat(writes, job.id, now())
                refused = checkpoints.skipped
                if not checkpoints.wait_for(lambda n=refused: checkpoints.skipped > n, 60):
                    raise AssertionError("no checkpoint was tried while the write was open")
                writes.execute("COMMIT")
                held.append(refused)
            except BaseException as exc:  # any failed write fails the test
                failures.append(exc)
                return

    writer = threading.Thread(target=lab_run)
    checkpoints.seconds, checkpoints.retry_seconds = 0.01, 0.01
    checkpoints.wake()
    writer.start()
    try:
        pages = ["home.py", "exam.py", "progress.py", "learners.py", "practice.py"]
        for i in range(40):
            at.switch_page(f"app_pages/{pages[i % len(pages)]}").run()
            assert not at.exception, [e.value for e in at.exception]
    finally:
        stop.set()
        writer.join()
    try:
        assert failures == []
        assert held, "the writer never held a transaction through a refused checkpoint"
        at.switch_page("app_pages/home.py").run()
        assert not at.exception
        done = checkpoints.done
        assert checkpoints.wait_for(lambda: checkpoints.done > done, 60), (
            "no checkpoint succeeded once the writes were committed",
            checkpoints.skipped,
        )
        assert checkpoints.skipped > 0
    finally:
        resources.jobs().close()
