"""Split a markdown file into its YAML front matter and its body."""

from __future__ import annotations

from dataclasses import dataclass


class FrontMatterError(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Split:
    """Front-matter text (starting on file line 2) and the body with its first file line."""

    meta: str
    body: str
    body_line: int


def split_front_matter(text: str) -> Split:
    """Front matter sits between a first line `---` and the next line `---`."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        raise FrontMatterError(1, "a lesson must start with '---' and YAML front matter")
    for i in range(1, len(lines)):
        if lines[i].rstrip() == "---":
            return Split("\n".join(lines[1:i]), "\n".join(lines[i + 1 :]), i + 2)
    raise FrontMatterError(1, "front matter opened with '---' on line 1 is never closed")
