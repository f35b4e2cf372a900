"""single: one right option. Response: the authored index of the chosen option (int)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from triops.quiz.types import gift_text
from triops.quiz.types.base import Grade, InvalidResponse, authored_to_screen, credit, is_index
from triops.quiz.types.choice import Choice, Option, distinct_texts, plain_options
from triops.quiz.types.gift_text import GiftAnswers


class Single(Choice):
    type: Literal["single"]
    options: list[Option] = Field(min_length=2)
    answer: str | None = None

    _opts = field_validator("options", mode="before")(plain_options)

    @model_validator(mode="after")
    def _one_key(self) -> Single:
        texts = distinct_texts(self.options)
        if self.answer is not None and self.answer not in texts:
            raise ValueError(f"answer '{self.answer}' is not among the options")
        keys = [o for o in self.options if o.correct or o.weight == 100 or o.text == self.answer]
        if not keys:
            raise ValueError("missing answer: mark one option `correct: true` or give `answer`")
        if len(keys) > 1:
            raise ValueError(
                "a single-choice question has exactly one correct option "
                "(use type: multiple for several)"
            )
        return self

    def weights(self) -> list[float]:
        return [
            100.0 if (o.correct or o.text == self.answer) else (o.weight or 0.0)
            for o in self.options
        ]

    def check(self, response: Any) -> None:
        if not is_index(response) or not 0 <= response < len(self.options):
            raise InvalidResponse("choose one option")

    def score(self, response: Any, *, embedder=None, multiple_response: str = "partial") -> Grade:
        return credit(self.weights()[response], self.options[response].feedback)

    def right_answer(self) -> int:
        return self.weights().index(100.0)

    def describe(self, response: Any) -> str:
        return self.options[response].text

    def to_authored(self, order: list[int], screen: Any) -> int:
        return order[screen]

    def to_screen(self, order: list[int], authored: Any) -> int:
        return authored_to_screen(order, [authored])[0]

    def key_weight(self) -> float:
        return 100.0

    def gift_answers(self) -> GiftAnswers:
        lines = []
        for o in self.options:
            correct = o.correct or o.text == self.answer
            mark = "=" if correct else "~" + gift_text.weight(o.weight)
            lines.append(mark + gift_text.text(o.text) + gift_text.feedback(o.feedback))
        return GiftAnswers(lines)
