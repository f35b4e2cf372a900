"""The `textstats` command: print one JSON line of statistics per input file."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .core import WORDS_PER_MINUTE, summarize


def _read(name: str) -> str:
    """The text of file `name`, or of standard input when `name` is "-"."""
    if name == "-":
        return sys.stdin.read()
    return Path(name).read_text(encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Run the command with `argv` (default: the process arguments); return the exit status."""
    parser = argparse.ArgumentParser(
        prog="textstats",
        description="Word counts, reading time and top words for plain-text files.",
    )
    parser.add_argument("files", nargs="+", help='files to read ("-" reads standard input)')
    parser.add_argument("--top", type=int, default=5, help="how many top words to list")
    parser.add_argument(
        "--wpm", type=int, default=WORDS_PER_MINUTE, help="reading speed in words per minute"
    )
    args = parser.parse_args(argv)

    for name in args.files:
        try:
            text = _read(name)
        except (OSError, UnicodeDecodeError) as exc:
            print(f"textstats: cannot read {name}: {exc}", file=sys.stderr)
            return 1
        record = {"file": name, **summarize(text, top=args.top, wpm=args.wpm)}
        print(json.dumps(record, ensure_ascii=False))
    return 0
