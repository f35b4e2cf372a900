"""Question types as pydantic models: a superset of what Moodle's GIFT format expresses."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from triops.content.models import _kebab

QUESTION_TYPES = (
    "single",
    "multiple",
    "true_false",
    "numeric",
    "short_text",
    "ordering",
    "matching",
)
BLANK = "[[blank]]"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(_Strict):
    """A choice of a single or multiple question; `weight` is a percentage (-100..100)."""

    text: str = Field(min_length=1)
    correct: bool = False
    weight: float | None = Field(default=None, ge=-100, le=100)
    feedback: str = ""


def _options(value):
    # Plain strings are allowed as a short form: `options: [a, b, c]` with `answer: b`.
    if isinstance(value, list):
        return [
            {"text": v} if isinstance(v, str | int | float) and not isinstance(v, bool) else v
            for v in value
        ]
    return value


class QuestionBase(_Strict):
    id: str
    title: str = ""
    domain: str | None = None
    difficulty: str | None = None
    lesson: str | None = None
    stem: str = Field(min_length=1)
    stem_format: Literal["markdown", "plain", "html", "moodle"] = "markdown"
    explanation: str | None = None
    tags: list[str] = Field(default_factory=list)
    exam_only: bool = False
    # Formative only: never drawn into an exam (trivia, course recall, a volatile fact).
    practice_only: bool = False
    # The exam-guide task statements the question tests (`dop-c02/1.4`), checked against
    # quizzes/guides/ by `triops validate`.
    covers: list[str] = Field(default_factory=list)

    _check_id = field_validator("id")(_kebab)

    @field_validator("stem")
    @classmethod
    def _one_blank(cls, value: str) -> str:
        if value.count(BLANK) > 1:
            raise ValueError(f"a stem may mark at most one {BLANK}")
        return value

    @model_validator(mode="after")
    def _one_pool(self) -> QuestionBase:
        if self.exam_only and self.practice_only:
            raise ValueError("a question cannot be both exam_only and practice_only")
        return self


class Single(QuestionBase):
    type: Literal["single"]
    options: list[Option] = Field(min_length=2)
    answer: str | None = None

    _opts = field_validator("options", mode="before")(_options)

    @model_validator(mode="after")
    def _one_key(self) -> Single:
        texts = [o.text for o in self.options]
        if len(set(texts)) != len(texts):
            raise ValueError("two options have the same text")
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
        """Each option's credit in percent."""
        return [
            100.0 if (o.correct or o.text == self.answer) else (o.weight or 0.0)
            for o in self.options
        ]


class Multiple(QuestionBase):
    type: Literal["multiple"]
    options: list[Option] = Field(min_length=2)
    answer: list[str] | None = None
    # "Choose N": the item tells the candidate how many options to pick, as real
    # certification exams do; it must equal the number of correct options.
    choose: int | None = Field(default=None, ge=2)

    _opts = field_validator("options", mode="before")(_options)

    @model_validator(mode="after")
    def _keys(self) -> Multiple:
        texts = [o.text for o in self.options]
        if len(set(texts)) != len(texts):
            raise ValueError("two options have the same text")
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
        return [i for i, w in enumerate(self.weights()) if w > 0]


class TrueFalse(QuestionBase):
    type: Literal["true_false"]
    answer: bool
    feedback_right: str = ""
    feedback_wrong: str = ""


class NumericAnswer(_Strict):
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


class Numeric(QuestionBase):
    type: Literal["numeric"]
    answers: list[NumericAnswer] = Field(min_length=1)
    unit: str = ""

    @model_validator(mode="after")
    def _full_credit(self) -> Numeric:
        if not any(a.weight == 100 for a in self.answers):
            raise ValueError("missing answer: no answer is worth 100%")
        return self


class TextAnswer(_Strict):
    text: str = Field(min_length=1)
    weight: float = Field(default=100.0, ge=-100, le=100)
    feedback: str = ""


class SemanticGrading(_Strict):
    """Accept a response whose meaning is close to an accepted answer (embedding cosine)."""

    threshold: float = Field(gt=0, lt=1)


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
        if not any(a.weight == 100 for a in self.answers):
            raise ValueError("missing answer: no accepted answer is worth 100%")
        return self


class Ordering(QuestionBase):
    type: Literal["ordering"]
    items: list[str] = Field(min_length=3)

    @field_validator("items")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("items must be distinct")
        return value


class Pair(_Strict):
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
        return [p.right for p in self.pairs] + list(self.distractors)


Question = Annotated[
    Single | Multiple | TrueFalse | Numeric | ShortText | Ordering | Matching,
    Field(discriminator="type"),
]
