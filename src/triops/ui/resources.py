"""Process-wide resources, cached by Streamlit: the state database, the course, market data."""

from __future__ import annotations

import atexit
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import streamlit as st

from triops.config import Settings, get_settings
from triops.content.knowledge import Knowledge, load_knowledge
from triops.content.loader import ParseCache, load_course
from triops.content.models import Course
from triops.content.problems import Problem
from triops.jobs import Jobs, Periodic
from triops.market.data import MarketData, data_fingerprint, load_market_data
from triops.ops import REPLICA
from triops.store import market as market_store
from triops.store.connection import checkpoint, open_state


def settings() -> Settings:
    return get_settings()


SWEEP_SECONDS = 60
RETRY_SECONDS = 5.0

log = logging.getLogger("triops.maintenance")


def sweep_expired(db: duckdb.DuckDBPyConnection, now: datetime) -> bool:
    """Finalize exam attempts whose time has run out (a periodic job's body)."""
    from triops.quiz.exam import sweep

    sweep(db, now)
    return True


def checkpoint_now(db: duckdb.DuckDBPyConnection, now: datetime) -> bool:
    """One checkpoint (a periodic job's body); False, and nothing raised, when DuckDB refuses it
    for now. DuckDB refuses a CHECKPOINT while another transaction has updated rows ("Cannot
    CHECKPOINT: there are other write transactions active"), as a lab run's job heartbeat does
    while it writes: the job tries again RETRY_SECONDS later. FORCE CHECKPOINT is never used: it
    aborts those writes."""
    try:
        checkpoint(db)
    except duckdb.TransactionException as exc:
        log.info("checkpoint skipped, retrying in %.0f s: %s", RETRY_SECONDS, exc)
        return False
    except duckdb.Error:
        log.exception("checkpoint failed; retrying in %.0f s", RETRY_SECONDS)
        return False
    return True


@dataclass
class Maintenance:
    """The state database's periodic jobs: the exam-expiry sweep and the checkpoint. Neither
    ever runs in a page's script run."""

    sweep: Periodic
    checkpoint: Periodic


@dataclass
class _StateHandle:
    conn: duckdb.DuckDBPyConnection
    jobs: Jobs
    maintenance: Maintenance
    released: bool = False


def _release(handle: _StateHandle) -> None:
    handle.released = True
    handle.jobs.close()


@st.cache_resource(show_spinner=False, on_release=_release)
def _state_handle(
    path: str, memory_limit: str, threads: int, checkpoint_seconds: int, home: str
) -> _StateHandle:
    from triops.ui.identity import now as utc_now

    conn = open_state(Path(path), memory_limit=memory_limit, threads=threads)
    # A replica (TRIOPS_REPLICA, set by run-cluster and the systemd unit) names its jobs, so
    # that its restart fails only its own predecessor's rows, not the other replicas' jobs.
    replica = os.environ.get(REPLICA, "").strip() or None
    runner = Jobs(conn.cursor, utc_now, log_dir=Path(home) / "jobs", instance=replica)
    # Jobs still marked running were orphaned by the previous process: mark them failed.
    runner.fail_orphans()
    maintenance = Maintenance(
        sweep=runner.every("exam-sweep", sweep_expired, seconds=SWEEP_SECONDS),
        checkpoint=runner.every(
            "checkpoint",
            checkpoint_now,
            seconds=checkpoint_seconds,
            retry_seconds=RETRY_SECONDS,
            first_after=checkpoint_seconds,
        ),
    )

    def _close() -> None:
        runner.close()
        try:
            checkpoint(conn)
            conn.close()
        except duckdb.Error:
            pass

    atexit.register(_close)
    return _StateHandle(conn, runner, maintenance)


# The settings and the handle the last lookup gave. A page run asks for the state database
# two or three times, and st.cache_resource's lookup hashes its five arguments (about 1 ms of
# CPU on the exam page's profile, with the two Path.resolve calls); the same settings object
# gives the same handle until the cache lets it go (st.cache_resource.clear(), which calls
# _release), so only the first call after either change goes through the cache.
_last: tuple[Settings, _StateHandle] | None = None


def _handle() -> _StateHandle:
    global _last
    cfg = settings()
    last = _last
    if last is not None and last[0] is cfg and not last[1].released:
        return last[1]
    handle = _state_handle(
        str(cfg.state_db.resolve()),
        cfg.memory_limit,
        cfg.db_threads,
        cfg.checkpoint_seconds,
        str(cfg.home.resolve()),
    )
    _last = (cfg, handle)
    return handle


def state_db() -> duckdb.DuckDBPyConnection:
    """A cursor on the learner-state database for this script run (one connection per process).

    Nothing else happens here: background work (the sweep and checkpoints among it) runs as
    jobs on their own threads."""
    return _handle().conn.cursor()


def jobs() -> Jobs:
    """The process's background-work runner (lab runs, index builds, the periodic jobs)."""
    return _handle().jobs


def maintenance() -> Maintenance:
    """The periodic sweep and checkpoint of this process's state database."""
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


def labs():
    """Lab specs under TRIOPS_ROOT/labs."""
    from triops.labs.spec import load_labs

    root = settings().root
    cache, lock = _parse_cache(str(root.resolve()))
    lesson_ids = {lesson.id for lesson in course().lessons()}
    with lock:
        return load_labs(root, lesson_ids, cache)
