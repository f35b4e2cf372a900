"""Question widgets shared by practice and exams. Widgets hold screen positions; the stored
answer uses authored indices (each type maps them: triops.quiz.types), so shuffling never
changes a score. WIDGETS holds one widget per question type: the only place the UI tells the
types apart."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from triops.quiz.models import BLANK
from triops.quiz.presentation import labels, to_authored, to_screen
from triops.ui.text import plain

BLANK_SHOWN = "\\_\\_\\_\\_\\_"


class Unparsed(ValueError):
    """What the learner typed cannot be read as an answer yet (e.g. not a number)."""


@dataclass(frozen=True)
class Inputs:
    """What every widget is drawn with: the question, its choices in screen order, the session
    keys of its widgets, and how the page wants them to behave."""

    question: Any
    shown: list[str]
    keys: list[str]
    disabled: bool
    on_change: Callable[[], None] | None
    at_most_choose: bool


@dataclass(frozen=True)
class Widget:
    """One question type's widgets: how many session keys they use, how to draw them, how to
    show a screen value in them, and how to read one back (None when empty)."""

    draw: Callable[[Inputs], None]
    seed: Callable[[list[str], Any], None]
    read: Callable[[Any, list[str]], Any]
    per_item: Callable[[Any, list[int]], int] | None = None  # one key per option or pair


# Streamlit draws captions in its text colour at 60% alpha: #828180 on white, a contrast of
# 3.88:1, under the 4.5:1 of WCAG 2.2 SC 1.4.3 (axe's color-contrast rule). At 80% opacity of
# the text colour they reach about 6:1 on the light theme and stay light on the dark one.
READABLE_CAPTIONS = (
    '<style>[data-testid="stCaptionContainer"] { color: inherit; opacity: .8; }</style>'
)


def readable_captions() -> None:
    """Raise the page's captions to a contrast WCAG AA accepts (exam and practice pages)."""
    st.html(READABLE_CAPTIONS)


def stem(question) -> None:
    text = question.stem.replace(BLANK, BLANK_SHOWN)
    if question.stem_format == "markdown":
        st.markdown(text)
    else:  # plain, moodle and html stems are shown as text, never rendered as HTML
        st.text(text.replace(BLANK_SHOWN, "_____"))


def _keys(question, key: str, order: list[int]) -> list[str]:
    count = WIDGETS[question.type].per_item
    return [key] if count is None else [f"{key}-{i}" for i in range(count(question, order))]


# What each question's widgets last showed (the canonical stored answer), by widget key: one
# session entry for all questions, since every widget call scans all of the session's keys.
_SHOWN = "question_shown"


def _shown() -> dict[str, str]:
    return st.session_state.setdefault(_SHOWN, {})


def seed_state(question, order: list[int], key: str, authored: Any) -> None:
    """Show the stored answer in the widgets every time the question is drawn.

    Streamlit drops a widget's state at the end of a run that does not draw it, so a question
    shown again (after moving to another one, or after a reload) would start blank: its widgets
    are seeded whenever their state is missing. They are also seeded when the stored answer is
    no longer the one this session last showed or saved (another tab changed it), so a tab never
    shows, or builds on, an answer that is not the stored one."""
    keys = _keys(question, key, order)
    seen = _shown()
    shown = _canonical(authored)
    if all(k in st.session_state for k in keys) and seen.get(key) == shown:
        return
    seen[key] = shown
    WIDGETS[question.type].seed(keys, to_screen(question, order, authored))


def _canonical(authored: Any) -> str:
    return json.dumps(authored, sort_keys=True)


def changed_since_shown(key: str, stored: Any) -> bool:
    """Whether the stored answer differs from the one this session last showed in (or saved
    from) the widgets under `key`: another tab or window has changed it since."""
    shown = _shown().get(key)
    return shown is not None and shown != _canonical(stored)


def mark_saved(key: str, authored: Any) -> None:
    """Record that the widgets' answer under `key` is now the stored one (after a save)."""
    _shown()[key] = _canonical(authored)


def read(question, order: list[int], key: str) -> Any:
    """The current answer as a stored response (authored indices); None when empty."""
    screen = WIDGETS[question.type].read(question, _keys(question, key, order))
    return to_authored(question, order, screen)


def to_check(question, order: list[int], key: str, embedder_of: Callable[[], Any]):
    """What "Check answer" grades: the response, and the embedder when the question is graded by
    meaning (else None). With nothing to grade it says why and stops the script run."""
    try:
        response = read(question, order, key)
    except Unparsed as exc:
        st.warning(str(exc))
        st.stop()
    if response is None:
        st.warning("Answer the question first.")
        st.stop()
    if getattr(question, "semantic", None) is None:
        return response, None
    with st.spinner("Comparing the meaning of your answer…"):
        return response, embedder_of()


def inputs(
    question,
    order: list[int],
    key: str,
    *,
    disabled: bool = False,
    on_change: Callable[[], None] | None = None,
    at_most_choose: bool = False,
) -> None:
    """Draw the answer widgets for a question.

    A multiple-response item with `choose: N` says "Choose N."; with `at_most_choose` (exams
    that score multiple response all-or-nothing) no more than N boxes can be ticked."""
    keys = _keys(question, key, order)
    shown = labels(question, order)
    WIDGETS[question.type].draw(Inputs(question, shown, keys, disabled, on_change, at_most_choose))


# --- the widgets, one per type


def _seed_one(keys: list[str], screen: Any) -> None:
    st.session_state[keys[0]] = screen


def _read_one(question, keys: list[str]) -> Any:
    return st.session_state.get(keys[0])


def _draw_single(w: Inputs) -> None:
    st.radio(
        "Your answer",
        list(range(len(w.shown))),
        format_func=lambda i: w.shown[i],
        index=None,
        key=w.keys[0],
        disabled=w.disabled,
        on_change=w.on_change,
    )


def _draw_multiple(w: Inputs) -> None:
    n = w.question.choose
    st.caption(f"Choose {n}." if n else "Choose all that apply.")
    ticked = sum(1 for k in w.keys if st.session_state.get(k))
    full = w.at_most_choose and n is not None and ticked >= n
    for i, k in enumerate(w.keys):
        locked = full and not st.session_state.get(k)
        st.checkbox(w.shown[i], key=k, disabled=w.disabled or locked, on_change=w.on_change)
    if n is not None and ticked > n:
        st.warning(
            f"{ticked} options are ticked, but this question asks for {n}: "
            + (
                f"it scores nothing unless exactly the right ones are ticked. Untick {ticked - n}."
                if w.at_most_choose
                else f"untick {ticked - n}."
            )
        )
    elif full:
        st.caption(f"{n} chosen: untick one to change your choice.")


def _seed_multiple(keys: list[str], screen: list[int] | None) -> None:
    for i, k in enumerate(keys):
        st.session_state[k] = screen is not None and i in screen


def _read_multiple(question, keys: list[str]) -> list[int] | None:
    return [i for i, k in enumerate(keys) if st.session_state.get(k)] or None


def _draw_true_false(w: Inputs) -> None:
    st.radio(
        "Your answer",
        [True, False],
        format_func=lambda v: "True" if v else "False",
        index=None,
        key=w.keys[0],
        disabled=w.disabled,
        horizontal=True,
        on_change=w.on_change,
    )


def _draw_numeric(w: Inputs) -> None:
    unit = w.question.unit
    label = "Your answer" + (f" ({unit})" if unit else "")
    st.text_input(label, key=w.keys[0], disabled=w.disabled, on_change=w.on_change)


def _seed_numeric(keys: list[str], screen: float | None) -> None:
    st.session_state[keys[0]] = "" if screen is None else f"{screen:g}"


def _read_numeric(question, keys: list[str]) -> float | None:
    text = (st.session_state.get(keys[0]) or "").strip().replace(" ", "")
    if not text:
        return None
    try:
        # "1,200.5" (a thousands comma) and "0,25" (a decimal comma) both read as meant.
        return float(text.replace(",", "") if "." in text else text.replace(",", "."))
    except ValueError as exc:
        raise Unparsed("Enter a number, for example 0.25 or 1200.") from exc


def _draw_short_text(w: Inputs) -> None:
    st.text_input(
        "Your answer", key=w.keys[0], disabled=w.disabled, on_change=w.on_change, max_chars=200
    )


def _seed_text(keys: list[str], screen: str | None) -> None:
    st.session_state[keys[0]] = screen or ""


def _read_text(question, keys: list[str]) -> str | None:
    value = st.session_state.get(keys[0])
    return value if value and value.strip() else None


ORDERING_KEYS = (
    "Pick the first item, then the next, until all are placed. Keyboard: type part of an item "
    "or use the arrow keys, Enter places it, Backspace removes the last one placed."
)


def _draw_ordering(w: Inputs) -> None:
    # A pick list, not drag and drop (WCAG 2.2 SC 2.5.7): every step is a key or a click. The
    # order so far is also written out with its positions, which the list's tags do not say.
    st.caption(ORDERING_KEYS)
    st.multiselect(
        "Pick the items in order, first to last",
        list(range(len(w.shown))),
        format_func=lambda i: w.shown[i],
        key=w.keys[0],
        disabled=w.disabled,
        on_change=w.on_change,
        placeholder="Choose the first item",
    )
    picked = st.session_state.get(w.keys[0]) or []
    if picked:
        st.caption(
            "Your order: "
            + " · ".join(f"{n}. {plain(w.shown[i])}" for n, i in enumerate(picked, 1))
            + f" ({len(picked)} of {len(w.shown)} placed)"
        )


def _seed_ordering(keys: list[str], screen: list[int] | None) -> None:
    st.session_state[keys[0]] = screen or []


def _read_ordering(question, keys: list[str]) -> list[int] | None:
    value = st.session_state.get(keys[0])
    if not value:
        return None
    if len(value) != len(question.items):
        raise Unparsed(f"Pick all {len(question.items)} items, in order.")
    return list(value)


def _draw_matching(w: Inputs) -> None:
    for pair, k in zip(w.question.pairs, w.keys, strict=True):
        st.selectbox(
            pair.left,
            list(range(len(w.shown))),
            format_func=lambda c: w.shown[c],
            index=None,
            key=k,
            disabled=w.disabled,
            on_change=w.on_change,
            placeholder="Choose a match",
        )


def _seed_matching(keys: list[str], screen: list[int | None] | None) -> None:
    for i, k in enumerate(keys):
        st.session_state[k] = None if screen is None else screen[i]


def _read_matching(question, keys: list[str]) -> list[int | None] | None:
    screen = [st.session_state.get(k) for k in keys]
    return None if all(c is None for c in screen) else screen


WIDGETS: dict[str, Widget] = {
    "single": Widget(_draw_single, _seed_one, _read_one),
    "multiple": Widget(
        _draw_multiple, _seed_multiple, _read_multiple, per_item=lambda q, order: len(order)
    ),
    "true_false": Widget(_draw_true_false, _seed_one, _read_one),
    "numeric": Widget(_draw_numeric, _seed_numeric, _read_numeric),
    "short_text": Widget(_draw_short_text, _seed_text, _read_text),
    "ordering": Widget(_draw_ordering, _seed_ordering, _read_ordering),
    "matching": Widget(
        _draw_matching, _seed_matching, _read_matching, per_item=lambda q, order: len(q.pairs)
    ),
}
