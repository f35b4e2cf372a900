"""The search index inside the app: built by a background job (triops.jobs) that the app's entry
starts on its first script run (so it is under way before anyone opens Search or Ask), kept in
memory once per process, rebuilt incrementally when the course changes. The job records its
progress, so a page shows it after a refresh; a question asked before it is ready is kept in
the session and answered once it is. With PostgreSQL the job has a `triops worker` build the
index (or finds it built) and copies the artifact (triops.labs.queue.Queue.index_from_worker)."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

import streamlit as st

from triops.jobs import LiveJob
from triops.labs.queue import queue_for
from triops.ui import resources

if TYPE_CHECKING:
    from triops.search.embedder import Embedder
    from triops.search.index import BuildStats, VectorIndex

# Session keys of Ask: the question waiting for the index, and the last answer shown.
PENDING_KEY = "ask_pending"
ANSWER_KEY = "ask_answer"
# Passages encoded per batch: small enough that the progress bar moves every few seconds on two
# cores, large enough to keep the model busy.
BUILD_BATCH = 32
# The subject of the build's job rows (owner "system").
INDEX_SUBJECT = "search-index"


@dataclass
class IndexBuild:
    """The process's search index and the job that builds it (triops.jobs, kind "index-build",
    owner "system"), which pages read without a query.

    `done` counts passages with a vector (reused ones at once, encoded ones batch by batch) out
    of `total`; the clock fields let a page estimate the time left from the build's own pace."""

    fingerprint: str = ""
    index: VectorIndex | None = None
    embedder: Embedder | None = None
    stats: BuildStats | None = None
    job: LiveJob | None = None
    encoding: bool = False  # the model is loaded and the first batch is done
    started: float = 0.0  # time.monotonic() when the build began
    encode_started: float = 0.0  # when the first passage was sent to the model
    encode_base: int = 0  # `done` at that moment (vectors reused from the last build)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def state(self) -> str:
        """idle, loading-model (and the first batch), building, ready or failed."""
        if self.job is None:
            return "idle"
        if self.job.running:
            return "building" if self.encoding else "loading-model"
        return "ready" if self.job.state == "succeeded" else "failed"

    @property
    def busy(self) -> bool:
        return self.job is not None and self.job.running

    @property
    def done(self) -> int:
        return self.job.done if self.job is not None else 0

    @property
    def total(self) -> int:
        return self.job.total if self.job is not None else 0

    @property
    def error(self) -> str:
        return self.job.error if self.job is not None else ""

    def elapsed(self, now: float | None = None) -> float:
        """Seconds since the build began."""
        return ((time.monotonic() if now is None else now) - self.started) if self.started else 0.0

    def seconds_left(self, now: float | None = None) -> float | None:
        """The time left at the pace measured so far (encoded passages per second), or None
        before the pace is known. Passages are encoded longest first, so the pace only gets
        faster and the estimate errs long. Known from the second batch on."""
        if self.state != "building" or not self.encode_started:
            return None
        now = time.monotonic() if now is None else now
        measured = self.done - self.encode_base
        spent = now - self.encode_started
        if measured <= 0 or spent <= 0:
            return None
        return max(0.0, (self.total - self.done) / (measured / spent))


@st.cache_resource(show_spinner=False)
def _build(root: str, derived: str, model: str) -> IndexBuild:
    return IndexBuild()


@st.cache_resource(show_spinner=False)
def embedder(model: str):
    """One embedder per process; the model loads on its first encode, not here."""
    from triops.search.embedder import default_embedder

    return default_embedder(model or None, resources.settings().derived_dir)


def _current_build() -> IndexBuild:
    cfg = resources.settings()
    return _build(str(cfg.root.resolve()), str(cfg.derived_dir.resolve()), cfg.embed_model or "")


def _digest(chunks) -> str:
    return hashlib.sha256("".join(c.hash for c in chunks).encode()).hexdigest()[:16]


def start_index_build() -> None:
    """Start the first build of this process in the background, unless one was started (or
    TRIOPS_SEARCH_WARMUP is off). Called by the app's entry on every script run: it costs a
    dictionary lookup once started. The course is read in the build's thread, not here."""
    cfg = resources.settings()
    if not cfg.search_warmup:
        return
    build = _current_build()
    with build.lock:
        if build.state != "idle" or build.busy:
            return
        _start(build, None, cfg, embedder(cfg.embed_model or ""))


def index_build() -> IndexBuild:
    """The current build; starts (or restarts, incrementally) one when the course changed."""
    cfg = resources.settings()
    build = _current_build()
    chunks = _chunks()
    digest = _digest(chunks)
    with build.lock:
        if build.busy or build.fingerprint == digest and build.state in ("ready", "failed"):
            return build
        _start(build, chunks, cfg, embedder(cfg.embed_model or ""))
    return build


def _chunks():
    from triops.search.chunks import collect

    return collect(resources.course(), resources.bank(), resources.labs())


def _start(build: IndexBuild, chunks, cfg, emb) -> None:
    """Submit a build job (the caller holds build.lock). `chunks` None: read the course in the
    job, as the pages would."""
    build.encoding = build.embedder is not None
    build.started, build.encode_started, build.encode_base = time.monotonic(), 0.0, 0
    if chunks is not None:
        build.fingerprint = _digest(chunks)
    runner = resources.jobs()
    build.job = runner.submit(
        "index-build",
        partial(_work, build, chunks, cfg, emb, queue_for(runner)),
        subject=INDEX_SUBJECT,
    )


def _background_priority() -> None:
    """Lower the calling thread's CPU priority (Linux keeps a nice value per thread)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):
        pass  # not Linux, or not allowed: the build runs at the normal priority


def _work(build: IndexBuild, chunks, cfg, emb, queue, job: LiveJob) -> dict:
    """The build job's body: read the course when not given, encode what the last artifact
    lacks (reporting progress per batch), and hand the index to the pages. With a `queue`
    (PostgreSQL), a worker encodes instead and this process copies the artifact."""
    from triops.search.index import build_index

    calls = 0

    def progress(done: int, total: int) -> None:
        # The first call counts the vectors reused from the last build; the model loads with
        # the first batch, so the pace is measured from the end of that batch on.
        nonlocal calls
        calls += 1
        if calls == 2:
            build.encode_started, build.encode_base = time.monotonic(), int(done)
            build.encoding = True
        job.report(done, total, "passages with a vector")

    if chunks is None:
        # The warm-up nobody waits for yet: at a lower CPU priority (nice 10, this thread only;
        # a job has a thread of its own), so that pages drawn meanwhile come first.
        _background_priority()
        from triops.labs.spec import load_labs
        from triops.search.service import course_chunks

        chunks = course_chunks(cfg.root, load_labs)
        with build.lock:
            build.fingerprint = _digest(chunks)
    job.report(0, len(chunks), "passages with a vector")
    build.embedder = emb
    if queue is not None:
        # PostgreSQL: a `triops worker` builds it (or built it already); this replica copies
        # the artifact (triops.labs.queue).
        build.index, build.stats = queue.index_from_worker(
            job, chunks, emb, cfg.derived_dir, model=cfg.embed_model or "", on_progress=progress
        )
    else:
        build.index, build.stats = build_index(
            chunks, emb, cfg.derived_dir, on_progress=progress, batch=BUILD_BATCH
        )
    job.report(len(chunks), len(chunks), "passages with a vector")
    stats = build.stats
    return {"passages": stats.chunks, "encoded": stats.encoded, "reused": stats.reused}


def keep_question() -> None:
    """The Ask button's callback: keep the question until the index can answer it (a click
    lasts one script run; the index may be ready runs later)."""
    st.session_state[PENDING_KEY] = st.session_state.get("ask_question", "")


def pending_question() -> str | None:
    """The question asked and not yet answered, if any."""
    return st.session_state.get(PENDING_KEY)


def answer_pending(build: IndexBuild):
    """Answer the kept question with the ready index and keep (question, Answer) to show until
    the next question; returns the last one, or None. Raises TriopsError for a question Ask
    refuses (empty or too long), once."""
    question = st.session_state.pop(PENDING_KEY, None)
    if question is not None:
        from triops.search.ask import ask

        st.session_state.pop(ANSWER_KEY, None)
        st.session_state[ANSWER_KEY] = (question, ask(question, build.index, build.embedder))
    return st.session_state.get(ANSWER_KEY)


def semantic_embedder():
    """The process's embedder, for grading short answers by meaning."""
    return embedder(resources.settings().embed_model or "")
