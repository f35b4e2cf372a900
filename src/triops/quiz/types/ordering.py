"""ordering: put the items in order. The items are always shown shuffled. Response: the item
indices in the learner's order (list[int]), scored by the neighbouring pairs kept in order."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from triops.quiz.types.base import (
    Grade,
    InvalidResponse,
    QuestionBase,
    authored_to_screen,
    screen_to_authored,
)


class Ordering(QuestionBase):
    type: Literal["ordering"]
    items: list[str] = Field(min_length=3)

    always_shuffled: ClassVar[bool] = True

    @field_validator("items")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("items must be distinct")
        return value

    def check(self, response: Any) -> None:
        n = len(self.items)
        if not isinstance(response, list) or sorted(response) != list(range(n)):
            raise InvalidResponse(f"put all {n} items in order")

    def score(self, response: Any, *, embedder=None, multiple_response: str = "partial") -> Grade:
        n = len(self.items)
        good = sum(1 for a, b in zip(response, response[1:], strict=False) if b == a + 1)
        return Grade(good / (n - 1), detail=f"{good} of {n - 1} neighbouring pairs in order")

    def right_answer(self) -> list[int]:
        return list(range(len(self.items)))

    def describe(self, response: Any) -> str:
        return " → ".join(self.items[i] for i in response)

    def option_count(self) -> int:
        return len(self.items)

    def labels(self, order: list[int]) -> list[str]:
        return [self.items[i] for i in order]

    def to_authored(self, order: list[int], screen: Any) -> list[int]:
        return screen_to_authored(order, screen)

    def to_screen(self, order: list[int], authored: Any) -> list[int]:
        return authored_to_screen(order, authored)

    def search_lines(self) -> list[str]:
        return ["In order:"] + [f"{i}. {item}" for i, item in enumerate(self.items, 1)]
