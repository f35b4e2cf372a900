"""Between the screen and the stored answer: options are shown in an attempt's shuffled order,
answers are stored by authored index (so a shuffle can never change a score). Each type maps
its own positions (`triops.quiz.types`); these are the entry points that handle None."""

from __future__ import annotations

from typing import Any


def option_count(question) -> int:
    """How many things a shuffle reorders: options, items, or matching choices."""
    return question.option_count()


def labels(question, order: list[int]) -> list[str]:
    """The choices as shown, in screen order."""
    return question.labels(order)


def to_authored(question, order: list[int], screen: Any) -> Any:
    """A widget's value (screen positions) as the stored response (authored indices)."""
    return None if screen is None else question.to_authored(order, screen)


def to_screen(question, order: list[int], authored: Any) -> Any:
    """A stored response as widget values (screen positions), to restore a page after reload."""
    return None if authored is None else question.to_screen(order, authored)
