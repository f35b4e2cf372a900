"""Scoring a response to a question: a fraction from 0 to 1, with the feedback it earns.

Responses refer to options and items by their index in the question as authored, never by their
position on screen, so shuffling what is shown cannot change a score. Shapes per type:
single int; multiple list[int]; true_false bool; numeric float; short_text str;
ordering list[int] (item indices in the learner's order); matching list[int | None]
(for each pair, the index of the chosen right-hand choice in `Matching.choices()`).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from triops.quiz.models import (
    Matching,
    Multiple,
    Numeric,
    Ordering,
    ShortText,
    Single,
    TrueFalse,
)


@dataclass(frozen=True)
class Grade:
    score: float
    feedback: list[str] = field(default_factory=list)
    detail: str = ""

    @property
    def correct(self) -> bool:
        return self.score >= 1.0 - 1e-9


class InvalidResponse(ValueError):
    """A response whose shape does not fit the question."""


def _clamp(x: float) -> float:
    return max(0.0, min(1.0, x))


def normalize_text(text: str, case_sensitive: bool = False) -> str:
    """Trim, fold white space and Unicode forms, and (by default) case."""
    text = unicodedata.normalize("NFKC", text)
    text = " ".join(text.split())
    return text if case_sensitive else text.casefold()


def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$", re.S)


def _single(q: Single, r: Any) -> Grade:
    if not isinstance(r, int) or isinstance(r, bool) or not 0 <= r < len(q.options):
        raise InvalidResponse("choose one option")
    weight = q.weights()[r]
    fb = [q.options[r].feedback] if q.options[r].feedback else []
    return Grade(_clamp(weight / 100), fb)


def _multiple(q: Multiple, r: Any, all_or_nothing: bool = False) -> Grade:
    if not isinstance(r, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in r
    ):
        raise InvalidResponse("choose any number of options")
    chosen = sorted(set(r))
    if any(not 0 <= i < len(q.options) for i in chosen):
        raise InvalidResponse("unknown option")
    fb = [q.options[i].feedback for i in chosen if q.options[i].feedback]
    if all_or_nothing:
        # As AWS scores multiple response: full credit for exactly the keyed set, else none.
        key = q.key()
        if chosen == key:
            return Grade(1.0, fb)
        if q.choose is not None and len(chosen) > q.choose:
            detail = f"{len(chosen)} options chosen where the item asks for {q.choose}: no credit"
        else:
            detail = f"all-or-nothing: credit only for exactly the {len(key)} right options"
        return Grade(0.0, fb, detail=detail)
    weights = q.weights()
    total = sum(weights[i] for i in chosen)
    return Grade(_clamp(total / 100), fb)


def _true_false(q: TrueFalse, r: Any) -> Grade:
    if not isinstance(r, bool):
        raise InvalidResponse("answer true or false")
    right = r == q.answer
    fb = q.feedback_right if right else q.feedback_wrong
    return Grade(1.0 if right else 0.0, [fb] if fb else [])


def _numeric(q: Numeric, r: Any) -> Grade:
    if isinstance(r, bool) or not isinstance(r, int | float) or not math.isfinite(r):
        raise InvalidResponse("enter a number")
    best: tuple[float, str] | None = None
    for a in q.answers:
        lo, hi = a.bounds()
        # A tiny relative slack absorbs binary floating point (0.1 + 0.2 is 0.30000000000000004).
        eps = 1e-9 * max(1.0, abs(lo), abs(hi))
        if lo - eps <= r <= hi + eps and (best is None or a.weight > best[0]):
            best = (a.weight, a.feedback)
    if best is None:
        return Grade(0.0)
    return Grade(_clamp(best[0] / 100), [best[1]] if best[1] else [])


def _short_text(q: ShortText, r: Any, embedder=None) -> Grade:
    if not isinstance(r, str):
        raise InvalidResponse("type an answer")
    given = normalize_text(r, q.case_sensitive)
    if not given:
        return Grade(0.0)
    best: tuple[float, str] | None = None
    for a in q.answers:
        want = normalize_text(a.text, q.case_sensitive)
        hit = _wildcard(want).match(given) if "*" in want else want == given
        if hit and (best is None or a.weight > best[0]):
            best = (a.weight, a.feedback)
    if best is not None and best[0] >= 100:
        return Grade(_clamp(best[0] / 100), [best[1]] if best[1] else [])
    if q.semantic is not None:
        semantic = _semantic(q, r, embedder)
        if semantic is not None:
            if best is None or semantic.score > best[0] / 100:
                return semantic
    if best is None:
        return Grade(0.0)
    return Grade(_clamp(best[0] / 100), [best[1]] if best[1] else [])


def _semantic(q: ShortText, r: str, embedder) -> Grade | None:
    """Full or partial credit when the response means what an accepted answer says.

    The similarity that decided is reported in `detail`, so a learner can see why."""
    if embedder is None:
        return None
    accepted = [a for a in q.answers if a.weight > 0 and "*" not in a.text]
    if not accepted:
        return None
    vectors = embedder.encode([r, *[a.text for a in accepted]])
    sims = vectors[1:] @ vectors[0]
    i = int(sims.argmax())
    sim = float(sims[i])
    threshold = q.semantic.threshold  # type: ignore[union-attr]
    verdict = "accepted" if sim >= threshold else "not close enough"
    detail = (
        f"meaning similarity {sim:.2f} to '{accepted[i].text}' "
        f"(threshold {threshold:.2f}): {verdict}"
    )
    if sim < threshold:
        return Grade(0.0, detail=detail)
    fb = [accepted[i].feedback] if accepted[i].feedback else []
    return Grade(_clamp(accepted[i].weight / 100), fb, detail=detail)


def _ordering(q: Ordering, r: Any) -> Grade:
    n = len(q.items)
    if not isinstance(r, list) or sorted(r) != list(range(n)):
        raise InvalidResponse(f"put all {n} items in order")
    good = sum(1 for a, b in zip(r, r[1:], strict=False) if b == a + 1)
    return Grade(good / (n - 1), detail=f"{good} of {n - 1} neighbouring pairs in order")


def _matching(q: Matching, r: Any) -> Grade:
    n = len(q.pairs)
    choices = len(q.choices())
    if not isinstance(r, list) or len(r) != n:
        raise InvalidResponse(f"match all {n} items")
    if any(c is not None and (not isinstance(c, int) or not 0 <= c < choices) for c in r):
        raise InvalidResponse("unknown choice")
    good = sum(1 for i, c in enumerate(r) if c == i)
    return Grade(good / n, detail=f"{good} of {n} matched")


_GRADERS = {
    "single": _single,
    "multiple": _multiple,
    "true_false": _true_false,
    "numeric": _numeric,
    "short_text": _short_text,
    "ordering": _ordering,
    "matching": _matching,
}


MULTIPLE_RESPONSE_MODES = ("partial", "all-or-nothing")


def grade(question, response: Any, embedder=None, *, multiple_response: str = "partial") -> Grade:
    """Score a response; None (unanswered) scores 0. Raises InvalidResponse for a wrong shape.

    `embedder` is only used by short-text questions that declare semantic grading; without one
    they fall back to exact matching. `multiple_response` is the exam's rule for multiple
    response: "partial" (Moodle's weights, the default) or "all-or-nothing"."""
    if multiple_response not in MULTIPLE_RESPONSE_MODES:
        raise ValueError(f"unknown multiple_response mode '{multiple_response}'")
    if response is None:
        return Grade(0.0, detail="not answered")
    if question.type == "short_text":
        return _short_text(question, response, embedder)
    if question.type == "multiple":
        return _multiple(question, response, multiple_response == "all-or-nothing")
    return _GRADERS[question.type](question, response)


def validate_response(question, response: Any) -> None:
    """Raise InvalidResponse unless the response fits the question (None clears an answer)."""
    if response is not None:
        grade(question, response)


def right_answer(question) -> Any:
    """A response that scores 1, for review screens."""
    t = question.type
    if t == "single":
        return question.weights().index(100.0)
    if t == "multiple":
        return question.key()
    if t == "true_false":
        return question.answer
    if t == "numeric":
        best = next(a for a in question.answers if a.weight == 100)
        return best.value if best.value is not None else (best.min + best.max) / 2
    if t == "short_text":
        return next(a.text for a in question.answers if a.weight == 100)
    if t == "ordering":
        return list(range(len(question.items)))
    return list(range(len(question.pairs)))


def describe(question, response: Any) -> str:
    """A response in words, for review screens."""
    if response is None:
        return "not answered"
    t = question.type
    if t == "single":
        return question.options[response].text
    if t == "multiple":
        return "; ".join(question.options[i].text for i in sorted(response)) or "nothing chosen"
    if t == "true_false":
        return "True" if response else "False"
    if t == "numeric":
        return f"{response:g}" + (f" {question.unit}" if question.unit else "")
    if t == "short_text":
        return response
    if t == "ordering":
        return " → ".join(question.items[i] for i in response)
    choices = question.choices()
    return "; ".join(
        f"{p.left} → {choices[c] if c is not None else '(none)'}"
        for p, c in zip(question.pairs, response, strict=True)
    )
