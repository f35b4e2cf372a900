"""Background work through triops.jobs: a real DuckDB file, real threads, an injected clock, and
events instead of sleeps."""

from __future__ import annotations

import ast
import json
import random
import threading
from datetime import datetime, timedelta

import pytest

from conftest import REPO
from triops import jobs
from triops.store import jobs as job_store
from triops.store.connection import open_state

T0 = datetime(2026, 12, 6, 9, 0)
WAIT = 30  # seconds: a bound for a failing test, never a pause


class Clock:
    """The job runner's clock, moved by the test."""

    def __init__(self, at: datetime = T0):
        self.at = at
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.at

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.at += timedelta(seconds=seconds)


@pytest.fixture
def conn(tmp_path):
    db = open_state(tmp_path / "state.duckdb")
    yield db
    db.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def runner(conn, clock, tmp_path):
    run = jobs.Jobs(conn.cursor, clock, log_dir=tmp_path / "jobs", beat_seconds=5)
    yield run
    run.close()


def row(conn, job_id: str) -> job_store.Job:
    found = job_store.get(conn.cursor(), job_id)
    assert found is not None
    return found


def test_a_job_runs_on_its_own_thread_and_its_row_ends_with_the_result(runner, conn, clock):
    seen: dict[str, object] = {}

    def work(job: jobs.LiveJob) -> dict:
        seen["thread"] = threading.current_thread().name
        clock.advance(12)
        return {"answer": 42}

    job = runner.submit("demo", work, subject="sum")
    assert job.wait(WAIT)
    assert seen["thread"] != threading.current_thread().name
    assert seen["thread"].startswith("job-demo-")
    assert (job.state, job.result, job.error) == ("succeeded", {"answer": 42}, "")
    done = row(conn, job.id)
    assert (done.kind, done.owner, done.subject, done.state) == (
        "demo",
        "system",
        "sum",
        "succeeded",
    )
    assert done.started_at == T0
    assert done.finished_at == T0 + timedelta(seconds=12)
    assert json.loads(done.result_json) == {"answer": 42}


def test_progress_is_on_the_row_while_the_job_runs_at_most_once_per_beat(runner, conn, clock):
    reported, second, resume, finish = (threading.Event() for _ in range(4))

    def work(job: jobs.LiveJob) -> dict:
        job.report(3, 10, "passages")  # the first report is written at once
        reported.set()
        resume.wait(WAIT)
        job.report(5, 10, "passages")  # within the beat: kept in memory only
        second.set()
        finish.wait(WAIT)
        job.report(7, 10, "passages")  # a beat later: written
        return {}

    job = runner.submit("index-build", work)
    assert reported.wait(WAIT)
    running = row(conn, job.id)
    assert running.state == "running"
    assert jobs.progress_of(running) == jobs.Progress(3, 10, "passages")
    assert running.heartbeat == T0

    clock.advance(2)
    resume.set()
    assert second.wait(WAIT)
    assert (job.done, job.total) == (5, 10)  # what this process's pages read
    assert jobs.progress_of(row(conn, job.id)) == jobs.Progress(3, 10, "passages")
    assert row(conn, job.id).heartbeat == T0

    clock.advance(5)
    finish.set()
    assert job.wait(WAIT)
    done = row(conn, job.id)
    assert done.state == "succeeded"
    assert jobs.progress_of(done) == jobs.Progress(7, 10, "passages")
    assert jobs.progress_of(done).fraction == pytest.approx(0.7)


def test_one_lab_job_per_owner_while_other_owners_and_system_jobs_run(runner, conn):
    release = threading.Event()

    def hold(job: jobs.LiveJob) -> dict:
        release.wait(WAIT)
        return {}

    first = runner.submit("lab-run", hold, owner="ada", subject="ci-build", one_per_owner=True)
    with pytest.raises(jobs.Busy):
        runner.submit("lab-check", hold, owner="ada", subject="ci-build", one_per_owner=True)
    other = runner.submit("lab-run", hold, owner="bob", subject="ci-build", one_per_owner=True)
    system = [runner.submit("index-build", hold) for _ in range(2)]
    assert job_store.active_for(conn.cursor(), "ada").id == first.id
    release.set()
    for job in [first, other, *system]:
        assert job.wait(WAIT) and job.state == "succeeded"
    assert job_store.active_for(conn.cursor(), "ada") is None
    again = runner.submit("lab-check", hold, owner="ada", subject="ci-build", one_per_owner=True)
    assert again.wait(WAIT) and again.state == "succeeded"


def test_a_refused_job_leaves_no_log_file(runner, tmp_path):
    release = threading.Event()
    first = runner.submit(
        "lab-run", lambda job: release.wait(WAIT) and {}, owner="ada", one_per_owner=True, log=True
    )
    with pytest.raises(jobs.Busy):
        runner.submit("lab-run", lambda job: {}, owner="ada", one_per_owner=True, log=True)
    release.set()
    assert first.wait(WAIT)
    assert [p.name for p in (tmp_path / "jobs").iterdir()] == [f"{first.id}.log"]


def test_a_failing_job_ends_failed_with_its_error_and_traceback_in_its_log(runner, conn):
    def work(job: jobs.LiveJob) -> dict:
        job.log("starting")
        raise RuntimeError("the disk is full")

    job = runner.submit("lab-run", work, owner="ada", subject="ci-build", log=True)
    assert job.wait(WAIT)
    assert (job.state, job.error) == ("failed", "the disk is full")
    failed = row(conn, job.id)
    assert failed.state == "failed"
    assert json.loads(failed.result_json) == {"error": "the disk is full"}
    text = open(failed.log_path, encoding="utf-8").read()
    assert text.startswith("starting\nerror: the disk is full\nTraceback")
    assert "RuntimeError: the disk is full" in text


def test_work_that_handles_its_failure_keeps_its_own_result(runner, conn):
    def work(job: jobs.LiveJob) -> dict:
        raise jobs.Failed("sandbox missing", {"status": "error", "passed": None})

    job = runner.submit("lab-check", work, owner="ada", subject="ci-build", one_per_owner=True)
    assert job.wait(WAIT)
    failed = row(conn, job.id)
    assert failed.state == "failed"
    assert json.loads(failed.result_json) == {"status": "error", "passed": None}
    assert job_store.active_for(conn.cursor(), "ada") is None  # the slot is free again


def test_a_restart_marks_the_jobs_left_running_failed_and_frees_their_slots(tmp_path, clock):
    """A process killed mid-run leaves its rows running (a kill -9 runs no finally): the next
    process's runner marks them failed at start-up and the profile may start a lab job again."""
    path = tmp_path / "state.duckdb"
    killed = open_state(path)
    lab = _running_row("lab-run", "ada", "ci-build")
    sweep = _running_row("exam-sweep", jobs.SYSTEM, "")
    assert job_store.start(killed.cursor(), lab, one_per_owner=True) is not None
    assert job_store.start(killed.cursor(), sweep) is not None
    killed.close()

    reopened = open_state(path)
    clock.advance(60)
    runner = jobs.Jobs(reopened.cursor, clock)
    assert runner.fail_orphans() == 2
    for job_id in (lab.id, sweep.id):
        orphan = row(reopened, job_id)
        assert (orphan.state, orphan.finished_at) == ("failed", T0 + timedelta(seconds=60))
        assert "stopped" in json.loads(orphan.result_json)["error"]
    again = runner.submit("lab-run", lambda job: {}, owner="ada", one_per_owner=True)
    assert again.wait(WAIT) and again.state == "succeeded"
    assert runner.fail_orphans() == 0
    reopened.close()


def _running_row(kind: str, owner: str, subject: str) -> job_store.Job:
    return job_store.Job(
        id=f"{kind}-left-running",
        kind=kind,
        owner=owner,
        subject=subject,
        state="running",
        started_at=T0,
        heartbeat=T0,
        finished_at=None,
        log_path=None,
        result_json=None,
    )


def test_a_periodic_job_is_one_row_that_counts_its_runs_and_retries_sooner(runner, conn):
    answers = iter([False, False, True, True])
    calls: list[datetime] = []

    def work(db, now: datetime) -> bool:
        calls.append(now)
        db.execute("SELECT 1").fetchall()  # the work gets a working cursor of its own
        return next(answers, True)

    periodic = runner.every("checkpoint", work, seconds=3600, retry_seconds=0.001)
    # Runs at once, is refused twice, retried each time after retry_seconds, then done; the
    # next run waits the full hour.
    assert periodic.wait_for(lambda: periodic.done >= 1, WAIT)
    assert (periodic.skipped, periodic.done, periodic.failed) == (2, 1, 0)
    assert periodic.job.progress.total == 3
    assert not periodic.wait_for(lambda: periodic.done >= 2, 0.2)
    periodic.seconds = 0.001
    periodic.wake()
    assert periodic.wait_for(lambda: periodic.done >= 2, WAIT)
    periodic.stop()
    ended = row(conn, periodic.job.id)
    assert (ended.kind, ended.owner, ended.state) == ("checkpoint", "system", "succeeded")
    result = json.loads(ended.result_json)
    assert result["skipped"] == 2 and result["done"] >= 2 and result["failed"] == 0


def test_a_periodic_job_outlives_a_run_that_raises(runner):
    outcomes = iter([RuntimeError("no table"), True])

    def work(db, now) -> bool:
        outcome = next(outcomes, True)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    periodic = runner.every("exam-sweep", work, seconds=0.001)
    assert periodic.wait_for(lambda: periodic.done >= 1, WAIT)
    assert periodic.failed == 1


def test_the_sweep_job_finalizes_an_expired_exam_attempt(conn, clock, tmp_path):
    from triops.quiz import exam as engine
    from triops.quiz.bank import load_bank
    from triops.quiz.blueprint import load_exams
    from triops.store import attempts, users
    from triops.ui.resources import SWEEP_SECONDS, sweep_expired

    ada = users.create_user(conn, "Ada", T0).id
    bank = load_bank(REPO)
    attempt = engine.start(
        conn, load_exams(REPO, bank).get("devops-practitioner"), bank, ada, T0, random.Random(1)
    )
    clock.advance((attempt.deadline - T0).total_seconds() + 3600)
    runner = jobs.Jobs(conn.cursor, clock)
    try:
        sweep = runner.every("exam-sweep", sweep_expired, seconds=SWEEP_SECONDS)
        assert sweep.wait_for(lambda: sweep.done >= 1, WAIT)
    finally:
        runner.close()
    finished = attempts.by_token(conn, attempt.token)
    assert finished.state == "finished"
    assert finished.finished_at == attempt.deadline


def test_only_the_jobs_module_starts_threads():
    """triops.jobs is the one place background threads start (DESIGN.md "Jobs")."""
    files = sorted((REPO / "src" / "triops").rglob("*.py")) + sorted(
        (REPO / "app_pages").glob("*.py")
    )
    starters = []
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", None))
                if name in ("Thread", "Timer", "ThreadPoolExecutor", "start_new_thread"):
                    starters.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert {s.split(":")[0] for s in starters} == {"src/triops/jobs.py"}, starters


def test_progress_of_a_row_without_progress_is_none(runner, conn):
    job = runner.submit("demo", lambda job: {"answer": 1})
    assert job.wait(WAIT)
    assert jobs.progress_of(row(conn, job.id)) is None
    assert jobs.progress_of(None) is None


@pytest.mark.slow
def test_the_index_build_is_a_system_job_whose_row_keeps_its_progress(use_root, mini_root):
    """The app's index build (ui/search_state) runs as an 'index-build' job owned by 'system':
    the page reads its progress from the job, and the row ends with every passage counted."""
    from triops.ui import resources, search_state

    use_root(mini_root)
    build = search_state.index_build()
    try:
        assert build.job is not None and build.job.kind == "index-build"
        assert build.job.wait(300), "the index build did not end"
        assert (build.state, build.error) == ("ready", "")
        assert build.index is not None and build.done == build.total > 0
        finished = job_store.latest(resources.state_db(), jobs.SYSTEM, "search-index")
        assert (finished.id, finished.state) == (build.job.id, "succeeded")
        progress = jobs.progress_of(finished)
        assert (progress.done, progress.total) == (build.total, build.total)
        result = json.loads(finished.result_json)
        assert result["passages"] == build.total == result["encoded"] + result["reused"]
        # The course has not changed: asking again starts no second build.
        assert search_state.index_build().job is build.job
    finally:
        resources.jobs().close()


def test_a_replica_restarting_fails_only_its_own_jobs_not_another_replicas(tmp_path, clock):
    """Replicas share one database: a replica that restarts marks failed the in-process jobs
    its predecessor left running (same TRIOPS_REPLICA name), while the jobs another replica is
    running stay running. A runner with no name (the only process) fails every one."""
    path = tmp_path / "state.duckdb"
    conn = open_state(path)
    release = threading.Event()
    one = jobs.Jobs(conn.cursor, clock, instance="replica-1")
    two = jobs.Jobs(conn.cursor, clock, instance="replica-2")
    mine = one.submit("lab-run", lambda job: release.wait(WAIT) and {}, owner="ada")
    theirs = two.submit("lab-run", lambda job: release.wait(WAIT) and {}, owner="bob")
    try:
        assert row(conn, mine.id).worker == "replica-1"
        restarted = jobs.Jobs(conn.cursor, clock, instance="replica-1")
        assert restarted.fail_orphans() == 1
        assert row(conn, mine.id).state == "failed"
        assert row(conn, theirs.id).state == "running"
        assert jobs.Jobs(conn.cursor, clock).fail_orphans() == 1  # unnamed: every in-process row
        assert row(conn, theirs.id).state == "failed"
    finally:
        release.set()
        mine.wait(WAIT)
        theirs.wait(WAIT)
        conn.close()
