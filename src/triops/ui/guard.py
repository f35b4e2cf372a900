"""One place that turns a TriopsError into a message on the page."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from triops.errors import TriopsError


@contextmanager
def guard() -> Iterator[None]:
    """Show a TriopsError's message and stop the page; anything else is a bug and surfaces."""
    try:
        yield
    except TriopsError as exc:
        st.error(exc.user_message)
        st.stop()
