"""matching: pair each left item with a right-hand choice (the pairs' right items and the
distractors, shown shuffled). Response: for each pair, the index of the chosen choice in
`choices()` or None (list[int | None]), scored by the share matched."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from triops.quiz.types import gift_text
from triops.quiz.types.base import Grade, InvalidResponse, QuestionBase, Strict
from triops.quiz.types.gift_text import GiftAnswers


class Pair(Strict):
    left: str = Field(min_length=1)
    right: str = Field(min_length=1)
    feedback: str = ""


class Matching(QuestionBase):
    type: Literal["matching"]
    pairs: list[Pair] = Field(min_length=3)
    distractors: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _distinct(self) -> Matching:
        lefts = [p.left for p in self.pairs]
        rights = [p.right for p in self.pairs] + self.distractors
        if len(set(lefts)) != len(lefts):
            raise ValueError("left items must be distinct")
        if len(set(rights)) != len(rights):
            raise ValueError("right items (and distractors) must be distinct")
        return self

    def choices(self) -> list[str]:
        """The right-hand choices: each pair's right item, then the distractors."""
        return [p.right for p in self.pairs] + list(self.distractors)

    def check(self, response: Any) -> None:
        n = len(self.pairs)
        if not isinstance(response, list) or len(response) != n:
            raise InvalidResponse(f"match all {n} items")
        choices = len(self.choices())
        if any(c is not None and not (isinstance(c, int) and 0 <= c < choices) for c in response):
            raise InvalidResponse("unknown choice")

    def score(self, response: Any, *, embedder=None, multiple_response: str = "partial") -> Grade:
        n = len(self.pairs)
        good = sum(1 for i, c in enumerate(response) if c == i)
        return Grade(good / n, detail=f"{good} of {n} matched")

    def right_answer(self) -> list[int]:
        return list(range(len(self.pairs)))

    def describe(self, response: Any) -> str:
        choices = self.choices()
        return "; ".join(
            f"{p.left} → {choices[c] if c is not None else '(none)'}"
            for p, c in zip(self.pairs, response, strict=True)
        )

    def option_count(self) -> int:
        return len(self.choices())

    def labels(self, order: list[int]) -> list[str]:
        choices = self.choices()
        return [choices[i] for i in order]

    def to_authored(self, order: list[int], screen: Any) -> list[int | None]:
        return [None if c is None else order[c] for c in screen]

    def to_screen(self, order: list[int], authored: Any) -> list[int | None]:
        inverse = {a: s for s, a in enumerate(order)}
        return [None if c is None else inverse[c] for c in authored]

    def search_lines(self) -> list[str]:
        return ["Matches:"] + [f"- {p.left}: {p.right}" for p in self.pairs]

    def gift_problem(self) -> str | None:
        if any("->" in p.left for p in self.pairs):
            return "'->' in the left item of a matching pair"
        return None

    def gift_answers(self) -> GiftAnswers:
        text, feedback = gift_text.text, gift_text.feedback
        lines = [f"={text(p.left)} -> {text(p.right)}{feedback(p.feedback)}" for p in self.pairs]
        return GiftAnswers(lines + [f"= -> {text(d)}" for d in self.distractors])
