"""Between the screen and the stored answer: options are shown in an attempt's shuffled order,
answers are stored by authored index (so a shuffle can never change a score)."""

from __future__ import annotations

from typing import Any


def option_count(question) -> int:
    """How many things a shuffle reorders: options, items, or matching choices."""
    if question.type in ("single", "multiple"):
        return len(question.options)
    if question.type == "ordering":
        return len(question.items)
    if question.type == "matching":
        return len(question.choices())
    return 0


def labels(question, order: list[int]) -> list[str]:
    """The choices as shown, in screen order."""
    t = question.type
    if t in ("single", "multiple"):
        return [question.options[i].text for i in order]
    if t == "ordering":
        return [question.items[i] for i in order]
    if t == "matching":
        return [question.choices()[i] for i in order]
    return []


def to_authored(question, order: list[int], screen: Any) -> Any:
    """A widget's value (screen positions) as the stored response (authored indices)."""
    if screen is None:
        return None
    t = question.type
    if t == "single":
        return order[screen]
    if t in ("multiple", "ordering"):
        return [order[i] for i in screen]
    if t == "matching":
        return [None if c is None else order[c] for c in screen]
    return screen


def to_screen(question, order: list[int], authored: Any) -> Any:
    """A stored response as widget values (screen positions), to restore a page after reload."""
    if authored is None:
        return None
    inverse = {a: s for s, a in enumerate(order)}
    t = question.type
    if t == "single":
        return inverse[authored]
    if t in ("multiple", "ordering"):
        return [inverse[i] for i in authored]
    if t == "matching":
        return [None if c is None else inverse[c] for c in authored]
    return authored
