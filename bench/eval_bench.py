"""Eval runner figures: 20 cases x 2 prompt versions on triops:extractive end to end in a warm
process, and the runner's time per case against calling the provider directly on the same
cases in the same run, with the real packaged model over the real course.

The cases are 20 questions of the holdout split of tests/fixtures/ask_pairs.yaml (12 in topic,
8 off topic), asserted as the prompt-eval lab asserts: an expected term or a refusal,
groundedness, answer relevance and latency; v1 quotes three sentences with footnotes, v2 one
sentence with no citations.

The semantic assertions encode texts the provider never does (v1's twelve three-sentence
answers, for answer-relevance): that model work alone is about half the provider's time per
case, so against the provider alone the runner's ratio is mostly the model's. A second baseline
adds those same encode calls, recorded from a run and made directly, to the provider's time: its
ratio is the runner's own machinery with semantic assertions."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import yaml

from bench.report import Figure
from triops.content.loader import load_course
from triops.evals import load_config, make_provider, run_eval
from triops.evals.text import render
from triops.search.ask import load_pairs
from triops.search.chunks import collect
from triops.search.embedder import default_embedder
from triops.search.index import build_index

REPO = Path(__file__).resolve().parents[1]
PAIRS = REPO / "tests" / "fixtures" / "ask_pairs.yaml"
ROUNDS = 3


def bench_config(folder: Path, *, semantic: bool = True) -> Path:
    """The 20-case, two-version config, written to `folder`."""
    holdout = [p for p in load_pairs(PAIRS) if p.split == "holdout"]
    on = [p for p in holdout if p.expect_lesson][:12]
    off = [p for p in holdout if not p.expect_lesson][:8]
    tests = []
    for p in on:
        asserts = [{"type": "icontains", "value": p.expect_terms[0]}]
        if semantic:
            asserts.append({"type": "answer-relevance", "value": "{{question}}"})
        tests.append(
            {"description": p.question, "vars": {"question": p.question}, "assert": asserts}
        )
    for p in off:
        asserts = [{"type": "contains", "value": "I don't know"}]
        tests.append(
            {"description": p.question, "vars": {"question": p.question}, "assert": asserts}
        )
    default = [{"type": "latency", "threshold": 2000}]
    if semantic:
        default.append({"type": "groundedness"})
    doc = {
        "description": "bench: v1 against v2",
        "prompts": [
            {"id": "v1", "raw": "{{question}}", "config": {"citations": "footnote"}},
            {
                "id": "v2",
                "raw": "{{question}}",
                "config": {"max_sentences": 1, "abstain_threshold": 0.45},
            },
        ],
        "providers": ["triops:extractive"],
        "prices": {"providers": {"triops:extractive": {"prompt": 0.15, "completion": 0.6}}},
        "defaultTest": {"assert": default},
        "tests": tests,
        "gate": {
            "baseline": "v1",
            "candidate": "v2",
            "pass_rate": {"min_delta": 0},
            "cost": {"max_increase_pct": 10},
            "latency_p95_ms": {"max": 250},
        },
    }
    path = folder / ("bench.yaml" if semantic else "bench-plain.yaml")
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


class _Recording:
    """The embedder, recording the texts of each encode call (the semantic assertions' own,
    when the provider is built with the bare embedder)."""

    def __init__(self, embedder):
        self._embedder = embedder
        self.calls: list[list[str]] = []

    def __getattr__(self, name: str):
        return getattr(self._embedder, name)

    def encode(self, texts: list[str]):
        self.calls.append(list(texts))
        return self._embedder.encode(texts)


def run() -> list[Figure]:
    embedder = default_embedder().load()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        index, _ = build_index(collect(load_course(REPO)), embedder, folder / "derived")
        config = load_config(bench_config(folder))
        plain = load_config(bench_config(folder, semantic=False))
    assert config.case_count == 40

    run_eval(config, embedder=embedder, index=index)  # warm the process: model, caches
    end_to_end = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        result = run_eval(config, embedder=embedder, index=index)
        end_to_end.append(time.perf_counter() - start)

    # The provider alone on the same 40 cases, against the runner without its warm-up calls,
    # alternated so that both see the same machine.
    provider = make_provider(config.providers[0], index=index, embedder=embedder)
    calls = [
        (render(prompt.raw, test.vars), spec.settings(prompt))
        for prompt, spec in config.columns()
        for test in config.tests
    ]
    # What the semantic assertions encode in a run (the provider encodes with the bare
    # embedder, so only their calls are recorded): the same calls, made directly, are the model
    # work a second baseline adds to the provider's.
    recording = _Recording(embedder)
    run_eval(
        config,
        embedder=recording,
        index=index,
        warm_up=False,
        providers={config.providers[0].label: provider},
    )
    encodes = recording.calls
    direct, runner, runner_plain, direct_encodes = [], [], [], []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for prompt, settings in calls:
            provider.complete(prompt, settings)
        direct.append((time.perf_counter() - start) / len(calls))
        start = time.perf_counter()
        for texts in encodes:
            embedder.encode(texts)
        direct_encodes.append((time.perf_counter() - start) / len(calls))
        start = time.perf_counter()
        run_eval(config, embedder=embedder, index=index, warm_up=False)
        runner.append((time.perf_counter() - start) / len(calls))
        start = time.perf_counter()
        run_eval(plain, embedder=embedder, index=index, warm_up=False)
        runner_plain.append((time.perf_counter() - start) / len(calls))

    ms = 1000
    gate = "passed" if all(g.passed for g in result.gates) else "failed"
    return [
        Figure(
            "eval: 20 cases x 2 prompts, end to end (warm process)",
            statistics.median(end_to_end),
            "s",
            None,
            "<= 10 s",
            f"median of {ROUNDS}; triops:extractive, 3-4 assertions a case incl. groundedness "
            f"and answer-relevance, warm-up calls on; pass rate "
            f"{result.totals[0].pass_rate:.2f} / {result.totals[1].pass_rate:.2f}, gate {gate}",
        ),
        Figure(
            "eval runner per case vs the provider alone",
            statistics.median(runner) * ms,
            "ms",
            statistics.median(direct) * ms,
            "ratio <= 1.2",
            "same 40 cases; the runner renders, times, prices, runs every assertion "
            "(groundedness, answer-relevance encode) and totals; warm-up off",
        ),
        Figure(
            "eval runner per case vs the provider plus the assertions' encodes, called directly",
            statistics.median(runner) * ms,
            "ms",
            (statistics.median(direct) + statistics.median(direct_encodes)) * ms,
            "ratio <= 1.2",
            f"same 40 cases; baseline: the provider alone plus the {len(encodes)} encode calls "
            f"({sum(map(len, encodes))} texts) the semantic assertions make in a run, made "
            "directly: the runner's own machinery with semantic assertions",
        ),
        Figure(
            "eval runner per case vs the provider alone (text assertions only)",
            statistics.median(runner_plain) * ms,
            "ms",
            statistics.median(direct) * ms,
            "ratio <= 1.2",
            "same 40 cases, contains/icontains/latency only: the runner's own machinery",
        ),
    ]


if __name__ == "__main__":
    from bench.report import table

    print(table(run()))
