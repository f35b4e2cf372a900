"""Background work, one way (DESIGN.md "Jobs"): lab runs and checks, search index builds, the
exam-expiry sweep and the checkpoint all run here, outside any page's script run.

`Jobs` is the only place in Triops that starts a thread. Each piece of work is a job row
(triops.store.jobs: kind, owner, subject, state, started, heartbeat, finished, result) written
through a cursor of the job's own thread; while it runs, the work reports progress (done of
total and a message) that is kept in memory for this process's pages and written to the row, at
most every `beat_seconds`, with the heartbeat, so a page shows it after a refresh. A process
that starts marks the jobs its predecessor left running as failed (`fail_orphans`); replicas
sharing one database name themselves (`instance`, TRIOPS_REPLICA) so that each fails only its own.

Two shapes: `submit` runs a function once (a lab run, an index build); `every` runs one again
and again on a timer as one long job of its own (the sweep, the checkpoint).

With PostgreSQL (TRIOPS_DATABASE_URL), lab runs and index builds go to a procrastinate queue
instead (triops.labs.queue, attached to the runner): `triops worker` processes run them through
`run_job` here, with the same row, progress and log, the log kept on the row (`keep_log`) where
every replica reads it. With DuckDB everything runs here, in-process, as before."""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from triops.errors import InvalidInputError
from triops.store import jobs as store
from triops.store.jobs import Job

SYSTEM = "system"
"""The owner of installation-wide work (index builds, the sweep, the checkpoint)."""

BEAT_SECONDS = 5.0
LOG_CAP = 200_000
"""The most of a log kept on a job's row (a queued job's; the end is kept)."""

log = logging.getLogger("triops.jobs")

Connect = Callable[[], Any]
"""Returns a new cursor on the state database (one per thread: a DuckDB cursor is not shared)."""
Clock = Callable[[], datetime]


def new_job_id() -> str:
    return secrets.token_hex(8)


class Busy(InvalidInputError):
    """The owner already has a job of the kind that allows one at a time."""


class Failed(Exception):
    """Raised by a work function that has handled its failure itself: the job ends failed with
    `result` as its result (the work has already written what went wrong to its log)."""

    def __init__(self, message: str, result: dict | None = None):
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    message: str = ""

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total > 0 else 0.0


def progress_of(row: Job | None) -> Progress | None:
    """The progress a job row last recorded (while it runs, or the last before it ended)."""
    if row is None or not row.result_json:
        return None
    try:
        found = json.loads(row.result_json).get("progress")
        return Progress(int(found["done"]), int(found["total"]), str(found.get("message", "")))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


class LiveJob:
    """A job as this process sees it: its work reports progress and log lines through it, and
    pages read its state, progress and error without a query. `db` is the job thread's own
    cursor, for the work's writes."""

    def __init__(self, row: Job, now: Clock, beat_seconds: float, *, keep_log: bool = False):
        self.id, self.kind, self.owner, self.subject = row.id, row.kind, row.owner, row.subject
        self.started = row.started_at
        self.log_path = Path(row.log_path) if row.log_path else None
        self.state = "running"
        self.error = ""
        self.result: dict | None = None
        self.progress: Progress | None = None
        self.db: Any = None
        self.now = now
        self._beat_seconds = beat_seconds
        self._last_write: datetime | None = None
        self._handle: TextIO | None = None
        self._finished = threading.Event()
        # keep_log: the log is kept on the row (log_text), written with the heartbeat and at
        # the end, starting from what the row already holds (an earlier attempt's lines).
        self._lines: list[str] | None = None
        if keep_log:
            self._lines = row.log_text.splitlines() if row.log_text else []

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def done(self) -> int:
        return self.progress.done if self.progress else 0

    @property
    def total(self) -> int:
        return self.progress.total if self.progress else 0

    def report(self, done: int, total: int, message: str = "") -> None:
        """Progress so far: at once for this process, on the row with the next heartbeat.
        Like `log` and `beat`, called from the job's own thread (they write through `db`)."""
        self.progress = Progress(int(done), int(total), message)
        self.beat()

    def log(self, text: str) -> None:
        """Append a line to the job's log file (when it has one): pages tail it while it runs."""
        if self._handle is not None:
            self._handle.write(text + "\n")
            self._handle.flush()
        if self._lines is not None:
            self._lines.extend(text.splitlines() or [""])
        self.beat()

    def log_text(self) -> str | None:
        """The log kept on the row (its last LOG_CAP characters), or None for a log file."""
        if self._lines is None:
            return None
        text = "\n".join(self._lines) + "\n"
        return text if len(text) <= LOG_CAP else "[start of the log cut]\n" + text[-LOG_CAP:]

    def beat(self) -> None:
        """Write the heartbeat (and the progress) when `beat_seconds` have passed since the last."""
        self._beat(self.db)

    def _beat(self, db) -> None:
        if db is None:
            return
        moment = self.now()
        last = self._last_write
        if last is None or (moment - last).total_seconds() >= self._beat_seconds:
            self._last_write = moment
            store.heartbeat(db, self.id, moment, self._result_json({}), self.log_text())

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has ended and its row is final; False on timeout."""
        return self._finished.wait(timeout)

    def _result_json(self, result: dict | None) -> str | None:
        if result is None:
            return None
        out = dict(result)
        if self.progress is not None:
            out["progress"] = {
                "done": self.progress.done,
                "total": self.progress.total,
                "message": self.progress.message,
            }
        return json.dumps(out, default=str) if out else None


def side_by_side(calls: list[Callable[[], Any]], at_most: int) -> list[Any]:
    """Run `calls` on up to `at_most` threads at once and return their results in order (the
    first exception is raised once all have ended). For work that waits on subprocesses, such
    as grading an attempt's tasks in the sandbox; a page or a job calls it and waits."""
    if not calls:
        return []
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, min(at_most, len(calls)))) as pool:
        futures = [pool.submit(call) for call in calls]
        return [future.result() for future in futures]


Work = Callable[[LiveJob], dict | None]
"""A job's body: runs in the job's thread, returns the result kept on its row (JSON-able)."""


class Jobs:
    """Starts and records the process's background work: one per state database."""

    def __init__(
        self,
        connect: Connect,
        now: Clock,
        *,
        log_dir: Path | None = None,
        beat_seconds: float = BEAT_SECONDS,
        instance: str | None = None,
    ):
        self._connect = connect
        # The app replica this runner belongs to (TRIOPS_REPLICA) when several share one
        # PostgreSQL database: its in-process rows carry the name in `worker`, and its start-up
        # fails only its own predecessor's rows. None: the only process on its database.
        self._instance = instance or None
        self._now = now
        self._log_dir = log_dir
        self._beat_seconds = beat_seconds
        self._periodic: list[Periodic] = []
        self._attached: dict[str, Any] = {}
        self._lock = threading.Lock()

    def fail_orphans(self) -> int:
        """Mark the jobs a previous process left running as failed (call once at start-up):
        every in-process row, or with an instance name only the rows of that name (a replica
        restarting leaves the other replicas' running jobs alone)."""
        cursor = self._connect()
        try:
            return store.fail_orphans(cursor, self._now(), instance=self._instance)
        finally:
            cursor.close()

    def submit(
        self,
        kind: str,
        work: Work,
        *,
        owner: str = SYSTEM,
        subject: str = "",
        one_per_owner: bool = False,
        log: bool = False,
    ) -> LiveJob:
        """Record a running job and start `work(job)` on a thread of its own.

        `one_per_owner`: raise Busy while `owner` has another such job running. `log`: give
        the job a log file under the runner's log_dir (job.log appends to it)."""
        row = self._row(kind, owner, subject, log)
        cursor = self._connect()
        try:
            if store.start(cursor, row, one_per_owner=one_per_owner) is None:
                if row.log_path:
                    Path(row.log_path).unlink(missing_ok=True)
                raise Busy(f"{owner} already has a job running.")
        finally:
            cursor.close()
        job = LiveJob(row, self._now, self._beat_seconds)
        self._start(f"job-{kind}-{row.id}", self._run, job, work)
        return job

    def every(
        self,
        kind: str,
        work: PeriodicWork,
        *,
        seconds: float,
        retry_seconds: float | None = None,
        first_after: float = 0.0,
        subject: str = "",
    ) -> Periodic:
        """Run `work(db, now)` every `seconds` on a thread of its own, as one running job owned
        by the system; sooner (`retry_seconds`) after a run that returns False (not done: try
        again soon). The first run comes `first_after` seconds after the start."""
        row = self._row(kind, SYSTEM, subject, log=False)
        cursor = self._connect()
        try:
            store.start(cursor, row)
        finally:
            cursor.close()
        periodic = Periodic(
            self,
            LiveJob(row, self._now, self._beat_seconds),
            work,
            seconds=seconds,
            retry_seconds=seconds if retry_seconds is None else retry_seconds,
        )
        with self._lock:
            self._periodic.append(periodic)
        periodic._thread = self._start(f"job-{kind}", periodic._loop, first_after)
        return periodic

    def attached(self, key: str, make: Callable[[Jobs], Any]) -> Any:
        """A companion of this runner, made once by `make(self)` and closed by `close` when it
        has a close() (the lab queue of triops.labs.queue, say)."""
        with self._lock:
            if key not in self._attached:
                self._attached[key] = make(self)
            return self._attached[key]

    def close(self) -> None:
        """Stop the periodic jobs (their rows end succeeded) and close the queue's connections;
        one-off jobs run to their end (queued ones on their workers)."""
        with self._lock:
            periodic, self._periodic = self._periodic, []
            attached, self._attached = self._attached, {}
        for each in periodic:
            each.stop()
        for companion in attached.values():
            if hasattr(companion, "close"):
                companion.close()

    # -- inside -----------------------------------------------------------------------------

    def _row(self, kind: str, owner: str, subject: str, log: bool) -> Job:
        job_id = new_job_id()
        log_path = None
        if log:
            if self._log_dir is None:
                raise ValueError("this runner has no log_dir for job logs")
            self._log_dir.mkdir(parents=True, exist_ok=True)
            log_path = self._log_dir / f"{job_id}.log"
            log_path.write_text("", encoding="utf-8")
        moment = self._now()
        return Job(
            id=job_id,
            kind=kind,
            owner=owner,
            subject=subject,
            state="running",
            started_at=moment,
            heartbeat=moment,
            finished_at=None,
            log_path=None if log_path is None else str(log_path),
            result_json=None,
            worker=self._instance,
        )

    @staticmethod
    def _start(name: str, target, *args) -> threading.Thread:
        # Daemon: a job never keeps the process alive; a job cut short by an exit is marked
        # failed by the next start's fail_orphans.
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        return thread

    def _run(self, job: LiveJob, work: Work) -> None:
        run_job(job, work, self._connect, self._now)


def run_job(job: LiveJob, work: Work, connect: Connect, now: Clock) -> None:
    """Run `work(job)` on the calling thread with a cursor of its own, then end the job's row
    with the work's result, or failed with the reason (a traceback in the log). A job's thread
    here; a procrastinate task's thread in a `triops worker`."""
    state, result = "succeeded", None
    try:
        job.db = connect()
        if job.log_path is not None:
            job._handle = job.log_path.open("a", encoding="utf-8")
        result = work(job) or {}
    except Failed as exc:
        state, job.error, result = "failed", str(exc), exc.result or {"error": str(exc)}
    except Exception as exc:  # the job reports every failure instead of dying silently
        message = getattr(exc, "user_message", None) or str(exc) or type(exc).__name__
        state, job.error, result = "failed", message, {"error": message}
        log.exception("job %s (%s) failed", job.id, job.kind)
        if job._handle is not None:
            job._handle.write(f"error: {message}\n{traceback.format_exc()}")
        if job._lines is not None:
            job._lines.extend(f"error: {message}\n{traceback.format_exc()}".splitlines())
    finally:
        if job._handle is not None:
            job._handle.close()
            job._handle = None
    try:
        store.finish(job.db, job.id, state, now(), job._result_json(result), job.log_text())
    except Exception:  # the database went away (shutdown): the next start marks it failed
        log.exception("job %s (%s): its row could not be closed", job.id, job.kind)
    finally:
        if job.db is not None:
            job.db.close()
        job.db = None
        job.result, job.state = result, state
        job._finished.set()


PeriodicWork = Callable[[Any, datetime], bool]
"""A periodic job's body, given a cursor and the time: True when done, False when it could not
run this time and should be tried again after retry_seconds."""


class Periodic:
    """Work on a timer, as one running job: counts runs done, refused (retried sooner) and
    failed, and keeps them on its row. Tests and callers may change `seconds` and
    `retry_seconds`, then `wake()` it."""

    def __init__(self, jobs: Jobs, job: LiveJob, work: PeriodicWork, *, seconds, retry_seconds):
        self.job = job
        self.seconds = seconds
        self.retry_seconds = retry_seconds
        self.done = 0
        self.skipped = 0
        self.failed = 0
        self._jobs = jobs
        self._work = work
        self._ran = threading.Condition()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> bool:
        """Run the work now on the caller's thread with a cursor of its own; True when done."""
        return self._tick() == "done"

    def _tick(self) -> str:
        """One run: "done", "skipped" (the work said not now) or "failed" (it raised)."""
        cursor = self._jobs._connect()
        try:
            moment = self._jobs._now()
            try:
                outcome = "done" if self._work(cursor, moment) else "skipped"
            except Exception:  # the timer outlives one bad run; the next one tries again
                log.exception(
                    "periodic job %s failed; next run in %.0f s", self.job.kind, self.seconds
                )
                outcome = "failed"
            with self._ran:
                setattr(self, outcome, getattr(self, outcome) + 1)
                self.job.progress = Progress(
                    self.done,
                    self.done + self.skipped + self.failed,
                    f"last run {moment:%Y-%m-%d %H:%M:%S}: {outcome}",
                )
                self._ran.notify_all()
            self.job._beat(cursor)
            return outcome
        finally:
            cursor.close()

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Block until `predicate()` holds, checked after each run; False on timeout."""
        with self._ran:
            return self._ran.wait_for(predicate, timeout)

    def wake(self) -> None:
        """Re-read `seconds` and `retry_seconds` now."""
        self._wake.set()

    def stop(self) -> None:
        """Stop the timer and close the job's row (succeeded, with its counts)."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        cursor = self._jobs._connect()
        try:
            store.finish(
                cursor,
                self.job.id,
                "succeeded",
                self._jobs._now(),
                self.job._result_json(
                    {"done": self.done, "skipped": self.skipped, "failed": self.failed}
                ),
            )
        except Exception:  # the database is closing: the next start marks the row failed
            log.exception("periodic job %s: its row could not be closed", self.job.kind)
        finally:
            cursor.close()
        self.job.state = "succeeded"
        self.job._finished.set()

    def _loop(self, first_after: float) -> None:
        due = time.monotonic() + first_after
        while not self._stopped.is_set():
            if time.monotonic() >= due:
                again = self.retry_seconds if self._tick() == "skipped" else self.seconds
                due = time.monotonic() + again
            if self._wake.wait(max(0.0, due - time.monotonic())):
                self._wake.clear()
                due = min(due, time.monotonic() + self.seconds)
