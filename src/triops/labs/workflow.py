"""Run a subset of GitHub Actions workflows locally and offline.

`load_workflow` parses and checks a workflow file before anything runs (every error names the
file and line); `run_workflow` executes its jobs in dependency order through a `StepRunner`,
which is the only part that starts processes. `on:` decides whether the simulated event
triggers the workflow at all (triops.labs.triggers); a job or matrix cell whose `runs-on` names
a Windows or macOS runner is skipped, never run as Linux. Expressions (`${{ }}` and `if:`),
matrix expansion and the environment files follow GitHub's documented rules; the few actions
that make sense offline (checkout, setup-python, upload/download-artifact) are built in, local
composite actions (`uses: ./path`) run their steps, and any other action fails its step with
`not available offline: <owner/repo@ref>`.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import itertools
import json
import math
import os
import posixpath
import re
import selectors
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import yaml

from triops.content.yamlsource import LEARNER_YAML, YamlDoc, YamlSyntaxError, parse_yaml
from triops.errors import InvalidInputError
from triops.labs.safefs import (
    Confined,
    TooLarge,
    TooSlow,
    UnsafePath,
    check_deadline,
)
from triops.labs.triggers import (
    EVENTS,
    NOT_TRIGGERED_EXIT,
    PATH_FILTERS,
    PULL_REQUEST_ACTIVITY,
    PULL_REQUESTS,
    REF_FILTERS,
    PatternError,
    Trigger,
    decide,
    patterns_of,
    ref_parts,
)
from triops.terminal import visible

# GitHub's shells on Linux runners ("Workflow syntax for GitHub Actions", jobs.<job_id>.steps[*].
# shell): a step with no `shell:` (and no defaults.run.shell) runs `bash -e {0}`, without
# pipefail; `shell: bash` runs `bash --noprofile --norc -eo pipefail {0}`.
UNSET_SHELL = ("bash -e {0}", ".sh")
SHELLS = {
    "bash": ("bash --noprofile --norc -eo pipefail {0}", ".sh"),
    "sh": ("sh -e {0}", ".sh"),
    "python": ("python {0}", ".py"),
}
# What the runner (as root) reads back from files a step may have written or replaced. GitHub
# caps a step summary at 1 MiB and a job's outputs at 1 MB; Triops caps each file at 1 MiB.
COMMAND_FILE_LIMIT = 1 << 20
# Variables a step may not set through GITHUB_ENV: they make the dynamic loader or an
# interpreter run code of the step's choosing in every later process. GitHub refuses only
# NODE_OPTIONS; Triops refuses these too (labs/README.md says so).
REFUSED_ENV = re.compile(
    r"^(LD_[A-Za-z0-9_]*|GCONV_PATH|GLIBC_TUNABLES|MALLOC_[A-Za-z0-9_]*|HOSTALIASES|LOCALDOMAIN|"
    r"RES_OPTIONS|NODE_OPTIONS|PYTHONSTARTUP|PYTHONHOME|PYTHONEXECUTABLE|PYTHONINSPECT|"
    r"BASH_ENV|ENV|BASH_FUNC_.*|SHELLOPTS|BASHOPTS|PS4|PERL5OPT|PERL5DB|PERLLIB|PERL5LIB|"
    r"RUBYOPT|RUBYLIB|JAVA_TOOL_OPTIONS|_JAVA_OPTIONS|JDK_JAVA_OPTIONS)$"
)
DEFAULT_COPY_BUDGET = 1 << 30  # bytes a run's built-in actions may copy (artifacts, checkout)
DEFAULT_TIMEOUT_MINUTES = 360
MAX_MATRIX_CELLS = 256
LOG_LIMIT = 64_000
STEP_STATUSES = ("success", "failure", "skipped", "cancelled")
NOT_TRIGGERED = "not-triggered"  # a RunReport's status when the event does not trigger it
# GitHub's runner refuses composite actions nested deeper than this (Constants.
# CompositeActionsMaxDepth in actions/runner): an action that uses itself stops here too.
MAX_COMPOSITE_DEPTH = 9
VERSION_FILE_LIMIT = 1 << 20  # python-version-file, read by the runner as root
# Output of a failed step that says it met the network, which the sandbox does not have.
NETWORK_SIGNS = (
    "Temporary failure in name resolution",
    "Temporary failure resolving",
    "Could not resolve host",
    "getaddrinfo",
    "Name or service not known",
    "No address associated with hostname",
    "nodename nor servname provided",
    "unable to resolve host address",
    "Network is unreachable",
    "Connection refused",
    "Failed to establish a new connection",
)
CI_NETWORK_HINT = (
    "Hint: this looks like a network error, and the sandbox has no network. Where this "
    "machine has one, run it with `triops ci run --allow-network` (only for a workflow you "
    "trust)."
)
LAB_NETWORK_HINT = (
    "Hint: this looks like a network error: labs run offline, so a step cannot download "
    "anything; use the tools the lab's environment already provides."
)


class WorkflowError(InvalidInputError):
    """A workflow that cannot run, located by file and 1-based line."""

    def __init__(self, path: str | Path, line: int, message: str):
        self.path = str(path)
        self.line = line
        self.message = message
        super().__init__(f"{self.path}:{line}: error: {message}")


class WorkflowUnreadable(WorkflowError):
    """A workflow file that cannot be read at all (missing, a folder, a FIFO, no permission):
    a problem of the machine or the command line, not of the workflow's text."""


class ExpressionError(ValueError):
    """An expression that does not parse or cannot be evaluated."""


class MatrixError(ValueError):
    """A `strategy.matrix` that cannot be expanded; `loc` points inside the matrix."""

    def __init__(self, message: str, loc: tuple[Any, ...] = ()):
        super().__init__(message)
        self.loc = loc


# ---------------------------------------------------------------------------------------------
# Expressions
# ---------------------------------------------------------------------------------------------

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
_CONTEXTS = {
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


def _kind(value: Any) -> str:
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
    ka, kb = _kind(a), _kind(b)
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
    ka, kb = _kind(a), _kind(b)
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
                regex = glob_regex(_inside(str(folder.folder), spec))
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


def _inside(folder: str, spec: str) -> str:
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
            out.append(_component_regex(part) + ("" if last else "/"))
    body = "".join(out)
    return re.compile(f"(?s:{body})(?:/.*)?\\Z" if body else "(?s:.*)\\Z")


def _component_regex(part: str) -> str:
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


# ---------------------------------------------------------------------------------------------
# Matrix
# ---------------------------------------------------------------------------------------------


def expand_matrix(matrix: Any) -> list[dict[str, Any]]:
    """Cross product of the vectors, minus `exclude` (partial match), then `include`.

    An include entry extends every combination whose original values it does not change
    (values added by earlier includes may be overwritten); an entry that extends none is
    added as a new combination, after the others.
    """
    if not isinstance(matrix, dict):
        raise MatrixError(f"matrix must be a mapping of names to lists, got {_kind(matrix)}")
    dims: dict[str, list[Any]] = {}
    for key, values in matrix.items():
        if key in ("include", "exclude"):
            continue
        if not isinstance(values, list):
            raise MatrixError(
                f"matrix '{key}' must be a list of values, got {_kind(values)}", (key,)
            )
        if not values:
            raise MatrixError(f"matrix '{key}' has no values", (key,))
        dims[str(key)] = values
    lists = {}
    for name in ("include", "exclude"):
        entries = matrix.get(name) or []
        if not isinstance(entries, list):
            raise MatrixError(f"matrix '{name}' must be a list of mappings", (name,))
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise MatrixError(
                    f"matrix '{name}' entries must be mappings, got {_kind(entry)}", (name, index)
                )
        lists[name] = entries
    for index, entry in enumerate(lists["exclude"]):
        for key in entry:
            if key not in dims:
                keys = ", ".join(dims) or "none"
                raise MatrixError(
                    f"matrix exclude uses '{key}', which is not a matrix key (keys: {keys})",
                    ("exclude", index, key),
                )
    combos = [dict(zip(dims, values, strict=True)) for values in itertools.product(*dims.values())]
    if not dims:
        combos = []
    combos = [
        combo
        for combo in combos
        if not any(all(combo[k] == v for k, v in entry.items()) for entry in lists["exclude"])
    ]
    added = []
    for entry in lists["include"]:
        matched = False
        for combo in combos:
            if all(k not in dims or combo[k] == v for k, v in entry.items()):
                combo.update(entry)
                matched = True
        if not matched:
            added.append(dict(entry))
    result = combos + added
    if not result:
        raise MatrixError("matrix produces no combinations")
    if len(result) > MAX_MATRIX_CELLS:
        raise MatrixError(f"matrix produces {len(result)} combinations; at most 256 are allowed")
    return result


def _has_expression(value: Any) -> bool:
    if isinstance(value, str):
        return "${{" in value
    if isinstance(value, dict):
        return any(_has_expression(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_expression(v) for v in value)
    return False


def matrix_label(combo: dict[str, Any]) -> str:
    """`3.11, ubuntu-latest`: the values of one matrix cell, as GitHub shows them."""
    return ", ".join(
        to_str(v) if not isinstance(v, dict | list) else json.dumps(v) for v in combo.values()
    )


def evaluate_deep(value: Any, ctx: ExpressionContext) -> Any:
    """`evaluate_value` through lists and mappings (runs-on: [self-hosted, ${{ matrix.os }}])."""
    if isinstance(value, list):
        return [evaluate_deep(item, ctx) for item in value]
    if isinstance(value, dict):
        return {key: evaluate_deep(item, ctx) for key, item in value.items()}
    return evaluate_value(value, ctx)


def runner_labels(runs_on: Any) -> list[str]:
    """The labels of a runs-on value: a label, a list of labels, or {group, labels}."""
    if isinstance(runs_on, dict):
        runs_on = runs_on.get("labels") or []
    items = runs_on if isinstance(runs_on, list) else [runs_on]
    return [to_str(item) for item in items if item is not None]


def runner_os(runs_on: Any) -> str | None:
    """'Windows' or 'macOS' when a runs-on value names such a runner (windows-latest,
    windows-11-arm, macos-14, macOS-latest, [self-hosted, windows]...), else None: Linux, or a
    label that names no operating system (a runner group, a larger runner's own name)."""
    for label in runner_labels(runs_on):
        low = label.strip().lower()
        if low == "windows" or low.startswith(("windows-", "windows_")):
            return "Windows"
        if low in ("macos", "osx") or low.startswith(("macos-", "macos_")):
            return "macOS"
    return None


def runs_on_label(runs_on: Any) -> str:
    """A runs-on value as one line: `windows-latest`, `[self-hosted, macOS]`, `group: gpu`."""
    if isinstance(runs_on, dict):
        parts = []
        if runs_on.get("group") is not None:
            parts.append(f"group: {to_str(runs_on['group'])}")
        labels = runner_labels(runs_on)
        if labels:
            parts.append(f"labels: {', '.join(labels)}")
        return "{" + "; ".join(parts) + "}"
    if isinstance(runs_on, list):
        return "[" + ", ".join(runner_labels(runs_on)) + "]"
    return to_str(runs_on)


# ---------------------------------------------------------------------------------------------
# The workflow model and its loader
# ---------------------------------------------------------------------------------------------

_WORKFLOW_KEYS = {"name", "run-name", "on", "env", "defaults", "jobs", "permissions", "concurrency"}
_JOB_KEYS = {
    *("name", "needs", "runs-on", "permissions", "environment", "concurrency", "outputs"),
    *("env", "defaults", "if", "steps", "timeout-minutes", "strategy", "continue-on-error"),
    *("container", "services", "uses", "with", "secrets"),
}
_STEP_KEYS = {
    *("id", "if", "name", "uses", "run", "working-directory", "shell", "with", "env"),
    *("continue-on-error", "timeout-minutes"),
}
# "Metadata syntax for GitHub Actions": the keys of action.yml and of a composite action's steps.
_ACTION_KEYS = {"name", "author", "description", "inputs", "outputs", "runs", "branding"}
_COMPOSITE_STEP_KEYS = {
    *("id", "if", "name", "uses", "run", "working-directory", "shell", "with", "env"),
    "continue-on-error",
}
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_USES = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[^@\s]+)?@[^@\s]+$")


@dataclass
class Step:
    """One entry of `jobs.<id>.steps`, as written (expressions are evaluated when it runs)."""

    index: int
    line: int
    id: str | None = None
    name: str | None = None
    if_: Any = None
    run: str | None = None
    uses: str | None = None
    with_: dict[str, Any] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)
    working_directory: str | None = None
    shell: str | None = None
    timeout_minutes: Any = None
    continue_on_error: Any = False
    file: str | None = None  # set for a composite action's steps: the action.yml they are in

    @property
    def where(self) -> str:
        """`line 12`, or `./.github/actions/x/action.yml:12` for a composite action's step."""
        return f"{self.file}:{self.line}" if self.file else f"line {self.line}"

    def default_name(self) -> str:
        """`Run <first line of the script>` or `Run <action>`, as GitHub names unnamed steps."""
        if self.run is not None:
            first = next((ln for ln in self.run.splitlines() if ln.strip()), "")
            return f"Run {first.strip()}"
        return f"Run {self.uses}"


@dataclass
class Strategy:
    """`jobs.<id>.strategy`: the matrix as written, fail-fast and max-parallel."""

    matrix: Any
    fail_fast: Any = True
    max_parallel: Any = None


@dataclass
class Job:
    """One entry of `jobs`."""

    id: str
    line: int
    name: str | None
    needs: list[str]
    runs_on: Any
    steps: list[Step]
    if_: Any = None
    env: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    strategy: Strategy | None = None
    timeout_minutes: Any = None
    continue_on_error: Any = False
    defaults_run: dict[str, Any] = field(default_factory=dict)


@dataclass
class Workflow:
    """A checked workflow: jobs keyed by id and `order`, a dependency order for running them."""

    path: Path
    name: str
    env: dict[str, Any]
    defaults_run: dict[str, Any]
    jobs: dict[str, Job]
    order: list[str]
    text: str = ""
    # `on:` as event -> its settings (None when it has none), and the line of each event and
    # filter ('push', 'push.branches') for messages.
    on: dict[str, Any] = field(default_factory=lambda: {"push": None})
    on_lines: dict[str, int] = field(default_factory=dict)


@dataclass
class ActionInput:
    """One input of a composite action: its default (an expression is allowed), whether it is
    required, and its deprecation message."""

    default: Any = None
    required: bool = False
    deprecation: str | None = None


@dataclass
class Action:
    """A local composite action (action.yml with runs.using: composite), checked."""

    path: str  # as shown in messages: ./path/action.yml
    name: str
    inputs: dict[str, ActionInput]
    outputs: dict[str, Any]
    steps: list[Step]


class _Loader:
    def __init__(self, path: Path | str, doc: YamlDoc):
        self.path = path
        self.doc = doc

    def fail(self, loc: tuple[Any, ...], message: str) -> WorkflowError:
        return WorkflowError(self.path, self.doc.line_of(loc), message)

    def line(self, loc: tuple[Any, ...]) -> int:
        return self.doc.line_of(loc)

    def check_keys(self, data: dict, allowed: set[str], loc: tuple, what: str) -> None:
        for key in data:
            if key is True:  # YAML 1.1 reads the key `on` as the boolean true
                key = "on"
            if key not in allowed:
                raise self.fail(
                    (*loc, key),
                    f"unknown key '{key}' in {what} (allowed: {', '.join(sorted(allowed))})",
                )

    def mapping(self, value: Any, loc: tuple, what: str) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(loc, f"{what} must be a mapping, got {_kind(value)}")
        return value

    def expr(self, value: Any, loc: tuple, where: str, *, condition: bool = False) -> None:
        """Check every expression in `value` (a string, or a mapping/list of them)."""
        if isinstance(value, dict):
            for key, item in value.items():
                self.expr(item, (*loc, key), where)
            return
        if isinstance(value, list):
            for index, item in enumerate(value):
                self.expr(item, (*loc, index), where)
            return
        if not isinstance(value, str) and not condition:
            return
        status_ok = where in ("job_if", "step_if", "composite_if")
        steps_ok = where.startswith(("step", "composite"))
        try:
            if condition:
                expression = condition_expression(value)
                if expression is not None:
                    check_expression(
                        expression, _CONTEXTS[where], status_ok=status_ok, steps_ok=steps_ok
                    )
                    return
            for part in template_parts(str(value)):
                if isinstance(part, tuple):
                    check_expression(
                        part[0], _CONTEXTS[where], status_ok=status_ok, steps_ok=steps_ok
                    )
        except ExpressionError as exc:
            raise self.fail(loc, str(exc)) from None

    def load(self, text: str) -> Workflow:
        data = self.doc.data
        if not isinstance(data, dict):
            raise self.fail((), f"a workflow must be a mapping, got {_kind(data)}")
        self.check_keys(data, _WORKFLOW_KEYS, (), "the workflow")
        if "on" not in data and True not in data:
            raise self.fail((), "missing required key 'on' (the events that trigger the workflow)")
        if "jobs" not in data:
            raise self.fail((), "missing required key 'jobs'")
        on, on_lines = self.on(data["on"] if "on" in data else data[True])
        env = self.mapping(data.get("env"), ("env",), "env")
        self.expr(env, ("env",), "workflow")
        defaults = self.defaults(data.get("defaults"), ("defaults",), "workflow")
        jobs_data = data["jobs"]
        if not isinstance(jobs_data, dict) or not jobs_data:
            raise self.fail(("jobs",), "'jobs' must be a mapping with at least one job")
        jobs = {}
        for job_id, job_data in jobs_data.items():
            jobs[str(job_id)] = self.job(str(job_id), job_data)
        for job in jobs.values():
            for index, need in enumerate(job.needs):
                if need not in jobs:
                    known = ", ".join(jobs)
                    raise self.fail(
                        ("jobs", job.id, "needs", index),
                        f"job '{job.id}' needs '{need}', which is not a job in this workflow "
                        f"(jobs: {known})",
                    )
        self.check_cycles(jobs)
        name = data.get("name")
        return Workflow(
            path=self.path,
            name=to_str(name) if name is not None else str(self.path),
            env=env,
            defaults_run=defaults,
            jobs=jobs,
            order=_dependency_order(jobs),
            text=text,
            on=on,
            on_lines=on_lines,
        )

    def on(self, value: Any) -> tuple[dict[str, Any], dict[str, int]]:
        """`on:` as event -> settings: a name, a list of names or a mapping, each event known to
        GitHub, each filter a list of valid patterns, never both a filter and its -ignore."""
        loc: tuple[Any, ...] = ("on",)
        lines: dict[str, int] = {}
        if isinstance(value, str):
            names = [(value, loc)]
            events: dict[str, Any] = {value: None}
        elif isinstance(value, list) and value:
            names = []
            for index, item in enumerate(value):
                if not isinstance(item, str):
                    raise self.fail(
                        (*loc, index), f"on: entries must be event names, got {_kind(item)}"
                    )
                names.append((item, (*loc, index)))
            events = {item: None for item in value}
        elif isinstance(value, dict) and value:
            names = [(str(k), (*loc, k)) for k in value]
            events = {str(k): v for k, v in value.items()}
        else:
            raise self.fail(
                loc,
                "on must name the events that trigger the workflow: an event, a list or a mapping",
            )
        for name, where in names:
            lines[name] = self.line(where)
            if name not in EVENTS:
                close = difflib.get_close_matches(name, sorted(EVENTS), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise self.fail(where, f"'{name}' is not an event that triggers workflows{hint}")
            settings = events[name]
            if name == "schedule":
                self.schedule(settings, where)
                continue
            if settings is None:
                continue
            if not isinstance(settings, dict):
                raise self.fail(
                    where, f"on.{name} must be a mapping of its settings, got {_kind(settings)}"
                )
            for pair in (("branches", "branches-ignore"), ("tags", "tags-ignore"), PATH_FILTERS):
                if all(key in settings for key in pair):
                    raise self.fail(
                        (*where, pair[1]),
                        f"on.{name} cannot use both {pair[0]} and {pair[1]}; put the exclusions "
                        f"in {pair[0]} with a leading '!'",
                    )
            for key, patterns in settings.items():
                key = str(key)
                lines[f"{name}.{key}"] = self.line((*where, key))
                if key in REF_FILTERS or key in PATH_FILTERS:
                    self.filter(patterns, (*where, key), f"on.{name}.{key}")
        return events, lines

    def filter(self, value: Any, loc: tuple, what: str) -> None:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(p, str) and p for p in items):
            raise self.fail(loc, f"{what} must be a list of patterns (strings)")
        try:
            patterns_of(items)
        except PatternError as exc:
            raise self.fail(loc, f"{what}: {exc}") from None

    def schedule(self, value: Any, loc: tuple) -> None:
        if not isinstance(value, list) or not value:
            raise self.fail(
                loc, "on.schedule must be a list of entries such as - cron: '0 6 * * 1'"
            )
        for index, entry in enumerate(value):
            if not isinstance(entry, dict) or not isinstance(entry.get("cron"), str):
                raise self.fail(
                    (*loc, index), "each on.schedule entry needs cron: 'MIN HOUR DAY MONTH WEEKDAY'"
                )
            if len(entry["cron"].split()) != 5:
                raise self.fail(
                    (*loc, index, "cron"),
                    f"cron '{entry['cron']}' needs five fields: minute hour day month weekday",
                )

    def action(self) -> Action:
        """A composite action's action.yml: its inputs, outputs and steps, checked as GitHub
        checks them (a run step needs shell:)."""
        data = self.doc.data
        if not isinstance(data, dict):
            raise self.fail((), f"an action must be a mapping, got {_kind(data)}")
        self.check_keys(data, _ACTION_KEYS, (), "action.yml")
        if "runs" not in data:
            raise self.fail((), "missing required key 'runs'")
        runs = self.mapping(data["runs"], ("runs",), "runs")
        using = runs.get("using")
        if using != "composite":
            raise self.fail(
                ("runs", "using"),
                f"runs.using is {using!r}: only composite actions (runs.using: composite) run "
                "here; JavaScript and Docker actions are not available offline",
            )
        self.check_keys(runs, {"using", "steps"}, ("runs",), "runs of a composite action")
        steps_data = runs.get("steps")
        if not isinstance(steps_data, list) or not steps_data:
            raise self.fail(("runs",), "runs.steps must be a list with at least one step")
        inputs: dict[str, ActionInput] = {}
        for input_id, spec in self.mapping(data.get("inputs"), ("inputs",), "inputs").items():
            where = ("inputs", input_id)
            if not isinstance(input_id, str) or not _ID.match(input_id):
                raise self.fail(where, f"input id {input_id!r} must start with a letter or '_'")
            spec = self.mapping(spec, where, f"input '{input_id}'")
            self.check_keys(
                spec,
                {"description", "required", "default", "deprecationMessage"},
                where,
                f"input '{input_id}'",
            )
            self.expr(spec.get("default"), (*where, "default"), "step")
            inputs[input_id] = ActionInput(
                default=spec.get("default"),
                required=spec.get("required") is True
                or str(spec.get("required")).lower() == "true",
                deprecation=to_str(spec["deprecationMessage"])
                if "deprecationMessage" in spec
                else None,
            )
        outputs: dict[str, Any] = {}
        for output_id, spec in self.mapping(data.get("outputs"), ("outputs",), "outputs").items():
            where = ("outputs", output_id)
            spec = self.mapping(spec, where, f"output '{output_id}'")
            self.check_keys(spec, {"description", "value"}, where, f"output '{output_id}'")
            if "value" not in spec:
                raise self.fail(where, f"output '{output_id}' of a composite action needs a value")
            self.expr(spec["value"], (*where, "value"), "composite_step")
            outputs[str(output_id)] = spec["value"]
        steps = [
            self.step("", index, item, composite=True) for index, item in enumerate(steps_data)
        ]
        seen: set[str] = set()
        for step in steps:
            if step.id is not None:
                if step.id in seen:
                    raise self.fail(
                        ("runs", "steps", step.index, "id"), f"step id '{step.id}' is used twice"
                    )
                seen.add(step.id)
        name = data.get("name")
        return Action(
            path=str(self.path),
            name=to_str(name) if name is not None else str(self.path),
            inputs=inputs,
            outputs=outputs,
            steps=steps,
        )

    def defaults(self, value: Any, loc: tuple, where: str) -> dict[str, Any]:
        defaults = self.mapping(value, loc, "defaults")
        run = self.mapping(defaults.get("run"), (*loc, "run"), "defaults.run")
        for key in run:
            if key not in ("shell", "working-directory"):
                raise self.fail((*loc, "run", key), f"unknown key '{key}' in defaults.run")
        if "shell" in run:
            self.shell(run["shell"], (*loc, "run", "shell"))
        if where == "job":
            self.expr(run, (*loc, "run"), "job_defaults")
        elif _has_expression(run):
            raise self.fail((*loc, "run"), "workflow defaults.run cannot use expressions")
        return run

    def shell(self, value: Any, loc: tuple) -> None:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(loc, "shell must be a string")
        if value not in SHELLS and "{0}" not in value:
            raise self.fail(
                loc,
                f"shell '{value}' is not available here; use bash, sh, python "
                "or a command with {0} for the script file",
            )

    def job(self, job_id: str, data: Any) -> Job:
        loc = ("jobs", job_id)
        if not _ID.match(job_id):
            raise self.fail(
                loc,
                f"job id '{job_id}' must start with a letter or '_' and contain only "
                "letters, digits, '-' and '_'",
            )
        if not isinstance(data, dict):
            raise self.fail(loc, f"job '{job_id}' must be a mapping, got {_kind(data)}")
        self.check_keys(data, _JOB_KEYS, loc, f"job '{job_id}'")
        if "uses" in data:
            raise self.fail((*loc, "uses"), "reusable workflows (jobs.<id>.uses) are not supported")
        for key in ("container", "services"):
            if key in data:
                raise self.fail((*loc, key), f"'{key}' needs Docker, which is not available here")
        if "runs-on" not in data:
            raise self.fail(loc, f"job '{job_id}' is missing 'runs-on'")
        steps_data = data.get("steps")
        if not isinstance(steps_data, list) or not steps_data:
            raise self.fail(
                (*loc, "steps") if "steps" in data else loc,
                f"job '{job_id}' needs 'steps': a list with at least one step",
            )
        needs = data.get("needs") or []
        if isinstance(needs, str):
            needs = [needs]
        if not isinstance(needs, list) or not all(isinstance(n, str) for n in needs):
            raise self.fail((*loc, "needs"), "needs must be a job id or a list of job ids")
        if "if" in data:
            self.expr(data["if"], (*loc, "if"), "job_if", condition=True)
        for key in ("name", "runs-on", "timeout-minutes", "continue-on-error"):
            self.expr(data.get(key), (*loc, key), "job")
        self.number_or_expr(data.get("timeout-minutes"), (*loc, "timeout-minutes"))
        self.bool_or_expr(data.get("continue-on-error"), (*loc, "continue-on-error"))
        env = self.mapping(data.get("env"), (*loc, "env"), "env")
        self.expr(env, (*loc, "env"), "job_env")
        outputs = self.mapping(data.get("outputs"), (*loc, "outputs"), "outputs")
        self.expr(outputs, (*loc, "outputs"), "job_outputs")
        strategy = (
            self.strategy(data.get("strategy"), (*loc, "strategy")) if "strategy" in data else None
        )
        steps = [self.step(job_id, index, item) for index, item in enumerate(steps_data)]
        seen: dict[str, int] = {}
        for step in steps:
            if step.id is None:
                continue
            if step.id in seen:
                raise self.fail(
                    (*loc, "steps", step.index, "id"),
                    f"step id '{step.id}' is used twice in job '{job_id}'",
                )
            seen[step.id] = step.index
        return Job(
            id=job_id,
            line=self.line(loc),
            name=data.get("name"),
            needs=needs,
            runs_on=data["runs-on"],
            steps=steps,
            if_=data.get("if"),
            env=env,
            outputs=outputs,
            strategy=strategy,
            timeout_minutes=data.get("timeout-minutes"),
            continue_on_error=data.get("continue-on-error", False),
            defaults_run=self.defaults(data.get("defaults"), (*loc, "defaults"), "job"),
        )

    def number_or_expr(self, value: Any, loc: tuple) -> None:
        if value is None or (isinstance(value, str) and "${{" in value):
            return
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise self.fail(loc, f"timeout-minutes must be a positive number, got {value!r}")

    def bool_or_expr(self, value: Any, loc: tuple) -> None:
        if value is None or isinstance(value, bool) or (isinstance(value, str) and "${{" in value):
            return
        raise self.fail(
            loc, f"continue-on-error must be true, false or an expression, got {value!r}"
        )

    def strategy(self, value: Any, loc: tuple) -> Strategy:
        data = self.mapping(value, loc, "strategy")
        for key in data:
            if key not in ("matrix", "fail-fast", "max-parallel"):
                raise self.fail((*loc, key), f"unknown key '{key}' in strategy")
        if "matrix" not in data:
            raise self.fail(loc, "strategy needs a 'matrix'")
        matrix = data["matrix"]
        self.expr(matrix, (*loc, "matrix"), "strategy")
        self.expr(data.get("fail-fast"), (*loc, "fail-fast"), "strategy")
        self.expr(data.get("max-parallel"), (*loc, "max-parallel"), "strategy")
        if isinstance(matrix, str):
            if condition_expression(matrix) is None or "${{" not in matrix:
                raise self.fail((*loc, "matrix"), "matrix must be a mapping or a ${{ }} expression")
        elif not _has_expression(matrix):
            try:
                expand_matrix(matrix)
            except MatrixError as exc:
                raise self.fail((*loc, "matrix", *exc.loc), str(exc)) from None
        fail_fast = data.get("fail-fast", True)
        if not isinstance(fail_fast, bool) and not _has_expression(fail_fast):
            raise self.fail((*loc, "fail-fast"), "fail-fast must be true or false")
        max_parallel = data.get("max-parallel")
        if max_parallel is not None and not _has_expression(max_parallel):
            if (
                isinstance(max_parallel, bool)
                or not isinstance(max_parallel, int)
                or max_parallel < 1
            ):
                raise self.fail((*loc, "max-parallel"), "max-parallel must be a positive integer")
        return Strategy(matrix=matrix, fail_fast=fail_fast, max_parallel=max_parallel)

    def step(self, job_id: str, index: int, data: Any, *, composite: bool = False) -> Step:
        loc: tuple[Any, ...] = (
            ("runs", "steps", index) if composite else ("jobs", job_id, "steps", index)
        )
        which = (
            f"step {index + 1} of the action"
            if composite
            else f"step {index + 1} of job '{job_id}'"
        )
        if not isinstance(data, dict):
            raise self.fail(loc, f"{which} must be a mapping")
        self.check_keys(data, _COMPOSITE_STEP_KEYS if composite else _STEP_KEYS, loc, "a step")
        has_run, has_uses = "run" in data, "uses" in data
        if not has_run and not has_uses:
            raise self.fail(loc, f"{which} has neither 'run' nor 'uses'")
        if has_run and has_uses:
            raise self.fail(loc, f"{which} has both 'run' and 'uses'")
        if composite and has_run and "shell" not in data:
            raise self.fail(
                loc,
                f"{which} runs a script without shell: a composite action's run steps must "
                "name their shell (for example shell: bash), as GitHub requires",
            )
        where_if, where = ("composite_if", "composite_step") if composite else ("step_if", "step")
        step_id = data.get("id")
        if step_id is not None and (not isinstance(step_id, str) or not _ID.match(step_id)):
            raise self.fail(
                (*loc, "id"),
                f"step id {step_id!r} must start with a letter or '_' and contain only "
                "letters, digits, '-' and '_'",
            )
        if has_uses:
            uses = data["uses"]
            if not isinstance(uses, str) or not (
                _USES.match(uses) or uses.startswith(("./", "docker://"))
            ):
                raise self.fail(
                    (*loc, "uses"),
                    f"uses {uses!r} must look like owner/repo@ref "
                    "(for example actions/checkout@v4)",
                )
        elif not isinstance(data["run"], str):
            raise self.fail((*loc, "run"), "run must be a string (use '|' for several lines)")
        if "shell" in data:
            self.shell(data["shell"], (*loc, "shell"))
        if "if" in data:
            self.expr(data["if"], (*loc, "if"), where_if, condition=True)
        with_ = self.mapping(data.get("with"), (*loc, "with"), "with")
        env = self.mapping(data.get("env"), (*loc, "env"), "env")
        for key in ("name", "run", "working-directory", "timeout-minutes", "continue-on-error"):
            self.expr(data.get(key), (*loc, key), where)
        self.expr(with_, (*loc, "with"), where)
        self.expr(env, (*loc, "env"), where)
        self.number_or_expr(data.get("timeout-minutes"), (*loc, "timeout-minutes"))
        self.bool_or_expr(data.get("continue-on-error"), (*loc, "continue-on-error"))
        return Step(
            index=index,
            line=self.line(loc),
            id=step_id,
            name=data.get("name"),
            if_=data.get("if"),
            run=data.get("run"),
            uses=data.get("uses"),
            with_=with_,
            env=env,
            working_directory=data.get("working-directory"),
            shell=data.get("shell"),
            timeout_minutes=data.get("timeout-minutes"),
            continue_on_error=data.get("continue-on-error", False),
            file=str(self.path) if composite else None,
        )

    def check_cycles(self, jobs: dict[str, Job]) -> None:
        state: dict[str, int] = {}  # 1 visiting, 2 done
        stack: list[str] = []

        def visit(job_id: str) -> None:
            state[job_id] = 1
            stack.append(job_id)
            job = jobs[job_id]
            for index, need in enumerate(job.needs):
                if state.get(need) == 1:
                    cycle = [*stack[stack.index(need) :], need]
                    raise self.fail(
                        ("jobs", job_id, "needs", index),
                        f"needs form a cycle: {' -> '.join(cycle)}",
                    )
                if need not in state:
                    visit(need)
            stack.pop()
            state[job_id] = 2

        for job_id in jobs:
            if job_id not in state:
                visit(job_id)


def _dependency_order(jobs: dict[str, Job]) -> list[str]:
    """Jobs in file order, each after everything it needs."""
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(jobs):
        for job_id, job in jobs.items():
            if job_id not in done and all(n in done for n in job.needs):
                order.append(job_id)
                done.add(job_id)
                break
    return order


def load_workflow(path: str | Path) -> Workflow:
    """Parse and check a workflow file; raise WorkflowError (file and line) before anything runs."""
    path = Path(path)
    try:
        # Non-blocking and regular files only: a FIFO in its place cannot hang the runner.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise WorkflowUnreadable(path, 1, "cannot read the workflow: not a regular file")
            os.set_blocking(fd, True)
            with os.fdopen(fd, "rb", closefd=False) as handle:
                raw = handle.read(LEARNER_YAML.max_bytes + 1)
        finally:
            os.close(fd)
        text = raw.decode("utf-8")
    except OSError as exc:
        raise WorkflowUnreadable(
            path, 1, f"cannot read the workflow: {exc.strerror or exc}"
        ) from exc
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise WorkflowError(path, line, "the workflow is not UTF-8 text") from exc
    return parse_workflow(text, path)


def parse_workflow(text: str, path: str | Path = "<workflow>") -> Workflow:
    """Parse and check workflow text; `path` is only used in messages."""
    path = Path(path)
    try:
        doc = parse_yaml(text, limits=LEARNER_YAML)
    except YamlSyntaxError as exc:
        raise WorkflowError(path, exc.line, exc.message) from exc
    except yaml.YAMLError as exc:  # constructor errors that compose accepted
        raise WorkflowError(path, 1, f"YAML error: {exc}") from exc
    return _Loader(path, doc).load(text)


# ---------------------------------------------------------------------------------------------
# Running steps: the runner protocol and a plain local runner
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepOutcome:
    """How one process ended: status is ok, failed, timeout or error (could not start)."""

    exit_code: int | None
    status: str
    output: str
    seconds: float


class StepRunner(Protocol):
    """Runs one command in `workdir` (cwd relative to it) and reports how it ended."""

    def run(
        self,
        cmd: list[str],
        *,
        workdir: Path,
        cwd: str | None,
        env: dict[str, str],
        timeout: float | None,
        on_output: Callable[[str], None] | None,
        allow_network: bool,
    ) -> StepOutcome: ...


class _CappedOutput:
    """Keeps the head and the tail of a long output, and counts what was left out."""

    def __init__(self, head: int = 200_000, tail: int = 800_000):
        self.head_limit, self.tail_limit = head, tail
        self.head: list[str] = []
        self.head_size = 0
        self.tail: deque[str] = deque()
        self.tail_size = 0
        self.dropped = 0

    def add(self, line: str) -> None:
        if self.head_size + len(line) <= self.head_limit and not self.tail:
            self.head.append(line)
            self.head_size += len(line) + 1
            return
        self.tail.append(line)
        self.tail_size += len(line) + 1
        while self.tail_size > self.tail_limit and len(self.tail) > 1:
            self.tail_size -= len(self.tail.popleft()) + 1
            self.dropped += 1

    def text(self) -> str:
        middle = [f"... {self.dropped} lines omitted ..."] if self.dropped else []
        return "\n".join([*self.head, *middle, *self.tail])


class LocalRunner:
    """Plain subprocesses with a clean environment (only `env`, plus PATH when missing).

    Each command runs in its own process group, which is killed on timeout and when the
    command ends, so background processes do not outlive their step. `allow_network` is not
    enforced here: this runner is for testing workflow semantics, not for isolation.
    """

    def __init__(self, kill_grace: float = 0.5):
        self.kill_grace = kill_grace

    def run(
        self,
        cmd: list[str],
        *,
        workdir: Path,
        cwd: str | None,
        env: dict[str, str],
        timeout: float | None,
        on_output: Callable[[str], None] | None,
        allow_network: bool,
    ) -> StepOutcome:
        """Run `cmd`, streaming each output line to `on_output`."""
        start = time.monotonic()
        full_env = dict(env)
        full_env.setdefault("PATH", os.environ.get("PATH", os.defpath))
        directory = Path(workdir) / cwd if cwd else Path(workdir)
        try:
            proc = subprocess.Popen(
                cmd,
                cwd=directory,
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            message = f"could not start {cmd[0]}: {exc.strerror or exc}"
            return StepOutcome(None, "error", message, time.monotonic() - start)
        output = _CappedOutput()
        deadline = start + timeout if timeout is not None else None
        pending = b""

        def emit(raw: bytes) -> None:
            line = raw.decode("utf-8", errors="replace").rstrip("\r")
            output.add(line)
            if on_output is not None:
                on_output(line)

        timed_out = False
        fd = proc.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            exited_at: float | None = None
            while True:
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    timed_out = True
                    break
                if exited_at is None and proc.poll() is not None:
                    exited_at = now
                if exited_at is not None and now - exited_at > 0.2:
                    break  # a background process holds the pipe open; the step is over
                wait = 0.1 if deadline is None else min(0.1, max(deadline - now, 0))
                if not selector.select(timeout=wait):
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for raw in lines:
                    emit(raw)
        if pending:
            emit(pending)
        self._kill_group(proc, graceful=timed_out)
        proc.stdout.close()
        seconds = time.monotonic() - start
        if timed_out:
            return StepOutcome(None, "timeout", output.text(), seconds)
        code = proc.returncode
        return StepOutcome(code, "ok" if code == 0 else "failed", output.text(), seconds)

    def _kill_group(self, proc: subprocess.Popen, *, graceful: bool) -> None:
        if graceful:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=self.kill_grace)
            except (ProcessLookupError, PermissionError, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()


# ---------------------------------------------------------------------------------------------
# Reports and events
# ---------------------------------------------------------------------------------------------


def network_error(output: str) -> bool:
    """Whether a failed step's output says it tried the network (name resolution, a refused
    or unreachable connection)."""
    return any(sign in output for sign in NETWORK_SIGNS)


def _cap(text: str, limit: int = LOG_LIMIT) -> str:
    if len(text) <= limit:
        return text
    head = limit // 4
    tail = limit - head
    omitted = len(text) - head - tail
    return f"{text[:head]}\n... {omitted} characters omitted ...\n{text[-tail:]}"


@dataclass
class StepReport:
    """One step: status is its conclusion (success, failure, skipped or cancelled)."""

    name: str
    id: str | None
    status: str
    outcome: str | None = None
    conclusion: str | None = None
    exit_code: int | None = None
    seconds: float = 0.0
    outputs: dict[str, str] = field(default_factory=dict)
    log: str = ""
    message: str = ""
    summary: str = ""
    timed_out: bool = False
    steps: list[StepReport] = field(default_factory=list)  # a composite action's own steps


@dataclass
class CellReport:
    """One run of a job: the whole job, or one matrix combination. A cell whose runs-on names
    a Windows or macOS runner is `skipped` with the reason in `message`."""

    name: str
    matrix: dict[str, Any]
    status: str
    seconds: float = 0.0
    steps: list[StepReport] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    message: str = ""
    continue_on_error: bool = False
    runs_on: str = ""


@dataclass
class JobReport:
    """One job: its result (success, failure, cancelled or skipped) over all its cells."""

    id: str
    name: str
    result: str
    needs: list[str] = field(default_factory=list)
    cells: list[CellReport] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    message: str = ""


@dataclass
class RunReport:
    """A whole run; `to_json()` is what the CLI prints and the lab pipeline stores.

    `status` is success, failure, or not-triggered (the event does not trigger the workflow:
    `message` says which filter). `skipped_cells` counts the jobs and matrix cells skipped
    because they run on Windows or macOS; `notes` what Triops could not evaluate.
    `artifacts_dir` is '' when the artifacts were only kept for the run."""

    workflow: str
    path: str
    status: str
    seconds: float
    run_id: str
    jobs: list[JobReport] = field(default_factory=list)
    artifacts: dict[str, list[str]] = field(default_factory=dict)
    artifacts_dir: str = ""
    message: str = ""
    event: str = "push"
    ref: str = ""
    notes: list[str] = field(default_factory=list)
    skipped_cells: int = 0

    def job(self, job_id: str) -> JobReport:
        """The report of one job by id."""
        for job in self.jobs:
            if job.id == job_id:
                return job
        raise KeyError(job_id)

    def to_dict(self) -> dict[str, Any]:
        """Plain data: dicts, lists, strings and numbers."""
        return asdict(self)

    def to_json(self, indent: int | None = 2) -> str:
        """The report as JSON text."""
        return json.dumps(self.to_dict(), indent=indent, default=str)


EVENT_KINDS = (
    "note",
    "job_started",
    "step_started",
    "output",
    "step_finished",
    "cell_finished",
    "job_finished",
    "workflow_finished",
)


@dataclass(frozen=True)
class Event:
    """Something that happened during a run, for live logs; `cell` is '' outside a matrix."""

    kind: str
    job: str
    cell: str = ""
    step: str | None = None
    status: str | None = None
    line: str | None = None


_MARKS = {"success": "✓", "failure": "✗", "skipped": "-", "cancelled": "⊘", NOT_TRIGGERED: "-"}


def format_event(event: Event) -> str:
    """One line of live output for an event. Every part a workflow or a run controls (job,
    cell and step names, output lines, messages) is escaped: a carriage return, newline or
    ANSI sequence in them cannot forge a line of the runner's own."""
    who = visible(f"{event.job} ({event.cell})" if event.cell else event.job)
    mark = _MARKS.get(event.status or "", "?")
    extra = f" ({visible(event.line)})" if event.line else ""
    event = Event(
        event.kind,
        visible(event.job),
        visible(event.cell),
        visible(event.step) if event.step is not None else None,
        visible(event.status) if event.status is not None else None,
        visible(event.line) if event.line is not None else None,
    )
    if event.kind == "note":
        return f"note: {event.line}"
    if event.kind == "job_started":
        return f"[{who}] job started"
    if event.kind == "step_started":
        return f"[{who}] ▶ {event.step}"
    if event.kind == "output":
        return f"[{who}]   {event.line}"
    if event.kind == "step_finished":
        return f"[{who}] {mark} {event.step}: {event.status}{extra}"
    if event.kind in ("cell_finished", "job_finished"):
        return f"[{who}] {mark} job {event.status}{extra}"
    if event.kind == "workflow_finished":
        return f"{mark} workflow {event.job}: {event.status}{extra}"
    return f"[{who}] {event.kind} {event.status or ''}{extra}"


def exit_code(report: RunReport) -> int:
    """0 when the workflow succeeded, 3 when the event did not trigger it, else 1."""
    if report.status == NOT_TRIGGERED:
        return NOT_TRIGGERED_EXIT
    return 0 if report.status == "success" else 1


def skipped_note(report: RunReport) -> str:
    """The note a run ends with when some of its job runs were skipped for their runner."""
    total = sum(len(job.cells) for job in report.jobs)
    return (
        f"{report.skipped_cells} of {total} job runs were skipped: their runs-on names a "
        "Windows or macOS runner, and only Linux runs here"
    )


def skipped_summary(report: RunReport) -> str:
    """`; 2 of 6 job runs skipped: ...` for the run's last line, or '' when none was skipped."""
    if not report.skipped_cells:
        return ""
    total = sum(len(job.cells) for job in report.jobs)
    return (
        f"; {report.skipped_cells} of {total} job runs skipped (they run on Windows or macOS: "
        "only Linux runs here)"
    )


# ---------------------------------------------------------------------------------------------
# Environment files and python-version specs
# ---------------------------------------------------------------------------------------------


def parse_env_file(text: str, command: str = "env") -> dict[str, str]:
    """`NAME=value` lines and `NAME<<DELIM` ... `DELIM` blocks, as GITHUB_ENV/OUTPUT hold them."""
    values: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip():
            continue
        eq, heredoc = line.find("="), line.find("<<")
        if eq >= 0 and (heredoc < 0 or eq < heredoc):
            key, value = line[:eq], line[eq + 1 :]
        elif heredoc >= 0:
            key, delimiter = line[:heredoc], line[heredoc + 2 :]
            if not delimiter:
                raise ValueError(f"Unable to process file command '{command}': empty delimiter")
            block = []
            while i < len(lines) and lines[i] != delimiter:
                block.append(lines[i])
                i += 1
            if i >= len(lines):
                raise ValueError(
                    f"Unable to process file command '{command}' successfully: "
                    f"Matching delimiter not found '{delimiter}'"
                )
            i += 1
            value = "\n".join(block)
        else:
            raise ValueError(
                f"Unable to process file command '{command}' successfully: Invalid format '{line}'"
            )
        if not key:
            raise ValueError(f"Unable to process file command '{command}': a line has no name")
        values[key] = value
    return values


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


# One comparator of a semver range as setup-python reads it (node-semver, loose): an optional
# operator, then a version of up to three parts, each a number or x/X/*.
_COMPARATOR = re.compile(r"(>=|<=|>|<|==|=|~=|~>|~|\^)?v?=?((?:\d+|[xX*])(?:\.(?:\d+|[xX*])){0,2})")
_OPERATOR_SPACE = re.compile(r"(>=|<=|~=|~>|==|[<>=~^])\s+")


def _comparators(spec: str, text: str) -> list[tuple[str, list[int]]]:
    clauses = [c for c in re.split(r"[\s,]+", _OPERATOR_SPACE.sub(r"\1", text.strip())) if c]
    if not clauses:
        raise ValueError(f"cannot read python-version '{spec}'")
    out = []
    for clause in clauses:
        match = _COMPARATOR.fullmatch(clause)
        if not match:
            raise ValueError(f"cannot read python-version '{spec}'")
        op = {"==": "=", "~=": "~", "~>": "~"}.get(match.group(1) or "", match.group(1) or "")
        fixed = [int(p) for p in itertools.takewhile(str.isdigit, match.group(2).split("."))]
        out.append((op, fixed))
    return out


def _satisfies(have: tuple[int, int, int], op: str, fixed: list[int]) -> bool:
    want = tuple(fixed + [0] * (3 - len(fixed)))
    # node-semver's X-ranges: `>3.9` means above every 3.9.x, `<=3.9` up to the last 3.9.x.
    bumped = tuple(fixed[:-1] + [fixed[-1] + 1] + [0] * (3 - len(fixed))) if fixed else (0, 0, 0)
    if op in ("", "="):
        return tuple(have[: len(fixed)]) == tuple(fixed)
    if not fixed:
        return op in ("~", "^", ">=", "<=")
    if op == "~":
        upper = (fixed[0], fixed[1] + 1, 0) if len(fixed) > 1 else (fixed[0] + 1, 0, 0)
        return want <= have < upper
    if op == "^":
        if fixed[0] == 0 and len(fixed) > 1:
            return want <= have < (0, fixed[1] + 1, 0)
        return want <= have < (fixed[0] + 1, 0, 0)
    if op == ">=":
        return have >= want
    if op == "<":
        return have < want
    if op == ">":
        return have > want if len(fixed) == 3 else have >= bumped
    return have <= want if len(fixed) == 3 else have < bumped  # <=


def python_version_matches(spec: str, version: str) -> bool:
    """Whether `version` (3.11.7) satisfies a setup-python spec, a semver range as node-semver
    reads it: 3.11, 3.x, >=3.10, >=3.10 <3.13, ~3.11, ^3, ~=3.10 (read as ~3.10), a || b.

    Raises ValueError for a spec it cannot read (such as pypy or a -dev build).
    """
    actual = _version_tuple(version)
    have = tuple((list(actual) + [0, 0, 0])[:3])
    alternatives = [_comparators(spec, part) for part in spec.split("||")]
    return any(all(_satisfies(have, op, fixed) for op, fixed in alt) for alt in alternatives)


def semver_range(text: str) -> str | None:
    """`requires-python` (or poetry's python) as setup-python passes it on: commas become
    spaces, and what node-semver cannot read as a range (`!=3.9.1`, a -dev build) is None."""
    spec = " ".join(text.split(","))
    try:
        python_version_matches(spec, "0.0.0")
    except ValueError:
        return None
    return spec.strip()


def python_versions_from_file(name: str, text: str) -> tuple[list[str], list[str]]:
    """The versions setup-python reads from a python-version-file, and the lines it logs.

    As actions/setup-python does (src/utils.ts, getVersionInputFromFile): a name ending in
    .toml is pyproject.toml (project.requires-python, else tool.poetry.dependencies.python,
    as a semver range); a name containing .tool-versions takes its first `python <version>`
    line; Pipfile its requires.python_full_version or python_version; anything else is a
    plain file (.python-version): one version per line, `#` comments and blank lines
    skipped, a pyenv-virtualenv suffix (3.10/envs/name) dropped. ValueError for bad TOML."""
    log: list[str] = []
    if name.endswith(".toml") or re.search("Pipfile", name):
        try:
            data = tomllib.loads(text.replace("\r\n", "\n"))
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{name} is not valid TOML: {exc}") from exc
        if name.endswith(".toml"):
            keys = ("project", "requires-python") if "project" in data else None
            keys = keys or ("tool", "poetry", "dependencies", "python")
        else:
            requires = data.get("requires") if isinstance(data.get("requires"), dict) else {}
            full = "python_full_version" in requires
            keys = ("requires", "python_full_version" if full else "python_version")
        value: Any = data
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            log.append(f"Warning: No Python version found in {name} ({'.'.join(keys)})")
            return [], log
        if not name.endswith(".toml"):
            return [to_str(value)], log
        spec = semver_range(to_str(value))
        log.append(f"Extracted {to_str(value)} from {name}")
        if spec is None:
            log.append(f"Warning: {to_str(value)} is not a valid SemVer range; it is ignored")
            return [], log
        return [spec], log
    if re.search(r".tool-versions", name):
        for line in text.split("\n"):
            if line.strip().startswith("#"):
                continue
            match = re.match(r"^\s*python\s*v?\s*(\S+)\s*$", line)
            if match:
                return [match.group(1)], log
        log.append(f"Warning: No Python version found in {name}")
        return [], log
    versions = []
    for line in re.split(r"\r\n|\r|\n", text.strip()):
        if line.startswith("#") or not line.strip():
            continue
        versions.append(line.strip().split("/")[0])
    log.append(f"Resolved {name} as {', '.join(versions)}")
    return versions, log


# ---------------------------------------------------------------------------------------------
# Running a workflow
# ---------------------------------------------------------------------------------------------


def _temp_workdir(seed: Path | None) -> Path:
    """The default workspace factory: a fresh temporary directory (with `seed` copied in)."""
    workdir = Path(tempfile.mkdtemp(prefix="triops-job-"))
    if seed is not None:
        shutil.copytree(seed, workdir, symlinks=True, dirs_exist_ok=True)
    return workdir


@dataclass
class _Cell:
    """The mutable state of one running cell."""

    job: Job
    report: CellReport
    label: str
    workdir: Path
    workspace: Path
    runner_dir: Path
    contexts: dict[str, Any]
    env: dict[str, str]
    defaults_run: dict[str, Any]
    deadline: float
    timeout_minutes: float
    # The work folder and the workspace, opened before any step ran: every file the runner
    # touches there is reached through these, never through a path a step could re-link.
    box: Confined | None = None
    ws: Confined | None = None
    path_prepend: list[str] = field(default_factory=list)
    steps: dict[str, Any] = field(default_factory=dict)
    status: str = "success"
    timed_out: bool = False
    # Inside a composite action: how deep, the prefix of its steps' file names and shown
    # names, and the env: of the step that uses it (below the steps' own env).
    depth: int = 0
    key_prefix: str = ""
    name_prefix: str = ""
    scope_env: dict[str, str] = field(default_factory=dict)
    step_env: dict[str, str] = field(default_factory=dict)  # the running step's env:
    step_name: str = ""  # and its name, as shown


@dataclass
class _ActionResult:
    ok: bool
    message: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    steps: list[StepReport] = field(default_factory=list)


class _Run:
    def __init__(
        self,
        workflow: Workflow,
        runner: StepRunner,
        seed: Path,
        on_event: Callable[[Event], None] | None,
        allow_network: bool,
        env: dict[str, str] | None,
        python: str,
        factory: Callable[[Path | None], Path] | None,
        artifacts_dir: Path | None,
        github: dict[str, Any] | None,
        prepare_workdir: Callable[[Path], None] | None = None,
        release_workdir: Callable[[Path], None] | None = None,
        copy_budget: int = DEFAULT_COPY_BUDGET,
        time_limit: float | None = None,
        trigger: Trigger | None = None,
        network_hint: str | None = CI_NETWORK_HINT,
    ):
        self.workflow = workflow
        self.trigger = trigger or Trigger()
        self.network_hint = None if allow_network else network_hint
        self.copy_budget = copy_budget
        self.time_limit = time_limit
        self.run_deadline = math.inf
        self.copied = 0  # bytes the built-in actions copied so far (apparent sizes)
        self.prepare_workdir = prepare_workdir
        self.release_workdir = release_workdir
        self.runner = runner
        self.seed = Path(seed)
        self.on_event = on_event
        self.allow_network = allow_network
        self.base_env = dict(env or {})
        self.base_env.setdefault("PATH", os.environ.get("PATH", os.defpath))
        self.python = python
        self.python_version: str | None = None
        self.owns_workdirs = factory is None
        self.factory = factory or _temp_workdir
        # Without a folder of the caller's, artifacts live in a temporary folder made at the
        # first upload and removed when the run ends.
        self.artifacts_dir: Path | None = Path(artifacts_dir) if artifacts_dir else None
        self.owns_artifacts = False
        self.artifacts: dict[str, list[str]] = {}
        self.artifact_ids: dict[int, str] = {}
        self.results: dict[str, JobReport] = {}
        self.skipped_cells = 0
        self.run_id = str(int(time.time() * 1000))
        self.inputs = self.dispatch_inputs()
        self.github = self.github_context()
        self.github.update(github or {})

    def github_context(self) -> dict[str, Any]:
        """The github context of the simulated event and ref ("Contexts", github context)."""
        trigger = self.trigger
        sha = trigger.sha or hashlib.sha1(self.workflow.text.encode()).hexdigest()
        repository = f"local/{self.seed.name or 'workspace'}"
        repo = {"full_name": repository, "name": self.seed.name or "workspace"}
        kind, name = ref_parts(trigger.ref)
        ref, ref_name, ref_type = trigger.ref, name, kind if kind != "other" else ""
        head_ref = base_ref = ""
        event: dict[str, Any] = {"repository": repo}
        if trigger.event == "push":
            event.update(
                ref=ref,
                before=trigger.before or "0" * 40,
                after=sha,
                head_commit={"id": sha},
            )
        elif trigger.event in PULL_REQUESTS:
            head_ref, base_ref = trigger.head_ref or "triops-local", name
            pull = {
                "number": 1,
                "head": {"ref": head_ref, "sha": sha, "repo": repo},
                "base": {"ref": base_ref, "repo": repo},
            }
            event.update(action=PULL_REQUEST_ACTIVITY, number=1, pull_request=pull)
            if trigger.event == "pull_request":  # pull_request_target runs on the base branch
                ref, ref_name, ref_type = "refs/pull/1/merge", "1/merge", "branch"
        elif trigger.event == "workflow_dispatch":
            event.update(ref=ref, inputs={k: to_str(v) for k, v in self.inputs.items()})
        elif trigger.event == "schedule":
            crons = self.workflow.on.get("schedule") or [{}]
            event.update(schedule=crons[0].get("cron", ""))
        return {
            "event_name": trigger.event,
            "event": event,
            "ref": ref,
            "ref_name": ref_name,
            "ref_type": ref_type,
            "sha": sha,
            "repository": repository,
            "repository_owner": "local",
            "actor": "learner",
            "workflow": self.workflow.name,
            "run_id": self.run_id,
            "run_number": "1",
            "run_attempt": "1",
            "server_url": "https://github.com",
            "head_ref": head_ref,
            "base_ref": base_ref,
            "token": "",
            "workspace": "",
            "job": "",
            "action": "",
        }

    def dispatch_inputs(self) -> dict[str, Any]:
        """The inputs context of a workflow_dispatch run: each input's default, booleans as
        booleans and numbers as numbers, as when the run is started without changing them."""
        if self.trigger.event != "workflow_dispatch":
            return {}
        settings = self.workflow.on.get("workflow_dispatch")
        declared = settings.get("inputs") if isinstance(settings, dict) else None
        values: dict[str, Any] = {}
        for name, spec in (declared or {}).items():
            spec = spec if isinstance(spec, dict) else {}
            default, kind = spec.get("default"), spec.get("type", "string")
            if kind == "boolean":
                values[str(name)] = default is True or to_str(default).lower() == "true"
            elif kind == "number":
                number = to_number(default)
                values[str(name)] = 0 if math.isnan(number) else number
            elif kind == "choice" and default is None and spec.get("options"):
                values[str(name)] = to_str(spec["options"][0])
            else:
                values[str(name)] = to_str(default)
        return values

    def artifacts_folder(self) -> Path:
        """Where uploads go: the caller's folder, or a temporary one made now."""
        if self.artifacts_dir is None:
            self.artifacts_dir = Path(tempfile.mkdtemp(prefix="triops-artifacts-"))
            self.owns_artifacts = True
        return self.artifacts_dir

    def emit(self, kind: str, job: str, cell: str = "", **fields: Any) -> None:
        if self.on_event is not None:
            self.on_event(Event(kind, job, cell, **fields))

    # -- the run --------------------------------------------------------------------------

    def execute(self) -> RunReport:
        start = time.monotonic()
        if self.time_limit is not None:
            self.run_deadline = start + self.time_limit
        report = RunReport(
            workflow=self.workflow.name,
            path=str(self.workflow.path),
            status="success",
            seconds=0.0,
            run_id=self.run_id,
            artifacts=self.artifacts,
            artifacts_dir=str(self.artifacts_dir or ""),
            event=self.trigger.event,
            ref=self.trigger.ref,
        )
        try:
            self.run_jobs(report)
        finally:
            if self.owns_artifacts and self.artifacts_dir is not None:
                shutil.rmtree(self.artifacts_dir, ignore_errors=True)
                report.artifacts_dir = ""
        report.seconds = round(time.monotonic() - start, 3)
        self.emit(
            "workflow_finished",
            self.workflow.name,
            status=report.status,
            line=report.message if report.status == NOT_TRIGGERED else None,
        )
        return report

    def run_jobs(self, report: RunReport) -> None:
        decision = decide(
            self.workflow.on, self.trigger, self.workflow.on_lines, str(self.workflow.path)
        )
        report.notes = list(decision.notes)
        for note in report.notes:
            self.emit("note", self.workflow.name, line=note)
        if not decision.triggered:
            report.status = NOT_TRIGGERED
            report.message = decision.reason
            return
        ctx = ExpressionContext(
            {"github": self.github, "secrets": {}, "inputs": self.inputs, "vars": {}}
        )
        try:
            self.workflow_env = {
                str(k): to_str(evaluate_value(v, ctx)) for k, v in self.workflow.env.items()
            }
        except ExpressionError as exc:
            report.status = "failure"
            report.message = f"workflow env: {exc}"
            return
        for job_id in self.workflow.order:
            job_report = self.run_job(self.workflow.jobs[job_id])
            self.results[job_id] = job_report
            report.jobs.append(job_report)
        report.skipped_cells = self.skipped_cells
        if self.skipped_cells:
            note = skipped_note(report)
            report.notes.append(note)
            self.emit("note", self.workflow.name, line=note)
        if any(job.result == "failure" for job in report.jobs):
            report.status = "failure"

    def ancestors(self, job_id: str) -> list[str]:
        seen: list[str] = []
        todo = list(self.workflow.jobs[job_id].needs)
        while todo:
            need = todo.pop(0)
            if need not in seen:
                seen.append(need)
                todo.extend(self.workflow.jobs[need].needs)
        return seen

    def run_job(self, job: Job) -> JobReport:
        report = JobReport(id=job.id, name=to_str(job.name) or job.id, result="success")
        report.needs = list(job.needs)
        report.outputs = {str(k): "" for k in job.outputs}
        needs = {
            n: {"result": self.results[n].result, "outputs": dict(self.results[n].outputs)}
            for n in job.needs
        }
        ancestors = self.ancestors(job.id)
        results = {a: self.results[a].result for a in ancestors}

        def status(name: str) -> bool:
            if name == "success":
                return all(r == "success" for r in results.values())
            if name == "failure":
                return any(r == "failure" for r in results.values())
            return name == "always"

        data = {
            "github": {**self.github, "job": job.id},
            "needs": needs,
            "vars": {},
            "inputs": self.inputs,
        }
        ctx = ExpressionContext(data, status)
        try:
            runs = evaluate_condition(job.if_, ctx)
        except ExpressionError as exc:
            return self.finish_job(report, "failure", f"line {job.line}: if: {exc}")
        if not runs:
            unhappy = [f"{a} ({r})" for a, r in results.items() if r != "success"]
            if unhappy and job.if_ is None:
                why = f"skipped because needed jobs did not succeed: {', '.join(unhappy)}"
            else:
                why = "skipped because its if condition was false"
            return self.finish_job(report, "skipped", why)
        try:
            combos, fail_fast, max_parallel = self.strategy(job, ctx)
        except (ExpressionError, MatrixError) as exc:
            return self.finish_job(report, "failure", f"strategy: {exc}")
        cancel_rest = False
        for index, combo in enumerate(combos):
            strategy = {
                "fail-fast": fail_fast,
                "job-index": index,
                "job-total": len(combos),
                "max-parallel": max_parallel or len(combos),
            }
            other = self.other_runner(job, combo, strategy, needs)
            if other is not None:
                cell = self.skipped_cell(job, combo, other)
            elif cancel_rest:
                cell = self.cancelled_cell(job, combo)
            else:
                cell = self.run_cell(job, combo, strategy, needs)
            report.cells.append(cell)
            for key, value in cell.outputs.items():
                if value != "" or key not in report.outputs:
                    report.outputs[key] = value
            failed = cell.status == "failure" and not cell.continue_on_error
            if failed and fail_fast and job.strategy is not None:
                cancel_rest = True
        if all(c.status == "skipped" for c in report.cells):
            # Every run of the job needs Windows or macOS: skipped, and so are the jobs that
            # need it unless their if: says otherwise (as for any skipped job on GitHub).
            reasons = sorted({c.message for c in report.cells})
            return self.finish_job(report, "skipped", "; ".join(reasons))
        if any(c.status == "failure" and not c.continue_on_error for c in report.cells):
            result = "failure"
        elif any(c.status == "cancelled" for c in report.cells):
            result = "cancelled"
        else:
            result = "success"
        return self.finish_job(report, result, "")

    def other_runner(
        self, job: Job, combo: dict[str, Any], strategy: dict[str, Any], needs: dict[str, Any]
    ) -> str | None:
        """`runs-on windows-latest: only Linux runs here` when the cell's runs-on (evaluated)
        names a Windows or macOS runner; None when it runs here (or cannot be evaluated: the
        cell then fails with the expression's error)."""
        data = {
            "github": {**self.github, "job": job.id},
            "needs": needs,
            "strategy": strategy,
            "matrix": combo,
            "vars": {},
            "inputs": self.inputs,
        }
        try:
            runs_on = evaluate_deep(job.runs_on, ExpressionContext(data))
        except ExpressionError:
            return None
        if runner_os(runs_on) is None:
            return None
        return f"runs-on {runs_on_label(runs_on)}: only Linux runs here"

    def skipped_cell(self, job: Job, combo: dict[str, Any], message: str) -> CellReport:
        label = matrix_label(combo)
        name = job.id
        try:
            ctx = ExpressionContext(
                {"github": self.github, "matrix": combo, "needs": {}, "vars": {}, "inputs": {}}
            )
            name = interpolate(to_str(job.name), ctx) if job.name is not None else job.id
        except ExpressionError:
            pass
        if label and not (isinstance(job.name, str) and "matrix" in job.name):
            name = f"{name} ({label})"
        cell = CellReport(name=name, matrix=combo, status="skipped", message=message)
        for step in job.steps:
            cell.steps.append(
                StepReport(
                    name=to_str(step.name) or step.default_name(), id=step.id, status="skipped"
                )
            )
        self.skipped_cells += 1
        if label:
            self.emit("cell_finished", job.id, label, status="skipped", line=message)
        return cell

    def finish_job(self, report: JobReport, result: str, message: str) -> JobReport:
        report.result = result
        report.message = message
        self.emit("job_finished", report.id, status=result, line=message or None)
        return report

    def strategy(self, job: Job, ctx: ExpressionContext) -> tuple[list[dict], bool, int | None]:
        if job.strategy is None:
            return [{}], True, None
        matrix = job.strategy.matrix
        if isinstance(matrix, str):
            matrix = evaluate_value(matrix, ctx)
        elif isinstance(matrix, dict):
            matrix = {k: evaluate_value(v, ctx) for k, v in matrix.items()}
            for key in ("include", "exclude"):
                if isinstance(matrix.get(key), list):
                    matrix[key] = [
                        {k: evaluate_value(v, ctx) for k, v in e.items()}
                        if isinstance(e, dict)
                        else e
                        for e in matrix[key]
                    ]
        fail_fast = truthy(evaluate_value(job.strategy.fail_fast, ctx))
        max_parallel = evaluate_value(job.strategy.max_parallel, ctx)
        return (
            expand_matrix(matrix),
            fail_fast,
            int(to_number(max_parallel)) if max_parallel else None,
        )

    def cancelled_cell(self, job: Job, combo: dict[str, Any]) -> CellReport:
        label = matrix_label(combo)
        cell = CellReport(
            name=f"{job.id} ({label})" if label else job.id,
            matrix=combo,
            status="cancelled",
            message="cancelled by fail-fast after another matrix cell failed",
        )
        for step in job.steps:
            cell.steps.append(
                StepReport(
                    name=to_str(step.name) or step.default_name(), id=step.id, status="cancelled"
                )
            )
        self.emit("cell_finished", job.id, label, status="cancelled", line=cell.message)
        return cell

    # -- one cell ---------------------------------------------------------------------------

    def run_cell(
        self, job: Job, combo: dict[str, Any], strategy: dict[str, Any], needs: dict[str, Any]
    ) -> CellReport:
        start = time.monotonic()
        label = matrix_label(combo)
        report = CellReport(name=job.id, matrix=combo, status="success")
        self.emit("job_started", job.id, label)
        workdir = Path(self.factory(None))
        workspace = workdir / "workspace"
        runner_dir = workdir / "_runner"
        for directory in (
            workspace,
            runner_dir / "temp",
            runner_dir / "home",
            runner_dir / "files",
        ):
            directory.mkdir(parents=True, exist_ok=True)
        runner_ctx = {
            "os": "Linux",
            "arch": "X64",
            "name": "triops-local",
            "temp": str(runner_dir / "temp"),
            "tool_cache": str(runner_dir / "tool_cache"),
            "environment": "self-hosted",
        }
        contexts = {
            "github": {**self.github, "job": job.id, "workspace": str(workspace)},
            "needs": needs,
            "vars": {},
            "inputs": {},
            "secrets": {},
            "strategy": strategy,
            "matrix": combo,
            "runner": runner_ctx,
            "job": {"status": "success"},
            "env": dict(self.workflow_env),
            "steps": {},
        }
        contexts["inputs"] = self.inputs
        cell = _Cell(
            job=job,
            report=report,
            label=label,
            workdir=workdir,
            workspace=workspace,
            runner_dir=runner_dir,
            contexts=contexts,
            env=dict(self.workflow_env),
            defaults_run={},
            deadline=0.0,
            timeout_minutes=DEFAULT_TIMEOUT_MINUTES,
        )
        try:
            cell.box = Confined(workdir)
            cell.ws = Confined(workspace)
            return self.run_cell_in(cell, start)
        finally:
            for folder in (cell.ws, cell.box):
                if folder is not None:
                    folder.close()
            if self.owns_workdirs:
                shutil.rmtree(workdir, ignore_errors=True)
            elif self.release_workdir is not None:
                self.release_workdir(workdir)

    def run_cell_in(self, cell: _Cell, start: float) -> CellReport:
        job, report, contexts, label = cell.job, cell.report, cell.contexts, cell.label
        ctx = ExpressionContext(contexts, workspace=cell.ws)
        try:
            name = interpolate(to_str(job.name), ctx) if job.name is not None else job.id
            if label and not (isinstance(job.name, str) and "matrix" in job.name):
                name = f"{name} ({label})"
            report.name = name
            report.runs_on = runs_on_label(evaluate_deep(job.runs_on, ctx))
            job_env = {str(k): to_str(evaluate_value(v, ctx)) for k, v in job.env.items()}
            cell.env.update(job_env)
            contexts["env"] = dict(cell.env)
            minutes = evaluate_value(job.timeout_minutes, ctx)
            cell.timeout_minutes = to_number(minutes) if minutes is not None else 360
            report.continue_on_error = truthy(evaluate_value(job.continue_on_error, ctx))
            defaults = {**self.workflow.defaults_run}
            for key, value in job.defaults_run.items():
                defaults[key] = evaluate_value(value, ctx)
            cell.defaults_run = defaults
        except ExpressionError as exc:
            return self.end_cell(cell, start, f"line {job.line}: {exc}")
        cell.deadline = min(start + cell.timeout_minutes * 60, self.run_deadline)
        for step in job.steps:
            report.steps.append(self.run_step(cell, step))
        self.job_outputs(cell)
        return self.end_cell(cell, start, "")

    def end_cell(self, cell: _Cell, start: float, message: str) -> CellReport:
        report = cell.report
        if message:
            cell.status = "failure"
        report.status = cell.status
        if cell.timed_out:
            message = message or self.timeout_message(cell)
        report.message = message
        report.seconds = round(time.monotonic() - start, 3)
        if cell.label:
            self.emit(
                "cell_finished", cell.job.id, cell.label, status=report.status, line=message or None
            )
        return report

    def timeout_message(self, cell: _Cell) -> str:
        if cell.deadline >= self.run_deadline and self.time_limit is not None:
            return (
                f"the run exceeded its time limit ({to_str(self.time_limit)} s for the whole run)"
            )
        return f"the job exceeded timeout-minutes ({to_str(cell.timeout_minutes)})"

    def job_outputs(self, cell: _Cell) -> None:
        contexts = {
            **cell.contexts,
            "env": dict(cell.env),
            "steps": cell.steps,
            "job": {"status": cell.status},
        }
        ctx = ExpressionContext(contexts, workspace=cell.ws)
        for key, value in cell.job.outputs.items():
            try:
                cell.report.outputs[str(key)] = to_str(evaluate_value(value, ctx))
            except ExpressionError as exc:
                cell.status = "failure"
                cell.report.message = f"outputs.{key}: {exc}"

    def step_status(self, cell: _Cell) -> Callable[[str], bool]:
        def status(name: str) -> bool:
            if name == "success":
                return cell.status == "success" and not cell.timed_out
            if name == "failure":
                return cell.status == "failure"
            if name == "cancelled":
                return cell.timed_out
            return True

        return status

    def run_step(self, cell: _Cell, step: Step) -> StepReport:
        job_id = cell.job.id
        contexts = {
            **cell.contexts,
            "env": {**cell.env, **cell.scope_env},
            "steps": cell.steps,
            "job": {"status": cell.status},
        }
        contexts["github"] = {**contexts["github"], "action": step.id or f"__run_{step.index}"}
        ctx = ExpressionContext(contexts, self.step_status(cell), cell.ws)
        try:
            name = interpolate(to_str(step.name), ctx) if step.name else step.default_name()
        except ExpressionError:
            name = to_str(step.name)
        report = StepReport(name=name, id=step.id, status="skipped")
        name = f"{cell.name_prefix}{name}"  # as events show it: inside its composite action
        if cell.timed_out or time.monotonic() >= cell.deadline:
            cell.timed_out = True
            cell.status = "failure"
            report.status = "cancelled"
            report.message = f"cancelled: {self.timeout_message(cell)}"
            self.record(cell, step, report, "cancelled", "cancelled")
            return report
        try:
            runs = evaluate_condition(step.if_, ctx)
        except ExpressionError as exc:
            return self.fail_step(cell, step, report, f"{step.where}: if: {exc}")
        if not runs:
            self.record(cell, step, report, "skipped", "skipped")
            self.emit("step_finished", job_id, cell.label, step=name, status="skipped")
            return report
        self.emit("step_started", job_id, cell.label, step=name)
        log = _CappedOutput(head=LOG_LIMIT // 4, tail=LOG_LIMIT // 2)
        logged = False

        def on_output(line: str) -> None:
            nonlocal logged
            logged = True
            log.add(line)
            self.emit("output", job_id, cell.label, step=name, line=line)

        start = time.monotonic()
        try:
            step_env = {str(k): to_str(evaluate_value(v, ctx)) for k, v in step.env.items()}
            contexts["env"] = {**cell.env, **cell.scope_env, **step_env}
            minutes = evaluate_value(step.timeout_minutes, ctx)
            continue_on_error = truthy(evaluate_value(step.continue_on_error, ctx))
            inputs = {str(k): to_str(evaluate_value(v, ctx)) for k, v in step.with_.items()}
            workdir_spec = step.working_directory
            if workdir_spec is None:
                workdir_spec = cell.defaults_run.get("working-directory")
            working_directory = to_str(evaluate_value(workdir_spec, ctx)) if workdir_spec else ""
            script = interpolate(step.run, ctx) if step.run is not None else None
        except ExpressionError as exc:
            return self.fail_step(cell, step, report, f"{step.where}: {exc}")
        remaining = cell.deadline - time.monotonic()
        step_limit = to_number(minutes) * 60 if minutes is not None else None
        timeout = remaining if step_limit is None else min(step_limit, remaining)
        files = {
            kind: f"_runner/files/{cell.key_prefix}{step.index}-{kind.lower()}"
            for kind in ("ENV", "OUTPUT", "PATH", "STEP_SUMMARY")
        }
        try:
            for relative in files.values():
                cell.box.write_file(relative, b"")  # type: ignore[union-attr]
        except (OSError, UnsafePath) as exc:
            return self.fail_step(cell, step, report, f"cannot prepare the step's files: {exc}")
        env = self.process_env(
            cell, step, step_env, {k: cell.workdir / v for k, v in files.items()}
        )
        if script is not None:
            outcome = self.run_script(
                cell, step, script, working_directory, env, timeout, on_output
            )
            ok = outcome.status == "ok" and outcome.exit_code == 0
            report.exit_code = outcome.exit_code
            if outcome.status == "timeout":
                report.timed_out = True
                if step_limit is not None and step_limit <= remaining:
                    report.message = (
                        f"the step timed out after {to_str(to_number(minutes))} minutes "
                        "(timeout-minutes)"
                    )
                else:
                    cell.timed_out = True
                    report.message = self.timeout_message(cell)
            elif not ok:
                report.message = (
                    f"Process completed with exit code {outcome.exit_code}."
                    if outcome.status == "failed"
                    else f"{outcome.status}: {outcome.output.strip()[-500:]}"
                )
            hint = self.network_hint if not ok and network_error(outcome.output) else None
            if hint:
                if not logged:  # keep the output the runner did not stream, then the hint
                    for line in outcome.output.splitlines():
                        log.add(line)
                on_output(hint)
                report.message = f"{report.message} {hint}".strip()
            log_text = log.text() if logged else outcome.output
            outputs: dict[str, str] = {}
        else:
            cell.step_env, cell.step_name = step_env, report.name
            result = self.run_action(cell, step, inputs, env, timeout, on_output)
            ok, report.message, outputs = result.ok, result.message, dict(result.outputs)
            report.steps = result.steps
            if report.message and not ok:
                on_output(f"Error: {report.message}")
            log_text = log.text()
        try:
            outputs.update(parse_env_file(self.command_file(cell, files["OUTPUT"]), "output"))
            self.apply_env_file(cell, self.command_file(cell, files["ENV"]), on_output)
            for line in self.command_file(cell, files["PATH"]).splitlines():
                if line.strip():
                    cell.path_prepend.insert(0, line.strip())
            report.summary = self.command_file(cell, files["STEP_SUMMARY"])
        except ValueError as exc:
            ok = False
            report.message = visible(exc)
            on_output(f"Error: {visible(exc)}")
        if logged:
            log_text = log.text()  # with what the file commands added (warnings, errors)
        if report.summary:
            cell.report.summary += report.summary
        report.outputs = outputs
        report.log = _cap(log_text)
        report.seconds = round(time.monotonic() - start, 3)
        outcome_name = "success" if ok else "failure"
        conclusion = "success" if ok or continue_on_error else "failure"
        if not ok and continue_on_error:
            report.message = f"{report.message} (continue-on-error)".strip()
        if conclusion == "failure":
            cell.status = "failure"
        self.record(cell, step, report, outcome_name, conclusion)
        detail = f"{report.seconds:.1f}s" + (f", {report.message}" if report.message else "")
        self.emit("step_finished", job_id, cell.label, step=name, status=conclusion, line=detail)
        return report

    def fail_step(self, cell: _Cell, step: Step, report: StepReport, message: str) -> StepReport:
        report.message = message
        cell.status = "failure"
        self.record(cell, step, report, "failure", "failure")
        self.emit(
            "step_finished",
            cell.job.id,
            cell.label,
            step=f"{cell.name_prefix}{report.name}",
            status="failure",
            line=message,
        )
        return report

    def record(self, cell: _Cell, step: Step, report: StepReport, outcome: str, conclusion: str):
        report.outcome = outcome
        report.conclusion = conclusion
        report.status = conclusion
        if step.id is not None:
            cell.steps[step.id] = {
                "outputs": dict(report.outputs),
                "outcome": outcome,
                "conclusion": conclusion,
            }

    def command_file(self, cell: _Cell, relative: str) -> str:
        """A file command's file as the step left it: a regular file of at most 1 MiB, or
        nothing. A link, FIFO or device there fails the step instead of being followed or
        blocking the runner."""
        name = relative.rsplit("-", 1)[-1].upper()
        try:
            return cell.box.read_text(relative, COMMAND_FILE_LIMIT)  # type: ignore[union-attr]
        except UnsafePath as exc:
            raise ValueError(f"GITHUB_{name} was replaced by something else: {exc}") from exc
        except TooLarge as exc:
            raise ValueError(
                f"GITHUB_{name} holds more than {COMMAND_FILE_LIMIT:,} bytes; "
                "Triops reads at most 1 MiB of each file command"
            ) from exc

    def apply_env_file(self, cell: _Cell, text: str, on_output: Callable[[str], None]) -> None:
        for key, value in parse_env_file(text, "env").items():
            if key.upper().startswith(("GITHUB_", "RUNNER_")):
                on_output(
                    f"Warning: {visible(key)} cannot be overwritten through GITHUB_ENV; ignored"
                )
                continue
            if REFUSED_ENV.match(key):
                on_output(
                    f"Warning: {visible(key)} cannot be set through GITHUB_ENV: it would make the "
                    "dynamic loader or an interpreter run code in every later step; ignored"
                )
                continue
            cell.env[key] = value

    def process_env(
        self, cell: _Cell, step: Step, step_env: dict[str, str], files: dict[str, Path]
    ) -> dict[str, str]:
        env = dict(self.base_env)
        env.setdefault("HOME", str(cell.runner_dir / "home"))
        env.setdefault("LANG", "C.UTF-8")
        env["CI"] = "true"
        env.update(cell.env)
        env.update(cell.scope_env)
        env.update(step_env)
        github = cell.contexts["github"]
        env.update(
            {
                "GITHUB_ACTIONS": "true",
                "GITHUB_WORKSPACE": str(cell.workspace),
                "GITHUB_RUN_ID": self.run_id,
                "GITHUB_RUN_NUMBER": "1",
                "GITHUB_RUN_ATTEMPT": "1",
                "GITHUB_JOB": cell.job.id,
                "GITHUB_ACTION": step.id or f"__run_{step.index}",
                "GITHUB_EVENT_NAME": to_str(github["event_name"]),
                "GITHUB_REF": to_str(github["ref"]),
                "GITHUB_REF_NAME": to_str(github["ref_name"]),
                "GITHUB_REF_TYPE": to_str(github["ref_type"]),
                "GITHUB_SHA": to_str(github["sha"]),
                "GITHUB_REPOSITORY": to_str(github["repository"]),
                "GITHUB_REPOSITORY_OWNER": to_str(github["repository_owner"]),
                "GITHUB_ACTOR": to_str(github["actor"]),
                "GITHUB_WORKFLOW": self.workflow.name,
                "GITHUB_SERVER_URL": to_str(github["server_url"]),
                "GITHUB_ENV": str(files["ENV"]),
                "GITHUB_OUTPUT": str(files["OUTPUT"]),
                "GITHUB_PATH": str(files["PATH"]),
                "GITHUB_STEP_SUMMARY": str(files["STEP_SUMMARY"]),
                "RUNNER_OS": "Linux",
                "RUNNER_ARCH": "X64",
                "RUNNER_NAME": "triops-local",
                "RUNNER_TEMP": str(cell.runner_dir / "temp"),
                "RUNNER_TOOL_CACHE": str(cell.runner_dir / "tool_cache"),
            }
        )
        if github.get("action_path"):
            env["GITHUB_ACTION_PATH"] = to_str(github["action_path"])
        base_path = env.get("PATH") or self.base_env["PATH"]
        env["PATH"] = os.pathsep.join([*cell.path_prepend, base_path])
        return env

    def inside_workdir(self, cell: _Cell, path: str) -> str:
        """`path` as the runner reads it (relative to the workspace, or absolute) made relative
        to the job's work folder; UnsafePath when it leaves the work folder."""
        path = path.strip()
        if not path.startswith("/"):
            path = f"{cell.workspace}/{path}"
        return _inside(str(cell.workdir), path)

    def inside_workspace(self, cell: _Cell, path: str) -> str:
        """`path` relative to the workspace; UnsafePath when it leaves the workspace."""
        relative = self.inside_workdir(cell, path)
        top = cell.workspace.name
        if relative != top and not relative.startswith(top + "/"):
            raise UnsafePath(f"'{path}' is outside the workspace")
        return relative[len(top) + 1 :]

    def run_script(
        self,
        cell: _Cell,
        step: Step,
        script: str,
        working_directory: str,
        env: dict[str, str],
        timeout: float,
        on_output: Callable[[str], None],
    ) -> StepOutcome:
        shell = step.shell or cell.defaults_run.get("shell") or None
        template, suffix = SHELLS.get(shell, (shell, ".sh")) if shell else UNSET_SHELL
        script_name = f"_runner/step-{cell.key_prefix}{step.index}{suffix}"
        script_path = cell.workdir / script_name
        cmd = [part.replace("{0}", str(script_path)) for part in shlex.split(template)]
        try:
            relative = self.inside_workdir(cell, working_directory or ".")
        except UnsafePath:
            message = f"working-directory '{working_directory}' is outside the workspace"
            on_output(f"Error: {visible(message)}")
            return StepOutcome(None, "error", message, 0.0)
        if not cell.box.is_dir(relative):  # type: ignore[union-attr]
            message = (
                f"working-directory '{working_directory}' does not exist in the workspace "
                "(it is relative to the workspace root)"
            )
            on_output(f"Error: {visible(message)}")
            return StepOutcome(None, "error", message, 0.0)
        try:
            cell.box.write_file(script_name, script.encode("utf-8"))  # type: ignore[union-attr]
        except (OSError, UnsafePath) as exc:
            message = f"cannot write the step's script: {exc}"
            on_output(f"Error: {visible(message)}")
            return StepOutcome(None, "error", message, 0.0)
        directory = cell.workdir / relative
        if self.prepare_workdir is not None:
            self.prepare_workdir(cell.workdir)
        return self.runner.run(
            cmd,
            workdir=cell.workdir,
            cwd=str(directory.relative_to(cell.workdir)),
            env=env,
            timeout=max(timeout, 0.0),
            on_output=on_output,
            allow_network=self.allow_network,
        )

    # -- built-in actions -------------------------------------------------------------------

    def run_action(
        self,
        cell: _Cell,
        step: Step,
        inputs: dict[str, str],
        env: dict[str, str],
        timeout: float,
        log: Callable[[str], None],
    ) -> _ActionResult:
        uses = step.uses or ""
        action = uses.split("@", 1)[0].lower()
        handlers = {
            "actions/checkout": self.checkout,
            "actions/setup-python": self.setup_python,
            "actions/upload-artifact": self.upload_artifact,
            "actions/download-artifact": self.download_artifact,
        }
        if uses.startswith("./") or uses in (".", "./"):
            handler = self.composite
        else:
            handler = handlers.get(action)
        if handler is None or uses.startswith("docker://"):
            return _ActionResult(False, f"not available offline: {uses}")
        try:
            return handler(cell, step, inputs, env, timeout, log)
        except (OSError, ValueError) as exc:
            # ValueError: UnsafePath (a link a step left), TooLarge, TooSlow.
            return _ActionResult(False, f"{uses}: {visible(exc)}")

    def checkout(self, cell, step, inputs, env, timeout, log) -> _ActionResult:
        try:
            target = self.inside_workspace(cell, inputs.get("path") or ".")
        except UnsafePath:
            return _ActionResult(False, "checkout path is outside the workspace")
        if not self.seed.is_dir():
            return _ActionResult(False, f"the workspace to check out does not exist: {self.seed}")
        relative = f"{cell.workspace.name}/{target}".rstrip("/")
        box = cell.box
        deadline = time.monotonic() + max(timeout, 0.0)
        copied: list[str] = []
        if box.is_dir(relative):
            box.remove_children(relative)
        box.copy_in(
            self.seed,
            relative,
            budget=self.copy_budget - self.copied,
            deadline=deadline,
            on_file=copied.append,
        )
        where = target or "."
        log(f"Copied {len(copied)} files from the lab workspace into {visible(where)}")
        return _ActionResult(True)

    def setup_python(self, cell, step, inputs, env, timeout, log) -> _ActionResult:
        specs = [s.strip() for s in inputs.get("python-version", "").splitlines() if s.strip()]
        version_file = inputs.get("python-version-file", "").strip()
        source = ""
        if specs and version_file:
            log(
                "Warning: Both python-version and python-version-file inputs are specified, "
                "only python-version will be used."
            )
        elif version_file:
            try:
                specs, notes = self.versions_from_file(cell, version_file)
            except FileNotFoundError:
                return _ActionResult(
                    False, f"The specified python version file at: {version_file} doesn't exist."
                )
            except UnsafePath as exc:
                return _ActionResult(
                    False, f"python-version-file {version_file} is not a regular file: {exc}"
                )
            except (OSError, ValueError) as exc:
                return _ActionResult(False, f"python-version-file {version_file}: {exc}")
            for note in notes:
                log(visible(note))
            source = f" (from {version_file})"
        elif not specs:
            log(
                "Warning: Neither 'python-version' nor 'python-version-file' inputs were "
                "supplied. Attempting to find '.python-version' file."
            )
            try:
                specs, notes = self.versions_from_file(cell, ".python-version")
                source = " (from .python-version)"
                for note in notes:
                    log(visible(note))
            except FileNotFoundError:
                log("Warning: .python-version doesn't exist.")
            except (OSError, ValueError) as exc:
                return _ActionResult(False, f".python-version: {exc}")
        if not specs:
            log(
                "Warning: The `python-version` input is not set.  The version of Python "
                "currently in `PATH` will be used."
            )
        version = self.python_version
        if version is None:
            # One probe per run: the interpreter cannot change between jobs.
            if self.prepare_workdir is not None:
                self.prepare_workdir(cell.workdir)
            probe = self.runner.run(
                [self.python, "-c", "import sys; print('.'.join(map(str, sys.version_info[:3])))"],
                workdir=cell.workdir,
                cwd=str(cell.workspace.relative_to(cell.workdir)),
                env=env,
                timeout=min(max(timeout, 0.0), 60.0),
                on_output=None,
                allow_network=False,
            )
            lines = probe.output.strip().splitlines()
            version = lines[-1].strip() if lines else ""
            if probe.status != "ok" or not re.fullmatch(r"\d+\.\d+\.\d+", version):
                return _ActionResult(False, f"could not run {self.python}: {probe.output.strip()}")
            self.python_version = version
        for wanted in specs or [version]:
            try:
                ok = python_version_matches(wanted, version)
            except ValueError as exc:
                return _ActionResult(
                    False, f"{exc}{source}; offline, only Python {version} is available"
                )
            if not ok:
                hint = ""
                raw = step.with_.get("python-version")
                if isinstance(raw, float):
                    hint = (
                        f" (YAML reads the unquoted number as {to_str(raw)}; "
                        "quote versions such as '3.10')"
                    )
                return _ActionResult(
                    False,
                    f"python-version '{wanted}'{source} was requested, but the available Python "
                    f"is {version} ({self.python}); offline runs can only use the installed "
                    f"interpreter{hint}",
                )
        bin_dir = str(Path(self.python).parent)
        cell.path_prepend.insert(0, bin_dir)
        cell.env["pythonLocation"] = str(Path(self.python).parent.parent)
        log(f"Using Python {version} from {self.python}")
        return _ActionResult(True, outputs={"python-version": version, "python-path": self.python})

    def versions_from_file(self, cell: _Cell, name: str) -> tuple[list[str], list[str]]:
        """The versions in a version file of the workspace (read as root: through the work
        folder's descriptor, no link followed, a regular file of at most 1 MiB)."""
        relative = self.inside_workdir(cell, name)
        text = cell.box.read_file(relative, VERSION_FILE_LIMIT).decode("utf-8", "replace")  # type: ignore[union-attr]
        return python_versions_from_file(name, text)

    def upload_artifact(self, cell, step, inputs, env, timeout, log) -> _ActionResult:
        name = inputs.get("name") or "artifact"
        if re.search(r'[\\/:*?"<>|\r\n]', name) or name in (".", ".."):
            return _ActionResult(False, f"artifact name '{name}' contains a character not allowed")
        patterns = [p.strip() for p in inputs.get("path", "").splitlines() if p.strip()]
        if not patterns:
            return _ActionResult(False, "Input required and not supplied: path")
        missing = (inputs.get("if-no-files-found") or "warn").strip().lower()
        if missing not in ("warn", "error", "ignore"):
            return _ActionResult(
                False, f"if-no-files-found must be warn, error or ignore: {missing}"
            )
        hidden = inputs.get("include-hidden-files", "").strip().lower() == "true"
        deadline = time.monotonic() + max(timeout, 0.0)
        try:
            files, root = self.artifact_files(cell, patterns, hidden, deadline)
        except ValueError as exc:
            return _ActionResult(False, str(exc))
        if not files:
            message = (
                f"No files were found with the provided path: {', '.join(patterns)}. "
                "No artifacts will be uploaded."
            )
            if missing == "error":
                return _ActionResult(False, message)
            log(f"Warning: {message}" if missing == "warn" else message)
            return _ActionResult(True)
        dest = self.artifacts_folder() / name
        if name in self.artifacts or dest.exists():
            if inputs.get("overwrite", "").strip().lower() != "true":
                return _ActionResult(
                    False,
                    f"an artifact named '{name}' was already uploaded in this run; give each "
                    "job or matrix cell its own name, or set overwrite: true",
                )
            shutil.rmtree(dest, ignore_errors=True)
        relative = []
        for path, size in files:
            check_deadline(deadline, "uploading the artifact")
            if self.copied + size > self.copy_budget:
                shutil.rmtree(dest, ignore_errors=True)
                return _ActionResult(
                    False,
                    f"the artifacts of this run would pass {self.copy_budget // 2**20} MB "
                    f"(counting each file at its apparent size, holes included)",
                )
            data = cell.box.read_file(path, self.copy_budget - self.copied)
            rel = path[len(root) + 1 :] if root else path
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            self.copied += len(data)
            relative.append(rel)
        self.artifacts[name] = sorted(relative)
        artifact_id = next((k for k, v in self.artifact_ids.items() if v == name), None)
        if artifact_id is None:
            artifact_id = len(self.artifact_ids) + 1
            self.artifact_ids[artifact_id] = name
        log(f"Uploaded artifact '{name}' with {len(relative)} file(s)")
        return _ActionResult(
            True, outputs={"artifact-id": str(artifact_id), "artifact-url": dest.as_uri()}
        )

    def artifact_files(
        self, cell: _Cell, patterns: list[str], hidden: bool, deadline: float
    ) -> tuple[list[tuple[str, int]], str]:
        """Matched regular files (paths relative to the work folder, apparent sizes) and their
        root: the common ancestor of the search paths. Links are never uploaded, nor anything
        found only through a link (a step could point one at a file outside the sandbox)."""
        included, excluded, roots = [], [], []
        top = cell.workspace.name
        for pattern in patterns:
            negate = pattern.startswith("!")
            spec = pattern[1:] if negate else pattern
            try:
                relative = self.inside_workdir(cell, spec)
            except UnsafePath:
                raise ValueError(
                    f"artifact path '{spec}' is outside the job's work folder"
                ) from None
            regex = glob_regex(relative)
            if negate:
                excluded.append(regex)
                continue
            included.append(regex)
            fixed = []
            for part in relative.split("/") if relative else []:
                if any(c in part for c in "*?["):
                    break
                fixed.append(part)
            search = "/".join(fixed)
            if len(fixed) == len(relative.split("/")) and not cell.box.is_dir(search):
                search = "/".join(fixed[:-1])  # a file: its folder is the root
            roots.append(search)
        base = os.path.commonpath(roots) if roots and all(roots) else ""
        walk_from = base if cell.box.is_dir(base) else ""
        if not walk_from and base:
            return [], base
        files = []
        try:
            for entry in cell.box.walk(walk_from, deadline=deadline):
                if entry.kind != "file":
                    continue
                if not any(r.match(entry.path) for r in included):
                    continue
                if any(r.match(entry.path) for r in excluded):
                    continue
                below = (
                    entry.path[len(top) + 1 :] if entry.path.startswith(top + "/") else entry.path
                )
                if not hidden and any(part.startswith(".") for part in below.split("/")):
                    continue
                files.append((entry.path, entry.size))
        except (TooLarge, TooSlow, UnsafePath) as exc:
            raise ValueError(f"cannot gather the artifact's files: {exc}") from exc
        return sorted(files), base

    def download_artifact(self, cell, step, inputs, env, timeout, log) -> _ActionResult:
        """actions/download-artifact: one artifact by `name`, some by `artifact-ids`, or every
        artifact of the run matching `pattern` (all without one), each into a folder of its
        name under `path` unless `merge-multiple` (or, from v5, a single match) puts them
        straight into `path`."""
        where = (inputs.get("path") or ".").strip()
        if where.startswith("~"):
            where = f"{cell.runner_dir / 'home'}{where[1:]}"
        try:
            target = self.inside_workdir(cell, where)
        except UnsafePath:
            return _ActionResult(False, "download path is outside the job's work folder")
        name = inputs.get("name", "").strip()
        ids = inputs.get("artifact-ids", "").strip()
        pattern = inputs.get("pattern", "").strip()
        try:
            merge = boolean_input(inputs, "merge-multiple")
        except ValueError as exc:
            return _ActionResult(False, str(exc))
        if name and ids:
            return _ActionResult(
                False,
                "Inputs 'name' and 'artifact-ids' cannot be used together. Please specify "
                "only one.",
            )
        if name:
            if name not in self.artifacts:
                return _ActionResult(
                    False, f"Unable to download artifact(s): Artifact '{name}' not found"
                )
            chosen = [name]
        elif ids:
            wanted = [part.strip() for part in ids.split(",") if part.strip()]
            if not all(part.isdigit() for part in wanted):
                return _ActionResult(False, f"Invalid artifact ID in '{ids}': IDs are numbers")
            chosen = [self.artifact_ids[int(i)] for i in wanted if int(i) in self.artifact_ids]
            if not chosen:
                return _ActionResult(
                    False,
                    "Unable to download artifact(s): None of the provided artifact IDs were found",
                )
        else:
            chosen = sorted(self.artifacts)
            if pattern:
                log(f"Filtering artifacts by pattern '{visible(pattern)}'")
                chosen = [item for item in chosen if artifact_pattern_matches(pattern, item)]
        # v4 gives every artifact found by pattern (or all) a folder of its own unless
        # merge-multiple; from v5 on a single match goes straight into path, as a name does.
        single = bool(name) or merge or (action_major(step.uses) >= 5 and len(chosen) == 1)
        deadline = time.monotonic() + max(timeout, 0.0)
        for item in chosen:
            source = self.artifacts_folder() / item
            if not source.is_dir():
                return _ActionResult(
                    False, f"Unable to download artifact(s): Artifact '{item}' not found"
                )
            dest = target if single else f"{target}/{item}".lstrip("/")
            self.copied += cell.box.copy_in(
                source, dest, budget=self.copy_budget - self.copied, deadline=deadline
            )
            shown = os.path.relpath(cell.workdir / dest, cell.workspace)
            log(f"Downloaded artifact '{visible(item)}' into {visible(shown)}")
        log(f"Total of {len(chosen)} artifact(s) downloaded")
        return _ActionResult(True, outputs={"download-path": str(cell.workdir / target)})

    # -- local composite actions ------------------------------------------------------------

    def composite(self, cell, step, inputs, env, timeout, log) -> _ActionResult:
        """A local composite action (uses: ./path): its action.yml read from the workspace as
        root (through the work folder's descriptor, no link followed, at most 1 MiB, parsed
        with the bounds of learner YAML), then its steps run like the job's own, with the
        inputs context, github.action_path and the outputs its action.yml maps."""
        uses = (step.uses or "").strip()
        if cell.depth > MAX_COMPOSITE_DEPTH:
            return _ActionResult(
                False, f"Composite action depth exceeded max depth {MAX_COMPOSITE_DEPTH}"
            )
        try:
            relative = self.inside_workspace(cell, uses)
        except UnsafePath:
            return _ActionResult(False, f"uses: {uses} is outside the workspace")
        folder = f"{cell.workspace.name}/{relative}".rstrip("/")
        shown = f"./{relative}" if relative else "."
        action = self.load_action(cell, folder, shown)
        if isinstance(action, _ActionResult):
            return action
        caller = ExpressionContext(
            {
                **cell.contexts,
                "env": {**cell.env, **cell.scope_env, **cell.step_env},
                "steps": cell.steps,
                "job": {"status": cell.status},
            },
            self.step_status(cell),
            cell.ws,
        )
        try:
            values = self.action_inputs(action, inputs, caller, log)
        except ExpressionError as exc:
            return _ActionResult(False, f"{action.path}: inputs: {exc}")
        github = {**cell.contexts["github"], "action_path": str(cell.workdir / folder)}
        sub = replace(
            cell,
            contexts={**cell.contexts, "github": github, "inputs": values},
            steps={},
            status="success",
            defaults_run={},
            depth=cell.depth + 1,
            key_prefix=f"{cell.key_prefix}{step.index}.",
            name_prefix=f"{cell.name_prefix}{cell.step_name or step.default_name()} › ",
            scope_env={**cell.scope_env, **cell.step_env},
            deadline=min(cell.deadline, time.monotonic() + max(timeout, 0.0)),
        )
        reports = [self.run_step(sub, inner) for inner in action.steps]
        if sub.timed_out and time.monotonic() >= cell.deadline:
            cell.timed_out = True
        for report in reports:
            detail = f" ({report.message})" if report.message else ""
            log(f"{_MARKS.get(report.status, '?')} {visible(report.name)}: {report.status}{detail}")
        outputs_ctx = ExpressionContext(
            {
                **sub.contexts,
                "env": {**cell.env, **sub.scope_env},
                "steps": sub.steps,
                "job": {"status": sub.status},
            },
            workspace=cell.ws,
        )
        outputs = {}
        try:
            for output_id, value in action.outputs.items():
                outputs[output_id] = to_str(evaluate_value(value, outputs_ctx))
        except ExpressionError as exc:
            return _ActionResult(False, f"{action.path}: outputs: {exc}", outputs, reports)
        if sub.status == "failure":
            failed = next((r for r in reports if r.status in ("failure", "cancelled")), None)
            why = f"{failed.name}: {failed.message}" if failed else "a step failed"
            return _ActionResult(False, f"{shown}: {why}", outputs, reports)
        return _ActionResult(True, "", outputs, reports)

    def load_action(self, cell: _Cell, folder: str, shown: str) -> Action | _ActionResult:
        """The checked action.yml (or action.yaml) of `folder`, or the failure to report."""
        for candidate in ("action.yml", "action.yaml"):
            try:
                raw = cell.box.read_file(f"{folder}/{candidate}", LEARNER_YAML.max_bytes)  # type: ignore[union-attr]
            except FileNotFoundError:
                continue
            except NotADirectoryError:
                break
            except TooLarge:
                return _ActionResult(
                    False,
                    f"{shown}/{candidate} is larger than {LEARNER_YAML.max_bytes:,} bytes",
                )
            path = f"{shown}/{candidate}"
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                line = raw[: exc.start].count(b"\n") + 1
                return _ActionResult(False, f"{path}:{line}: error: the action is not UTF-8 text")
            try:
                return parse_action(text, path)
            except WorkflowError as exc:
                return _ActionResult(False, str(exc))
        return _ActionResult(
            False,
            f"Can't find 'action.yml' or 'action.yaml' under '{shown}'. Did you forget to run "
            "actions/checkout before running your local action?",
        )

    def action_inputs(
        self,
        action: Action,
        given: dict[str, str],
        ctx: ExpressionContext,
        log: Callable[[str], None],
    ) -> dict[str, str]:
        """The inputs context of a composite action: what `with:` gave, else each input's
        default; as on GitHub, an unexpected input or a missing required one only warns."""
        lowered = {key.lower(): value for key, value in given.items()}
        declared = {key.lower() for key in action.inputs}
        unexpected = [key for key in given if key.lower() not in declared]
        if unexpected:
            valid = ", ".join(f"'{key}'" for key in action.inputs)
            names = ", ".join(f"'{visible(key)}'" for key in unexpected)
            log(f"Warning: Unexpected input(s) {names}, valid inputs are [{valid}]")
        values: dict[str, str] = {}
        for input_id, spec in action.inputs.items():
            if input_id.lower() in lowered:
                values[input_id] = lowered[input_id.lower()]
                if spec.deprecation:
                    log(
                        f"Warning: Input '{input_id}' has been deprecated with message: "
                        f"{visible(spec.deprecation)}"
                    )
            elif spec.default is not None:
                values[input_id] = to_str(evaluate_value(spec.default, ctx))
            else:
                values[input_id] = ""
                if spec.required:
                    log(
                        f"Warning: input '{input_id}' is required by {action.path} but was not "
                        f"supplied; GitHub does not stop the step for that either, and "
                        f"inputs.{input_id} is empty"
                    )
        return values


def boolean_input(inputs: dict[str, str], name: str, default: bool = False) -> bool:
    """An action's boolean input as @actions/core's getBooleanInput reads it: true, True,
    TRUE, false, False or FALSE; anything else is an error."""
    value = inputs.get(name, "").strip()
    if not value:
        return default
    if value in ("true", "True", "TRUE"):
        return True
    if value in ("false", "False", "FALSE"):
        return False
    raise ValueError(
        f'Input does not meet YAML 1.2 "Core Schema" specification: {name}. Support boolean '
        "input list: `true | True | TRUE | false | False | FALSE`"
    )


def action_major(uses: str | None) -> int:
    """The major version of an action's ref (actions/download-artifact@v4 -> 4); a commit or
    a branch counts as the newest (99)."""
    match = re.fullmatch(r"v?(\d+)(?:\.\d+)*", (uses or "").rsplit("@", 1)[-1])
    return int(match.group(1)) if match else 99


def artifact_pattern_matches(pattern: str, name: str) -> bool:
    """Whether an artifact name matches a download-artifact `pattern` (minimatch, as the
    action uses it): `*`, `?`, `[...]`, `{a,b}` alternatives, a leading `!` negates, and a
    wildcard does not match a leading dot."""
    negate = False
    while pattern.startswith("!"):
        negate, pattern = not negate, pattern[1:]
    hit = False
    for alternative in _braces(pattern):
        if name.startswith(".") and not alternative.startswith("."):
            continue
        body = alternative.replace("**", "*")
        if re.fullmatch(_component_regex(body), name):
            hit = True
            break
    return hit != negate


def _braces(pattern: str) -> list[str]:
    match = re.search(r"\{([^{}]*,[^{}]*)\}", pattern)
    if not match:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    out: list[str] = []
    for part in match.group(1).split(","):
        out.extend(_braces(head + part + tail))
    return out


def parse_action(text: str, path: str) -> Action:
    """Parse and check a composite action's action.yml; WorkflowError (`path:line`)."""
    try:
        doc = parse_yaml(text, limits=LEARNER_YAML)
    except YamlSyntaxError as exc:
        raise WorkflowError(path, exc.line, exc.message) from exc
    except yaml.YAMLError as exc:
        raise WorkflowError(path, 1, f"YAML error: {exc}") from exc
    return _Loader(path, doc).action()  # the path as written: ./.github/actions/x/action.yml


def run_workflow(
    workflow: Workflow,
    *,
    runner: StepRunner,
    workspace_seed: Path,
    on_event: Callable[[Event], None] | None = None,
    allow_network: bool = False,
    max_parallel: int = 1,
    env: dict[str, str] | None = None,
    python: str = sys.executable,
    workspace_factory: Callable[[Path | None], Path] | None = None,
    artifacts_dir: Path | None = None,
    github: dict[str, Any] | None = None,
    prepare_workdir: Callable[[Path], None] | None = None,
    release_workdir: Callable[[Path], None] | None = None,
    copy_budget: int = DEFAULT_COPY_BUDGET,
    time_limit: float | None = None,
    trigger: Trigger | None = None,
    network_hint: str | None = CI_NETWORK_HINT,
) -> RunReport:
    """Run the jobs in dependency order, one matrix cell at a time, and report what happened.

        `trigger` is the simulated event (default: a push to refs/heads/main with no list of
        changed files); when `on:` does not select it, nothing runs and the report's status is
        not-triggered, its message naming the filter. `network_hint` is the line added to a step
        that failed on a network error (none when the network is allowed).

    `workspace_seed` is what actions/checkout copies in. Each cell gets a fresh directory from
        `workspace_factory(None)` (default: a temporary directory, removed afterwards; a supplied
        factory owns its directories): `<dir>/workspace` is GITHUB_WORKSPACE and `<dir>/_runner`
        holds scripts, the GITHUB_* files, RUNNER_TEMP and HOME. `env` is the base process
        environment (lowest precedence, not part of the `env` context); `python` is the interpreter
        setup-python offers. Jobs run sequentially: `max_parallel` and strategy.max-parallel are
        accepted for compatibility. `github` overrides fields of the github context.
        `prepare_workdir(workdir)` is called before each command, after this module has written
        scripts and files into the workdir (a sandbox can hand them to its own user there);
        `release_workdir(workdir)` is called when a cell is done with a factory-made workdir.
        `copy_budget` caps the bytes the built-in actions copy in one run (checkout, artifacts),
        each file counted at its apparent size so that sparse files cannot slip past.
        `time_limit` bounds the whole run in seconds (a lab's wall_seconds): once it has passed,
        the remaining steps are cancelled, whatever timeout-minutes the workflow sets.

        The built-in actions run here, in the caller's process (as root under the sandbox), on
        folders a step may have filled with links, FIFOs and huge files: they reach every path
        through descriptors opened before the first step and never follow a link
        (triops.labs.safefs), read only regular files within caps, and stop at the step's deadline.
    """
    if max_parallel < 1:
        raise ValueError("max_parallel must be at least 1")
    run = _Run(
        workflow,
        runner,
        workspace_seed,
        on_event,
        allow_network,
        env,
        python,
        workspace_factory,
        artifacts_dir,
        github,
        prepare_workdir,
        release_workdir,
        copy_budget,
        time_limit,
        trigger,
        network_hint,
    )
    return run.execute()
