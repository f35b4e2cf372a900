"""YAML parsing that remembers where every value came from, so errors can name a line."""

from __future__ import annotations

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


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str, line_offset: int = 0) -> YamlDoc:
    """Parse one YAML document; raise YamlSyntaxError with the line of the fault."""
    try:
        # Parsed once, with libyaml when PyYAML has it (5-10x faster than the Python parser):
        # the node tree keeps line numbers for error messages, the data is built from it.
        # A file libyaml rejects is parsed again by the Python parser, whose messages say
        # what it found ("expected ',' or ']', but got ':'"), not only what it missed.
        node, data = _parse(text, _Loader)
    except yaml.YAMLError:
        try:
            node, data = _parse(text, yaml.SafeLoader)
        except yaml.YAMLError as exc:
            raise _syntax_error(exc, line_offset) from exc
    return YamlDoc(data=data, node=node, line_offset=line_offset)


def _parse(text: str, loader_class) -> tuple[yaml.Node | None, Any]:
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


def _syntax_error(exc: yaml.YAMLError, line_offset: int) -> YamlSyntaxError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context_mark = getattr(exc, "context_mark", None)
    if "end of stream" in problem and context_mark is not None:
        # Reaching the end of the file is a symptom; the cause opened where the context did.
        mark = context_mark
        problem = f"{exc.context} that is never closed"
    line = (mark.line + 1 if mark is not None else 1) + line_offset
    return YamlSyntaxError(line, f"YAML syntax error: {problem}")


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
