"""Checks measured with the embedder, with thresholds calibrated on labelled questions (see
CALIBRATION.md). Each type's `texts_to_encode` sits beside its check and decides the same way,
so that a case's texts are encoded in one batch.

- similar: the highest cosine of the output and the value(s); default SIMILAR_THRESHOLD
  (promptfoo's 0.75 suits a different model: see CALIBRATION.md).
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
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from triops.evals.assertions.outcome import EPSILON, Case, Outcome, graded, short
from triops.evals.assertions.record import (
    AssertionType,
    Checked,
    ValueProblem,
    cosine_threshold,
    is_texts,
)
from triops.evals.calibration import RELEVANCE_THRESHOLD, SIMILAR_THRESHOLD, SUPPORT_THRESHOLD
from triops.evals.text import as_text, claims, flat, sentences

if TYPE_CHECKING:
    from triops.evals.assertions.vectors import Vectors
    from triops.evals.models import Assertion


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _texts(value: Any) -> list[str]:
    """The value's texts, none when there is no value."""
    return [value] if isinstance(value, str) else list(value or [])


def _check_texts(name: str, value: Any, threshold: float | None) -> Checked:
    problems = (
        []
        if is_texts(value)
        else [ValueProblem("value", f"{name} needs a string or a list of strings")]
    )
    return Checked(value, problems + cosine_threshold(name, threshold))


# --------------------------------------------------------------------------- similar


def _similar(a: Assertion, value: Any, case: Case) -> Outcome:
    threshold = SIMILAR_THRESHOLD if a.threshold is None else a.threshold
    vectors = case.vectors([case.output, *_listed(value)])
    best = float((vectors[1:] @ vectors[0]).max())
    return graded(best, threshold, "cosine")


def _similar_texts(a: Assertion, value: Any, case: Case) -> list[str]:
    return [case.output, *_texts(value)]


# --------------------------------------------------------------------------- context support


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


def _support_texts(texts: list[str], case: Case) -> list[str]:
    """The texts `supported` will embed: those not found verbatim, and the context sentences."""
    context = _context(case)
    if not texts or not context:
        return []
    _, rest, pool = _verbatim(texts, context)
    return [texts[i] for i in rest] + pool if rest and pool else []


def _context(case: Case) -> list[str]:
    if case.context is not None:
        return case.context
    given = case.vars.get("context")
    if given is None:
        return []
    return [as_text(c) for c in given] if isinstance(given, list) else [as_text(given)]


# --------------------------------------------------------------------------- groundedness


def _groundedness(a: Assertion, value: Any, case: Case) -> Outcome:
    threshold = 1.0 if a.threshold is None else a.threshold
    said = claims(case.output)
    if case.abstained or not said:
        why = "the answer abstained" if case.abstained else "the answer makes no claim"
        return Outcome(True, 1.0, f"{why}: nothing to ground", graded=True, threshold=threshold)
    context = _context(case)
    ok = supported(said, context, case.vectors) if context else [False] * len(said)
    share = sum(ok) / len(said)
    out = graded(share, threshold, f"{sum(ok)} of {len(said)} sentences supported:")
    missing = [s for s, good in zip(said, ok, strict=True) if not good]
    if missing:
        out.reason += f"; unsupported: '{short(missing[0])}'"
        if not context:
            out.reason += " (no context)"
    return out


def _groundedness_texts(a: Assertion, value: Any, case: Case) -> list[str]:
    return [] if case.abstained else _support_texts(claims(case.output), case)


def _check_threshold(name: str, value: Any, threshold: float | None) -> Checked:
    return Checked(value, cosine_threshold(name, threshold))


# --------------------------------------------------------------------------- answer relevance


def _question_and_answer(value: Any, case: Case) -> tuple[str, str]:
    question = value if isinstance(value, str) and value else case.prompt
    return question, " ".join(claims(case.output)) or case.output


def _answer_relevance(a: Assertion, value: Any, case: Case) -> Outcome:
    threshold = RELEVANCE_THRESHOLD if a.threshold is None else a.threshold
    question, answer = _question_and_answer(value, case)
    if not answer.strip():
        return Outcome(False, 0.0, "empty answer", 0.0, True, threshold)
    vectors = case.vectors([question, answer])
    out = graded(float(vectors[0] @ vectors[1]), threshold, "cosine with the question")
    if case.abstained:
        out.reason += " (the answer abstained)"
    return out


def _answer_relevance_texts(a: Assertion, value: Any, case: Case) -> list[str]:
    question, answer = _question_and_answer(value, case)
    return [question, answer] if answer.strip() else []


def _check_question(name: str, value: Any, threshold: float | None) -> Checked:
    problems = []
    if value is not None and not isinstance(value, str):
        problems.append(ValueProblem("value", f"{name} takes an optional question string"))
    return Checked(value, problems + cosine_threshold(name, threshold))


# --------------------------------------------------------------------------- context recall


def _context_recall(a: Assertion, value: Any, case: Case) -> Outcome:
    threshold = 1.0 if a.threshold is None else a.threshold
    facts = _listed(value)
    context = _context(case)
    ok = supported(facts, context, case.vectors) if context else [False] * len(facts)
    out = graded(sum(ok) / len(facts), threshold, f"{sum(ok)} of {len(facts)} facts found:")
    missing = [f for f, good in zip(facts, ok, strict=True) if not good]
    if missing:
        out.reason += f"; missing: '{short(missing[0])}'"
    return out


def _context_recall_texts(a: Assertion, value: Any, case: Case) -> list[str]:
    return _support_texts(_texts(value), case)


SIMILAR = AssertionType(
    "similar",
    "texts",
    _similar,
    _check_texts,
    _similar_texts,
    semantic=True,
    aliases=("similar:cosine",),
)
# The checks against a context (and the question), as the RAG metrics are usually listed.
RAG = [
    AssertionType(
        "groundedness",
        "none",
        _groundedness,
        _check_threshold,
        _groundedness_texts,
        semantic=True,
    ),
    AssertionType(
        "answer-relevance",
        "question",
        _answer_relevance,
        _check_question,
        _answer_relevance_texts,
        semantic=True,
    ),
    AssertionType(
        "context-recall",
        "texts",
        _context_recall,
        _check_texts,
        _context_recall_texts,
        semantic=True,
    ),
]
