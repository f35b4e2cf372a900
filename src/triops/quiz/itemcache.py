"""The item-writing checks' per-question facts, kept on disk between runs of `triops validate`.

Most of the checks' cost in a fresh process is reading each question's text (words, stems,
lengths, absolutes, the blind strategies' expected scores). Those facts depend on the question's
text and key only (`itemwriting.signature`), so a run stores them in one file under the derived
data folder (TRIOPS_HOME/derived, git-ignored) and the next run reuses every unchanged question's
facts and works out only the edited ones. The bank-wide checks always run on the whole bank.

The file is derived data: written to a temporary file and swapped in atomically, keyed by a
version that hashes the checks' own source (and the question types', whose scorers the strategies
call) and the Python version, and checked against a digest of its contents. A file that is
missing, from other code, truncated or corrupt is ignored; a folder that cannot be written leaves
the run uncached. Delete the file (or the derived folder) to clear it."""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import sys
from pathlib import Path

from triops.content.problems import Problem
from triops.quiz import itemwriting
from triops.quiz import types as question_types
from triops.quiz.bank import Bank
from triops.quiz.itemwriting import ExamStrategies, FactMemo, item_writing_problems

FILE_NAME = "itemwriting-facts.bin"
_MAGIC = b"triops item-writing facts 1\n"
_DIGEST = 16


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=_DIGEST).digest()


def code_version() -> bytes | None:
    """A hash of the code the facts come from; None when its source cannot be read."""
    h = hashlib.blake2b(digest_size=_DIGEST)
    h.update(f"{sys.version}|{marshal.version}".encode())
    try:
        sources = [Path(itemwriting.__file__)]
        sources += sorted(Path(question_types.__file__).parent.glob("*.py"))
        for source in sources:
            h.update(source.name.encode() + b"\0" + source.read_bytes())
    except (OSError, TypeError):
        return None
    return h.digest()


def load(folder: Path) -> FactMemo:
    """The facts stored in `folder` by an earlier run of the same code (none if there are none,
    or the file is unreadable, from other code, or corrupt)."""
    version = code_version()
    if version is None:
        return FactMemo()
    try:
        data = (folder / FILE_NAME).read_bytes()
    except OSError:
        return FactMemo()
    head = len(_MAGIC)
    if data[:head] != _MAGIC or data[head : head + _DIGEST] != version:
        return FactMemo()
    body = data[head + 2 * _DIGEST :]
    if data[head + _DIGEST : head + 2 * _DIGEST] != _digest(body):
        return FactMemo()
    try:
        known = marshal.loads(body)
    except (ValueError, EOFError, TypeError):
        return FactMemo()
    return FactMemo(known if isinstance(known, dict) else None)


def save(folder: Path, memo: FactMemo) -> bool:
    """Store the facts this run used (only those: questions no longer in the bank drop out),
    when they differ from what was loaded; False when nothing was written."""
    if not memo.changed:
        return False
    version = code_version()
    if version is None:
        return False
    body = marshal.dumps({sig: tuple(facts) for sig, facts in memo.used.items()})
    # A name of this process's own beside the file, then swapped in: a reader sees the old file
    # or the new one, never half of one, and two runs at once each write their own.
    tmp = folder / f".{FILE_NAME}.{os.getpid()}.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(_MAGIC + version + _digest(body) + body)
        os.replace(tmp, folder / FILE_NAME)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        return False
    return True


def cached_item_writing_problems(
    bank: Bank, exams, folder: Path | None
) -> tuple[list[Problem], list[ExamStrategies]]:
    """`itemwriting.item_writing_problems` with the facts of an earlier run kept in `folder`
    (no cache when `folder` is None); the findings are the same either way."""
    if folder is None:
        return item_writing_problems(bank, exams)
    memo = load(folder)
    result = item_writing_problems(bank, exams, memo)
    save(folder, memo)
    return result
