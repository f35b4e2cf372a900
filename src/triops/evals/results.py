"""What an eval run gives: a row per case, the totals per column, the gate's verdicts, and the
run file they make (`EvalRun.to_dict`, read back by `EvalRun.from_dict`).

The runner (triops.evals.runner) fills them, and its docstring defines each total; the gate
(triops.evals.gate) reads the totals and gives its verdicts here, so neither imports the other's
module for these types."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from triops.errors import TriopsError
from triops.evals.assertions.outcome import AssertionResult

SCHEMA = "triops.eval-run"
SCHEMA_VERSION = 1


class EvalRunError(TriopsError):
    """A run file that cannot be read as a Triops eval run."""


def column_name(prompt_label: str, provider_label: str) -> str:
    """A column's name: the prompt's label on the provider's label."""
    return f"{prompt_label} / {provider_label}"


class ResultRow(BaseModel):
    """One case: a prompt on a provider for a test, with its output and assertions."""

    prompt_id: str
    prompt_label: str
    provider_id: str
    provider_label: str
    test_index: int
    test_key: str
    description: str = ""
    vars: dict[str, Any] = {}
    prompt: str = ""
    """The rendered prompt."""
    output: str = ""
    status: str
    """pass, fail, error (the provider failed) or skipped (every assertion skipped)."""
    score: float
    reason: str = ""
    assertions: list[AssertionResult] = []
    tokens_prompt: int = 0
    tokens_completion: int = 0
    cost: float | None = None
    latency_ms: float = 0.0
    context: list[str] | None = None
    citations: list[dict[str, str]] = []
    abstained: bool | None = None
    confidence: float | None = None

    @property
    def column(self) -> str:
        return column_name(self.prompt_label, self.provider_label)

    def measure(self, assertion_type: str) -> float | None:
        """The mean measure of this row's assertions of a type (not negated ones), if any."""
        found = [
            r.measure
            for r in self.assertions
            if r.type == assertion_type and r.status != "skipped" and r.measure is not None
        ]
        return sum(found) / len(found) if found else None


class Totals(BaseModel):
    """The totals of one column (triops.evals.runner's docstring gives each formula)."""

    prompt_id: str
    prompt_label: str
    provider_id: str
    provider_label: str
    tests: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    pass_rate: float | None = None
    score: float | None = None
    tokens_prompt: int = 0
    tokens_completion: int = 0
    tokens: int = 0
    cost: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    groundedness: float | None = None
    answer_relevance: float | None = None
    context_recall: float | None = None
    abstain_rate: float | None = None
    metrics: dict[str, float] = {}

    @property
    def column(self) -> str:
        return column_name(self.prompt_label, self.provider_label)

    def value(self, metric: str) -> float | None:
        """A gate metric's value: a field of these totals or a named metric."""
        if metric in type(self).model_fields and metric != "metrics":
            value = getattr(self, metric)
            return None if value is None else float(value)
        return self.metrics.get(metric)


class GateRow(BaseModel):
    """One limit of one rule, checked."""

    metric: str
    rule: str
    """The limit as written, e.g. `min_delta 0`."""
    limit: float
    baseline: float | None = None
    candidate: float | None = None
    delta: float | None = None
    """candidate - baseline, when both are known."""
    verdict: str
    """pass, fail or skipped."""
    reason: str = ""


class GateResult(BaseModel):
    """The gate checked on one candidate column (against one baseline column, if any)."""

    baseline: str | None = None
    candidate: str
    rows: list[GateRow] = []

    @property
    def passed(self) -> bool:
        return all(r.verdict != "fail" for r in self.rows)


class EvalRun(BaseModel):
    """A whole run: what ran, every result row, the totals per column and the gate verdicts."""

    schema_name: str = SCHEMA
    version: int = SCHEMA_VERSION
    config_path: str = ""
    config_hash: str = ""
    description: str = ""
    created: str = ""
    embedder: str | None = None
    tokenizer: str = ""
    currency: str | None = None
    prompts: list[dict[str, Any]] = []
    providers: list[dict[str, Any]] = []
    results: list[ResultRow] = []
    totals: list[Totals] = []
    gates: list[GateResult] = []
    """The gate's verdicts within this run (see triops.evals.gate)."""
    skipped: list[dict[str, Any]] = []
    """Config features that were not run, with their reasons."""

    @property
    def tests_passed(self) -> bool:
        return all(r.status in ("pass", "skipped") for r in self.results)

    @property
    def unchecked(self) -> str | None:
        """Why the run checked nothing, when no assertion was evaluated in any case (each was
        skipped, or there were none); None when some assertion ran or a case failed."""
        if any(r.status == "error" for r in self.results):
            return None
        ran = [a for r in self.results for a in r.assertions if a.status != "skipped"]
        if ran:
            return None
        reasons = {f"{a.type}: {a.reason}": None for r in self.results for a in r.assertions}
        if not reasons:
            return "no assertion was evaluated: no test has an assertion"
        return "no assertion was evaluated: every one was skipped (" + "; ".join(reasons) + ")"

    @property
    def passed(self) -> bool:
        """Every test passed (skipped ones aside), every gate held, and some assertion was
        evaluated (a run that checked nothing has not passed)."""
        return self.tests_passed and all(g.passed for g in self.gates) and not self.unchecked

    def column(self, prompt_id: str, provider_label: str) -> Totals | None:
        """The totals of a prompt (by id) on a provider (by label: two may share an id)."""
        return next(
            (
                t
                for t in self.totals
                if t.prompt_id == prompt_id and t.provider_label == provider_label
            ),
            None,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the run file's content)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvalRun:
        """A run from a run file's content; EvalRunError if it is not one this version reads."""
        if not isinstance(data, Mapping) or data.get("schema_name") != SCHEMA:
            raise EvalRunError(f"not a Triops eval run (expected schema_name '{SCHEMA}')")
        if data.get("version") != SCHEMA_VERSION:
            raise EvalRunError(
                f"eval run version {data.get('version')} is not supported "
                f"(this Triops reads version {SCHEMA_VERSION})"
            )
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            raise EvalRunError(f"the eval run does not validate: {exc}") from exc
