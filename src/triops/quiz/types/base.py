"""What every question type shares: the fields of a question, the grade it gives, and the methods
each type defines in its own module (the registry in `triops.quiz.types` lists the types).

Responses refer to options and items by their index in the question as authored, never by their
position on screen, so shuffling what is shown cannot change a score. A type that shows things
in a shuffled order (options, items, matching choices) says how many (`option_count`), what they
read (`labels`), and how a widget's screen positions map to the stored response and back
(`to_authored`, `to_screen`)."""

from __future__ import annotations

import unicodedata
from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from triops.content.models import _kebab

BLANK = "[[blank]]"
MULTIPLE_RESPONSE_MODES = ("partial", "all-or-nothing")


@dataclass(frozen=True)
class Grade:
    """A score from 0 to 1, the feedback it earns, and how it was reached."""

    score: float
    feedback: list[str] = field(default_factory=list)
    detail: str = ""

    @property
    def correct(self) -> bool:
        return self.score >= 1.0 - 1e-9


class InvalidResponse(ValueError):
    """A response whose shape does not fit the question."""


def clamp(x: float) -> float:
    """A score held within 0 and 1."""
    return max(0.0, min(1.0, x))


def credit(weight: float, feedback: str = "", detail: str = "") -> Grade:
    """The grade a percentage weight gives, with the feedback written for it."""
    return Grade(clamp(weight / 100), [feedback] if feedback else [], detail)


def with_full_credit(question, what: str):
    """The question, once one of its `answers` is worth 100% (else ValueError naming `what`)."""
    if not any(a.weight == 100 for a in question.answers):
        raise ValueError(f"missing answer: no {what} is worth 100%")
    return question


def normalize_text(text: str, case_sensitive: bool = False) -> str:
    """Trim, fold white space and Unicode forms, and (by default) case."""
    text = unicodedata.normalize("NFKC", text)
    text = " ".join(text.split())
    return text if case_sensitive else text.casefold()


def is_index(value: Any) -> bool:
    """An int that is not a bool (JSON and YAML both read true as a bool)."""
    return isinstance(value, int) and not isinstance(value, bool)


def screen_to_authored(order: list[int], screen: list[int]) -> list[int]:
    """Screen positions as the authored indices `order` shows at them."""
    return [order[s] for s in screen]


def authored_to_screen(order: list[int], authored: list[int]) -> list[int]:
    """Authored indices as the screen positions `order` shows them at."""
    inverse = {a: s for s, a in enumerate(order)}
    return [inverse[a] for a in authored]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QuestionBase(Strict):
    """The fields every question has, and what each type must define for itself.

    A type's module holds its pydantic model (its own fields and checks) and these methods;
    `triops.quiz.grading`, `triops.quiz.presentation`, GIFT export, item analysis and search
    call them, and `triops.ui.question_view` holds the one widget per type."""

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

    # Shown shuffled in every exam, whatever the blueprint says (ordering items).
    always_shuffled: ClassVar[bool] = False

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

    @classmethod
    def type_name(cls) -> str:
        """The `type:` a bank file gives for this model."""
        return cls.model_fields["type"].annotation.__args__[0]

    # --- grading

    @abstractmethod
    def check(self, response: Any) -> None:
        """Raise InvalidResponse unless the response (not None) has this type's shape."""

    @abstractmethod
    def score(self, response: Any, *, embedder=None, multiple_response: str = "partial") -> Grade:
        """The grade of a response that passed `check`."""

    @abstractmethod
    def right_answer(self) -> Any:
        """A response that scores 1, for review screens."""

    @abstractmethod
    def describe(self, response: Any) -> str:
        """A response (not None) in words, for review screens."""

    # --- presentation: types that show nothing shuffled keep these defaults

    def option_count(self) -> int:
        """How many things a shuffle reorders: options, items, or matching choices."""
        return 0

    def labels(self, order: list[int]) -> list[str]:
        """The choices as shown, in screen order."""
        return []

    def to_authored(self, order: list[int], screen: Any) -> Any:
        """A widget's value (screen positions, not None) as the stored response."""
        return screen

    def to_screen(self, order: list[int], authored: Any) -> Any:
        """A stored response (not None) as widget values, to restore a page after reload."""
        return authored

    # --- search, item analysis, GIFT

    @abstractmethod
    def search_lines(self) -> list[str]:
        """The choices and the key as text: searching a practice question finds its answer."""

    def labelled_options(self) -> list[tuple[int, str, bool]]:
        """(authored index, label, is key) of each option a choice item offers, for item
        analysis's distractor table; types without options offer none."""
        return []

    def gift_problem(self) -> str | None:
        """Why this question cannot be written as GIFT, or None when it can."""
        return f"{self.type_name()} questions have no GIFT form"

    def gift_answers(self):
        """The answer block as GIFT writes it (a `triops.quiz.types.gift_text.GiftAnswers`)."""
        raise NotImplementedError(self.gift_problem())

    @classmethod
    def read_gift_meta(cls, key: str, value: str, fields: dict[str, Any]) -> str | None:
        """Apply a `// triops-<key>: <value>` comment to the fields read from GIFT; return a
        warning when it does not apply, raise ValueError when its value is wrong."""
        return f"triops-{key} ignored (not for a {cls.type_name()} question)"
