"""true_false: a statement to judge. Response: True or False (bool)."""

from __future__ import annotations

from typing import Any, Literal

from triops.quiz.types import gift_text
from triops.quiz.types.base import Grade, InvalidResponse, QuestionBase
from triops.quiz.types.gift_text import GiftAnswers


class TrueFalse(QuestionBase):
    type: Literal["true_false"]
    answer: bool
    feedback_right: str = ""
    feedback_wrong: str = ""

    def check(self, response: Any) -> None:
        if not isinstance(response, bool):
            raise InvalidResponse("answer true or false")

    def score(self, response: Any, *, embedder=None, multiple_response: str = "partial") -> Grade:
        right = response == self.answer
        fb = self.feedback_right if right else self.feedback_wrong
        return Grade(1.0 if right else 0.0, [fb] if fb else [])

    def right_answer(self) -> bool:
        return self.answer

    def describe(self, response: Any) -> str:
        return "True" if response else "False"

    def search_lines(self) -> list[str]:
        return [f"Answer: {'true' if self.answer else 'false'}"]

    def labelled_options(self) -> list[tuple[int, str, bool]]:
        # Item analysis reads True as option 0 and False as option 1.
        return [(0, "True", self.answer is True), (1, "False", self.answer is False)]

    def gift_problem(self) -> str | None:
        return None

    def gift_answers(self) -> GiftAnswers:
        # Moodle's order: the feedback for a wrong answer first, then for a right one.
        feedback = ""
        if self.feedback_wrong or self.feedback_right:
            feedback = "#" + gift_text.text(self.feedback_wrong)
        if self.feedback_right:
            feedback += "#" + gift_text.text(self.feedback_right)
        return GiftAnswers(inline=("TRUE" if self.answer else "FALSE") + feedback)
