"""Scoring a response to a question: a fraction from 0 to 1, with the feedback it earns.

Responses refer to options and items by their index in the question as authored, never by their
position on screen, so shuffling what is shown cannot change a score. Each type grades in its own
module (`triops.quiz.types`), which also documents its response's shape: single int; multiple
list[int]; true_false bool; numeric float; short_text str; ordering list[int] (item indices in
the learner's order); matching list[int | None] (for each pair, the index of the chosen
right-hand choice in `Matching.choices()`).
"""

from __future__ import annotations

from typing import Any

from triops.quiz.types.base import (
    MULTIPLE_RESPONSE_MODES,
    Grade,
    InvalidResponse,
    normalize_text,
)

__all__ = [
    "MULTIPLE_RESPONSE_MODES",
    "Grade",
    "InvalidResponse",
    "describe",
    "grade",
    "normalize_text",
    "right_answer",
    "validate_response",
]


def grade(question, response: Any, embedder=None, *, multiple_response: str = "partial") -> Grade:
    """Score a response; None (unanswered) scores 0. Raises InvalidResponse for a wrong shape.

    `embedder` is only used by short-text questions that declare semantic grading; without one
    they fall back to exact matching. `multiple_response` is the exam's rule for multiple
    response: "partial" (Moodle's weights, the default) or "all-or-nothing"."""
    if multiple_response not in MULTIPLE_RESPONSE_MODES:
        raise ValueError(f"unknown multiple_response mode '{multiple_response}'")
    if response is None:
        return Grade(0.0, detail="not answered")
    question.check(response)
    return question.score(response, embedder=embedder, multiple_response=multiple_response)


def validate_response(question, response: Any) -> None:
    """Raise InvalidResponse unless the response fits the question (None clears an answer).
    Only the shape is checked: nothing is graded."""
    if response is not None:
        question.check(response)


def right_answer(question) -> Any:
    """A response that scores 1, for review screens."""
    return question.right_answer()


def describe(question, response: Any) -> str:
    """A response in words, for review screens."""
    return "not answered" if response is None else question.describe(response)
