"""The search index inside the app: built in a background thread after the first search page
view (never at start-up), kept in memory, rebuilt incrementally when the course changes."""

from __future__ import annotations

import hashlib
import threading
import time
import traceback
from dataclasses import dataclass, field

import streamlit as st

from triops.ui import resources


@dataclass
class IndexBuild:
    """Progress and result of the current build; read by pages, written by the thread."""

    state: str = "idle"  # idle, loading-model, building, ready, failed
    done: int = 0
    total: int = 0
    encoded: int = 0
    reused: int = 0
    seconds: float = 0.0
    error: str = ""
    fingerprint: str = ""
    index: object | None = None
    embedder: object | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    thread: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


@st.cache_resource(show_spinner=False)
def _build(root: str, derived: str, model: str) -> IndexBuild:
    return IndexBuild()


@st.cache_resource(show_spinner=False)
def embedder(model: str):
    """One embedder per process; the model loads on its first encode, not here."""
    from triops.search.embedder import default_embedder

    return default_embedder(model or None, resources.settings().derived_dir)


def _chunks():
    from triops.search.chunks import collect

    return collect(resources.course(), resources.bank(), resources.labs())


def index_build() -> IndexBuild:
    """The current build; starts (or restarts, incrementally) one when the course changed."""
    cfg = resources.settings()
    model = cfg.embed_model or ""
    build = _build(str(cfg.root.resolve()), str(cfg.derived_dir.resolve()), model)
    chunks = _chunks()
    digest = hashlib.sha256("".join(c.hash for c in chunks).encode()).hexdigest()[:16]
    with build.lock:
        if build.busy or build.fingerprint == digest and build.state in ("ready", "failed"):
            return build
        build.fingerprint = digest
        build.state = "loading-model" if build.embedder is None else "building"
        build.done, build.total, build.error = 0, len(chunks), ""
        build.thread = threading.Thread(
            target=_run,
            args=(build, chunks, cfg.derived_dir, embedder(model)),
            name="search-index-build",
            daemon=True,
        )
        build.thread.start()
    return build


def _run(build: IndexBuild, chunks, derived_dir, emb) -> None:
    from triops.search.index import build_index

    start = time.monotonic()

    def progress(*args) -> None:
        if len(args) >= 2:
            build.done, build.total = int(args[0]), int(args[1])
        build.state = "building"

    try:
        build.embedder = emb
        index, stats = build_index(chunks, emb, derived_dir, on_progress=progress)
        build.index = index
        build.encoded = getattr(stats, "encoded", 0)
        build.reused = getattr(stats, "reused", 0)
        build.done = build.total
        build.state = "ready"
    except Exception as exc:  # shown on the page; the app keeps working without search
        build.error = f"{exc}\n{traceback.format_exc(limit=3)}"
        build.state = "failed"
    finally:
        build.seconds = time.monotonic() - start


def semantic_embedder():
    """The process's embedder, for grading short answers by meaning."""
    return embedder(resources.settings().embed_model or "")
