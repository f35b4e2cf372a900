"""GitHub Actions expressions: `${{ }}` templates and `if:` conditions.

A tokenizer and a recursive-descent parser over GitHub's precedence, the evaluator with its
coercions (to_number, to_str, truthy) and functions (contains, format, join, toJSON, fromJSON,
hashFiles and the status functions), and the check the loader runs on every expression before
anything runs: which contexts each place of a workflow may use ("Contexts", context
availability). hashFiles() walks the workspace as root, through triops.labs.safefs.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import posixpath
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from triops.labs.safefs import Confined, TooLarge, TooSlow, UnsafePath, check_deadline


class ExpressionError(ValueError):
    """An expression that does not parse or cannot be evaluated."""


STATUS_FUNCTIONS = frozenset({"success", "failure", "always", "cancelled"})
# name -> (fewest arguments, most arguments or None for any number)
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "contains": (2, 2),
    "startswith": (2, 2),
    "endswith": (2, 2),
    "format": (1, None),
    "join": (1, 2),
    "tojson": (1, 1),
    "fromjson": (1, 1),
    "hashfiles": (1, None),
    **{name: (0, 0) for name in STATUS_FUNCTIONS},
}
_KEYWORDS: dict[str, Any] = {
    "true": True,
    "false": False,
    "null": None,
    "NaN": math.nan,
    "Infinity": math.inf,
}
_TOKEN = re.compile(
    r"""(?:
      (?P<num>-?(?:0x[0-9a-fA-F]+|0o[0-7]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?))
    | (?P<str>'(?:[^']|'')*')
    | (?P<op>==|!=|<=|>=|&&|\|\||[!<>()\[\],.*])
    | (?P<ident>[A-Za-z_][A-Za-z0-9_-]*)
    )""",
    re.VERBOSE,
)

# Which named contexts each place in a workflow may use (GitHub's context availability table).
CONTEXTS = {
    "workflow": {"github", "secrets", "inputs", "vars"},
    "job_if": {"github", "needs", "vars", "inputs"},
    "strategy": {"github", "needs", "vars", "inputs"},
    "job": {"github", "needs", "strategy", "matrix", "vars", "inputs"},
    "job_env": {"github", "needs", "strategy", "matrix", "vars", "secrets", "inputs"},
    "job_defaults": {"github", "needs", "strategy", "matrix", "env", "vars", "inputs"},
    "job_outputs": {
        *("github", "needs", "strategy", "matrix", "job", "runner"),
        *("env", "vars", "secrets", "steps", "inputs"),
    },
    "step_if": {
        *("github", "needs", "strategy", "matrix", "job", "runner"),
        *("env", "vars", "steps", "inputs"),
    },
    "step": {
        *("github", "needs", "strategy", "matrix", "job", "runner"),
        *("env", "vars", "secrets", "steps", "inputs"),
    },
    # The steps and outputs of a composite action (action.yml): no secrets, no needs.
    "composite_if": {"github", "inputs", "job", "runner", "env", "strategy", "matrix", "steps"},
    "composite_step": {"github", "inputs", "job", "runner", "env", "strategy", "matrix", "steps"},
}


def _tokenize(src: str) -> list[tuple[str, Any, int]]:
    tokens = []
    pos = 0
    while True:
        while pos < len(src) and src[pos].isspace():
            pos += 1
        if pos >= len(src):
            return tokens
        match = _TOKEN.match(src, pos)
        if not match:
            char = src[pos]
            if char == "'":
                raise ExpressionError(f"unterminated string in expression '{src}'")
            hint = " (strings take single quotes)" if char == '"' else ""
            raise ExpressionError(f"unexpected character {char!r} in expression '{src}'{hint}")
        kind = match.lastgroup
        text = match.group(kind)
        if kind == "num":
            tokens.append(("lit", _parse_number(text), pos))
        elif kind == "str":
            tokens.append(("lit", text[1:-1].replace("''", "'"), pos))
        else:
            tokens.append((kind, text, pos))
        pos = match.end()


def _parse_number(text: str) -> int | float:
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("-")
    if body.startswith("0x"):
        return sign * int(body, 16)
    if body.startswith("0o"):
        return sign * int(body, 8)
    if re.fullmatch(r"\d+", body):
        return sign * int(body)
    return sign * float(body)


class _Parser:
    """Recursive descent over GitHub's precedence: ! > comparison > equality > && > ||."""

    def __init__(self, src: str):
        self.src = src
        self.tokens = _tokenize(src)
        self.pos = 0

    def fail(self, what: str) -> ExpressionError:
        tok = self.peek()
        where = f"at position {tok[2] + 1}" if tok else "at the end"
        return ExpressionError(f"{what} {where} of expression '{self.src}'")

    def peek(self) -> tuple[str, Any, int] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def at_op(self, *ops: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == "op" and tok[1] in ops

    def take(self) -> tuple[str, Any, int]:
        tok = self.peek()
        if tok is None:
            raise self.fail("unexpected end")
        self.pos += 1
        return tok

    def expect(self, op: str) -> None:
        if not self.at_op(op):
            raise self.fail(f"expected '{op}'")
        self.pos += 1

    def parse(self) -> tuple:
        if not self.tokens:
            raise ExpressionError("empty expression")
        node = self.or_()
        if self.peek() is not None:
            raise self.fail(f"unexpected '{self.peek()[1]}'")
        return node

    def or_(self) -> tuple:
        node = self.and_()
        while self.at_op("||"):
            self.pos += 1
            node = ("or", node, self.and_())
        return node

    def and_(self) -> tuple:
        node = self.equality()
        while self.at_op("&&"):
            self.pos += 1
            node = ("and", node, self.equality())
        return node

    def equality(self) -> tuple:
        node = self.comparison()
        while self.at_op("==", "!="):
            op = self.take()[1]
            node = ("cmp", op, node, self.comparison())
        return node

    def comparison(self) -> tuple:
        node = self.unary()
        while self.at_op("<", "<=", ">", ">="):
            op = self.take()[1]
            node = ("cmp", op, node, self.unary())
        return node

    def unary(self) -> tuple:
        if self.at_op("!"):
            self.pos += 1
            return ("not", self.unary())
        return self.postfix()

    def postfix(self) -> tuple:
        node = self.primary()
        while True:
            if self.at_op("."):
                self.pos += 1
                tok = self.take()
                if tok[0] == "op" and tok[1] == "*":
                    node = ("star", node)
                elif tok[0] == "ident":
                    node = ("prop", node, tok[1])
                else:
                    self.pos -= 1
                    raise self.fail("expected a property name")
            elif self.at_op("["):
                self.pos += 1
                if self.at_op("*"):
                    self.pos += 1
                    node = ("star", node)
                else:
                    node = ("index", node, self.or_())
                self.expect("]")
            else:
                return node

    def primary(self) -> tuple:
        tok = self.take()
        kind, value, _ = tok
        if kind == "lit":
            return ("lit", value)
        if kind == "op" and value == "(":
            node = self.or_()
            self.expect(")")
            return node
        if kind == "ident":
            if self.at_op("("):
                self.pos += 1
                args = []
                if not self.at_op(")"):
                    args.append(self.or_())
                    while self.at_op(","):
                        self.pos += 1
                        args.append(self.or_())
                self.expect(")")
                return ("call", value.lower(), args)
            if value in _KEYWORDS:
                return ("lit", _KEYWORDS[value])
            return ("ctx", value.lower())
        self.pos -= 1
        raise self.fail(f"unexpected '{value}'")


def parse_expression(src: str) -> tuple:
    """The syntax tree of one expression (the text between `${{` and `}}`); cached."""
    return _parse_expression(src.strip())


@functools.lru_cache(maxsize=4096)  # bounded: a server sees every expression learners write
def _parse_expression(src: str) -> tuple:
    node = _Parser(src).parse()
    _check_functions(node, src)
    return node


def _walk(node: tuple):
    yield node
    for part in node[1:]:
        if isinstance(part, tuple):
            yield from _walk(part)
        elif isinstance(part, list):
            for item in part:
                yield from _walk(item)


def _check_functions(node: tuple, src: str) -> None:
    for sub in _walk(node):
        if sub[0] != "call":
            continue
        name, args = sub[1], sub[2]
        if name not in FUNCTIONS:
            raise ExpressionError(f"unrecognized function '{name}' in expression '{src}'")
        least, most = FUNCTIONS[name]
        if len(args) < least or (most is not None and len(args) > most):
            want = f"{least}" if least == most else f"at least {least}"
            if most is not None and least != most:
                want = f"{least} to {most}"
            raise ExpressionError(
                f"function '{name}' takes {want} argument(s), got {len(args)} in '{src}'"
            )


def uses_status_function(node: tuple) -> bool:
    """Whether an expression calls success(), failure(), always() or cancelled()."""
    return any(sub[0] == "call" and sub[1] in STATUS_FUNCTIONS for sub in _walk(node))


def check_expression(src: str, allowed: set[str], *, status_ok: bool, steps_ok: bool) -> None:
    """Parse and check names: contexts available here, known functions, status only in `if`."""
    node = parse_expression(src)
    for sub in _walk(node):
        if sub[0] == "ctx" and sub[1] not in allowed:
            names = ", ".join(sorted(allowed))
            raise ExpressionError(
                f"unrecognized named-value '{sub[1]}' in expression '{src.strip()}' "
                f"(available here: {names})"
            )
        if sub[0] == "call" and sub[1] in STATUS_FUNCTIONS and not status_ok:
            raise ExpressionError(f"{sub[1]}() can only be used in an 'if' condition")
        if sub[0] == "call" and sub[1] == "hashfiles" and not steps_ok:
            raise ExpressionError("hashFiles() can only be used in steps")


def template_parts(text: str) -> list[str | tuple[str]]:
    """Split text into literal strings and `(expression,)` for each `${{ ... }}`."""
    parts: list[str | tuple[str]] = []
    pos = 0
    while True:
        start = text.find("${{", pos)
        if start < 0:
            if pos < len(text):
                parts.append(text[pos:])
            return parts
        if start > pos:
            parts.append(text[pos:start])
        i = start + 3
        inside = False
        while i < len(text):
            if text[i] == "'":
                inside = not inside
            elif not inside and text.startswith("}}", i):
                break
            i += 1
        else:
            raise ExpressionError(f"'${{{{' is never closed with '}}}}' in: {text.strip()}")
        parts.append((text[start + 3 : i],))
        pos = i + 2


def _always_status(name: str) -> bool:
    return name in ("success", "always")


@dataclass
class ExpressionContext:
    """What an expression can see: named contexts, the status functions and the workspace."""

    data: dict[str, Any]
    status: Callable[[str], bool] = _always_status
    workspace: Path | Confined | None = None


class _Filtered(list):
    """The result of `.*`: later property lookups apply to every element."""


def _lookup(obj: Any, key: Any) -> Any:
    if isinstance(obj, _Filtered):
        out = _Filtered()
        for item in obj:
            value = _lookup(item, key)
            if value is not None:
                out.append(value)
        return out
    if isinstance(obj, dict):
        if not isinstance(key, str):
            key = to_str(key)
        if key in obj:
            return obj[key]
        lowered = key.lower()
        for name, value in obj.items():
            if str(name).lower() == lowered:
                return value
        return None
    if isinstance(obj, list) and not isinstance(key, str | bool):
        number = to_number(key)
        if math.isnan(number) or number < 0 or not float(number).is_integer():
            return None
        index = int(number)
        return obj[index] if index < len(obj) else None
    return None


def to_number(value: Any) -> float:
    """GitHub's number coercion: null 0, booleans 0/1, numeric strings, else NaN."""
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return 0.0
        sign = -1.0 if text.startswith("-") else 1.0
        body = text.lstrip("+-")
        try:
            if body.lower().startswith("0x"):
                return sign * int(body[2:], 16)
            if body.lower().startswith("0o"):
                return sign * int(body[2:], 8)
            if body == "Infinity":
                return sign * math.inf
            if re.fullmatch(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", body):
                return sign * float(body)
        except ValueError:
            pass
    return math.nan


def to_str(value: Any) -> str:
    """GitHub's string form: null is '', booleans 'true'/'false', 3.10 is '3.1'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(value, ".15g")
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2)


def truthy(value: Any) -> bool:
    """Falsy: false, 0, -0, NaN, '', null; everything else (arrays, objects too) is truthy."""
    if value is None or value is False:
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return not (value == 0 or math.isnan(value))
    if isinstance(value, str):
        return value != ""
    return True


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _equal(a: Any, b: Any) -> bool:
    ka, kb = kind_of(a), kind_of(b)
    if ka != kb:
        return to_number(a) == to_number(b)
    if ka == "string":
        return a.casefold() == b.casefold()
    if ka == "number":
        return float(a) == float(b)
    if ka in ("array", "object"):
        return a is b
    return a == b


def _compare(op: str, a: Any, b: Any) -> bool:
    ka, kb = kind_of(a), kind_of(b)
    if ka in ("array", "object") or kb in ("array", "object"):
        return False
    if ka == kb == "string":
        x, y = a.casefold(), b.casefold()
    else:
        x, y = to_number(a), to_number(b)
        if math.isnan(x) or math.isnan(y):
            return False
    return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]


def _format(fmt: str, args: list[Any]) -> str:
    out = []
    i = 0
    while i < len(fmt):
        char = fmt[i]
        if char == "{" and fmt.startswith("{{", i):
            out.append("{")
            i += 2
        elif char == "}" and fmt.startswith("}}", i):
            out.append("}")
            i += 2
        elif char == "{":
            end = fmt.find("}", i)
            index = fmt[i + 1 : end] if end > 0 else ""
            if not index.isdigit():
                raise ExpressionError(f"format string '{fmt}' has an invalid placeholder")
            if int(index) >= len(args):
                raise ExpressionError(f"format string '{fmt}' uses {{{index}}} without argument")
            out.append(to_str(args[int(index)]))
            i = end + 1
        elif char == "}":
            raise ExpressionError(f"format string '{fmt}' has an unmatched '}}'")
        else:
            out.append(char)
            i += 1
    return "".join(out)


HASH_FILES_SECONDS = 120.0  # hashFiles() is evaluated by the runner itself: it gets a deadline


def hash_files(
    workspace: Path | Confined, patterns: list[str], *, deadline: float | None = None
) -> str:
    """sha256 over the sha256 of each matching file, in path order; '' when nothing matches.

    As on GitHub, only files inside the workspace count (a pattern with `..` or an absolute path
    outside it matches nothing); unlike GitHub, links are never followed: a link, or anything
    below a linked folder, is not hashed. The walk and the reads have a deadline and a cap."""
    if deadline is None:
        deadline = time.monotonic() + HASH_FILES_SECONDS
    own = not isinstance(workspace, Confined)
    folder = Confined(workspace) if own else workspace
    try:
        included, excluded = [], []
        for pattern in patterns:
            negate = pattern.startswith("!")
            spec = pattern[1:] if negate else pattern
            try:
                regex = glob_regex(relative_inside(str(folder.folder), spec))
            except UnsafePath:
                continue  # GitHub ignores matches outside the workspace
            (excluded if negate else included).append(regex)
        files = [
            entry.path
            for entry in folder.walk(deadline=deadline)
            if entry.kind == "file"
            and any(r.match(entry.path) for r in included)
            and not any(r.match(entry.path) for r in excluded)
        ]
        if not files:
            return ""
        total = hashlib.sha256()
        for path in sorted(files):
            check_deadline(deadline, "hashFiles()")
            total.update(hashlib.sha256(folder.read_file(path, HASH_FILE_LIMIT)).digest())
        return total.hexdigest()
    except (UnsafePath, TooLarge, TooSlow, OSError) as exc:
        raise ExpressionError(f"hashFiles: {exc}") from exc
    finally:
        if own:
            folder.close()


HASH_FILE_LIMIT = 1 << 30


def relative_inside(folder: str, spec: str) -> str:
    """`spec` (relative to `folder`, or absolute inside it) as a normalised relative path ('' for
    the folder itself); UnsafePath when it leaves the folder."""
    spec = spec.strip()
    root = os.path.normpath(folder)
    if spec.startswith("/"):
        norm = os.path.normpath(spec)
        if norm == root:
            return ""
        if not norm.startswith(root + "/"):
            raise UnsafePath(f"'{spec}' is outside {root}")
        spec = norm[len(root) + 1 :]
    norm = posixpath.normpath(spec) if spec else "."
    if norm == ".." or norm.startswith("../"):
        raise UnsafePath(f"'{spec}' goes up out of {root}")
    return "" if norm == "." else norm


def glob_regex(pattern: str) -> re.Pattern[str]:
    """@actions/glob semantics over posix paths relative to the walked folder: `*`, `?` and
    `[...]` within one component, `**` as a whole component for any number of folders. A
    pattern also matches everything below a folder it names (implicit descendants)."""
    parts = [p for p in pattern.replace("\\", "/").split("/") if p not in ("", ".")]
    out = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**":
            out.append(".*" if last else "(?:[^/]+/)*")
        else:
            out.append(component_regex(part) + ("" if last else "/"))
    body = "".join(out)
    return re.compile(f"(?s:{body})(?:/.*)?\\Z" if body else "(?s:.*)\\Z")


def component_regex(part: str) -> str:
    out, i = [], 0
    while i < len(part):
        char = part[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            first = i + 2 if part[i + 1 : i + 2] in ("!", "^") else i + 1
            end = part.find("]", first + 1)  # a ] right after [ or [! is a member
            if end < 0:
                out.append(re.escape(char))
            else:
                members = part[first:end].replace("\\", "\\\\")
                out.append(("[^" if first == i + 2 else "[") + members + "]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


class _Evaluator:
    def __init__(self, ctx: ExpressionContext):
        self.ctx = ctx

    def ev(self, node: tuple) -> Any:
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "ctx":
            return _lookup(self.ctx.data, node[1])
        if kind == "prop":
            return _lookup(self.ev(node[1]), node[2])
        if kind == "index":
            return _lookup(self.ev(node[1]), self.ev(node[2]))
        if kind == "star":
            value = self.ev(node[1])
            if isinstance(value, dict):
                return _Filtered(value.values())
            return _Filtered(value) if isinstance(value, list) else _Filtered()
        if kind == "not":
            return not truthy(self.ev(node[1]))
        if kind == "and":
            left = self.ev(node[1])
            return self.ev(node[2]) if truthy(left) else left
        if kind == "or":
            left = self.ev(node[1])
            return left if truthy(left) else self.ev(node[2])
        if kind == "cmp":
            op, left, right = node[1], self.ev(node[2]), self.ev(node[3])
            if op == "==":
                return _equal(left, right)
            if op == "!=":
                return not _equal(left, right)
            return _compare(op, left, right)
        if kind == "call":
            return self.call(node[1], node[2])
        raise ExpressionError(f"unknown expression node {kind}")

    def call(self, name: str, arg_nodes: list[tuple]) -> Any:
        if name in STATUS_FUNCTIONS:
            return bool(self.ctx.status(name))
        args = [self.ev(arg) for arg in arg_nodes]
        if name == "contains":
            haystack, needle = args
            if isinstance(haystack, list):
                return any(_equal(item, needle) for item in haystack)
            return to_str(needle).casefold() in to_str(haystack).casefold()
        if name == "startswith":
            return to_str(args[0]).casefold().startswith(to_str(args[1]).casefold())
        if name == "endswith":
            return to_str(args[0]).casefold().endswith(to_str(args[1]).casefold())
        if name == "format":
            return _format(to_str(args[0]), args[1:])
        if name == "join":
            sep = to_str(args[1]) if len(args) > 1 else ","
            if isinstance(args[0], list):
                return sep.join(to_str(item) for item in args[0])
            return to_str(args[0])
        if name == "tojson":
            return json.dumps(args[0], indent=2)
        if name == "fromjson":
            try:
                return json.loads(to_str(args[0]))
            except json.JSONDecodeError as exc:
                raise ExpressionError(f"fromJSON: not valid JSON: {exc.msg}") from exc
        if name == "hashfiles":
            if self.ctx.workspace is None:
                raise ExpressionError("hashFiles() needs a workspace")
            return hash_files(self.ctx.workspace, [to_str(a) for a in args])
        raise ExpressionError(f"unrecognized function '{name}'")


def evaluate(expression: str, ctx: ExpressionContext) -> Any:
    """The value of one bare expression (no `${{ }}` around it)."""
    return _Evaluator(ctx).ev(parse_expression(expression))


def interpolate(text: str, ctx: ExpressionContext) -> str:
    """Text with every `${{ expr }}` replaced by the string form of its value."""
    out = []
    for part in template_parts(text):
        out.append(to_str(evaluate(part[0], ctx)) if isinstance(part, tuple) else part)
    return "".join(out)


def evaluate_value(value: Any, ctx: ExpressionContext) -> Any:
    """A YAML value: exactly `${{ expr }}` keeps the value's type; other strings interpolate."""
    if not isinstance(value, str):
        return value
    parts = template_parts(value.strip())
    if len(parts) == 1 and isinstance(parts[0], tuple):
        return evaluate(parts[0][0], ctx)
    return interpolate(value, ctx) if "${{" in value else value


def condition_expression(condition: Any) -> str | None:
    """The expression of an `if:` value, or None when it is a template (always truthy text)."""
    if isinstance(condition, bool | int | float):
        return to_str(condition)
    text = str(condition).strip()
    if "${{" not in text:
        return text
    parts = template_parts(text)
    if len(parts) == 1 and isinstance(parts[0], tuple):
        return parts[0][0]
    return None


def evaluate_condition(condition: Any, ctx: ExpressionContext) -> bool:
    """An `if:`: bare or in `${{ }}`; without a status function it means `success() && (...)`."""
    if condition is None or (isinstance(condition, str) and condition.strip() == ""):
        return bool(ctx.status("success"))
    expression = condition_expression(condition)
    if expression is None:
        # `${{ a }} == b` is text with an expression inside, and non-empty text is true.
        return truthy(interpolate(str(condition), ctx)) and bool(ctx.status("success"))
    node = parse_expression(expression)
    if not uses_status_function(node) and not ctx.status("success"):
        return False
    return truthy(_Evaluator(ctx).ev(node))
