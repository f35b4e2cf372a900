"""Process-wide resources, cached by Streamlit: the state database, the course, market data."""

from __future__ import annotations

import atexit
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import streamlit as st

from triops.config import Settings, get_settings
from triops.content.knowledge import Knowledge, load_knowledge
from triops.content.loader import ParseCache, load_course
from triops.content.models import Course
from triops.content.problems import Problem
from triops.market.data import MarketData, data_fingerprint, load_market_data
from triops.store import market as market_store
from triops.store.connection import checkpoint, open_state


def settings() -> Settings:
    return get_settings()


SWEEP_SECONDS = 60
RETRY_SECONDS = 5.0

log = logging.getLogger("triops.maintenance")


class Maintenance:
    """Checkpoints and the exam-expiry sweep, on one background thread with its own cursors.

    Neither ever runs in a page's script run. DuckDB refuses a CHECKPOINT while another
    transaction has updated rows ("Cannot CHECKPOINT: there are other write transactions
    active"), as a lab run's job heartbeat does while it writes: the checkpoint is then skipped and
    tried again RETRY_SECONDS later. FORCE CHECKPOINT is never used: it aborts those writes."""

    def __init__(self, connect, checkpoint_seconds: float, sweep_seconds: float = SWEEP_SECONDS):
        self._connect = connect  # returns a new cursor
        self.checkpoint_seconds = checkpoint_seconds
        self.sweep_seconds = sweep_seconds
        self.retry_seconds = RETRY_SECONDS
        self.checkpoints = 0  # done
        self.skipped = 0  # refused because a write was active, retried later
        self.sweeps = 0
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="triops-maintenance", daemon=True)

    def start(self) -> Maintenance:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def wake(self) -> None:
        """Re-read the intervals now (tests shorten them)."""
        self._wake.set()

    def checkpoint_once(self) -> bool:
        """One checkpoint; False (and nothing raised) when DuckDB refuses it for now."""
        cursor = self._connect()
        try:
            checkpoint(cursor)
        except duckdb.TransactionException as exc:
            self.skipped += 1
            log.info("checkpoint skipped, retrying in %.0f s: %s", self.retry_seconds, exc)
            return False
        except duckdb.Error:
            self.skipped += 1
            log.exception("checkpoint failed; retrying in %.0f s", self.retry_seconds)
            return False
        finally:
            cursor.close()
        self.checkpoints += 1
        return True

    def sweep_once(self) -> None:
        """Finalize exam attempts whose time has run out."""
        from triops.quiz.exam import sweep
        from triops.ui.identity import now as utc_now

        cursor = self._connect()
        try:
            sweep(cursor, utc_now())
            self.sweeps += 1
        except Exception:  # the thread must outlive one bad sweep; the next read finalizes
            log.exception("exam expiry sweep failed; trying again in %.0f s", self.sweep_seconds)
        finally:
            cursor.close()

    def _run(self) -> None:
        next_sweep = time.monotonic()
        next_checkpoint = time.monotonic() + self.checkpoint_seconds
        while not self._stopped.is_set():
            now = time.monotonic()
            if now >= next_sweep:
                self.sweep_once()
                next_sweep = now + self.sweep_seconds
            if now >= next_checkpoint:
                done = self.checkpoint_once()
                next_checkpoint = now + (self.checkpoint_seconds if done else self.retry_seconds)
            wait = max(0.0, min(next_sweep, next_checkpoint) - time.monotonic())
            if self._wake.wait(wait):
                self._wake.clear()
                now = time.monotonic()
                next_sweep = min(next_sweep, now + self.sweep_seconds)
                next_checkpoint = min(next_checkpoint, now + self.checkpoint_seconds)


@dataclass
class _StateHandle:
    conn: duckdb.DuckDBPyConnection
    maintenance: Maintenance


def _release(handle: _StateHandle) -> None:
    handle.maintenance.stop()


@st.cache_resource(show_spinner=False, on_release=_release)
def _state_handle(
    path: str, memory_limit: str, threads: int, checkpoint_seconds: int
) -> _StateHandle:
    conn = open_state(Path(path), memory_limit=memory_limit, threads=threads)
    # Jobs still marked running were orphaned by the previous process: mark them failed.
    from triops.labs.service import fail_orphans
    from triops.ui.identity import now as utc_now

    fail_orphans(conn.cursor(), utc_now())
    maintenance = Maintenance(conn.cursor, checkpoint_seconds).start()

    def _close() -> None:
        maintenance.stop()
        try:
            checkpoint(conn)
            conn.close()
        except duckdb.Error:
            pass

    atexit.register(_close)
    return _StateHandle(conn, maintenance)


def _handle() -> _StateHandle:
    cfg = settings()
    return _state_handle(
        str(cfg.state_db.resolve()), cfg.memory_limit, cfg.db_threads, cfg.checkpoint_seconds
    )


def state_db() -> duckdb.DuckDBPyConnection:
    """A cursor on the learner-state database for this script run (one connection per process).

    Nothing else happens here: checkpoints and the expiry sweep run on their own thread."""
    return _handle().conn.cursor()


def maintenance() -> Maintenance:
    """The background checkpoint and sweep of this process's state database."""
    return _handle().maintenance


@st.cache_resource(show_spinner=False)
def _parse_cache(root: str) -> tuple[ParseCache, threading.Lock]:
    return ParseCache(), threading.Lock()


def course() -> Course:
    """The course as it is on disk now; files whose fingerprint is unchanged are not re-parsed."""
    root = settings().root
    cache, lock = _parse_cache(str(root.resolve()))
    with lock:
        return load_course(root, cache)


def knowledge() -> Knowledge:
    """Lifecycles, the comparison matrix and applications, checked against the course's lessons."""
    root = settings().root
    cache, lock = _parse_cache(str(root.resolve()))
    lesson_ids = {lesson.id for lesson in course().lessons()}
    with lock:
        return load_knowledge(root, lesson_ids, cache)


@st.cache_data(show_spinner=False, max_entries=4)
def _market_data(data_dir: str, fingerprint: str) -> MarketData:
    return load_market_data(Path(data_dir))


@st.cache_resource(show_spinner=False, max_entries=2)
def _market_store(derived_dir: str, fingerprint: str, data_dir: str) -> market_store.MarketStore:
    data = _market_data(data_dir, fingerprint)
    path = market_store.build(data, Path(derived_dir))
    return market_store.open_market(path)


def market_data() -> MarketData:
    data_dir = settings().data_dir
    return _market_data(str(data_dir), data_fingerprint(data_dir))


def market() -> market_store.MarketStore:
    """The market-data store for the data files as they are now (rebuilt when they change)."""
    cfg = settings()
    fp = data_fingerprint(cfg.data_dir)
    return _market_store(str(cfg.derived_dir.resolve()), fp, str(cfg.data_dir))


def all_problems() -> list[Problem]:
    """Every problem in content and data, for the Content health page."""
    problems = list(course().problems) + knowledge().problems + market_data().problems
    problems += bank().problems + exams().problems + labs().problems
    return sorted(set(problems))


def bank():
    """The question bank as it is on disk now (cached per file fingerprint)."""
    from triops.quiz.bank import load_bank

    root = settings().root
    cache, lock = _parse_cache(str(root.resolve()))
    lesson_ids = {lesson.id for lesson in course().lessons()}
    with lock:
        return load_bank(root, lesson_ids, cache)


def exams():
    """Exam blueprints that the current bank can fill."""
    from triops.quiz.blueprint import load_exams

    root = settings().root
    current = bank()
    cache, lock = _parse_cache(str(root.resolve()))
    with lock:
        return load_exams(root, current, cache)


def state_connector():
    """A function that opens a new cursor on the state database (for background jobs)."""
    return _handle().conn.cursor


def labs():
    """Lab specs under TRIOPS_ROOT/labs."""
    from triops.labs.spec import load_labs

    root = settings().root
    cache, lock = _parse_cache(str(root.resolve()))
    lesson_ids = {lesson.id for lesson in course().lessons()}
    with lock:
        return load_labs(root, lesson_ids, cache)
