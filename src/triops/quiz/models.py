"""Question types as pydantic models: a superset of what Moodle's GIFT format expresses.

Each type lives in its own module under `triops.quiz.types`, with its behaviour; this module
keeps the names its callers import."""

from __future__ import annotations

from triops.quiz.types import QUESTION_TYPES, TYPES, Question
from triops.quiz.types.base import BLANK, QuestionBase
from triops.quiz.types.choice import Option
from triops.quiz.types.matching import Matching, Pair
from triops.quiz.types.multiple import Multiple
from triops.quiz.types.numeric import Numeric, NumericAnswer
from triops.quiz.types.ordering import Ordering
from triops.quiz.types.short_text import SemanticGrading, ShortText, TextAnswer
from triops.quiz.types.single import Single
from triops.quiz.types.true_false import TrueFalse

__all__ = [
    "BLANK",
    "QUESTION_TYPES",
    "TYPES",
    "Matching",
    "Multiple",
    "Numeric",
    "NumericAnswer",
    "Option",
    "Ordering",
    "Pair",
    "Question",
    "QuestionBase",
    "SemanticGrading",
    "ShortText",
    "Single",
    "TextAnswer",
    "TrueFalse",
]
