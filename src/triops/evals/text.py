"""Text helpers of the eval runner: `{{ var }}` templates, sentences and claims.

Templates follow the part of Nunjucks that prompts use: `{{ name }}`, `{{ name.field }}` and the
filters `upper`, `lower`, `trim` and `dump`. A name the variables do not define is an error,
never an empty string; tags (`{% ... %}`) and comments (`{# ... #}`) are refused."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from triops.search.ask import plain_markdown

_EXPR = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_NAME = re.compile(r"^[A-Za-z_]\w*(?:\.\w+)*$")
FILTERS = ("upper", "lower", "trim", "dump")


class TemplateError(ValueError):
    """A template that cannot be rendered; `name` is the missing variable, if that is why."""

    def __init__(self, message: str, name: str = ""):
        super().__init__(message)
        self.name = name


def _parse(expr: str) -> tuple[str, list[str]]:
    parts = [p.strip() for p in expr.split("|")]
    name, filters = parts[0], parts[1:]
    if not _NAME.match(name):
        raise TemplateError(f"'{{{{{expr}}}}}' is not a variable name (only {{{{ name }}}} works)")
    for f in filters:
        if f not in FILTERS:
            known = ", ".join(FILTERS)
            raise TemplateError(f"unknown filter '{f}' in '{{{{{expr}}}}}' (known: {known})")
    return name, filters


def check_template(template: str) -> None:
    """Raise TemplateError when `template` uses syntax the renderer does not support."""
    for marker, what in (("{%", "tags such as {% if %}"), ("{#", "comments")):
        if marker in template:
            raise TemplateError(f"template {what} are not supported; use {{{{ name }}}} only")
    for match in _EXPR.finditer(template):
        _parse(match.group(1))


def template_vars(template: str) -> list[str]:
    """The top-level variable names a template uses, in order of first use."""
    names: dict[str, None] = {}
    for match in _EXPR.finditer(template):
        try:
            name, _ = _parse(match.group(1))
        except TemplateError:
            continue
        names.setdefault(name.split(".")[0])
    return list(names)


def as_text(value: Any) -> str:
    """How a variable's value prints: strings as they are, booleans as true/false, objects as
    JSON, None as nothing."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _lookup(name: str, variables: Mapping[str, Any]) -> Any:
    first, *rest = name.split(".")
    if first not in variables:
        raise TemplateError(f"the variable '{first}' is not defined", first)
    value = variables[first]
    for part in rest:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise TemplateError(f"'{name}': '{part}' is not in the variable '{first}'", first)
    return value


def render(template: str, variables: Mapping[str, Any]) -> str:
    """Substitute every `{{ name }}`; raise TemplateError for a missing variable."""

    def one(match: re.Match) -> str:
        name, filters = _parse(match.group(1))
        value = _lookup(name, variables)
        for f in filters:
            if f == "dump":
                value = json.dumps(value, ensure_ascii=False)
            else:
                value = getattr(as_text(value), {"trim": "strip"}.get(f, f))()
        return as_text(value)

    return _EXPR.sub(one, template)


# --------------------------------------------------------------------------- sentences

_FENCE = re.compile(r"^\s*(```|~~~)")
_LIST_MARK = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_SPLIT = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+(?=[\"'(\[*_`]?[A-Z0-9])")
_ABBREV = re.compile(r"\b(?:e\.g|i\.e|etc|vs|cf|al|Dr|Mr|Mrs|Ms|No|Fig)\.$", re.IGNORECASE)
_FOOTNOTE = re.compile(r"^\s*\[\d+\]\s")
_BRACKETS = re.compile(r"\s*\[[^\]\n]*\]")
_EMPHASIS = re.compile(r"[*_`]+")


def _runs(text: str) -> list[str]:
    """Prose runs: paragraphs (lines joined) and list items; code blocks, headings, table rows
    and admonition markers left out."""
    runs: list[str] = []
    run: list[str] = []
    in_fence = False

    def flush() -> None:
        if run:
            runs.append(" ".join(run))
            run.clear()

    for raw in text.split("\n"):
        if _FENCE.match(raw):
            in_fence = not in_fence
            flush()
            continue
        line = raw.strip()
        if in_fence or not line or line.startswith(("#", "|", ":::")):
            flush()
            continue
        item = _LIST_MARK.match(raw)
        if item:
            flush()
            line = raw[item.end() :].strip()
        run.append(line)
    flush()
    return runs


def sentences(text: str) -> list[str]:
    """The sentences of a text as readers see them (inline markdown reduced to its words)."""
    out: list[str] = []
    for run in _runs(text):
        pieces: list[str] = []
        for piece in _SPLIT.split(plain_markdown(run)):
            if pieces and _ABBREV.search(pieces[-1]):
                pieces[-1] = f"{pieces[-1]} {piece}"
            else:
                pieces.append(piece)
        out.extend(p.strip() for p in pieces if re.search(r"\w", p))
    return out


def claims(answer: str) -> list[str]:
    """The sentences an answer asserts: citation markers such as [1] or [Lesson › Section] and
    footnote lines such as `[1] Lesson: /learn?...` are not claims."""
    kept = [line for line in answer.split("\n") if not _FOOTNOTE.match(line)]
    text = _BRACKETS.sub("", plain_markdown_lines("\n".join(kept)))
    return sentences(text)


def plain_markdown_lines(text: str) -> str:
    """plain_markdown applied line by line, so that line structure survives."""
    return "\n".join(plain_markdown(line) if line.strip() else "" for line in text.split("\n"))


def flat(text: str) -> str:
    """Text reduced for a verbatim comparison: markdown emphasis dropped, whitespace collapsed,
    lower case."""
    return " ".join(_EMPHASIS.sub("", plain_markdown(text)).split()).lower()


def render_value(value: Any, variables: Mapping[str, Any]) -> Any:
    """An assertion value with `{{var}}` rendered in every string it holds."""
    if isinstance(value, str):
        return render(value, variables) if "{{" in value else value
    if isinstance(value, list):
        return [render_value(v, variables) for v in value]
    return value
