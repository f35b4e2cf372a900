"""YAML parsing that remembers where every value came from, so errors can name a line.

Learner-supplied YAML (a lab's workflow, an eval config) is parsed with `YamlLimits`: a size
cap, a nesting depth and a cap on the values it holds once aliases are expanded. Without them
a 543-byte alias bomb made the workflow loader spin for minutes, and a 100 KB file of nested
brackets crashed libyaml (and the server process with it) at about 50,000 levels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from triops.content.problems import Problem, error

M = TypeVar("M", bound=BaseModel)


class YamlSyntaxError(Exception):
    """YAML that does not parse; `line` is 1-based within the parsed text."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass
class YamlDoc:
    """Parsed YAML data with its node tree, for mapping a field path back to a line."""

    data: Any
    node: yaml.Node | None
    line_offset: int = 0

    def line_of(self, loc: tuple[Any, ...]) -> int:
        """1-based line of the deepest node reachable along `loc` (a pydantic error location)."""
        node = self.node
        line = (node.start_mark.line if node is not None else 0) + 1
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                nxt = None
                for key_node, value_node in node.value:
                    if key_node.value == part:
                        nxt = value_node
                        line = key_node.start_mark.line + 1
                        break
                if nxt is None:
                    break
                node = nxt
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if part >= len(node.value):
                    break
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                break
        return line + self.line_offset


@dataclass(frozen=True)
class YamlLimits:
    """Bounds for YAML that a learner wrote (or a run left behind)."""

    max_bytes: int = 1 << 20
    max_depth: int = 64  # nested mappings and sequences
    max_values: int = 200_000  # every value counted once per alias that reaches it


LEARNER_YAML = YamlLimits()
# Brackets nested deeper than this are refused before libyaml sees them: its composer recurses
# once per level and crashes the process somewhere past 10,000. Block nesting needs a line per
# level, so max_bytes bounds it well below that.
_FLOW_BRACKETS = re.compile(r"[\[\]{}]")
_FLOW_GUARD = 1000

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str, line_offset: int = 0, *, limits: YamlLimits | None = None) -> YamlDoc:
    """Parse one YAML document; raise YamlSyntaxError with the line of the fault (or of the
    first value past `limits`)."""
    if limits is not None:
        _check_size(text, limits, line_offset)
    try:
        # Parsed once, with libyaml when PyYAML has it (5-10x faster than the Python parser):
        # the node tree keeps line numbers for error messages, the data is built from it.
        # A file libyaml rejects is parsed again by the Python parser, whose messages say
        # what it found ("expected ',' or ']', but got ':'"), not only what it missed.
        node, data = _parse(text, _Loader, limits)
    except _LimitError as exc:
        raise _syntax_error(exc, line_offset, prefix="") from exc
    except yaml.YAMLError:
        try:
            node, data = _parse(text, yaml.SafeLoader, limits)
        except _LimitError as exc:
            raise _syntax_error(exc, line_offset, prefix="") from exc
        except (yaml.YAMLError, RecursionError) as exc:
            if isinstance(exc, RecursionError):
                raise YamlSyntaxError(1 + line_offset, "YAML nested too deeply to read") from exc
            raise _syntax_error(exc, line_offset) from exc
    return YamlDoc(data=data, node=node, line_offset=line_offset)


def _check_size(text: str, limits: YamlLimits, line_offset: int) -> None:
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limits.max_bytes:
        raise YamlSyntaxError(
            1 + line_offset,
            f"the file is {size:,} bytes; Triops reads YAML files of at most "
            f"{limits.max_bytes:,} bytes",
        )
    depth = 0
    for match in _FLOW_BRACKETS.finditer(text):
        depth += 1 if match.group() in "[{" else -1
        if depth > _FLOW_GUARD:
            line = text.count("\n", 0, match.start()) + 1 + line_offset
            raise YamlSyntaxError(line, f"brackets nested more than {_FLOW_GUARD} levels deep")
        depth = max(depth, 0)


def _check_shape(node: yaml.Node, limits: YamlLimits) -> None:
    """Depth and expanded size of a composed node graph, without recursion. An alias is the
    same node object reached again, so each node's size (values below it, aliases expanded)
    and height are worked out once and summed per use."""
    sizes: dict[int, tuple[int, int]] = {}  # id -> (values, height)
    stack: list[tuple[yaml.Node, int, bool]] = [(node, 1, False)]
    while stack:
        current, depth, expanded = stack.pop()
        if id(current) in sizes:
            continue
        children = _children(current)
        if not expanded:
            if depth > limits.max_depth:
                raise _LimitError(
                    current, f"values nested more than {limits.max_depth} levels deep"
                )
            stack.append((current, depth, True))
            stack.extend((child, depth + 1, False) for child in children if id(child) not in sizes)
            continue
        known = [sizes.get(id(child), (1, 1)) for child in children]
        total = 1 + sum(values for values, _ in known)
        height = 1 + max((h for _, h in known), default=0)
        if total > limits.max_values:
            raise _LimitError(
                current,
                f"the document holds more than {limits.max_values:,} values once its aliases "
                "(*name) are expanded",
            )
        if height > limits.max_depth:
            raise _LimitError(
                current,
                f"values nested more than {limits.max_depth} levels deep once its aliases "
                "(*name) are expanded",
            )
        sizes[id(current)] = (total, height)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


class _LimitError(yaml.YAMLError):
    def __init__(self, node: yaml.Node, message: str):
        super().__init__(message)
        self.problem = message
        self.problem_mark = node.start_mark
        self.context_mark = None


def _parse(
    text: str, loader_class, limits: YamlLimits | None = None
) -> tuple[yaml.Node | None, Any]:
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is not None and limits is not None:
            _check_shape(node, limits)
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


def _syntax_error(
    exc: yaml.YAMLError, line_offset: int, prefix: str = "YAML syntax error: "
) -> YamlSyntaxError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context_mark = getattr(exc, "context_mark", None)
    if "end of stream" in problem and context_mark is not None:
        # Reaching the end of the file is a symptom; the cause opened where the context did.
        mark = context_mark
        problem = f"{exc.context} that is never closed"
    line = (mark.line + 1 if mark is not None else 1) + line_offset
    return YamlSyntaxError(line, f"{prefix}{problem}")


def describe_loc(loc: tuple[Any, ...]) -> str:
    """`sources[0].url` from ('sources', 0, 'url')."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def validation_problems(exc: ValidationError, doc: YamlDoc, path: str) -> list[Problem]:
    """One problem per pydantic error, each at the line of the offending field."""
    problems = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function")))
        field = describe_loc(loc)
        kind = err["type"]
        if kind == "missing":
            msg = f"missing required field '{field}'"
        elif kind == "extra_forbidden":
            msg = f"unknown field '{field}'"
        else:
            msg = f"field '{field}': {err['msg']}"
        problems.append(error(path, doc.line_of(loc), msg))
    return problems


def validate_model(model: type[M], doc: YamlDoc, path: str) -> tuple[M | None, list[Problem]]:
    """Validate parsed YAML against a model; problems carry file and line."""
    if not isinstance(doc.data, dict):
        got = "nothing" if doc.data is None else type(doc.data).__name__
        return None, [error(path, doc.line_of(()), f"expected a mapping of fields, got {got}")]
    try:
        return model.model_validate(doc.data), []
    except ValidationError as exc:
        return None, validation_problems(exc, doc, path)
