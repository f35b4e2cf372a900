"""While the PostgreSQL server restarts or fails over, pages say that they are reconnecting and
try again by themselves, instead of showing an error: what the page confirmed before is saved
(every write is committed before it is confirmed)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

log = logging.getLogger("triops.reconnect")

RETRY_SECONDS = 2.0
RECONNECTING = "Reconnecting to the database"


def _unavailable(exc: BaseException):
    """The DatabaseUnavailable `exc` is or was raised from, or None. Only the PostgreSQL store
    raises it, and it is loaded only with TRIOPS_DATABASE_URL: without it nothing is imported."""
    postgres = sys.modules.get("triops.store.postgres")
    if postgres is None:
        return None
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, postgres.DatabaseUnavailable):
            return seen
        seen = seen.__cause__
    return None


def notice_for(exc: BaseException) -> bool:
    """Show the reconnecting notice when `exc` says the database is not answering; True if so."""
    found = _unavailable(exc)
    if found is None:
        return False
    log.warning("database unavailable: %s", found.user_message)
    st.warning(found.user_message, icon=":material/sync:")
    return True


@contextmanager
def reconnecting() -> Iterator[None]:
    """Around a page's script run: when the database stops answering, say so, wait
    RETRY_SECONDS and run the page again, until it answers."""
    try:
        yield
    except Exception as exc:
        if not notice_for(exc):
            raise
        time.sleep(RETRY_SECONDS)
        st.rerun()
