"""The search-index artifact: one DuckDB file per embedding model, rebuilt from the course.

`<derived_dir>/index-<model-slug>.duckdb` holds the chunks of the last build and one vector per
distinct chunk hash, keyed by (hash, model_id). A build writes a new file under a temporary
name and swaps it in with os.replace(), so a reader never sees half a file and never waits on
a writer; readers load everything into memory and close the file at once.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from triops.errors import StoreError
from triops.store.connection import connect

PREFIX = "index-"
FORMAT = 2  # the layout of this file; bump when the tables change
# Layouts whose `vectors` table a build may still reuse (2 added the keyword tables).
VECTOR_FORMATS = ("1", "2")
CHUNK_COLUMNS = ("id", "kind", "track", "title", "section", "anchor", "url", "text", "hash")
_STALE_TMP_SECONDS = 3600


@dataclass
class StoredKeywords:
    """The keyword index's counts: vocabulary, then (term id, chunk position, count) rows
    sorted by term id."""

    vocab: list[str]
    term_ids: np.ndarray  # int32
    doc_ids: np.ndarray  # int32
    tfs: np.ndarray  # int32


@dataclass
class StoredIndex:
    """Everything an index artifact holds, in memory."""

    model_id: str
    dim: int
    embed_format: int
    chunks: list[tuple]  # rows in CHUNK_COLUMNS order, in build order
    hashes: list[str]  # distinct chunk hashes, aligned with `vectors`
    vectors: np.ndarray  # float32 (len(hashes), dim)
    keywords: StoredKeywords | None = None


def model_slug(model_id: str) -> str:
    """A file-name-safe, collision-free name for a model id."""
    readable = re.sub(r"[^a-z0-9]+", "-", model_id.lower()).strip("-")[-60:].strip("-")
    digest = hashlib.sha256(model_id.encode()).hexdigest()[:8]
    return f"{readable}-{digest}" if readable else digest


def artifact_path(derived_dir: Path, model_id: str) -> Path:
    return Path(derived_dir) / f"{PREFIX}{model_slug(model_id)}.duckdb"


def _open(path: Path) -> duckdb.DuckDBPyConnection:
    return connect(path, read_only=True, memory_limit="512MB", threads=1)


def _meta(conn: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(conn.execute("SELECT key, value FROM meta").fetchall())


def _stack(column: np.ndarray, dim: int) -> np.ndarray:
    if len(column) == 0:
        return np.zeros((0, dim), dtype=np.float32)
    return np.ascontiguousarray(np.stack(column), dtype=np.float32)


def read_vectors(path: Path, model_id: str, embed_format: int) -> tuple[list[str], np.ndarray]:
    """The stored vectors of `model_id` (hashes and rows) for reuse by the next build; nothing
    when the file is missing, unreadable, or was built for another model or text format."""
    if not path.is_file():
        return [], np.zeros((0, 0), dtype=np.float32)
    try:
        conn = _open(path)
    except StoreError:
        return [], np.zeros((0, 0), dtype=np.float32)
    try:
        meta = _meta(conn)
        if meta.get("format") not in VECTOR_FORMATS or meta.get("embed_format") != str(
            embed_format
        ):
            return [], np.zeros((0, 0), dtype=np.float32)
        dim = int(meta["dim"])
        got = conn.execute(
            "SELECT hash, vector FROM vectors WHERE model_id = ?", [model_id]
        ).fetchnumpy()
        return list(got["hash"]), _stack(got["vector"], dim)
    except (duckdb.Error, KeyError, ValueError):
        return [], np.zeros((0, 0), dtype=np.float32)
    finally:
        conn.close()


def read_index(path: Path) -> StoredIndex | None:
    """The whole artifact in memory (the file is closed on return); None if there is none or
    it cannot be read (it is derived data: build it again)."""
    if not path.is_file():
        return None
    try:
        conn = _open(path)
    except StoreError:
        return None
    try:
        meta = _meta(conn)
        if meta.get("format") != str(FORMAT):
            return None
        dim = int(meta["dim"])
        columns = ", ".join(CHUNK_COLUMNS)
        chunks = conn.execute(f"SELECT {columns} FROM chunks ORDER BY pos").fetchall()
        got = conn.execute(
            "SELECT hash, vector FROM vectors WHERE model_id = ?", [meta["model_id"]]
        ).fetchnumpy()
        vocab = [
            t for (t,) in conn.execute("SELECT term FROM keyword_terms ORDER BY id").fetchall()
        ]
        post = conn.execute(
            "SELECT term_id, pos, tf FROM keyword_postings ORDER BY term_id, pos"
        ).fetchnumpy()
        return StoredIndex(
            model_id=meta["model_id"],
            dim=dim,
            embed_format=int(meta["embed_format"]),
            chunks=chunks,
            hashes=list(got["hash"]),
            vectors=_stack(got["vector"], dim),
            keywords=StoredKeywords(
                vocab,
                np.asarray(post["term_id"], dtype=np.int32),
                np.asarray(post["pos"], dtype=np.int32),
                np.asarray(post["tf"], dtype=np.int32),
            ),
        )
    except (duckdb.Error, KeyError, ValueError):
        return None
    finally:
        conn.close()


def write_index(
    path: Path,
    *,
    model_id: str,
    embed_format: int,
    chunks: list[tuple],
    hashes: list[str],
    vectors: np.ndarray,
    keywords: StoredKeywords,
) -> Path:
    """Write a new artifact beside `path` and swap it in atomically."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(hashes) != vectors.shape[0]:
        raise ValueError("one vector per hash is needed")
    dim = int(vectors.shape[1])
    if dim < 1:
        raise ValueError("vectors have no dimensions")
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    _unlink(tmp)
    conn = connect(tmp, memory_limit="512MB", threads=1)
    try:
        conn.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        conn.execute(
            f"CREATE TABLE vectors (hash VARCHAR PRIMARY KEY, model_id VARCHAR, "
            f"vector FLOAT[{dim}])"
        )
        conn.execute(
            "CREATE TABLE chunks (pos INTEGER, "
            + ", ".join(f"{c} VARCHAR" for c in CHUNK_COLUMNS)
            + ")"
        )
        meta = {
            "format": FORMAT,
            "model_id": model_id,
            "dim": dim,
            "embed_format": embed_format,
            "chunks": len(chunks),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        conn.executemany("INSERT INTO meta VALUES (?, ?)", [[k, str(v)] for k, v in meta.items()])
        if hashes:
            incoming = pd.DataFrame({"hash": hashes, "model_id": model_id, "vector": list(vectors)})
            conn.register("incoming_vectors", incoming)
            conn.execute(
                f"INSERT INTO vectors SELECT hash, model_id, vector::FLOAT[{dim}] "
                "FROM incoming_vectors"
            )
            conn.unregister("incoming_vectors")
        if chunks:
            rows = pd.DataFrame(list(chunks), columns=list(CHUNK_COLUMNS))
            rows.insert(0, "pos", np.arange(len(rows), dtype=np.int32))
            conn.register("incoming_chunks", rows)
            conn.execute("INSERT INTO chunks SELECT * FROM incoming_chunks")
            conn.unregister("incoming_chunks")
        conn.execute("CREATE TABLE keyword_terms (id INTEGER PRIMARY KEY, term VARCHAR)")
        conn.execute("CREATE TABLE keyword_postings (term_id INTEGER, pos INTEGER, tf INTEGER)")
        if keywords.vocab:
            terms = pd.DataFrame(
                {"id": np.arange(len(keywords.vocab), dtype=np.int32), "term": keywords.vocab}
            )
            conn.register("incoming_terms", terms)
            conn.execute("INSERT INTO keyword_terms SELECT * FROM incoming_terms")
            conn.unregister("incoming_terms")
        if len(keywords.term_ids):
            postings = pd.DataFrame(
                {
                    "term_id": np.asarray(keywords.term_ids, dtype=np.int32),
                    "pos": np.asarray(keywords.doc_ids, dtype=np.int32),
                    "tf": np.asarray(keywords.tfs, dtype=np.int32),
                }
            )
            conn.register("incoming_postings", postings)
            conn.execute("INSERT INTO keyword_postings SELECT * FROM incoming_postings")
            conn.unregister("incoming_postings")
        conn.execute("CHECKPOINT")
    except BaseException:
        conn.close()
        _unlink(tmp)
        raise
    conn.close()
    os.replace(tmp, path)
    return path


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)


def _remove_stale_temporaries(path: Path) -> None:
    """Temporary files a crashed build left behind (an hour old: no build takes that long)."""
    cutoff = time.time() - _STALE_TMP_SECONDS
    for tmp in path.parent.glob(f".{path.name}.*.tmp*"):
        try:
            if tmp.stat().st_mtime < cutoff:
                tmp.unlink(missing_ok=True)
        except OSError:
            pass
