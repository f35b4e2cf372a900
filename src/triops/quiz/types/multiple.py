"""multiple: choose all that apply, scored by weights (partial credit) or, in an exam that scores
multiple response all-or-nothing, only for exactly the keyed set. Response: the authored indices
of the chosen options (list[int])."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from triops.quiz.types import gift_text
from triops.quiz.types.base import (
    Grade,
    InvalidResponse,
    authored_to_screen,
    clamp,
    is_index,
    screen_to_authored,
)
from triops.quiz.types.choice import Choice, Option, distinct_texts, plain_options
from triops.quiz.types.gift_text import GiftAnswers


class Multiple(Choice):
    type: Literal["multiple"]
    options: list[Option] = Field(min_length=2)
    answer: list[str] | None = None
    # "Choose N": the item tells the candidate how many options to pick, as real
    # certification exams do; it must equal the number of correct options.
    choose: int | None = Field(default=None, ge=2)

    _opts = field_validator("options", mode="before")(plain_options)

    @model_validator(mode="after")
    def _keys(self) -> Multiple:
        texts = distinct_texts(self.options)
        for a in self.answer or []:
            if a not in texts:
                raise ValueError(f"answer '{a}' is not among the options")
        if any(o.weight is not None for o in self.options):
            positive = sum(o.weight for o in self.options if o.weight and o.weight > 0)
            if abs(positive - 100) > 0.5:
                raise ValueError(f"positive option weights add up to {positive:g}, not 100")
        else:
            correct = [o for o in self.options if o.correct or o.text in (self.answer or [])]
            if not correct:
                raise ValueError("missing answer: mark the correct options `correct: true`")
            if len(correct) < 2:
                raise ValueError(
                    "a multiple-answer question has at least two correct options "
                    "(use type: single for one)"
                )
        if self.choose is not None:
            keys = sum(
                1
                for o in self.options
                if (o.weight or 0) > 0 or o.correct or o.text in (self.answer or [])
            )
            if keys != self.choose:
                raise ValueError(
                    f"choose is {self.choose} but the question has {keys} correct options"
                )
        return self

    def weights(self) -> list[float]:
        if any(o.weight is not None for o in self.options):
            return [o.weight or 0.0 for o in self.options]
        correct = [o.correct or o.text in (self.answer or []) for o in self.options]
        k = sum(correct)
        return [100.0 / k if c else -100.0 / k for c in correct]

    def key(self) -> list[int]:
        """The authored indices of the options that earn credit."""
        return [i for i, w in enumerate(self.weights()) if w > 0]

    def check(self, response: Any) -> None:
        if not isinstance(response, list) or not all(is_index(i) for i in response):
            raise InvalidResponse("choose any number of options")
        if any(not 0 <= i < len(self.options) for i in response):
            raise InvalidResponse("unknown option")

    def score(self, response: Any, *, embedder=None, multiple_response: str = "partial") -> Grade:
        chosen = sorted(set(response))
        fb = [self.options[i].feedback for i in chosen if self.options[i].feedback]
        if multiple_response == "all-or-nothing":
            # As AWS scores multiple response: full credit for exactly the keyed set, else none.
            key = self.key()
            if chosen == key:
                return Grade(1.0, fb)
            if self.choose is not None and len(chosen) > self.choose:
                n, asked = len(chosen), self.choose
                detail = f"{n} options chosen where the item asks for {asked}: no credit"
            else:
                detail = f"all-or-nothing: credit only for exactly the {len(key)} right options"
            return Grade(0.0, fb, detail=detail)
        weights = self.weights()
        return Grade(clamp(sum(weights[i] for i in chosen) / 100), fb)

    def right_answer(self) -> list[int]:
        return self.key()

    def describe(self, response: Any) -> str:
        return "; ".join(self.options[i].text for i in sorted(response)) or "nothing chosen"

    def to_authored(self, order: list[int], screen: Any) -> list[int]:
        return screen_to_authored(order, screen)

    def to_screen(self, order: list[int], authored: Any) -> list[int]:
        return authored_to_screen(order, authored)

    def key_weight(self) -> float:
        return 1e-9  # any positive weight: a key of a partial-credit item

    def gift_answers(self) -> GiftAnswers:
        # Keyed by `correct` (no weights): written with Moodle's weights, +100/k for each of
        # the k right options and -100/k for each wrong one, so that Moodle scores it the
        # same way, and marked so that an import turns them back into the key.
        weighted = any(o.weight is not None for o in self.options)
        lines = [
            "~"
            + gift_text.weight(o.weight if weighted else w)
            + gift_text.text(o.text)
            + gift_text.feedback(o.feedback)
            for o, w in zip(self.options, self.weights(), strict=True)
        ]
        return GiftAnswers(lines, [] if weighted else ["multiple: keyed"])

    @classmethod
    def read_gift_meta(cls, key: str, value: str, fields: dict[str, Any]) -> str | None:
        if key != "multiple" or value != "keyed":
            return super().read_gift_meta(key, value, fields)
        options = fields["options"]
        weights = [o.get("weight") for o in options]
        k = sum(1 for w in weights if w is not None and w > 0)
        if k and all(
            w is not None and math.isclose(w, (100 if w > 0 else -100) / k, abs_tol=1e-9)
            for w in weights
        ):
            fields["options"] = [
                {name: v for name, v in o.items() if name != "weight"}
                | {"correct": o["weight"] > 0}
                for o in options
            ]
            return None
        return "triops-multiple: keyed ignored: the weights are not +100/k and -100/k"
