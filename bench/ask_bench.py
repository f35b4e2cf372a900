"""Ask figures: abstention precision and recall and answer accuracy on the holdout split of
tests/fixtures/ask_pairs.yaml, and the latency of one ask, with the real packaged model."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.report import Figure, percentile
from triops.content.loader import load_course
from triops.search.ask import (
    ABSTAIN_THRESHOLD,
    CONFIDENCE_SIGNAL,
    evaluate,
    lesson_of,
    load_pairs,
    sentence_cache,
)
from triops.search.ask import ask as ask_course
from triops.search.chunks import collect
from triops.search.embedder import default_embedder
from triops.search.index import build_index

REPO = Path(__file__).resolve().parents[1]
PAIRS = REPO / "tests" / "fixtures" / "ask_pairs.yaml"


def ask_figures(rounds: int = 3) -> list[Figure]:
    """Quality on the holdout split with the shipped threshold; ask latency p95 over every
    labelled question, `rounds` times after a warm-up, against a bare search of the same text."""
    embedder = default_embedder()
    pairs = load_pairs(PAIRS)
    with tempfile.TemporaryDirectory() as derived:
        index, _ = build_index(collect(load_course(REPO)), embedder, Path(derived))
    holdout = [p for p in pairs if p.split == "holdout"]
    quality = evaluate(pairs, index, embedder, split="holdout")
    on_topic = [p for p in holdout if p.expect_lesson]
    top_hit = sum(
        lesson_of(index.search(p.question, embedder, k=1, kinds=["lesson"])[0].chunk)
        == p.expect_lesson
        for p in on_topic
    ) / len(on_topic)

    for p in pairs[:5]:  # warm-up: first calls pay for lazy loads and allocator growth
        ask_course(p.question, index, embedder)
    cold_ms, warm_ms, search_ms = [], [], []
    for _ in range(rounds):
        for p in pairs:  # nothing cached: every candidate sentence is encoded...
            sentence_cache.clear()
            cold_ms.append(_timed(ask_course, p.question, index, embedder))
            search_ms.append(_timed(index.search, p.question, embedder, k=5, kinds=["lesson"]))
            # ...then the same question again, its sentences now in the cache
            warm_ms.append(_timed(ask_course, p.question, index, embedder))

    n_off, n_on = quality["n_off_topic"], quality["n_in_topic"]
    setting = f"threshold {ABSTAIN_THRESHOLD} on {CONFIDENCE_SIGNAL}"
    return [
        Figure(
            "ask abstention precision (holdout)",
            quality["precision"],
            "",
            None,
            ">= 0.80",
            f"{n_off} off-topic + {n_on} in-topic questions; {setting}",
        ),
        Figure(
            "ask abstention recall (holdout)",
            quality["recall"],
            "",
            None,
            ">= 0.80",
            f"{n_off} off-topic questions; {setting}",
        ),
        Figure(
            "ask answer accuracy (holdout)",
            quality["answer_accuracy"],
            "",
            top_hit,
            "ratio >= 0.9",
            "first citation is the expected lesson (abstaining counts as wrong); "
            "baseline: top lesson hit of a bare search",
        ),
        Figure(
            "ask latency p95 (sentence vectors not cached)",
            percentile(cold_ms, 95),
            "ms",
            percentile(search_ms, 95),
            "",
            f"{len(cold_ms)} asks, off-topic ones included; baseline: the search alone",
        ),
        Figure(
            "ask latency p95 (sentence vectors cached)",
            percentile(warm_ms, 95),
            "ms",
            percentile(search_ms, 95),
            "",
            f"{len(warm_ms)} repeated asks; baseline: the search alone",
        ),
    ]


def _timed(fn, *args, **kwargs) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return (time.perf_counter() - start) * 1000
