"""What the two choice types (single and multiple) share: options with a weight and feedback,
shown in a shuffled order, listed in search and item analysis."""

from __future__ import annotations

from abc import abstractmethod

from pydantic import Field

from triops.quiz.types import gift_text
from triops.quiz.types.base import QuestionBase, Strict


class Option(Strict):
    """A choice of a single or multiple question; `weight` is a percentage (-100..100)."""

    text: str = Field(min_length=1)
    correct: bool = False
    weight: float | None = Field(default=None, ge=-100, le=100)
    feedback: str = ""


def plain_options(value):
    """Plain strings are allowed as a short form: `options: [a, b, c]` with `answer: b`."""
    if isinstance(value, list):
        return [
            {"text": v} if isinstance(v, str | int | float) and not isinstance(v, bool) else v
            for v in value
        ]
    return value


def distinct_texts(options: list[Option]) -> list[str]:
    """The option texts; ValueError when two are the same."""
    texts = [o.text for o in options]
    if len(set(texts)) != len(texts):
        raise ValueError("two options have the same text")
    return texts


class Choice(QuestionBase):
    """Behaviour of a question with `options: list[Option]` (single and multiple); each
    declares the field itself, after `type`, so that a dump keeps the authored key order."""

    @abstractmethod
    def weights(self) -> list[float]:
        """Each option's credit in percent."""

    def option_count(self) -> int:
        return len(self.options)

    def labels(self, order: list[int]) -> list[str]:
        return [self.options[i].text for i in order]

    def search_lines(self) -> list[str]:
        right = [o.text for o, w in zip(self.options, self.weights(), strict=True) if w > 0]
        lines = ["Options:"] + [f"- {o.text}" for o in self.options]
        return lines + [("Answer: " if len(right) == 1 else "Answers: ") + "; ".join(right)]

    @abstractmethod
    def key_weight(self) -> float:
        """The weight from which an option counts as a key in item analysis."""

    def labelled_options(self) -> list[tuple[int, str, bool]]:
        full = self.key_weight()
        return [
            (i, o.text, w >= full)
            for i, (o, w) in enumerate(zip(self.options, self.weights(), strict=True))
        ]

    def gift_problem(self) -> str | None:
        return gift_text.begins_like_weight([o.text for o in self.options])
