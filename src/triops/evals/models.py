"""The parsed shape of an eval config: prompts, providers, tests with their assertions, the
gate and the price table (triops.evals.config loads them from YAML).

This module stands below the assertion types (triops.evals.assertions), whose handlers take its
`Assertion`: what it needs to know of them (which are measured with the embedder) the loader
hands in."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from triops.search.ask import ABSTAIN_THRESHOLD

EXTRACTIVE = "triops:extractive"
ECHO = "echo"
CHAT = "openai-compatible"
ProviderKind = Literal["extractive", "echo", "chat"]
# Where a chat provider's server URL comes from when its config gives no base_url.
BASE_URL_ENV = ("TRIOPS_EVAL_BASE_URL", "OPENAI_BASE_URL")


@dataclass(frozen=True)
class EvalProblem:
    """An error or a skipped feature in a config, located by file, 1-based line and key."""

    path: str
    line: int
    key: str
    message: str
    severity: Literal["error", "skipped"] = "error"

    def __str__(self) -> str:
        key = f"{self.key}: " if self.key else ""
        return f"{self.path}:{self.line}: {self.severity}: {key}{self.message}"

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "line": self.line,
            "key": self.key,
            "message": self.message,
            "severity": self.severity,
        }


# --------------------------------------------------------------------------- models


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExtractiveSettings(StrictModel):
    """Knobs of the Ask engine; a prompt's config may set them per prompt version."""

    k: int = Field(5, ge=1, le=50)
    """Passages retrieved for each question."""
    abstain_threshold: float = ABSTAIN_THRESHOLD
    """Answer only when the top passage's search score reaches this; else say "I don't know"."""
    max_sentences: int = Field(3, ge=1, le=20)
    """Most sentences quoted in an answer."""
    citations: Literal["none", "inline", "footnote"] = "none"
    """none: sentences only; inline: `[Lesson › Section]` after each sentence; footnote: `[n]`
    markers and a numbered list of sources after the answer."""
    kinds: list[Literal["lesson", "question", "lab"]] = ["lesson"]
    """Which passages may be quoted."""


class ChatSettings(StrictModel):
    """Settings of an openai-compatible chat completions endpoint."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    model: str | None = None
    """Model name sent to the server (default: the part of the id after the colon)."""
    base_url: str | None = Field(None, alias="apiBaseUrl")
    """Server URL up to /v1 (default: TRIOPS_EVAL_BASE_URL, then OPENAI_BASE_URL)."""
    temperature: float | None = 0.0
    max_tokens: int | None = Field(None, ge=1)
    system: str | None = None
    """A system message sent before the prompt."""
    timeout_s: float = Field(60.0, gt=0)


class EchoSettings(StrictModel):
    """echo has no settings."""


SETTINGS: dict[str, type[StrictModel]] = {
    "extractive": ExtractiveSettings,
    "echo": EchoSettings,
    "chat": ChatSettings,
}


def setting_keys(kind: str) -> set[str]:
    model = SETTINGS[kind]
    keys = set(model.model_fields)
    keys |= {f.alias for f in model.model_fields.values() if f.alias}
    return keys


class Prompt(BaseModel):
    """One prompt version: a `{{var}}` template and the provider settings it brings."""

    id: str
    label: str
    raw: str
    config: dict[str, Any] = {}


class ProviderSpec(BaseModel):
    """One provider: `kind` says which engine answers; `config` is validated for that kind."""

    id: str
    label: str
    kind: ProviderKind
    model: str | None = None
    config: dict[str, Any] = {}
    prompts: list[str] | None = None
    """Only these prompts (ids or labels) run on this provider, as promptfoo's filter."""

    def settings(self, prompt: Prompt | None = None) -> dict[str, Any]:
        """The provider's config with the prompt's config on top, keys of this kind only."""
        keys = setting_keys(self.kind)
        merged = dict(self.config)
        if prompt is not None:
            merged.update({k: v for k, v in prompt.config.items() if k in keys})
        return merged

    def runs(self, prompt: Prompt) -> bool:
        return self.prompts is None or prompt.id in self.prompts or prompt.label in self.prompts


class Assertion(BaseModel):
    """One check of an output. `type` is the base type; `negate` is the `not-` prefix."""

    type: str
    negate: bool = False
    value: Any = None
    threshold: float | None = None
    weight: float = 1.0
    metric: str | None = None
    judge: ProviderSpec | None = None
    skip: str | None = None
    """Why this assertion does not run (it is then reported as skipped)."""

    @property
    def name(self) -> str:
        return f"not-{self.type}" if self.negate else self.type


class TestCase(BaseModel):
    """One test after defaultTest is merged in and list-valued vars are expanded."""

    __test__ = False  # not a pytest class

    key: str
    """Identity across runs: the description, else the vars (see triops.evals.gate.compare)."""
    description: str = ""
    vars: dict[str, Any] = {}
    assertions: list[Assertion] = []
    threshold: float | None = None
    metadata: dict[str, Any] = {}
    prefix: str = ""
    suffix: str = ""


class GateRule(StrictModel):
    """Limits on one metric; every limit given must hold."""

    min: float | None = None
    """The candidate's value is at least this."""
    max: float | None = None
    """The candidate's value is at most this."""
    min_delta: float | None = None
    """candidate - baseline is at least this (0: may not drop)."""
    max_delta: float | None = None
    """candidate - baseline is at most this (0: may not rise)."""
    max_increase_pct: float | None = None
    """(candidate - baseline) / baseline * 100 is at most this."""
    max_decrease_pct: float | None = None
    """(baseline - candidate) / baseline * 100 is at most this."""

    @model_validator(mode="after")
    def _some_limit(self) -> GateRule:
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise ValueError("give at least one of: " + ", ".join(type(self).model_fields))
        return self

    def limits(self) -> list[tuple[str, float]]:
        return [
            (name, getattr(self, name))
            for name in type(self).model_fields
            if getattr(self, name) is not None
        ]


class Gate(BaseModel):
    """The regression gate: rules per metric, and optionally which prompt is the baseline and
    which the candidate within one run."""

    baseline: str | None = None
    candidate: str | None = None
    rules: dict[str, GateRule] = {}


class Price(StrictModel):
    prompt: float = Field(ge=0)
    """Price of prompt (input) tokens, per `unit` tokens."""
    completion: float = Field(ge=0)
    """Price of completion (output) tokens, per `unit` tokens."""


class Prices(StrictModel):
    """Token prices: cost = (prompt tokens x prompt price + completion tokens x completion
    price) / tokens per unit."""

    unit: Literal["1M", "1K"] = "1M"
    currency: str = "USD"
    providers: dict[str, Price] = {}

    @property
    def per_tokens(self) -> int:
        return 1_000_000 if self.unit == "1M" else 1_000

    def for_provider(self, provider: ProviderSpec) -> Price | None:
        return self.providers.get(provider.label) or self.providers.get(provider.id)

    def cost(self, provider: ProviderSpec, prompt_tokens: int, completion_tokens: int):
        price = self.for_provider(provider)
        if price is None:
            return None
        return (prompt_tokens * price.prompt + completion_tokens * price.completion) / (
            self.per_tokens
        )


# The metrics a gate rule may name (besides the `metric` names assertions give).
GATE_METRICS = {
    "pass_rate": "share of tests that passed (skipped tests left out)",
    "score": "mean test score",
    "tokens": "prompt plus completion tokens, summed",
    "tokens_prompt": "prompt tokens, summed",
    "tokens_completion": "completion tokens, summed",
    "cost": "cost of every case, summed",
    "latency_p50_ms": "median latency of a provider call",
    "latency_p95_ms": "95th percentile latency of a provider call",
    "groundedness": "mean groundedness of the answers that made claims",
    "answer_relevance": "mean answer relevance",
    "context_recall": "mean context recall",
    "abstain_rate": "share of answers that abstained (triops:extractive)",
}
MEASURED_BY = {
    "groundedness": "groundedness",
    "answer_relevance": "answer-relevance",
    "context_recall": "context-recall",
}


class EvalConfig(BaseModel):
    """A loaded config: prompts, providers and expanded tests, ready to run."""

    path: str
    description: str = ""
    prompts: list[Prompt]
    providers: list[ProviderSpec]
    tests: list[TestCase]
    gate: Gate | None = None
    prices: Prices | None = None
    skipped: list[EvalProblem] = []
    """promptfoo features this config uses that Triops does not run, with the reason."""
    semantic_types: tuple[str, ...]
    """The assertion types measured with the embedder: the registry's SEMANTIC, handed in by
    the loader."""

    def columns(self) -> list[tuple[Prompt, ProviderSpec]]:
        """Every prompt x provider pair that runs, prompts first."""
        return [(p, v) for p in self.prompts for v in self.providers if v.runs(p)]

    @property
    def case_count(self) -> int:
        return len(self.columns()) * len(self.tests)

    def assertion_types(self) -> set[str]:
        return {a.type for t in self.tests for a in t.assertions if a.skip is None}

    @property
    def needs_index(self) -> bool:
        return any(p.kind == "extractive" for p in self.providers)

    @property
    def needs_embedder(self) -> bool:
        return self.needs_index or bool(self.assertion_types() & set(self.semantic_types))

    def prompt(self, name: str) -> Prompt | None:
        """The prompt with this id, else with this label."""
        for p in self.prompts:
            if p.id == name:
                return p
        return next((p for p in self.prompts if p.label == name), None)

    @property
    def config_hash(self) -> str:
        """sha256 of what the config runs (files it includes read in), not of its layout."""
        payload = {
            "description": self.description,
            "prompts": [p.model_dump() for p in self.prompts],
            "providers": [p.model_dump() for p in self.providers],
            "tests": [t.model_dump() for t in self.tests],
            "gate": self.gate.model_dump() if self.gate else None,
            "prices": self.prices.model_dump() if self.prices else None,
        }
        text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
