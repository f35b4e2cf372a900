"""GIFT's text rules, shared by the reader in `triops.quiz.gift` and the question types that
write their own answer blocks: escapes, numbers, answer texts with their weight and feedback."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

FORMATS = ("markdown", "html", "plain", "moodle")
FORMAT = re.compile(r"\[(" + "|".join(FORMATS) + r")\]")

# Escaped characters become two placeholder characters (a filler and a code), so that offsets
# and line numbers stay put while the parser looks only at unescaped control characters.
FILL = "\ue000"
CODES = {"~": "\ue001", "=": "\ue002", "#": "\ue003", "{": "\ue004", "}": "\ue005"}
CODES |= {":": "\ue006", "\\": "\ue007", "n": "\ue008"}
LITERAL = {code: ("\n" if ch == "n" else ch) for ch, code in CODES.items()}
ESCAPED = re.compile(r"\\([~=#{}:\\n])")
WEIGHT_LIKE = re.compile(r"%[^%\s#]*%")


def protect(text: str) -> str:
    """GIFT text with each escaped character replaced by its placeholder pair."""
    return ESCAPED.sub(lambda m: FILL + CODES[m.group(1)], text)


def plain(text: str) -> str:
    """Protected text back as the characters it means."""
    text = text.replace(FILL, "")
    for code, char in LITERAL.items():
        text = text.replace(code, char)
    return text


def escape(text: str) -> str:
    """Text as GIFT: control characters escaped, line breaks as `\\n`."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\\", "\\\\")
    for char in "~=#{}:":
        text = text.replace(char, "\\" + char)
    return text.replace("\n", "\\n")


def number(value: float) -> str:
    """A number without exponent, written so that float() reads back the same value."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(Decimal(repr(value)), "f")


def text(value: str) -> str:
    """An answer-block text; one that starts like a format prefix gets an explicit one."""
    return ("[markdown]" if FORMAT.match(value) else "") + escape(value)


def feedback(value: str) -> str:
    """`#feedback` after an answer, or nothing."""
    return f"#{text(value)}" if value else ""


def weight(value: float | None) -> str:
    """`%N%` before an answer, or nothing."""
    return f"%{number(value)}%" if value is not None else ""


def begins_like_weight(texts: list[str]) -> str | None:
    """Why these answer texts cannot be written (one would read as a `%weight%`), or None."""
    if any(WEIGHT_LIKE.match(protect(text(t))) for t in texts):
        return "an answer begins like a %weight%"
    return None


@dataclass(frozen=True)
class GiftAnswers:
    """A question's answer block: one line per answer and the `// triops-` comments the
    question needs; `inline` is the whole block when GIFT writes it on one line."""

    lines: list[str] = field(default_factory=list)
    meta: list[str] = field(default_factory=list)
    opening: str = "{"
    inline: str | None = None
