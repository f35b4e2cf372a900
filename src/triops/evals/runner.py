"""The eval runner: every prompt x provider x test, in a fixed order, with totals per column.

Order: prompts in config order, then providers, then tests (a *column* is one prompt on one
provider). Each case renders the prompt with the test's vars (the test's `prefix` and `suffix`
around it), calls the provider, timed with the injected clock, prices the tokens and runs the
assertions.

Latency is warm: a provider whose first answer fills caches (triops:extractive encodes the
passages' sentences once) first answers each distinct prompt and settings untimed, so that the
first column does not pay for the others (`warm_up=False` turns this off).

Semantic assertions encode as little as they can: the vectors a provider hands over
(Completion.vectors: triops:extractive gives the question and the sentences it quoted), Ask's
sentence cache and the run's own cache are looked up first, and whatever one case's assertions
still need is encoded in a single batch before they run.

Totals per column, each recomputable from the result rows of a run file:

- tests, passed, failed, errors, skipped: counts of results by status (a result whose every
  assertion was skipped is `skipped`; a provider failure is `error`).
- pass_rate = passed / (tests - skipped); score = mean test score over the same results (an
  error scores 0).
- tokens_prompt, tokens_completion, tokens (their sum), cost: sums over results; cost is None
  when the provider has no price.
- latency_p50_ms, latency_p95_ms: percentiles of the provider call's latency over results that
  are not errors, interpolated linearly between the closest ranks (numpy's default).
- groundedness, answer_relevance, context_recall: the mean measure of that assertion over the
  results where it ran and measured something (a groundedness check of an answer that abstained
  measures nothing); None when it never did.
- abstain_rate: answers that abstained / results that are not errors (triops:extractive).
- metrics: for each assertion `metric` name, the mean over results of the weighted average score
  of that result's assertions with that name.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from triops.errors import TriopsError
from triops.evals.assertions import (
    AssertionResult,
    Case,
    case_verdict,
    evaluate,
    texts_to_encode,
)
from triops.evals.assertions.judge import RUBRIC_SYSTEM, parse_verdict, rubric_prompt
from triops.evals.assertions.vectors import Vectors
from triops.evals.gate import gate_within
from triops.evals.models import Assertion, EvalConfig, Prompt, ProviderSpec, TestCase
from triops.evals.providers import (
    EvalError,
    Provider,
    ProviderError,
    TokenCounter,
    make_provider,
    tokenizer_for,
)
from triops.evals.results import EvalRun, EvalRunError, ResultRow, Totals
from triops.evals.text import TemplateError, render

# The run's types live in triops.evals.results; these names are also read from here.
__all__ = [
    "EvalRun",
    "EvalRunError",
    "ResultRow",
    "Totals",
    "percentile",
    "run_eval",
    "totals_of",
]


def _shared(embedder) -> Callable[[str], Any] | None:
    """A lookup in Ask's sentence cache for this embedder's vectors (the sentences
    triops:extractive quoted from are there already)."""
    if embedder is None:
        return None
    from triops.search.ask import sentence_cache

    model = getattr(embedder, "model_id", "")
    return lambda text: sentence_cache.get((model, text))


# --------------------------------------------------------------------------- statistics


def percentile(values: list[float], pct: float) -> float | None:
    """The pct-th percentile, linearly interpolated between the closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = (len(ordered) - 1) * pct / 100
    lo = int(rank)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def totals_of(prompt: Prompt, provider: ProviderSpec, rows: list[ResultRow]) -> Totals:
    """The totals of one column from its rows."""
    counted = [r for r in rows if r.status != "skipped"]
    answered = [r for r in rows if r.status != "error"]
    passed = sum(r.status == "pass" for r in rows)
    costs = [r.cost for r in rows if r.status != "error"]
    metrics: dict[str, list[float]] = {}
    for row in rows:
        per: dict[str, list[tuple[float, float]]] = {}
        for a in row.assertions:
            if a.metric and a.status != "skipped":
                per.setdefault(a.metric, []).append((a.score or 0.0, a.weight))
        for name, scored in per.items():
            weight = sum(w for _, w in scored)
            value = sum(s * w for s, w in scored) / weight if weight else 0.0
            metrics.setdefault(name, []).append(value)
    abstained = [r.abstained for r in answered if r.abstained is not None]
    tokens_prompt = sum(r.tokens_prompt for r in rows)
    tokens_completion = sum(r.tokens_completion for r in rows)
    return Totals(
        prompt_id=prompt.id,
        prompt_label=prompt.label,
        provider_id=provider.id,
        provider_label=provider.label,
        tests=len(rows),
        passed=passed,
        failed=sum(r.status == "fail" for r in rows),
        errors=sum(r.status == "error" for r in rows),
        skipped=len(rows) - len(counted),
        pass_rate=passed / len(counted) if counted else None,
        score=_mean([r.score for r in counted]),
        tokens_prompt=tokens_prompt,
        tokens_completion=tokens_completion,
        tokens=tokens_prompt + tokens_completion,
        cost=None if any(c is None for c in costs) else sum(costs),
        latency_p50_ms=percentile([r.latency_ms for r in answered], 50),
        latency_p95_ms=percentile([r.latency_ms for r in answered], 95),
        groundedness=_mean(_measures(rows, "groundedness")),
        answer_relevance=_mean(_measures(rows, "answer-relevance")),
        context_recall=_mean(_measures(rows, "context-recall")),
        abstain_rate=sum(abstained) / len(abstained) if abstained else None,
        metrics={name: sum(v) / len(v) for name, v in metrics.items()},
    )


def _measures(rows: list[ResultRow], assertion_type: str) -> list[float]:
    return [m for m in (r.measure(assertion_type) for r in rows) if m is not None]


# --------------------------------------------------------------------------- running


def run_eval(
    config: EvalConfig,
    *,
    embedder=None,
    index=None,
    on_result: Callable[[ResultRow], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
    providers: Mapping[str, Provider] | None = None,
    env: Mapping[str, str] | None = None,
    warm_up: bool = True,
) -> EvalRun:
    """Run every case of `config` and evaluate the gate within it (gate.baseline and
    gate.candidate, or its absolute rules when it names no baseline).

    `embedder` is needed by triops:extractive and the semantic assertions, `index` (the search
    index) by triops:extractive; EvalError says which is missing. `on_result` is called with
    each row as it completes (config.case_count rows in all). `clock` times provider calls, in
    seconds. `providers` replaces providers by label (tests use it); `env` supplies a chat
    server's URL and key (default: os.environ); `warm_up` as in the module docstring."""
    if config.needs_embedder and embedder is None:
        raise EvalError(
            "this config needs the embedder (triops:extractive or similar, groundedness, "
            "answer-relevance, context-recall): pass embedder="
        )
    tokenizer = tokenizer_for(embedder)
    tokenizer.count("load")  # load it now, not inside the first timed call
    built: dict[str, Provider] = {}
    for spec in config.providers:
        if providers and spec.label in providers:
            built[spec.label] = providers[spec.label]
        else:
            built[spec.label] = make_provider(
                spec, index=index, embedder=embedder, tokenizer=tokenizer, env=env
            )
    cases = _Cases(
        config, Vectors(embedder, _shared(embedder)), _Judge(tokenizer, env), clock, warm_up
    )
    rows: list[ResultRow] = []
    totals: list[Totals] = []
    for prompt, spec in config.columns():
        column: list[ResultRow] = []
        for n, test in enumerate(config.tests):
            row = cases.run(prompt, spec, built[spec.label], n, test)
            column.append(row)
            if on_result is not None:
                on_result(row)
        rows.extend(column)
        totals.append(totals_of(prompt, spec, column))
    run = EvalRun(
        config_path=config.path,
        config_hash=config.config_hash,
        description=config.description,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        embedder=getattr(embedder, "model_id", None),
        tokenizer=tokenizer.name,
        currency=config.prices.currency if config.prices else None,
        prompts=[p.model_dump() for p in config.prompts],
        providers=[p.model_dump() for p in config.providers],
        results=rows,
        totals=totals,
        skipped=[p.to_dict() for p in config.skipped],
    )
    run.gates = gate_within(config, run)
    return run


class _Cases:
    """Runs one case at a time: render, (warm up,) call and time, price, assert."""

    def __init__(self, config: EvalConfig, vectors: Vectors, judge: _Judge, clock, warm_up: bool):
        self.config = config
        self.vectors = vectors
        self.judge = judge
        self.clock = clock
        self.warmed: set[str] | None = set() if warm_up else None

    def run(
        self, prompt: Prompt, spec: ProviderSpec, provider: Provider, n: int, test: TestCase
    ) -> ResultRow:
        base = {
            "prompt_id": prompt.id,
            "prompt_label": prompt.label,
            "provider_id": spec.id,
            "provider_label": spec.label,
            "test_index": n,
            "test_key": test.key,
            "description": test.description,
            "vars": test.vars,
        }
        try:
            # promptfoo puts the prefix and suffix around the prompt, then renders the whole.
            rendered = render(test.prefix + prompt.raw + test.suffix, test.vars)
        except TemplateError as exc:
            return ResultRow(**base, status="error", score=0.0, reason=str(exc))
        settings = spec.settings(prompt)
        self._warm(provider, spec, rendered, settings)
        start = self.clock()
        try:
            done = provider.complete(rendered, settings)
        except TriopsError as exc:
            latency = (self.clock() - start) * 1000
            return ResultRow(
                **base,
                prompt=rendered,
                status="error",
                score=0.0,
                reason=exc.user_message,
                latency_ms=latency,
            )
        latency = (self.clock() - start) * 1000
        prices = self.config.prices
        cost = prices.cost(spec, done.prompt_tokens, done.completion_tokens) if prices else None
        case = Case(
            output=done.output,
            prompt=rendered,
            vars=test.vars,
            latency_ms=latency,
            cost=cost,
            context=done.context,
            abstained=done.abstained,
            vectors=self.vectors,
            judge=lambda a, rubric: self.judge(a, rubric, done.output),
        )
        self.vectors.seed(done.vectors)
        try:  # one batch for every text this case's assertions compare
            self.vectors.prefetch([t for a in test.assertions for t in texts_to_encode(a, case)])
        except TriopsError:
            pass  # the assertion that needs the embedder reports it
        results = [self._assert(assertion, case) for assertion in test.assertions]
        status, score, reason = case_verdict(results, test.threshold)
        return ResultRow(
            **base,
            prompt=rendered,
            output=done.output,
            status=status,
            score=score,
            reason=reason,
            assertions=results,
            tokens_prompt=done.prompt_tokens,
            tokens_completion=done.completion_tokens,
            cost=cost,
            latency_ms=latency,
            context=done.context,
            citations=done.citations,
            abstained=done.abstained,
            confidence=done.confidence,
        )

    def _warm(self, provider: Provider, spec: ProviderSpec, rendered: str, settings) -> None:
        if self.warmed is None or not getattr(provider, "warm_up", False):
            return
        key = json.dumps([spec.label, rendered, settings], sort_keys=True, default=str)
        if key in self.warmed:
            return
        self.warmed.add(key)
        try:
            provider.complete(rendered, settings)
        except TriopsError:
            pass  # the timed call fails the same way and reports it

    @staticmethod
    def _assert(assertion: Assertion, case: Case) -> AssertionResult:
        try:
            return evaluate(assertion, case)
        except TriopsError as exc:  # a judge that cannot be reached, for instance
            return AssertionResult(
                type=assertion.name,
                status="fail",
                score=0.0,
                weight=assertion.weight,
                metric=assertion.metric,
                value=assertion.value,
                threshold=assertion.threshold,
                reason=exc.user_message,
            )


class _Judge:
    """Grades llm-rubric assertions through their judge provider."""

    def __init__(self, tokenizer: TokenCounter, env: Mapping[str, str] | None):
        self.tokenizer = tokenizer
        self.env = env
        self._providers: dict[str, Provider] = {}

    def __call__(self, assertion: Assertion, rubric: str, output: str) -> dict:
        spec = assertion.judge
        if spec is None:
            raise ProviderError("no judge provider")
        key = spec.model_dump_json()
        if key not in self._providers:
            self._providers[key] = make_provider(spec, tokenizer=self.tokenizer, env=self.env)
        settings = dict(spec.config)
        if spec.kind == "chat":
            settings.setdefault("system", RUBRIC_SYSTEM)
        reply = self._providers[key].complete(rubric_prompt(output, rubric), settings)
        return parse_verdict(reply.output)
