"""Lab runs and index builds on `triops worker` processes through procrastinate, on a throwaway
PostgreSQL 15 (tests/pgserver.py): a queued run's row waits for a worker, a real worker runs it in
the sandbox and keeps its log, report and artifacts in the database, and a worker killed mid-run
(kill -9) leaves the run retried by a second worker or, out of attempts, failed with the reason;
a worker builds the search index, each replica copies the artifact, and a worker whose course is
not the app's refuses with the reason."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conftest import REPO
from triops import jobs
from triops.errors import InvalidInputError, StoreError
from triops.labs import service
from triops.labs.queue import LABS, WAITING, Queue, queue_for
from triops.labs.spec import load_labs
from triops.store import jobs as job_store
from triops.store import labruns
from triops.store.connection import open_state

pytest_plugins = ["tests.pgserver"]

LAB = "ci-build"
# Short enough that a test does not wait the production half minute for a dead worker.
FAST = [
    *("--heartbeat", "0.5", "--stalled-after", "3"),
    *("--check-every", "0.5", "--take-pause", "0.2"),
]


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@pytest.fixture
def pg(pg_url, monkeypatch, tmp_path):
    monkeypatch.setenv("TRIOPS_DATABASE_URL", pg_url)
    conn = open_state(tmp_path / "unused.duckdb")
    yield conn
    conn.close()


@pytest.fixture
def runner(pg, tmp_path):
    made = jobs.Jobs(pg.cursor, utc_now, log_dir=tmp_path / "jobs")
    yield made
    made.close()  # closes its queue too


@pytest.fixture
def lab():
    return load_labs(REPO).get(LAB)


class Workers:
    """`triops worker` processes started by a test, each killed at the end if still alive."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.started: list[tuple[subprocess.Popen, Path]] = []

    def start(self, *args: str, root: Path = REPO) -> subprocess.Popen:
        out = self.tmp_path / f"worker-{len(self.started) + 1}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "triops.cli", "worker", *args],
            stdout=out.open("wb"),
            stderr=subprocess.STDOUT,
            # A home of its own, as on another machine: it shares only the database.
            env={
                **os.environ,
                "TRIOPS_ROOT": str(root),
                "TRIOPS_HOME": str(self.tmp_path / f"worker-{len(self.started) + 1}-home"),
            },
        )
        self.started.append((proc, out))
        return proc

    def output(self, proc: subprocess.Popen) -> str:
        return next(path for p, path in self.started if p is proc).read_text(errors="replace")

    def stop_all(self) -> None:
        for proc, _ in self.started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)


@pytest.fixture
def workers(tmp_path):
    made = Workers(tmp_path)
    yield made
    made.stop_all()


def row(db, job_id: str) -> job_store.Job:
    found = job_store.get(db, job_id)
    assert found is not None
    return found


def wait_for(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"timed out after {seconds:g} s waiting for {what}")


def queue_run(runner, home: Path, lab, kind: str = "run"):
    return service.start(
        runner,
        home=home,
        sandbox_root=Path("/unused-by-the-app"),
        labs_venv=Path("/unused-by-the-app"),
        user_id="ada",
        lab=lab,
        kind=kind,
    )


def test_with_duckdb_there_is_no_queue_and_lab_jobs_stay_in_the_process(tmp_path, monkeypatch):
    monkeypatch.delenv("TRIOPS_DATABASE_URL", raising=False)
    conn = open_state(tmp_path / "state.duckdb")
    try:
        runner = jobs.Jobs(conn.cursor, utc_now, log_dir=tmp_path / "jobs")
        assert queue_for(runner) is None
        job = runner.submit("lab-run", lambda job: {"ok": 1}, owner="ada", log=True)
        assert isinstance(job, jobs.LiveJob) and job.wait(30)
        assert row(conn, job.id).queue_id is None
    finally:
        conn.close()


def test_a_queued_run_waits_for_a_worker_with_the_learners_files_and_one_per_profile(
    pg, runner, lab, triops_home
):
    folder = service.files_dir(triops_home, "ada", lab)
    rel = lab.spec.editable[0]
    service.save_file(folder, lab, rel, "# edited before the run\n")
    queued = queue_run(runner, triops_home, lab)
    assert isinstance(queue_for(runner), Queue)
    found = row(pg, queued.id)
    # Running while queued, so the lab page refreshes it; its progress and log say why it waits.
    assert found.state == "running" and found.kind == "lab-run" and found.subject == LAB
    assert jobs.progress_of(found).message == WAITING
    assert service.read_log(found).startswith("Queued at ")
    assert WAITING in service.read_log(found)
    assert found.queue_id is not None and found.worker is None
    assert service.current_job(pg, "ada").id == queued.id
    # The procrastinate job carries the files as they were when queued.
    task = pg.execute(
        "SELECT queue_name, task_name, status, args FROM procrastinate_jobs WHERE id = ?",
        [found.queue_id],
    ).fetchone()
    assert task[:3] == (LABS, "triops:lab_job", "todo")
    args = task[3] if isinstance(task[3], dict) else json.loads(task[3])
    assert args["job_id"] == queued.id and args["kind"] == "run"
    assert args["files"][rel] == "# edited before the run\n"
    with pytest.raises(InvalidInputError, match="still going"):
        queue_run(runner, triops_home, lab, "check")
    # An app process that restarts leaves a queued job alone: its worker ends it.
    assert runner.fail_orphans() == 0
    assert row(pg, queued.id).state == "running"
    assert service.current_job(pg, "ada").id == queued.id


def test_the_worker_needs_postgresql(monkeypatch):
    monkeypatch.delenv("TRIOPS_DATABASE_URL", raising=False)
    done = subprocess.run(
        [sys.executable, "-m", "triops.cli", "worker"], capture_output=True, text=True
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: triops worker needs TRIOPS_DATABASE_URL")
    assert "Traceback" not in done.stderr


def test_a_worker_refuses_a_stalled_time_a_live_worker_could_reach(pg_url, monkeypatch):
    monkeypatch.setenv("TRIOPS_DATABASE_URL", pg_url)
    done = subprocess.run(
        [sys.executable, "-m", "triops.cli", "worker", "--heartbeat", "10", "--stalled-after", "8"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "error: --stalled-after (8 s) must be longer than --heartbeat (10 s), "
        "or a live worker would be taken for a dead one"
    )
    done = subprocess.run(
        [sys.executable, "-m", "triops.cli", "worker", "--queue", "exams"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == "error: unknown queue exams (queues: labs, index)"


def slow_down(home: Path, lab, seconds: int = 10) -> None:
    """Ada's workflow waits `seconds` before linting, so that a worker killed once her run has
    printed is killed mid-run however quickly the machine runs the rest (the test kills it
    within a poll, 0.2 s, of the log showing the run; a second worker's rerun waits the same
    `seconds` again)."""
    folder = service.files_dir(home, "ada", lab)
    rel = ".github/workflows/ci.yml"
    text = service.read_file(folder, lab, rel)
    wait = f"      - name: Wait\n        run: sleep {seconds}\n      - name: Lint\n"
    assert "      - name: Lint\n" in text
    service.save_file(folder, lab, rel, text.replace("      - name: Lint\n", wait, 1))


def _started(pg, job_id: str, attempt: int):
    """The job once a worker has taken it for `attempt` and its sandbox run has printed."""
    found = job_store.get(pg, job_id)
    if found is None or found.log_text is None:
        return None
    text = found.log_text
    mark = f"Attempt {attempt} on worker "
    if mark not in text:
        return None
    after = text.split(mark, 1)[1].splitlines()
    return found if len(after) >= 2 else None


@pytest.mark.usefixtures("sandbox_required")
def test_a_worker_killed_mid_run_leaves_the_run_to_a_second_worker(
    pg, runner, lab, triops_home, workers
):
    first = workers.start("--attempts", "2", *FAST)
    slow_down(triops_home, lab)
    queued = queue_run(runner, triops_home, lab)
    taken = wait_for(lambda: _started(pg, queued.id, 1), 120, "the first worker's run to start")
    assert taken.worker == f"{os.uname().nodename}:{first.pid}"
    os.kill(first.pid, signal.SIGKILL)  # mid-run: no chance to tidy up
    first.wait(10)
    assert row(pg, queued.id).state == "running"
    second = workers.start("--attempts", "2", *FAST)
    done = wait_for(
        lambda: (found := row(pg, queued.id)).state != "running" and found, 240, "the rerun"
    )
    output = workers.output(second)
    assert done.state == "succeeded", (done.result_json, done.log_text, output)
    text = done.log_text
    assert f"Attempt 1 on worker {os.uname().nodename}:{first.pid}" in text
    assert "stopped sending its heartbeat" in text and "queued again" in text
    assert f"Attempt 2 on worker {os.uname().nodename}:{second.pid}" in text
    assert done.worker == f"{os.uname().nodename}:{second.pid}"
    assert service.current_job(pg, "ada") is None
    # One record of the run, and its report and artifacts where any replica can show them.
    history = service.history(pg, "ada", lab)
    assert [(r.job_id, r.kind) for r in history] == [(queued.id, "run")]
    kept = labruns.run_files(pg, queued.id)
    assert "report.json" in kept
    assert any(path.startswith("artifacts/") for path in kept)
    shown = service.results_folder(pg, triops_home / "replica-b", "ada", lab, queued.id)
    assert json.loads((shown / "report.json").read_text()) == json.loads(kept["report.json"])
    assert sorted(
        p.relative_to(shown).as_posix() for p in shown.rglob("*") if p.is_file()
    ) == sorted(kept)
    # procrastinate's own record: succeeded, having counted two attempts (the one the stalled
    # check ended by queueing it again, and the one that succeeded).
    status = pg.execute(
        "SELECT status, attempts FROM procrastinate_jobs WHERE id = ?", [done.queue_id]
    ).fetchone()
    assert status == ("succeeded", 2)


@pytest.mark.usefixtures("sandbox_required")
def test_out_of_attempts_a_killed_workers_run_ends_failed_with_the_reason(
    pg, runner, lab, triops_home, workers
):
    first = workers.start("--attempts", "1", *FAST)
    slow_down(triops_home, lab)
    queued = queue_run(runner, triops_home, lab, "check")
    wait_for(lambda: _started(pg, queued.id, 1), 120, "the first worker's check to start")
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    workers.start("--attempts", "1", *FAST)
    done = wait_for(
        lambda: (found := row(pg, queued.id)).state != "running" and found, 60, "the verdict"
    )
    assert done.state == "failed"
    reason = json.loads(done.result_json)["error"]
    assert "stopped sending its heartbeat for more than 3 s" in reason
    assert "it had run 1 time(s), the most allowed" in reason
    assert f"error: {reason}" in service.read_log(done)
    assert service.current_job(pg, "ada") is None  # the profile may run again
    status = pg.execute(
        "SELECT status FROM procrastinate_jobs WHERE id = ?", [done.queue_id]
    ).fetchone()
    assert status == ("failed",)


def _index_job(runner, chunks, derived: Path, seen: list):
    """A replica's build job, as the app's search state runs it with a queue."""
    from triops.search.embedder import default_embedder

    emb = default_embedder(None, derived)  # nothing loads: the replica only copies
    made: dict = {}

    def work(job: jobs.LiveJob) -> dict:
        index, stats = queue_for(runner).index_from_worker(
            job, chunks, emb, derived, model="", on_progress=lambda d, t: seen.append((d, t))
        )
        made.update(index=index, stats=stats)
        return {"passages": stats.chunks}

    return runner.submit("index-build", work, subject="search-index"), made


def _queued_builds(pg) -> list:
    return pg.execute(
        "SELECT id, state, worker FROM jobs WHERE kind = 'index-build' AND queue_id IS NOT NULL"
    ).fetchall()


@pytest.mark.slow
def test_a_worker_builds_the_index_and_each_replica_copies_it(pg, runner, small_course, workers):
    from triops.search.service import course_chunks
    from triops.store.vectors import artifact_path

    chunks = course_chunks(small_course, load_labs)
    worker = workers.start("--queue", "index", *FAST, root=small_course)
    seen: list = []
    replica_a = Path(workers.tmp_path) / "replica-a"
    job, made = _index_job(runner, chunks, replica_a, seen)
    assert job.wait(600), "the replica's build job did not end"
    assert job.state == "succeeded", (job.error, workers.output(worker))
    # The worker's progress reached the replica's job as it went, not only at the end.
    assert any(0 < done < total for done, total in seen), seen[:5]
    assert made["index"].chunks == chunks
    [(worker_job, state, by)] = _queued_builds(pg)
    assert (state, by) == ("succeeded", f"{os.uname().nodename}:{worker.pid}")
    copied = artifact_path(replica_a, made["index"].model_id)
    name, fingerprint = copied.name, row(pg, worker_job).subject.split(":", 1)[1]
    assert copied.read_bytes() == job_store.artifact(pg, name, fingerprint)
    # A second replica finds the artifact kept: it copies it and queues nothing.
    replica_b = Path(workers.tmp_path) / "replica-b"
    again, made_b = _index_job(runner, chunks, replica_b, [])
    assert again.wait(60) and again.state == "succeeded", again.error
    assert len(_queued_builds(pg)) == 1
    assert made_b["index"].chunks == chunks
    assert artifact_path(replica_b, made["index"].model_id).read_bytes() == copied.read_bytes()


def test_a_worker_whose_course_is_not_the_apps_refuses_the_build_with_the_reason(
    pg, runner, small_course, workers
):
    import shutil

    from triops.search.service import course_chunks

    chunks = course_chunks(small_course, load_labs)
    # The app's course with one lesson edited on the worker: not the app's course any more.
    theirs = Path(workers.tmp_path) / "worker-course"
    shutil.copytree(small_course, theirs)
    lesson = sorted((theirs / "content").rglob("[0-9][0-9]-*.md"))[0]
    lesson.write_text(lesson.read_text() + "\nA paragraph only the worker's copy has.\n")
    workers.start("--queue", "index", *FAST, root=theirs)
    job, _ = _index_job(runner, chunks, Path(workers.tmp_path) / "replica", [])
    assert job.wait(120), "the replica's build job did not end"
    assert job.state == "failed"
    assert "the index build on a worker failed: this worker's course at" in job.error
    assert "is not the app's" in job.error and "deploy the same course" in job.error
    [(worker_job, state, _)] = _queued_builds(pg)
    assert state == "failed"
    assert "is not the app's" in service.read_log(row(pg, worker_job))


@pytest.fixture
def app_state(pg):
    """The app's state handle (AppTest runs the app in this process) is closed after the
    test, before its database is dropped: its jobs, queue and pool go with it."""
    yield
    import streamlit as st

    from triops.ui import resources

    handle = resources._handle()
    handle.jobs.close()
    handle.conn.close()
    st.cache_resource.clear()


@pytest.mark.usefixtures("sandbox_required", "app_state")
def test_the_lab_page_shows_a_queued_run_after_a_refresh_and_its_workers_results(
    pg, workers, triops_home
):
    from streamlit.testing.v1 import AppTest
    from test_app_labs import open_lab, user_id, wait_finished, with_profile

    at = open_lab(with_profile())
    at.button(key="lab-run").click().run()
    assert not at.exception
    # No worker yet. A new session (a refresh) shows the run waiting, from its row alone.
    fresh = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    refreshed = open_lab(fresh)  # the last profile used, as after a refresh
    assert not refreshed.exception
    assert any(m.value.startswith("**Running…** · run started") for m in refreshed.markdown)
    assert any(WAITING in c.value for c in refreshed.code)
    assert refreshed.button(key="lab-run").disabled
    worker = workers.start(*FAST)
    at = wait_finished(refreshed, 240)
    assert any(m.value.startswith("**Finished**") for m in at.markdown)
    assert any(
        f"Attempt 1 on worker {os.uname().nodename}:{worker.pid}" in c.value for c in at.code
    )
    assert "Your runs" in [h.value for h in at.header]
    # The worker has a home of its own: the page wrote the run's report from the database.
    lab = load_labs(REPO).get(LAB)
    job = service.latest_job(pg, user_id(), lab)
    assert job.state == "succeeded"
    shown = service.run_folder(triops_home, job.owner, lab, job.id)
    assert json.loads((shown / "report.json").read_text()) == json.loads(
        labruns.run_files(pg, job.id)["report.json"]
    )


def _taken_row(pg, worker: str) -> job_store.Job:
    moment = utc_now()
    made = job_store.Job(
        id=jobs.new_job_id(),
        kind="lab-run",
        owner=f"owner-{worker}",
        subject=LAB,
        state="running",
        started_at=moment,
        heartbeat=moment,
        finished_at=None,
        log_path=None,
        result_json=None,
        queue_id=1,
    )
    job_store.start(pg, made, one_per_owner=True)
    return job_store.take(pg, made.id, worker, moment, "Attempt 1.\n")


def test_a_worker_writes_a_jobs_end_again_when_the_database_was_away(pg, tmp_path, monkeypatch):
    import psycopg

    from triops.labs.worker import WorkerContext, settle

    ctx = WorkerContext(
        state=pg, labs=lambda: None, sandbox_root=tmp_path, labs_venv=tmp_path, name="host:1"
    )
    mine = jobs.LiveJob(_taken_row(pg, "host:1"), utc_now, 1.0, keep_log=True)
    mine.state, mine.result = "succeeded", {"status": "success"}
    real, calls = job_store.finish, []

    def away_once(*args, **kwargs):
        calls.append(args[1])
        if len(calls) == 1:
            raise psycopg.OperationalError("the database system is shutting down")
        return real(*args, **kwargs)

    monkeypatch.setattr(job_store, "finish", away_once)
    assert settle(ctx, mine, pause=0.01)
    assert calls == [mine.id, mine.id]
    ended = row(pg, mine.id)
    assert ended.state == "succeeded" and json.loads(ended.result_json)["status"] == "success"
    assert service.current_job(pg, "owner-host:1") is None
    # A row another worker has taken since (this one was taken for dead) is left to it.
    theirs = _taken_row(pg, "host:2")
    late = jobs.LiveJob(theirs, utc_now, 1.0, keep_log=True)
    late.state, late.result = "failed", {"error": "late"}
    assert settle(ctx, late, pause=0.01) is False
    assert row(pg, theirs.id).state == "running" and row(pg, theirs.id).worker == "host:2"
    # Away for good: one clear error, for procrastinate to record the job failed.
    monkeypatch.setattr(
        job_store, "get", lambda *a: (_ for _ in ()).throw(psycopg.OperationalError("gone"))
    )
    with pytest.raises(StoreError, match="ended failed, but its row could not say so: gone"):
        settle(ctx, late, tries=3, pause=0.01)


# --- hands-on task runs on workers --------------------------------------------------------------

TASK = "devops/gate-build-on-tests"


def exam_task(root: Path = REPO):
    from triops.tasks.service import task_by_key

    return task_by_key(root, TASK)


def queue_task_run(runner, task, files=None):
    from triops.tasks import service as task_service

    return task_service.start_run(
        runner,
        sandbox_root=Path("/unused-by-the-app"),
        labs_venv=Path("/unused-by-the-app"),
        user_id="ada",
        task=task,
        files=files,
    )


def finished(pg, job_id: str, seconds: float, what: str) -> job_store.Job:
    return wait_for(lambda: (found := row(pg, job_id)).state != "running" and found, seconds, what)


@pytest.mark.usefixtures("sandbox_required")
def test_a_task_run_in_an_exam_is_queued_and_a_worker_runs_it(pg, runner, workers):
    from triops.tasks.grader import solution_files

    task = exam_task()
    solved = solution_files(task)
    queued = queue_task_run(runner, task, solved)
    found = row(pg, queued.id)
    # Queued as a lab run is, on the labs' queue, with the saved files and the task's digest.
    assert (found.state, found.kind, found.subject) == ("running", "task-run", f"task:{TASK}")
    assert jobs.progress_of(found).message == WAITING and found.worker is None
    task_row = pg.execute(
        "SELECT queue_name, task_name, args FROM procrastinate_jobs WHERE id = ?",
        [found.queue_id],
    ).fetchone()
    assert task_row[:2] == (LABS, "triops:task_run")
    args = task_row[2] if isinstance(task_row[2], dict) else json.loads(task_row[2])
    assert args == {
        "job_id": queued.id,
        "key": TASK,
        "fingerprint": task.fingerprint(),
        "files": solved,
    }
    # One run at a time per profile, a lab run or a task run alike.
    with pytest.raises(InvalidInputError, match="still going"):
        queue_task_run(runner, task)
    worker = workers.start(*FAST)
    done = finished(pg, queued.id, 300, "the worker's task run")
    assert done.state == "succeeded", (done.result_json, done.log_text, workers.output(worker))
    assert json.loads(done.result_json)["status"] == "success"
    log = service.read_log(done)
    assert f"Attempt 1 on worker {os.uname().nodename}:{worker.pid}" in log
    assert log.rstrip().splitlines()[-1].startswith("run: success in ")
    assert service.current_job(pg, "ada") is None


def test_a_worker_whose_task_is_not_the_apps_refuses_the_run_with_the_reason(
    pg, runner, workers, tmp_path
):
    import shutil

    # The worker's course has the task with another check.py: not the app's version of it.
    root = tmp_path / "worker-course"
    (root / "quizzes").mkdir(parents=True)
    shutil.copy2(REPO / "quizzes" / "vocabulary.yaml", root / "quizzes" / "vocabulary.yaml")
    shutil.copytree(REPO / "quizzes" / "tasks" / TASK, root / "quizzes" / "tasks" / TASK)
    with (root / "quizzes" / "tasks" / TASK / "check.py").open("a") as check:
        check.write("# changed on the worker\n")
    task = exam_task()
    theirs = exam_task(root).fingerprint()
    assert theirs != task.fingerprint()
    queued = queue_task_run(runner, task)
    worker = workers.start(*FAST, root=root)
    done = finished(pg, queued.id, 120, "the worker's refusal")
    assert done.state == "failed", workers.output(worker)
    reason = (
        f"this worker's copy of the task {TASK} (fingerprint {theirs}) is not the app's "
        f"(fingerprint {task.fingerprint()}): deploy the same course on the workers"
    )
    assert json.loads(done.result_json)["error"] == reason
    assert f"error: {reason}" in service.read_log(done)
    assert service.current_job(pg, "ada") is None


# --- a worker's database error before a run starts ----------------------------------------------

REFUSE_TAKE = """
CREATE OR REPLACE FUNCTION refuse_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.worker IS NOT NULL AND OLD.worker IS NULL THEN
        RAISE EXCEPTION 'refused by the test: no worker may take a job';
    END IF;
    RETURN NEW;
END $$
"""
# Refuses the worker's take and any end of a job (the row's end cannot be written either).
REFUSE_TAKE_AND_END = REFUSE_TAKE.replace(
    "OLD.worker IS NULL", "OLD.worker IS NULL OR NEW.state <> 'running'"
).replace("no worker may take a job", "no job may be taken or ended")


def queue_status(pg, queue_id: int) -> str:
    found = pg.execute("SELECT status FROM procrastinate_jobs WHERE id = ?", [queue_id])
    return found.fetchone()[0]


def test_a_database_error_before_a_run_starts_ends_its_row_failed_with_the_reason(
    pg, runner, lab, triops_home, workers
):
    pg.execute(REFUSE_TAKE)
    pg.execute(
        "CREATE TRIGGER refuse_jobs BEFORE UPDATE ON jobs FOR EACH ROW EXECUTE FUNCTION "
        "refuse_jobs()"
    )
    queued = queue_run(runner, triops_home, lab)
    worker = workers.start(*FAST)
    name = f"{os.uname().nodename}:{worker.pid}"
    # The worker tries to take the row three times (--take-pause apart), then ends it failed.
    done = finished(pg, queued.id, 120, "the worker to give the run up")
    assert done.state == "failed", workers.output(worker)
    reason = json.loads(done.result_json)["error"]
    assert reason.startswith(f"worker {name} could not start the job: the database refused (")
    assert "refused by the test: no worker may take a job" in reason
    assert f"error: {reason}" in service.read_log(done)
    assert done.worker is None  # never taken: nothing ran
    assert service.current_job(pg, "ada") is None  # the learner may run again
    assert labruns.run_files(pg, queued.id) == {} and service.history(pg, "ada", lab) == []
    wait_for(lambda: queue_status(pg, done.queue_id) == "failed", 30, "procrastinate's record")

    # Now not even the row's end can be written when the run is given up: the row stays
    # running until the database takes writes again, and then a pass of the worker's check
    # ends it, because its procrastinate job has ended.
    pg.execute(REFUSE_TAKE_AND_END)
    again = queue_run(runner, triops_home, lab)
    wait_for(
        lambda: queue_status(pg, row(pg, again.id).queue_id) == "failed",
        120,
        "procrastinate to record the job failed",
    )
    assert row(pg, again.id).state == "running"
    assert service.current_job(pg, "ada").id == again.id
    pg.execute("DROP TRIGGER refuse_jobs ON jobs")
    done = finished(pg, again.id, 60, "the check to end the row")
    assert done.state == "failed"
    reason = json.loads(done.result_json)["error"]
    assert reason == (
        "Its queue job ended failed but the job's row was never ended (the worker lost the "
        f"database before or as the run ended); noticed by worker {name}, so it ends failed."
    )
    assert f"error: {reason}" in service.read_log(done)
    assert service.current_job(pg, "ada") is None
    assert worker.poll() is None  # the worker lived through both


@pytest.mark.usefixtures("sandbox_required", "app_state")
def test_the_exam_page_shows_a_task_run_waiting_after_a_refresh_and_the_workers_log(pg, workers):
    from streamlit.testing.v1 import AppTest
    from test_app_labs import wait_finished
    from test_tasks_app import EXAM, load, token_of, with_profile

    from triops.quiz import exam as engine

    at = with_profile().switch_page("app_pages/exam.py").run()
    at = at.button(key=f"start-{EXAM}").click().run()
    token = token_of(at)
    # A task whose starter runs green (some starters fail their own run, e.g. an eval config
    # without its gate): the run's outcome is then the runner's, not a grade.
    drawn = next(
        d
        for d in load(token)[1].questions
        if engine.is_task(d.question) and d.question.task.endswith("deploy-after-build")
    )
    at.query_params["q"] = str(drawn.position + 1)
    assert not at.run().exception
    at.button(key=f"{token}-t{drawn.position}-run").click().run()
    assert not at.exception
    # No worker yet: a new session on the same address shows the run waiting, from its row.
    fresh = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    fresh.query_params["attempt"] = token
    fresh.query_params["q"] = str(drawn.position + 1)
    fresh.run().switch_page("app_pages/exam.py").run()
    assert not fresh.exception
    assert any(m.value.startswith("**Running…** · run started") for m in fresh.markdown)
    assert any(WAITING in c.value for c in fresh.code)
    assert fresh.button(key=f"{token}-t{drawn.position}-run").disabled
    worker = workers.start(*FAST)
    fresh = wait_finished(fresh, 300)
    assert any(m.value.startswith("**Finished**") for m in fresh.markdown), workers.output(worker)
    log = next(c.value for c in fresh.code if "Attempt 1 on worker" in c.value)
    assert f"Attempt 1 on worker {os.uname().nodename}:{worker.pid}" in log
    assert "run: success in " in log  # the starter runs; Run never grades
    assert not any(c.id in log for c in drawn.question.criteria)
    assert not fresh.button(key=f"{token}-t{drawn.position}-run").disabled
