"""Operations: structured logs, one JSON object a line, each naming the replica and, inside a
page's script run, the user and the exam attempt it serves. Nothing secret is written: a
password in a connection URL or a `password=` setting is masked in every message and traceback.

Turned on by TRIOPS_LOG_FORMAT=json (the cluster and the deploy/ service files set it); the
default stays Python's plain lines. Who the request is for comes from a provider the UI layer
registers (this module knows nothing of Streamlit), read when a record is written."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

LOG_FORMAT = "TRIOPS_LOG_FORMAT"
REPLICA = "TRIOPS_REPLICA"

# userinfo of a URL (scheme://user:password@host) and key=value settings (libpq, DSNs).
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]*@", re.IGNORECASE)
_KEY_PASSWORD = re.compile(
    r"\b(password|passwd|pwd|secret|cookie_secret|client_secret)(\s*[=:]\s*)('[^']*'|\"[^\"]*\"|\S+)",
    re.IGNORECASE,
)

# The attributes every LogRecord has; anything else on a record came in through `extra=`.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}

_context: Callable[[], dict[str, Any]] | None = None


def redact(text: str) -> str:
    """`text` with the passwords of URLs and of key=value settings replaced by ***."""
    text = _URL_PASSWORD.sub(r"\1***@", text)
    return _KEY_PASSWORD.sub(r"\1\2***", text)


def replica_name() -> str:
    """TRIOPS_REPLICA, or the host name: which app process wrote a line or answered a check."""
    return os.environ.get(REPLICA, "").strip() or socket.gethostname()


def set_context_provider(provider: Callable[[], dict[str, Any]] | None) -> None:
    """Register the function that says whom the current request serves (user, attempt, page);
    it is called for every record and must return {} outside a request."""
    global _context
    _context = provider


def request_context() -> dict[str, Any]:
    """The registered provider's fields, without the ones that are None; {} if it fails."""
    if _context is None:
        return {}
    try:
        fields = _context()
    except Exception:  # noqa: BLE001 - a log line must never fail the work it describes
        return {}
    return {key: value for key, value in fields.items() if value is not None}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, replica, the request's
    user and attempt when there is one, the record's extra fields, and the exception."""

    def __init__(self, replica: str | None = None):
        super().__init__()
        self.replica = replica or replica_name()

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "replica": self.replica,
        }
        entry.update(request_context())
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value if isinstance(value, int | float | bool) else redact(str(value))
        if record.exc_info:
            entry["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(stream: TextIO | None = None, level: int = logging.INFO) -> bool:
    """Under TRIOPS_LOG_FORMAT=json, write the `triops` loggers' records as JSON lines to
    `stream` (stderr by default); True when it did. Calling it again changes nothing."""
    if os.environ.get(LOG_FORMAT, "").strip().lower() != "json":
        return False
    logger = logging.getLogger("triops")
    if any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        return True
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return True
