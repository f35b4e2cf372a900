"""Text that a learner's run wrote, made safe to show on one line of a terminal or a page.

A run's output, a file name or a step name may hold a carriage return, a newline or an ANSI
escape sequence. Printed as is, they can move the cursor to the start of the line or write a
fresh line, and so forge a line such as `check: passed` or `status=ok` that Triops never wrote.
Every such text goes through `visible` before it is printed or stored for display: control
characters (C0 and C1, DEL, and the Unicode line and paragraph separators and bidirectional
overrides) become visible escapes such as `\\x1b` or `\\r`; tabs are kept.
"""

from __future__ import annotations

import re

_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\x1b": "\\x1b"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: object) -> str:
    """`text` as one printable line: control characters escaped, tabs kept."""
    value = str(text)
    if _CONTROL.search(value) is None:
        return value
    return _CONTROL.sub(_escape, value)
