"""Assertions: each checks one output and gives pass or fail, a score in [0, 1] and a reason.

Scoring follows promptfoo. Yes-or-no checks score 1 or 0. Graded checks (similar, groundedness,
answer-relevance, context-recall, llm-rubric) score their measure and pass when it reaches the
threshold. `not-` inverts the verdict; a graded score becomes 1 - score. A test's score is the
weighted average of its assertions' scores (skipped assertions left out); without a test
`threshold` the test passes when every assertion with a weight above 0 passes, with one it
passes when the score reaches it. An assertion of weight 0 is reported but never fails a test.

Triops' own checks, with thresholds calibrated on labelled questions (see CALIBRATION.md):

- groundedness: the share of the answer's sentences (claims; citation markers left out) that
  the context supports. A sentence is supported when it appears in the context verbatim (case
  and markdown ignored) or its cosine with some context sentence is at least SUPPORT_THRESHOLD.
  The context is what the provider retrieved (triops:extractive: the cited passages), else the
  test's `context` var. An answer that abstains, or makes no claim, has nothing to ground and
  passes. Default threshold 1.0: every sentence supported.
- answer-relevance: the cosine of the question (the assertion's value, else the rendered
  prompt) and the answer's claims; default threshold RELEVANCE_THRESHOLD.
- context-recall: the share of expected facts (`value`, a string or a list) the context holds,
  verbatim or at cosine SUPPORT_THRESHOLD with one of its sentences; default threshold 1.0.
- similar: the highest cosine of the output and the value(s); default SIMILAR_THRESHOLD
  (promptfoo's 0.75 suits a different model: see CALIBRATION.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel

from triops.evals.calibration import RELEVANCE_THRESHOLD, SIMILAR_THRESHOLD, SUPPORT_THRESHOLD
from triops.evals.models import Assertion
from triops.evals.providers import ProviderError
from triops.evals.text import as_text, claims, flat, render_value, sentences

EPSILON = 1e-9  # a measure within this of its threshold counts as reaching it


class AssertionResult(BaseModel):
    """The outcome of one assertion on one output."""

    type: str
    """As written, with the not- prefix."""
    status: str
    """pass, fail or skipped."""
    score: float | None = None
    measure: float | None = None
    """The raw measurement: cosine, share of sentences, milliseconds, cost..."""
    threshold: float | None = None
    """The threshold applied (the calibrated default when the config gave none)."""
    weight: float = 1.0
    metric: str | None = None
    value: Any = None
    reason: str = ""

    @property
    def counted(self) -> bool:
        """Whether it takes part in the test's score and verdict."""
        return self.status != "skipped"

    @property
    def passed(self) -> bool:
        return self.status == "pass"


class Vectors:
    """Unit vectors of texts, each text encoded once per run (in batches).

    A text is looked up, in order, in this run's cache, in vectors a provider handed over
    (`seed`: the question it encoded, the sentences it quoted) and in `shared`, a cache the
    embedder's other users fill (Ask's sentence cache); only the rest is encoded. `prefetch`
    encodes everything one case's assertions will need in a single batch."""

    def __init__(self, embedder, shared: Callable[[str], np.ndarray | None] | None = None):
        self.embedder = embedder
        self.shared = shared
        self._cache: dict[str, np.ndarray] = {}

    def seed(self, vectors: Mapping[str, np.ndarray]) -> None:
        """Keep vectors that this run's embedder computed elsewhere (a provider's)."""
        for text, vector in vectors.items():
            self._cache.setdefault(text, np.asarray(vector, dtype=np.float32))

    def prefetch(self, texts: list[str]) -> None:
        """Encode every text not known yet, in one batch."""
        missing = []
        for text in dict.fromkeys(texts):
            if text in self._cache:
                continue
            found = self.shared(text) if self.shared is not None else None
            if found is not None:
                self._cache[text] = found
            else:
                missing.append(text)
        if missing:
            if self.embedder is None:
                raise ProviderError("this assertion needs an embedder, and the run has none")
            encoded = np.asarray(self.embedder.encode(missing), dtype=np.float32)
            self._cache.update(zip(missing, encoded, strict=True))

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.prefetch(texts)
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])


@dataclass
class Case:
    """Everything an assertion may look at for one output."""

    output: str
    prompt: str
    vars: Mapping[str, Any]
    latency_ms: float
    cost: float | None
    context: list[str] | None
    abstained: bool | None
    vectors: Vectors
    judge: Callable[[Assertion, str], dict] | None = None


@dataclass
class Outcome:
    """An assertion's verdict before `not-` is applied."""

    passed: bool
    score: float
    reason: str
    measure: float | None = None
    graded: bool = False
    threshold: float | None = None


def evaluate(assertion: Assertion, case: Case) -> AssertionResult:
    """Run one assertion on one output."""
    base = AssertionResult(
        type=assertion.name,
        status="skipped",
        weight=assertion.weight,
        metric=assertion.metric,
        value=assertion.value,
        threshold=assertion.threshold,
    )
    if assertion.skip:
        return base.model_copy(update={"reason": assertion.skip})
    value = render_value(assertion.value, case.vars)
    outcome = CHECKS[assertion.type](assertion, value, case)
    passed, score = outcome.passed, outcome.score
    reason = outcome.reason
    if assertion.negate:
        passed = not passed
        score = 1.0 - score if outcome.graded else float(passed)
        reason = f"not: {reason}"
    return base.model_copy(
        update={
            "status": "pass" if passed else "fail",
            "score": max(0.0, min(1.0, score)),
            "measure": outcome.measure,
            "threshold": outcome.threshold,
            "value": value,
            "reason": reason,
        }
    )


def _binary(passed: bool, reason_fail: str, reason_pass: str = "") -> Outcome:
    return Outcome(passed, 1.0 if passed else 0.0, reason_pass if passed else reason_fail)


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- text checks


def _equals(a: Assertion, value: Any, case: Case) -> Outcome:
    if isinstance(value, dict | list):
        try:
            same = json.loads(case.output) == value
        except ValueError:
            same = False
        return _binary(same, "output is not that JSON value", "output equals the JSON value")
    same = case.output == as_text(value)
    return _binary(same, f"output is not exactly '{_short(as_text(value))}'", "equal")


def _contains(a: Assertion, value: Any, case: Case, *, fold: bool = False) -> Outcome:
    needle, hay = as_text(value), case.output
    if fold:
        needle, hay = needle.lower(), hay.lower()
    return _binary(needle in hay, f"'{_short(needle)}' not found", f"'{_short(needle)}' found")


def _contains_many(a: Assertion, value: Any, case: Case) -> Outcome:
    fold = a.type.startswith("i")
    hay = case.output.lower() if fold else case.output
    found = [v for v in value if (v.lower() if fold else v) in hay]
    if a.type.endswith("-all"):
        missing = [v for v in value if v not in found]
        return _binary(not missing, f"missing: {', '.join(missing)}", "all found")
    return _binary(bool(found), "none found", f"found: {', '.join(found)}")


def _starts_with(a: Assertion, value: Any, case: Case) -> Outcome:
    prefix = as_text(value)
    return _binary(
        case.output.startswith(prefix),
        f"output does not start with '{_short(prefix)}'",
        f"output starts with '{_short(prefix)}'",
    )


def _regex(a: Assertion, value: Any, case: Case) -> Outcome:
    try:
        pattern = re.compile(as_text(value))
    except re.error as exc:
        return Outcome(False, 0.0, f"invalid regular expression: {exc}")
    found = pattern.search(case.output)
    return _binary(
        found is not None,
        f"no match for /{pattern.pattern}/",
        f"/{pattern.pattern}/ matches '{_short(found.group(0)) if found else ''}'",
    )


def _schema_errors(schema: Any, data: Any) -> str | None:
    import jsonschema

    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
    return "; ".join(e.message for e in errors[:3]) if errors else None


def json_values(text: str) -> list[Any]:
    """Every JSON object or array embedded in a text, in order."""
    decoder = json.JSONDecoder()
    found, i = [], 0
    while i < len(text):
        if text[i] in "{[":
            try:
                value, end = decoder.raw_decode(text, i)
            except ValueError:
                i += 1
                continue
            found.append(value)
            i = end
        else:
            i += 1
    return found


def _is_json(a: Assertion, value: Any, case: Case) -> Outcome:
    try:
        data = json.loads(case.output)
    except ValueError:
        return Outcome(False, 0.0, "output is not valid JSON")
    if value not in (None, ""):
        errors = _schema_errors(value, data)
        if errors:
            return Outcome(False, 0.0, f"JSON does not match the schema: {errors}")
    return Outcome(True, 1.0, "valid JSON")


def _contains_json(a: Assertion, value: Any, case: Case) -> Outcome:
    found = json_values(case.output)
    if not found:
        return Outcome(False, 0.0, "no JSON in the output")
    if value in (None, ""):
        return Outcome(True, 1.0, f"{len(found)} JSON value(s) found")
    errors = ""
    for data in found:
        problem = _schema_errors(value, data)
        if problem is None:
            return Outcome(True, 1.0, "JSON matching the schema found")
        errors = problem
    return Outcome(False, 0.0, f"no JSON matches the schema: {errors}")


# --------------------------------------------------------------------------- measured checks


def _latency(a: Assertion, value: Any, case: Case) -> Outcome:
    passed = case.latency_ms <= a.threshold + EPSILON
    out = _binary(
        passed,
        f"latency {case.latency_ms:.1f} ms > {a.threshold:g} ms",
        f"latency {case.latency_ms:.1f} ms <= {a.threshold:g} ms",
    )
    out.measure, out.threshold = case.latency_ms, a.threshold
    return out


def _cost(a: Assertion, value: Any, case: Case) -> Outcome:
    if case.cost is None:
        return Outcome(False, 0.0, "cost unknown (no price for this provider)")
    passed = case.cost <= a.threshold + EPSILON
    shown = f"cost {case.cost:.6g}"
    out = _binary(passed, f"{shown} > {a.threshold:g}", f"{shown} <= {a.threshold:g}")
    out.measure, out.threshold = case.cost, a.threshold
    return out


def _graded(measure: float, threshold: float, what: str) -> Outcome:
    passed = measure >= threshold - EPSILON
    sign = ">=" if passed else "<"
    return Outcome(
        passed,
        measure,
        f"{what} {measure:.3f} {sign} {threshold:g}",
        measure=measure,
        graded=True,
        threshold=threshold,
    )


def _similar(a: Assertion, value: Any, case: Case) -> Outcome:
    threshold = SIMILAR_THRESHOLD if a.threshold is None else a.threshold
    targets = [value] if isinstance(value, str) else list(value)
    vectors = case.vectors([case.output, *targets])
    best = float((vectors[1:] @ vectors[0]).max())
    return _graded(best, threshold, "cosine")


def context_sentences(context: list[str]) -> list[str]:
    """The distinct sentences of the context passages, in order."""
    return list(dict.fromkeys(s for passage in context for s in sentences(passage)))


def _verbatim(texts: list[str], context: list[str]) -> tuple[list[bool], list[int], list[str]]:
    """(found verbatim, indices of the rest, the context sentences to compare the rest with)."""
    whole = flat(" \n ".join(context))
    found = [bool(flat(t)) and flat(t) in whole for t in texts]
    rest = [i for i, ok in enumerate(found) if not ok]
    pool = context_sentences(context) if rest and context else []
    return found, rest, pool


def supported(texts: list[str], context: list[str], vectors: Vectors) -> list[bool]:
    """For each text: whether the context holds it verbatim, else whether its cosine with some
    context sentence reaches SUPPORT_THRESHOLD."""
    found, rest, pool = _verbatim(texts, context)
    if rest and pool:
        matrix = vectors([texts[i] for i in rest]) @ vectors(pool).T
        for i, best in zip(rest, matrix.max(axis=1), strict=True):
            found[i] = float(best) >= SUPPORT_THRESHOLD - EPSILON
    return found


def _context(case: Case) -> list[str]:
    if case.context is not None:
        return case.context
    given = case.vars.get("context")
    if given is None:
        return []
    return [as_text(c) for c in given] if isinstance(given, list) else [as_text(given)]


def _groundedness(a: Assertion, value: Any, case: Case) -> Outcome:
    threshold = 1.0 if a.threshold is None else a.threshold
    said = claims(case.output)
    if case.abstained or not said:
        why = "the answer abstained" if case.abstained else "the answer makes no claim"
        return Outcome(True, 1.0, f"{why}: nothing to ground", graded=True, threshold=threshold)
    context = _context(case)
    ok = supported(said, context, case.vectors) if context else [False] * len(said)
    share = sum(ok) / len(said)
    out = _graded(share, threshold, f"{sum(ok)} of {len(said)} sentences supported:")
    missing = [s for s, good in zip(said, ok, strict=True) if not good]
    if missing:
        out.reason += f"; unsupported: '{_short(missing[0])}'"
        if not context:
            out.reason += " (no context)"
    return out


def _answer_relevance(a: Assertion, value: Any, case: Case) -> Outcome:
    threshold = RELEVANCE_THRESHOLD if a.threshold is None else a.threshold
    question = value if isinstance(value, str) and value else case.prompt
    answer = " ".join(claims(case.output)) or case.output
    if not answer.strip():
        return Outcome(False, 0.0, "empty answer", 0.0, True, threshold)
    vectors = case.vectors([question, answer])
    out = _graded(float(vectors[0] @ vectors[1]), threshold, "cosine with the question")
    if case.abstained:
        out.reason += " (the answer abstained)"
    return out


def _context_recall(a: Assertion, value: Any, case: Case) -> Outcome:
    threshold = 1.0 if a.threshold is None else a.threshold
    facts = [value] if isinstance(value, str) else list(value)
    context = _context(case)
    ok = supported(facts, context, case.vectors) if context else [False] * len(facts)
    out = _graded(sum(ok) / len(facts), threshold, f"{sum(ok)} of {len(facts)} facts found:")
    missing = [f for f, good in zip(facts, ok, strict=True) if not good]
    if missing:
        out.reason += f"; missing: '{_short(missing[0])}'"
    return out


def _llm_rubric(a: Assertion, value: Any, case: Case) -> Outcome:
    if case.judge is None:
        return Outcome(False, 0.0, "no judge")
    verdict = case.judge(a, value)
    score = float(verdict.get("score", 1.0 if verdict.get("pass") else 0.0))
    if a.threshold is not None:
        passed = score >= a.threshold - EPSILON
    else:
        passed = bool(verdict.get("pass", score >= 0.5))
    reason = str(verdict.get("reason", "")) or ("passes" if passed else "fails") + " the rubric"
    return Outcome(passed, score, f"judge: {reason}", score, True, a.threshold)


_SUPPORTED = ("groundedness", "context-recall")


def texts_to_encode(assertion: Assertion, case: Case) -> list[str]:
    """The texts a semantic assertion will look up in case.vectors, so that a case's
    assertions can be encoded in one batch (the checks above decide the same way)."""
    if assertion.skip or assertion.type not in ("similar", "answer-relevance") + _SUPPORTED:
        return []
    try:
        value = render_value(assertion.value, case.vars)
    except ValueError:
        return []  # evaluate() reports it
    if assertion.type == "similar":
        return [case.output, *([value] if isinstance(value, str) else list(value or []))]
    if assertion.type == "answer-relevance":
        question = value if isinstance(value, str) and value else case.prompt
        answer = " ".join(claims(case.output)) or case.output
        return [question, answer] if answer.strip() else []
    if assertion.type == "groundedness":
        if case.abstained:
            return []
        texts = claims(case.output)
    else:
        texts = [value] if isinstance(value, str) else list(value or [])
    context = _context(case)
    if not texts or not context:
        return []
    _, rest, pool = _verbatim(texts, context)
    return [texts[i] for i in rest] + pool if rest and pool else []


CHECKS: dict[str, Callable[[Assertion, Any, Case], Outcome]] = {
    "equals": _equals,
    "contains": _contains,
    "icontains": lambda a, v, c: _contains(a, v, c, fold=True),
    "contains-any": _contains_many,
    "contains-all": _contains_many,
    "icontains-any": _contains_many,
    "icontains-all": _contains_many,
    "starts-with": _starts_with,
    "regex": _regex,
    "is-json": _is_json,
    "contains-json": _contains_json,
    "similar": _similar,
    "latency": _latency,
    "cost": _cost,
    "groundedness": _groundedness,
    "answer-relevance": _answer_relevance,
    "context-recall": _context_recall,
    "llm-rubric": _llm_rubric,
}


# --------------------------------------------------------------------------- the judge

RUBRIC_SYSTEM = (
    "You grade an answer against a rubric. Reply with one JSON object and nothing else: "
    '{"reason": "<one sentence>", "pass": true or false, "score": <a number from 0 to 1>}. '
    "The answer passes when what the rubric states is true of it."
)


def rubric_prompt(output: str, rubric: str) -> str:
    """The message sent to a judge: the answer and the rubric, each in its own tags."""
    return f"<answer>\n{output}\n</answer>\n<rubric>\n{rubric}\n</rubric>"


def parse_verdict(reply: str) -> dict:
    """The first JSON object in a judge's reply, with `pass` a boolean."""
    for value in json_values(reply):
        if isinstance(value, dict) and ("pass" in value or "score" in value):
            verdict = dict(value)
            if "pass" in verdict and not isinstance(verdict["pass"], bool):
                verdict["pass"] = str(verdict["pass"]).lower() == "true"
            return verdict
    raise ProviderError(f"the judge's reply holds no verdict: '{_short(reply, 120)}'")


# --------------------------------------------------------------------------- a test's verdict


def case_verdict(results: list[AssertionResult], threshold: float | None) -> tuple[str, float, str]:
    """(status, score, reason) of a test from its assertions' results."""
    counted = [r for r in results if r.counted]
    if not counted:
        if results:
            return "skipped", 1.0, "every assertion was skipped"
        return "pass", 1.0, "no assertions"
    total = sum(r.weight for r in counted)
    score = sum((r.score or 0.0) * r.weight for r in counted) / total if total > 0 else 0.0
    if threshold is not None:
        passed = score >= threshold - EPSILON
        sign = ">=" if passed else "<"
        return ("pass" if passed else "fail"), score, f"score {score:.2f} {sign} {threshold:g}"
    failed = [r for r in counted if not r.passed and r.weight > 0]
    if failed:
        return "fail", score, f"{failed[0].type}: {failed[0].reason}"
    return "pass", score, "all assertions passed"
