"""Graphviz DOT for lifecycle loops."""

from __future__ import annotations

import json

from triops.content.knowledge import Lifecycle

_COLOURS = {"devops": "#2b6cb0", "mlops": "#2f855a", "llmops": "#6b46c1"}


def _q(text: str) -> str:
    return json.dumps(text)  # a DOT-safe double-quoted string


def lifecycle_dot(lifecycle: Lifecycle) -> str:
    """A closed loop of the lifecycle's phases, last phase feeding the first."""
    colour = _COLOURS.get(lifecycle.id, "#4a5568")
    lines = [
        "digraph lifecycle {",
        '  graph [layout=circo, bgcolor="transparent", mindist=0.4];',
        f'  node [shape=box, style="rounded,filled", fillcolor="{colour}", fontcolor="white", '
        'fontname="Helvetica", fontsize=12];',
        f'  edge [color="{colour}"];',
    ]
    for i, phase in enumerate(lifecycle.phases, start=1):
        lines.append(f"  {_q(phase.id)} [label={_q(f'{i}. {phase.name}')}];")
    ids = [p.id for p in lifecycle.phases]
    for a, b in zip(ids, ids[1:] + ids[:1], strict=True):
        lines.append(f"  {_q(a)} -> {_q(b)};")
    lines.append("}")
    return "\n".join(lines)
