"""Search figures: query latency on the real course and on 20,000 chunks, full build throughput,
and an incremental rebuild after one lesson edit, each against a baseline measured in the same
run (the query encode alone, a bare numpy brute-force top-k, a bare model.encode, a rebuild with
nothing changed).

Uses the real packaged model; `run()` loads it once and shares it between the figures."""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.report import Figure, percentile
from triops.content.loader import ParseCache, load_course
from triops.labs.spec import load_labs
from triops.quiz.bank import load_bank
from triops.search.chunks import Chunk, chunk_hash, collect, embed_text
from triops.search.embedder import SentenceTransformerEmbedder
from triops.search.index import VectorIndex, build_index, open_index, write_artifact

REPO = Path(__file__).resolve().parents[1]
QUERIES = [
    "my model got worse when the data changed",
    "how often do we ship to production",
    "why do we get so many false drift alerts",
    "send a small share of users to the new version first",
    "reuse answers to identical requests to save money on the language model",
    "a big model grades the answers of another model",
    "merge small changes to main every day instead of long branches",
    "is the model treating some groups unfairly",
    "canary release",
    "prompt injection",
    "what does PSI measure",
    "how do I roll back a bad deployment",
    "who owns the on-call rota",
    "feature store",
    "Wie oft liefern wir in die Produktion aus?",
    "keep a record of which dataset and code produced a model",
]
K = 10

_shared: dict[str, object] = {}  # one embedder and one built course index per bench run


def _embedder(embedder=None) -> SentenceTransformerEmbedder:
    if embedder is not None:
        return embedder
    if "embedder" not in _shared:
        _shared["embedder"] = SentenceTransformerEmbedder().load()
    return _shared["embedder"]  # type: ignore[return-value]


def _course_chunks(root: Path = REPO, cache: ParseCache | None = None) -> list[Chunk]:
    course = load_course(root, cache)
    ids = {lesson.id for lesson in course.lessons()}
    return collect(course, load_bank(REPO, ids, cache), load_labs(REPO, ids, cache))


def _course_index(embedder) -> tuple[VectorIndex, Path]:
    """The real course built once per run into a temporary derived folder."""
    if "course" not in _shared:
        tmp = tempfile.TemporaryDirectory(prefix="triops-search-bench-")
        _shared["tmp"] = tmp
        derived = Path(tmp.name) / "derived"
        index, _ = build_index(_course_chunks(), embedder, derived)
        _shared["course"] = (index, derived)
    return _shared["course"]  # type: ignore[return-value]


def _times_ms(fn, items, runs: int) -> list[float]:
    for item in items[:3]:
        fn(item)  # warm up
    out = []
    for i in range(runs):
        item = items[i % len(items)]
        start = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - start) * 1000)
    return out


def _bare_topk(vectors: np.ndarray, qvec: np.ndarray, k: int = K) -> np.ndarray:
    scores = vectors @ qvec
    top = np.argpartition(-scores, k - 1)[:k]
    return top[np.argsort(-scores[top])]


# --------------------------------------------------------------------------- build


def build_throughput(embedder=None) -> Figure:
    """A full build of the real course in an empty folder, against a bare model.encode of the
    same texts (same batch size, nothing written)."""
    embedder = _embedder(embedder)
    chunks = _course_chunks()
    with tempfile.TemporaryDirectory() as tmp:
        _, stats = build_index(chunks, embedder, Path(tmp))
    texts = [embed_text(c) for c in chunks]
    model = embedder._model()
    start = time.perf_counter()
    model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
    bare = time.perf_counter() - start
    return Figure(
        f"full index build, real course ({stats.chunks} chunks, 1 torch thread)",
        stats.chunks / stats.seconds,
        "chunks/s",
        len(texts) / bare,
        ">= 0.8 x bare encode",
        f"{stats.seconds:.1f} s; baseline: bare model.encode of the same texts",
    )


def incremental_rebuild(embedder=None) -> Figure:
    """Warm process (model loaded, parse cache filled, artifact present): edit one lesson, then
    load the course, collect the chunks and rebuild. Baseline: the same with nothing edited."""
    embedder = _embedder(embedder)
    _, derived = _course_index(embedder)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "course"
        for name in ("content", "data"):
            shutil.copytree(REPO / name, root / name)
        work = Path(tmp) / "derived"
        shutil.copytree(derived, work)
        cache = ParseCache()  # a warm process has parsed the course before (the UI caches it)
        _course_chunks(root, cache)

        def rebuild():
            start = time.perf_counter()
            _, stats = build_index(_course_chunks(root, cache), embedder, work)
            return time.perf_counter() - start, stats

        unchanged, _ = rebuild()
        lesson = root / "content/devops/practice/01-dora-metrics.md"
        text = lesson.read_text(encoding="utf-8")
        lesson.write_text(
            text.replace("## Reading the numbers\n", "## Reading the numbers\n\nEdited. ", 1),
            encoding="utf-8",
        )
        edited, stats = rebuild()
    return Figure(
        "incremental rebuild after one lesson edit (warm process)",
        edited,
        "s",
        unchanged,
        "<= 2 s",
        f"{stats.encoded} chunk(s) encoded, {stats.reused} reused; "
        "baseline: the same rebuild with nothing edited",
    )


# --------------------------------------------------------------------------- queries


def query_latency_course(embedder=None, runs: int = 300) -> list[Figure]:
    """Search p95 on the real course, query encode included, against the encode alone."""
    embedder = _embedder(embedder)
    index, _ = _course_index(embedder)
    search = _times_ms(lambda q: index.search(q, embedder, k=K), QUERIES, runs)
    encode = _times_ms(lambda q: embedder.encode([q]), QUERIES, runs)
    return [
        Figure(
            f"search p95, real course ({len(index)} chunks), incl. query encode",
            percentile(search, 95),
            "ms",
            percentile(encode, 95),
            "p95 <= 20 ms",
            f"p50 {percentile(search, 50):.1f} ms; baseline: the query encode alone "
            f"(p50 {percentile(encode, 50):.1f} ms)",
        )
    ]


def generated_index(
    base: VectorIndex, size: int = 20_000, seed: int = 7
) -> tuple[list[Chunk], np.ndarray]:
    """`size` chunks made from the real ones (distinct ids and texts), with their vectors
    jittered and renormalized: (chunks, vectors)."""
    rng = np.random.default_rng(seed)
    chunks, rows = [], []
    n = 0
    while len(chunks) < size:
        for c, v in zip(base.chunks, base.vectors, strict=True):
            if len(chunks) >= size:
                break
            text = f"{c.text}\n\n(copy {n})"
            chunks.append(replace(c, id=f"{c.id}~g{n}", text=text, hash=chunk_hash(c.kind, text)))
            rows.append(v)
        n += 1
    vectors = np.asarray(rows, dtype=np.float32)
    vectors += rng.normal(0, 0.02, vectors.shape).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return chunks, vectors


def query_latency_20k(embedder=None, size: int = 20_000, runs: int = 300) -> list[Figure]:
    """On `size` generated chunks: the artifact's open time, search p95 with the encode, and
    the ranking alone (cosine, BM25, filters, top-k) against a bare numpy brute-force top-k."""
    embedder = _embedder(embedder)
    base, _ = _course_index(embedder)
    chunks, vectors = generated_index(base, size)
    with tempfile.TemporaryDirectory() as tmp:
        derived = Path(tmp)
        write_artifact(derived, VectorIndex(chunks, vectors, embedder.model_id))
        start = time.perf_counter()
        index = open_index(derived, embedder.model_id)
        opened = time.perf_counter() - start
    assert index is not None and len(index) == size

    search = _times_ms(lambda q: index.search(q, embedder, k=K), QUERIES, runs)
    encode = _times_ms(lambda q: embedder.encode([q]), QUERIES, runs)
    qvecs = {q: embedder.encode([q])[0] for q in QUERIES}
    ranking = _times_ms(lambda q: index.rank(qvecs[q], q, k=K), QUERIES, runs)
    bare = _times_ms(lambda q: _bare_topk(index.vectors, qvecs[q]), QUERIES, runs)
    return [
        Figure(
            f"open index, {size:,} chunks (read artifact, keyword index)",
            opened,
            "s",
            None,
            "<= 3 s",
        ),
        Figure(
            f"search p95, {size:,} chunks, incl. query encode",
            percentile(search, 95),
            "ms",
            percentile(encode, 95),
            "p95 <= 20 ms",
            f"p50 {percentile(search, 50):.1f} ms; baseline: the query encode alone "
            f"(p50 {percentile(encode, 50):.1f} ms)",
        ),
        Figure(
            f"ranking p95, {size:,} chunks (cosine + BM25 + top-k, no encode)",
            percentile(ranking, 95),
            "ms",
            percentile(bare, 95),
            "ratio <= 3",
            f"p50 {percentile(ranking, 50):.2f} ms; baseline: bare numpy brute-force top-k "
            f"(vectors @ q, argpartition; p50 {percentile(bare, 50):.2f} ms)",
        ),
    ]


def run() -> list[Figure]:
    """Every search figure, with the model loaded once."""
    embedder = _embedder()
    figures = [build_throughput(embedder)]
    figures += query_latency_course(embedder)
    figures += query_latency_20k(embedder)
    figures.append(incremental_rebuild(embedder))
    return figures


if __name__ == "__main__":
    from bench.report import table

    print(table(run()))
