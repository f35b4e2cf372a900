"""short_text: a typed answer, matched after normalising (white space, Unicode forms, case unless
case_sensitive), with `*` as a wildcard and, optionally, by meaning (embedding cosine). Response:
the text (str)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from triops.quiz.types import gift_text
from triops.quiz.types.base import (
    Grade,
    InvalidResponse,
    QuestionBase,
    Strict,
    clamp,
    credit,
    normalize_text,
    with_full_credit,
)
from triops.quiz.types.gift_text import GiftAnswers


class TextAnswer(Strict):
    text: str = Field(min_length=1)
    weight: float = Field(default=100.0, ge=-100, le=100)
    feedback: str = ""


class SemanticGrading(Strict):
    """Accept a response whose meaning is close to an accepted answer (embedding cosine)."""

    threshold: float = Field(gt=0, lt=1)


def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$", re.S)


class ShortText(QuestionBase):
    type: Literal["short_text"]
    answers: list[TextAnswer] = Field(min_length=1)
    case_sensitive: bool = False
    semantic: SemanticGrading | None = None

    @field_validator("answers", mode="before")
    @classmethod
    def _plain(cls, value):
        if isinstance(value, list):
            return [{"text": str(v)} if isinstance(v, str | int | float) else v for v in value]
        return value

    @model_validator(mode="after")
    def _full_credit(self) -> ShortText:
        return with_full_credit(self, "accepted answer")

    def check(self, response: Any) -> None:
        if not isinstance(response, str):
            raise InvalidResponse("type an answer")

    def score(self, response: Any, *, embedder=None, multiple_response: str = "partial") -> Grade:
        """The best matching answer's credit; below full credit, meaning may give more (with
        `semantic` set and an embedder given; without one, exact matching only)."""
        given = normalize_text(response, self.case_sensitive)
        if not given:
            return Grade(0.0)
        best: TextAnswer | None = None
        for a in self.answers:
            want = normalize_text(a.text, self.case_sensitive)
            hit = _wildcard(want).match(given) if "*" in want else want == given
            if hit and (best is None or a.weight > best.weight):
                best = a
        if best is not None and best.weight >= 100:
            return credit(best.weight, best.feedback)
        if self.semantic is not None:
            semantic = self._by_meaning(response, embedder)
            if semantic is not None and (best is None or semantic.score > best.weight / 100):
                return semantic
        return Grade(0.0) if best is None else credit(best.weight, best.feedback)

    def _by_meaning(self, response: str, embedder) -> Grade | None:
        """Full or partial credit when the response means what an accepted answer says.

        The similarity that decided is reported in `detail`, so a learner can see why."""
        if embedder is None:
            return None
        accepted = [a for a in self.answers if a.weight > 0 and "*" not in a.text]
        if not accepted:
            return None
        vectors = embedder.encode([response, *[a.text for a in accepted]])
        sims = vectors[1:] @ vectors[0]
        i = int(sims.argmax())
        sim = float(sims[i])
        threshold = self.semantic.threshold  # type: ignore[union-attr]
        verdict = "accepted" if sim >= threshold else "not close enough"
        detail = (
            f"meaning similarity {sim:.2f} to '{accepted[i].text}' "
            f"(threshold {threshold:.2f}): {verdict}"
        )
        if sim < threshold:
            return Grade(0.0, detail=detail)
        fb = [accepted[i].feedback] if accepted[i].feedback else []
        return Grade(clamp(accepted[i].weight / 100), fb, detail=detail)

    def right_answer(self) -> str:
        return next(a.text for a in self.answers if a.weight == 100)

    def describe(self, response: Any) -> str:
        return response

    def search_lines(self) -> list[str]:
        return ["Answer: " + "; ".join(a.text for a in self.answers if a.weight == 100)]

    def gift_problem(self) -> str | None:
        if any("->" in a.text + a.feedback for a in self.answers):
            return "'->' in a short-text answer or its feedback would read as a matching question"
        return gift_text.begins_like_weight([a.text for a in self.answers])

    def gift_answers(self) -> GiftAnswers:
        meta = ["case-sensitive: true"] if self.case_sensitive else []
        if self.semantic is not None:
            meta.append(f"semantic-threshold: {self.semantic.threshold!r}")
        lines = [
            "="
            + (gift_text.weight(a.weight) if a.weight != 100 else "")
            + gift_text.text(a.text)
            + gift_text.feedback(a.feedback)
            for a in self.answers
        ]
        return GiftAnswers(lines, meta)

    @classmethod
    def read_gift_meta(cls, key: str, value: str, fields: dict[str, Any]) -> str | None:
        if key == "case-sensitive":
            fields["case_sensitive"] = value.lower() == "true"
        elif key == "semantic-threshold":
            try:
                fields["semantic"] = {"threshold": float(value)}
            except ValueError:
                raise ValueError(f"triops-semantic-threshold '{value}' is not a number") from None
        else:
            return super().read_gift_meta(key, value, fields)
        return None
