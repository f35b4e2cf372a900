"""The question types, one module each, and the registry that names them.

A type's module holds everything about it: its pydantic model (fields and checks), how it
grades a response, the right answer and a response in words, how it shows a shuffled order,
what search indexes, what item analysis counts as its options, and its GIFT form (see
`base.QuestionBase` for the methods). `triops.ui.question_view` holds its widget. Adding a type
is one module here, its line in TYPES below, its widget and its tests (quizzes/README.md)."""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import Field

from triops.quiz.types.base import QuestionBase
from triops.quiz.types.matching import Matching
from triops.quiz.types.multiple import Multiple
from triops.quiz.types.numeric import Numeric
from triops.quiz.types.ordering import Ordering
from triops.quiz.types.short_text import ShortText
from triops.quiz.types.single import Single
from triops.quiz.types.task import Task
from triops.quiz.types.true_false import TrueFalse

TYPES: dict[str, type[QuestionBase]] = {
    model.type_name(): model
    for model in (Single, Multiple, TrueFalse, Numeric, ShortText, Ordering, Matching)
}
QUESTION_TYPES = tuple(TYPES)

Question = Annotated[Union[tuple(TYPES.values())], Field(discriminator="type")]  # noqa: UP007
"""Any question, read by the `type:` it gives."""

# Exam items that are not bank questions: a task (quizzes/tasks/) is drawn by an exam profile's
# `tasks:` and stored in an attempt like a question, but a bank file cannot hold one.
EXAM_ONLY_TYPES: dict[str, type[QuestionBase]] = {Task.type_name(): Task}
ITEM_TYPES: dict[str, type[QuestionBase]] = {**TYPES, **EXAM_ONLY_TYPES}

ExamItem = Annotated[Union[tuple(ITEM_TYPES.values())], Field(discriminator="type")]  # noqa: UP007
"""Any item an exam attempt can hold: a question of the bank, or a task."""
