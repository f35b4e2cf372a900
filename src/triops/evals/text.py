"""Text helpers of the eval runner: prompt templates, sentences and claims.

Templates are rendered by Jinja2, the Python engine Nunjucks (promptfoo's) was modelled on, in
a sandbox (jinja2.sandbox.SandboxedEnvironment: learner configs are rendered in the eval lab, and
the sandbox refuses access to Python internals such as `__class__`, and here also a `*` or `**`
that would build a huge value). It is set up as promptfoo
sets up Nunjucks: no autoescaping; an undefined variable renders as an empty string, and so does
any attribute of it (`{{ row.name }}` with no `row`); the filters `load` (JSON text to a value)
and `dump` (a value to JSON text, `dump(2)` indented) are added to the built-in ones (`upper`,
`lower`, `trim`, `join`, `default`, `length`, `first`, `replace`, `title`...). A value prints as
Triops prints variables (as_text): None as nothing, booleans as true/false, lists and mappings as
JSON.

Where Jinja2 and Nunjucks differ, a template written for promptfoo may render differently:
- truthiness is Python's: an empty list or mapping is false (in JavaScript `[]` and `{}` are
  true);
- `"a" + 1` is an error (JavaScript gives "a1"); join text with `~`;
- methods are Python's: `{{ name.upper() }}`, not `name.toUpperCase()`;
- numbers print as Python prints them: `2.0` stays `2.0` (JavaScript prints `2`);
- promptfoo's `env` global (the process environment) is not defined: configs run in a lab must
  not read the server's environment;
- Nunjucks-only syntax (regular expression literals `r/.../`) does not parse.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from triops.search.ask import plain_markdown

# Tests and filters that make a variable optional: a template that guards a name with one of
# them runs without it (the load-time check asks for every other name).
_GUARD_TESTS = {"defined", "undefined", "none"}
_GUARD_FILTERS = {"default", "d"}


class TemplateError(ValueError):
    """A template that cannot be parsed or rendered; `name` is the variable concerned, if any."""

    def __init__(self, message: str, name: str = ""):
        super().__init__(message)
        self.name = name


def as_text(value: Any) -> str:
    """How a variable's value prints: strings as they are, booleans as true/false, objects as
    JSON, None (and an undefined variable) as nothing."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, jinja2.Undefined):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def _dump(value: Any, spaces: int | None = None) -> str:
    """Nunjucks' dump: JSON.stringify(value, null, spaces) (compact unless indented)."""
    if isinstance(value, jinja2.Undefined):
        value = None
    separators = (",", ":") if spaces is None else None
    return json.dumps(value, ensure_ascii=False, indent=spaces, separators=separators, default=str)


def _load(text: Any) -> Any:
    """promptfoo's load filter: JSON.parse."""
    try:
        return json.loads(as_text(text))
    except ValueError as exc:
        raise TemplateError(f"load: the value is not JSON ({exc})") from exc


# The sandbox bounds range() already; these bound the two operators that can build a huge value
# from a short template (`"a" * 10**9`, `9 ** 9 ** 9`), which would take the memory or the CPU.
MAX_REPEAT = 1_000_000
MAX_POWER_BITS = 10_000


class _Sandbox(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int):
                    if len(seq) * times > MAX_REPEAT:
                        raise SecurityError(f"a repeated value longer than {MAX_REPEAT:,}")
        elif operator == "**" and isinstance(left, int) and isinstance(right, int):
            if right > 0 and abs(left) > 1 and right * abs(left).bit_length() > MAX_POWER_BITS:
                raise SecurityError(f"a power larger than {MAX_POWER_BITS:,} bits")
        return super().call_binop(context, operator, left, right)


def _environment() -> SandboxedEnvironment:
    env = _Sandbox(
        autoescape=False,
        undefined=jinja2.ChainableUndefined,
        finalize=as_text,
        keep_trailing_newline=True,
    )
    env.filters["dump"] = _dump
    env.filters["load"] = _load
    return env


ENVIRONMENT = _environment()


@lru_cache(maxsize=512)
def _compiled(template: str) -> jinja2.Template:
    try:
        return ENVIRONMENT.from_string(template)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template line {exc.lineno}: {exc.message}") from None
    except jinja2.TemplateError as exc:  # e.g. an unknown filter, found when compiling
        raise TemplateError(f"template: {exc.message or exc}") from None


def check_template(template: str) -> None:
    """Raise TemplateError when `template` does not parse (or names an unknown filter)."""
    _compiled(template)


def template_vars(template: str) -> list[str]:
    """The top-level variable names a template needs, in order of first use: the names it reads
    and does not set itself (`{% set %}`, a loop variable), less those it guards with
    `default`, `is defined` or an `{% if name %}`. A template that does not parse has none."""
    try:
        tree = ENVIRONMENT.parse(template)
        free = meta.find_undeclared_variables(tree)  # compiles: an unknown filter raises
    except jinja2.TemplateError:
        return []  # check_template reports it
    guarded: set[str] = set()
    for node in tree.find_all((nodes.Filter, nodes.Test, nodes.If, nodes.CondExpr)):
        if isinstance(node, nodes.Filter) and node.name in _GUARD_FILTERS:
            target = node.node
        elif isinstance(node, nodes.Test) and node.name in _GUARD_TESTS:
            target = node.node
        elif isinstance(node, nodes.If | nodes.CondExpr):
            target = node.test.node if isinstance(node.test, nodes.Not) else node.test
        else:
            continue
        while isinstance(target, nodes.Getattr | nodes.Getitem):
            target = target.node
        if isinstance(target, nodes.Name):
            guarded.add(target.name)
    names: dict[str, None] = {}
    for node in tree.find_all(nodes.Name):
        if node.ctx == "load" and node.name in free and node.name not in guarded:
            names.setdefault(node.name)
    return list(names)


def render(template: str, variables: Mapping[str, Any]) -> str:
    """The template rendered with `variables` (an undefined name renders empty, as in
    promptfoo); TemplateError when it does not parse or fails while rendering."""
    compiled = _compiled(template)
    try:
        return compiled.render(dict(variables))
    except TemplateError:
        raise
    except jinja2.TemplateError as exc:  # a sandbox refusal among them
        raise TemplateError(f"template: {exc.message or exc}") from None
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise TemplateError(f"template: {type(exc).__name__}: {exc}") from None


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
