"""`strategy.matrix`: the cells a job runs as (cross product, exclude, include), and the
runs-on labels that say whether a cell runs here (Linux) or is skipped (Windows, macOS)."""

from __future__ import annotations

import itertools
import json
from typing import Any

from triops.labs.ci.expressions import ExpressionContext, evaluate_value, kind_of, to_str

MAX_MATRIX_CELLS = 256


class MatrixError(ValueError):
    """A `strategy.matrix` that cannot be expanded; `loc` points inside the matrix."""

    def __init__(self, message: str, loc: tuple[Any, ...] = ()):
        super().__init__(message)
        self.loc = loc


def expand_matrix(matrix: Any) -> list[dict[str, Any]]:
    """Cross product of the vectors, minus `exclude` (partial match), then `include`.

    An include entry extends every combination whose original values it does not change
    (values added by earlier includes may be overwritten); an entry that extends none is
    added as a new combination, after the others.
    """
    if not isinstance(matrix, dict):
        raise MatrixError(f"matrix must be a mapping of names to lists, got {kind_of(matrix)}")
    dims: dict[str, list[Any]] = {}
    for key, values in matrix.items():
        if key in ("include", "exclude"):
            continue
        if not isinstance(values, list):
            raise MatrixError(
                f"matrix '{key}' must be a list of values, got {kind_of(values)}", (key,)
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
                    f"matrix '{name}' entries must be mappings, got {kind_of(entry)}", (name, index)
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


def has_expression(value: Any) -> bool:
    if isinstance(value, str):
        return "${{" in value
    if isinstance(value, dict):
        return any(has_expression(v) for v in value.values())
    if isinstance(value, list):
        return any(has_expression(v) for v in value)
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
