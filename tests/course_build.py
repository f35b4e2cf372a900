"""The real course indexed once per test run, and the model's vectors of it kept between runs.

Embedding the whole course (about 1,800 passages) is the costliest setup of the suite. A run
makes the index once, in the run's shared course home (tests/conftest.py `course_home`), and
every process of the run opens what was made. Since 2026-12-07 the making starts in a
background process of its own (`start`, run as `python tests/course_build.py HOME VECTORS`) as
soon as a test process sees that its run needs the index, instead of inside the first test that
asks for it: the test processes go on with other tests meanwhile, where before one pytest-xdist
worker built the index and the other sat waiting on the lock for as long (about two minutes of
an idle core in a clean clone's CI run). Nothing else changes: the index is built the same way,
from nothing, through StoredVectors, and its first build's figures are noted for the tests.

Two locks, beside the course home: `model.lock` while the model is loaded and its query
encoder saved the first time in the run, `course.lock` while the index is built. A process that
needs only the model waits for the first, not for a whole index build. A lock is an flock, so it
is released when the process holding it dies: if the background build fails, the first test that
needs the index builds it (`built_or_build`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock

REPO = Path(__file__).resolve().parents[1]
BUILT = "first-build.json"
LOCKED = "course.lock taken"


class StoredVectors:
    """The session's model behind the vectors it gave the course's passages in earlier runs.

    Embedding the whole course is the costliest setup of the suite (about two CPU minutes on
    this machine), and between two runs few passages change. The vectors are kept in pytest's
    cache folder (.pytest_cache/d/triops-vectors; `pytest --cache-clear` empties it), in one
    file per model: its id and the saved query encoder's key (the packaged weights' sha256 and
    the versions of torch, transformers, sentence-transformers and tokenizers). The file also
    holds the model's vectors of PROBE, compared with the model's own when it is opened: a
    model that gives other vectors under the same key finds nothing. A text is looked up by
    its sha256, so a changed text is encoded by the model. `encoded` counts the texts asked
    for, as the model's own counter does (what a build asks for is what the index tests
    assert); `computed` counts those the model encoded."""

    PROBE = ["A canary release sends a small share of traffic to the new version.", "drift"]

    def __init__(self, model, folder: Path | None, name: str = "course"):
        from triops.search.embedder import _saved_key

        self.model, self.model_id, self.dim = model, model.model_id, model.dim
        key = hashlib.sha256(f"{self.model_id}\n{_saved_key()}".encode()).hexdigest()[:16]
        self.path = None if folder is None else folder / f"vectors-{name}-{key}.npz"
        self.known: dict[str, Any] = {}
        self.used: dict[str, Any] = {}
        self.encoded = self.computed = 0
        if self.path is not None and self.path.is_file():
            self.known = self._read(self.path)

    def _read(self, path: Path) -> dict[str, Any]:
        try:
            with np.load(path) as stored:
                probe, digests, vectors = stored["probe"], stored["digests"], stored["vectors"]
                known = dict(zip(digests.tolist(), vectors, strict=True))
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            return {}  # a damaged file: every text is encoded again, and the file rewritten
        now = np.asarray(self.model.encode(self.PROBE), dtype=np.float32)
        if probe.shape != now.shape or not np.allclose(probe, now, atol=1e-5):
            return {}
        return known

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)  # anything else is the model's

    @staticmethod
    def digest(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def encode(self, texts: list[str]):
        digests = [self.digest(t) for t in texts]
        missing = {d: t for t, d in zip(texts, digests, strict=True) if d not in self.known}
        if missing:
            fresh = np.asarray(self.model.encode(list(missing.values())), dtype=np.float32)
            self.known.update(zip(missing, fresh, strict=True))
            self.computed += len(missing)
        self.encoded += len(texts)
        rows = [self.known[d] for d in digests]
        self.used.update(zip(digests, rows, strict=True))
        return np.stack(rows) if rows else np.zeros((0, self.dim), dtype=np.float32)

    def save(self) -> None:
        """Keep the vectors of the texts used this run (and no others, so the file holds the
        current course and does not grow), replacing the file whole."""
        if self.path is None or not self.used:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        digests = list(self.used)
        with FileLock(str(self.path.with_suffix(".lock"))):
            partial = self.path.with_name(f"{self.path.stem}.{os.getpid()}.tmp.npz")
            np.savez(
                partial,
                probe=np.asarray(self.model.encode(self.PROBE), dtype=np.float32),
                digests=np.array(digests),
                vectors=np.stack([self.used[d] for d in digests]),
            )
            os.replace(partial, self.path)


def model_lock(course_home: Path) -> FileLock:
    return FileLock(str(course_home.parent / f"{course_home.name}.model.lock"))


def course_lock(course_home: Path) -> FileLock:
    return FileLock(str(course_home.with_suffix(".lock")))


def load_model(course_home: Path):
    """The real packaged model. The first load of the run traces the query encoder and saves it
    in the run's derived/ (the other processes then read it), so a page or a child process
    given a copy reads it instead of tracing."""
    from triops.search.embedder import SentenceTransformerEmbedder

    derived = course_home / "derived"
    with model_lock(course_home):
        # Saved once per run: a process that re-saved would replace the files another may be
        # copying at that moment (conftest.copy_derived).
        first = not any(derived.glob("query-encoder-*"))
        return SentenceTransformerEmbedder(cache_dir=derived, save=first).load()


def chunks() -> list:
    from triops.labs.spec import load_labs
    from triops.search.service import course_chunks

    return course_chunks(REPO, load_labs)


def opened(course_home: Path, model_id: str) -> tuple[Any, Any, int] | None:
    """The index a process of this run built, its BuildStats and the texts it encoded; None
    when none was built. Call with course_lock held."""
    from triops.search.index import BuildStats, open_index

    built = course_home / BUILT
    if not built.is_file():
        return None
    noted = json.loads(built.read_text())
    index = open_index(course_home / "derived", model_id)
    if index is None:
        raise RuntimeError(f"{course_home}: the course index noted in {built} is not there")
    return index, BuildStats(**noted["stats"]), noted["encodes"]


def build(course_home: Path, model, vectors: Path | None, passages: list) -> tuple[Any, Any, int]:
    """Build the course index from nothing into the run's derived/ through StoredVectors, and
    note its first build's figures. Call with course_lock held."""
    from triops.search.index import build_index

    stored = StoredVectors(model, vectors)
    index, stats = build_index(passages, stored, course_home / "derived")
    stored.save()
    noted = {"stats": dataclasses.asdict(stats), "encodes": stored.encoded}
    (course_home / BUILT).write_text(json.dumps(noted))
    return index, stats, stored.encoded


def built_or_build(course_home: Path, model, vectors: Path | None, passages: list):
    """The run's course index: opened if a process (the background build, or another worker)
    made it, else built here. Waits while another process is building it."""
    with course_lock(course_home):
        return opened(course_home, model.model_id) or build(course_home, model, vectors, passages)


def start(course_home: Path, vectors: Path | None, log: Path) -> subprocess.Popen | None:
    """Start the background build, once per run (the first process to ask starts it; None for
    the others, and None when it could not start). Returns once the child holds course.lock, so
    no test process can take the lock before it and build the index a second time. The child
    ends by itself when it is done, or as soon as the run is over (`_watch`): the pytest
    process, or under pytest-xdist the controller whose workers may still need the index."""
    course_home.mkdir(parents=True, exist_ok=True)
    try:
        # Whoever creates this file starts the build; the others return at once.
        os.close(os.open(course_home / "prebuild-started", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return None
    env = dict(os.environ, TRIOPS_HOME=str(course_home))
    with open(log, "ab") as out:
        child = subprocess.Popen(
            [sys.executable, __file__, str(run_owner()), str(course_home), str(vectors or "")],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,  # not an xdist worker's stdin, which is its channel
            stdout=subprocess.PIPE,
            stderr=out,
        )
    assert child.stdout is not None
    with child.stdout:
        line = child.stdout.readline().decode().strip()
    if line != LOCKED:
        child.wait(timeout=60)
        return None  # it died before taking the lock: the tests build the index themselves
    return child


def run_owner() -> int:
    """The process whose end ends the test run: the xdist controller (a worker's parent), or
    this pytest process."""
    return os.getppid() if os.environ.get("PYTEST_XDIST_WORKER") else os.getpid()


def _watch(owner: int) -> None:
    """End this process once `owner` is gone (a run stopped early needs no index)."""
    while True:
        time.sleep(1)
        try:
            os.kill(owner, 0)
        except ProcessLookupError:
            os._exit(3)
        except PermissionError:
            pass  # alive, someone else's


def main(argv: list[str]) -> int:
    owner, course_home = int(argv[0]), Path(argv[1])
    vectors = Path(argv[2]) if len(argv) > 2 and argv[2] else None
    threading.Thread(target=_watch, args=(owner,), daemon=True).start()
    with course_lock(course_home):
        print(LOCKED, flush=True)
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # the rest goes to the log
        model = load_model(course_home)
        if opened(course_home, model.model_id) is None:
            build(course_home, model, vectors, chunks())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
