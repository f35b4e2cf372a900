"""Question widgets shared by practice and exams. Widgets hold screen positions; the stored
answer uses authored indices (triops.quiz.presentation), so shuffling never changes a score."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import streamlit as st

from triops.quiz.models import BLANK
from triops.quiz.presentation import labels, to_authored, to_screen

BLANK_SHOWN = "\\_\\_\\_\\_\\_"


class Unparsed(ValueError):
    """What the learner typed cannot be read as an answer yet (e.g. not a number)."""


def stem(question) -> None:
    text = question.stem.replace(BLANK, BLANK_SHOWN)
    if question.stem_format == "markdown":
        st.markdown(text)
    else:  # plain, moodle and html stems are shown as text, never rendered as HTML
        st.text(text.replace(BLANK_SHOWN, "_____"))


def _keys(question, key: str, order: list[int]) -> list[str]:
    if question.type == "multiple":
        return [f"{key}-{i}" for i in range(len(order))]
    if question.type == "matching":
        return [f"{key}-{i}" for i in range(len(question.pairs))]
    return [key]


def _marker(key: str) -> str:
    return f"{key}-shown"


def seed_state(question, order: list[int], key: str, authored: Any) -> None:
    """Show the stored answer in the widgets every time the question is drawn.

    Streamlit drops a widget's state at the end of a run that does not draw it, so a question
    shown again (after moving to another one, or after a reload) would start blank: its widgets
    are seeded whenever their state is missing. They are also seeded when the stored answer is
    no longer the one this session last showed or saved (another tab changed it), so a tab never
    shows, or builds on, an answer that is not the stored one."""
    keys = _keys(question, key, order)
    marker = _marker(key)
    shown = _canonical(authored)
    if all(k in st.session_state for k in keys) and st.session_state.get(marker) == shown:
        return
    st.session_state[marker] = shown
    screen = to_screen(question, order, authored)
    t = question.type
    if t == "multiple":
        for i, k in enumerate(keys):
            st.session_state[k] = screen is not None and i in screen
    elif t == "matching":
        for i, k in enumerate(keys):
            st.session_state[k] = None if screen is None else screen[i]
    elif t == "numeric":
        st.session_state[key] = "" if screen is None else f"{screen:g}"
    elif t == "short_text":
        st.session_state[key] = screen or ""
    elif t == "ordering":
        st.session_state[key] = screen or []
    else:
        st.session_state[key] = screen


def _canonical(authored: Any) -> str:
    return json.dumps(authored, sort_keys=True)


def changed_since_shown(key: str, stored: Any) -> bool:
    """Whether the stored answer differs from the one this session last showed in (or saved
    from) the widgets under `key`: another tab or window has changed it since."""
    shown = st.session_state.get(_marker(key))
    return shown is not None and shown != _canonical(stored)


def mark_saved(key: str, authored: Any) -> None:
    """Record that the widgets' answer under `key` is now the stored one (after a save)."""
    st.session_state[_marker(key)] = _canonical(authored)


def read(question, order: list[int], key: str) -> Any:
    """The current answer as a stored response (authored indices); None when empty."""
    t = question.type
    state = st.session_state
    if t == "multiple":
        screen = [i for i, k in enumerate(_keys(question, key, order)) if state.get(k)]
        return to_authored(question, order, screen) if screen else None
    if t == "matching":
        screen = [state.get(k) for k in _keys(question, key, order)]
        return None if all(c is None for c in screen) else to_authored(question, order, screen)
    value = state.get(key)
    if t == "numeric":
        text = (value or "").strip().replace(" ", "")
        if not text:
            return None
        try:
            return float(text.replace(",", "") if "." in text else text.replace(",", "."))
        except ValueError as exc:
            raise Unparsed("Enter a number, for example 0.25 or 1200.") from exc
    if t == "short_text":
        return value if value and value.strip() else None
    if t == "ordering":
        if not value:
            return None
        if len(value) != len(question.items):
            raise Unparsed(f"Pick all {len(question.items)} items, in order.")
        return to_authored(question, order, list(value))
    if value is None:
        return None
    return to_authored(question, order, value) if t == "single" else value


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
    t = question.type
    shown = labels(question, order)
    if t == "single":
        st.radio(
            "Your answer",
            list(range(len(shown))),
            format_func=lambda i: shown[i],
            index=None,
            key=key,
            disabled=disabled,
            on_change=on_change,
        )
    elif t == "multiple":
        keys = _keys(question, key, order)
        n = question.choose
        st.caption(f"Choose {n}." if n else "Choose all that apply.")
        ticked = sum(1 for k in keys if st.session_state.get(k))
        full = at_most_choose and n is not None and ticked >= n
        for i, k in enumerate(keys):
            locked = full and not st.session_state.get(k)
            st.checkbox(shown[i], key=k, disabled=disabled or locked, on_change=on_change)
        if n is not None and ticked > n:
            st.warning(
                f"{ticked} options are ticked, but this question asks for {n}: "
                + (
                    "it scores nothing unless exactly the right ones are ticked. Untick "
                    f"{ticked - n}."
                    if at_most_choose
                    else f"untick {ticked - n}."
                )
            )
        elif full:
            st.caption(f"{n} chosen: untick one to change your choice.")
    elif t == "true_false":
        st.radio(
            "Your answer",
            [True, False],
            format_func=lambda v: "True" if v else "False",
            index=None,
            key=key,
            disabled=disabled,
            horizontal=True,
            on_change=on_change,
        )
    elif t == "numeric":
        label = "Your answer" + (f" ({question.unit})" if question.unit else "")
        st.text_input(label, key=key, disabled=disabled, on_change=on_change)
    elif t == "short_text":
        st.text_input("Your answer", key=key, disabled=disabled, on_change=on_change, max_chars=200)
    elif t == "ordering":
        st.multiselect(
            "Pick the items in order, first to last",
            list(range(len(shown))),
            format_func=lambda i: shown[i],
            key=key,
            disabled=disabled,
            on_change=on_change,
            placeholder="Choose the first item",
        )
    elif t == "matching":
        for pair, k in zip(question.pairs, _keys(question, key, order), strict=True):
            st.selectbox(
                pair.left,
                list(range(len(shown))),
                format_func=lambda c: shown[c],
                index=None,
                key=k,
                disabled=disabled,
                on_change=on_change,
                placeholder="Choose a match",
            )
