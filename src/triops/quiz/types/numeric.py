"""numeric: a number within a tolerance or a range, with several weighted answers. Response:
the number (float or int)."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, model_validator

from triops.quiz.types import gift_text
from triops.quiz.types.base import (
    Grade,
    InvalidResponse,
    QuestionBase,
    Strict,
    credit,
    with_full_credit,
)
from triops.quiz.types.gift_text import GiftAnswers


class NumericAnswer(Strict):
    value: float | None = None
    tolerance: float = Field(default=0.0, ge=0)
    min: float | None = None
    max: float | None = None
    weight: float = Field(default=100.0, ge=-100, le=100)
    feedback: str = ""

    @model_validator(mode="after")
    def _shape(self) -> NumericAnswer:
        ranged = self.min is not None or self.max is not None
        if ranged and self.value is not None:
            raise ValueError("give either value (with tolerance) or min and max, not both")
        if ranged and (self.min is None or self.max is None):
            raise ValueError("a range needs both min and max")
        if not ranged and self.value is None:
            raise ValueError("missing answer: give value or min and max")
        if ranged and self.min > self.max:
            raise ValueError(f"min {self.min:g} is greater than max {self.max:g}")
        return self

    def bounds(self) -> tuple[float, float]:
        if self.value is not None:
            return self.value - self.tolerance, self.value + self.tolerance
        return self.min, self.max  # type: ignore[return-value]

    def gift_spec(self) -> str:
        """`min..max`, `value:tolerance` or `value`, as GIFT writes a numerical answer."""
        if self.value is None:
            return f"{gift_text.number(self.min)}..{gift_text.number(self.max)}"  # type: ignore[arg-type]
        tolerance = f":{gift_text.number(self.tolerance)}" if self.tolerance else ""
        return gift_text.number(self.value) + tolerance


class Numeric(QuestionBase):
    type: Literal["numeric"]
    answers: list[NumericAnswer] = Field(min_length=1)
    unit: str = ""

    @model_validator(mode="after")
    def _full_credit(self) -> Numeric:
        return with_full_credit(self, "answer")

    def check(self, response: Any) -> None:
        if (
            isinstance(response, bool)
            or not isinstance(response, int | float)
            or not math.isfinite(response)
        ):
            raise InvalidResponse("enter a number")

    def score(self, response: Any, *, embedder=None, multiple_response: str = "partial") -> Grade:
        best: NumericAnswer | None = None
        for a in self.answers:
            lo, hi = a.bounds()
            # A tiny relative slack absorbs binary floating point: 0.1 + 0.2 is
            # 0.30000000000000004.
            eps = 1e-9 * max(1.0, abs(lo), abs(hi))
            if lo - eps <= response <= hi + eps and (best is None or a.weight > best.weight):
                best = a
        return Grade(0.0) if best is None else credit(best.weight, best.feedback)

    def right_answer(self) -> float:
        best = next(a for a in self.answers if a.weight == 100)
        return best.value if best.value is not None else (best.min + best.max) / 2

    def describe(self, response: Any) -> str:
        return f"{response:g}" + (f" {self.unit}" if self.unit else "")

    def search_lines(self) -> list[str]:
        shown = []
        for a in self.answers:
            if a.weight != 100:
                continue
            lo, hi = a.bounds()
            value = f"{a.value:g}" if a.value is not None and lo == hi else f"{lo:g} to {hi:g}"
            shown.append(f"{value} {self.unit}".strip())
        return ["Answer: " + "; ".join(shown)]

    def gift_problem(self) -> str | None:
        return None

    def gift_answers(self) -> GiftAnswers:
        meta = [f"unit: {gift_text.escape(self.unit)}"] if self.unit else []
        lines = [
            "="
            + (gift_text.weight(a.weight) if a.weight != 100 else "")
            + a.gift_spec()
            + gift_text.feedback(a.feedback)
            for a in self.answers
        ]
        (first, *more) = self.answers
        if not more and lines[0] == "=" + first.gift_spec():
            return GiftAnswers(lines, meta, inline="#" + first.gift_spec())
        return GiftAnswers(lines, meta, opening="{#")

    @classmethod
    def read_gift_meta(cls, key: str, value: str, fields: dict[str, Any]) -> str | None:
        if key != "unit":
            return super().read_gift_meta(key, value, fields)
        fields["unit"] = value
        return None
