"""Process-wide resources, cached by Streamlit: the state database, the course, market data."""

from __future__ import annotations

import atexit
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


@dataclass
class _StateHandle:
    conn: duckdb.DuckDBPyConnection
    lock: threading.Lock
    last_checkpoint: float
    last_sweep: float = float("-inf")


@st.cache_resource(show_spinner=False)
def _state_handle(path: str, memory_limit: str, threads: int) -> _StateHandle:
    conn = open_state(Path(path), memory_limit=memory_limit, threads=threads)

    def _close() -> None:
        try:
            checkpoint(conn)
            conn.close()
        except duckdb.Error:
            pass

    atexit.register(_close)
    # Jobs still marked running were orphaned by the previous process: mark them failed.
    from triops.labs.service import fail_orphans
    from triops.ui.identity import now as utc_now

    fail_orphans(conn.cursor(), utc_now())
    return _StateHandle(conn, threading.Lock(), time.monotonic())


def state_db() -> duckdb.DuckDBPyConnection:
    """A cursor on the learner-state database for this script run (one connection per process)."""
    cfg = settings()
    handle = _state_handle(str(cfg.state_db.resolve()), cfg.memory_limit, cfg.db_threads)
    now = time.monotonic()
    if now - handle.last_sweep > SWEEP_SECONDS and handle.lock.acquire(False):
        try:
            handle.last_sweep = now
            # Expired exam attempts are finalized by the server, not by a browser's submit.
            from triops.quiz.exam import sweep
            from triops.ui.identity import now as utc_now

            sweep(handle.conn.cursor(), utc_now())
        finally:
            handle.lock.release()
    if now - handle.last_checkpoint > cfg.checkpoint_seconds and handle.lock.acquire(False):
        try:
            handle.last_checkpoint = now
            checkpoint(handle.conn)
        finally:
            handle.lock.release()
    return handle.conn.cursor()


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
    cfg = settings()
    handle = _state_handle(str(cfg.state_db.resolve()), cfg.memory_limit, cfg.db_threads)
    return handle.conn.cursor


def labs():
    """Lab specs under TRIOPS_ROOT/labs."""
    from triops.labs.spec import load_labs

    root = settings().root
    cache, lock = _parse_cache(str(root.resolve()))
    lesson_ids = {lesson.id for lesson in course().lessons()}
    with lock:
        return load_labs(root, lesson_ids, cache)
