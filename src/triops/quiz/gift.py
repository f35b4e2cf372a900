"""Moodle GIFT import and export for the question bank.

GIFT is Moodle's plain-text question format (https://docs.moodle.org/en/GIFT_format). This module
reads it into the models of `triops.quiz.models`, writes those models back as GIFT, and dumps
imported questions as a bank file. It follows Moodle's own reader (`qformat_gift`) where the
documentation is silent.

Import
------
- Questions are separated by blank lines; a line starting with `//` is a comment, also inside a
  question. `::Name::` names a question: it becomes `title`, and the id is `<id_prefix>-<slug of
  the name>` (or of the first words of the stem when unnamed), made unique with -2, -3...
- `$CATEGORY: a/b/c` stands alone in its block and applies to the questions that follow. The
  path is read as Moodle reads it (`qformat_default::split_category_path` and
  `create_category_path`): names are separated by a single `/`, `//` is a slash inside a name,
  each name is trimmed, and a first part like `$course$` or `$system$` names a context, not a
  category; Triops also drops Moodle's root category `top` when it comes first. `domain` is the
  kebab slug of the last name; no name left (`$course$/top`) means no domain.
- Tracks: `questions_by_track` places each question in the track named by its category: the
  first name whose slug is a track id (`devops/ci`, `$course$/mlops/monitoring`, or a Moodle
  export's `$course$/top/Default for C1/LLMOps/Evaluation`). A category that is only the track
  (`$CATEGORY: devops`) gives no domain. Without a track to force, a category that names no
  track is an error at its line, and so is a question before any `$CATEGORY`.
  An empty `$CATEGORY:` (Moodle makes a category without a name) and a last name without letters
  or digits give no domain, with a warning. Lines in the same block after `$CATEGORY` are part of
  the path for Moodle, so no question comes from them: they are listed as skipped.
- `[markdown]`, `[html]`, `[plain]`, `[moodle]` before the question text set `stem_format`
  (default markdown). The same prefix on an answer or feedback is removed: the model has one
  format per question.
- Text before and after the answer block is the stem; when text follows the closing brace the
  block's place becomes `[[blank]]` (missing word). Line breaks in the stem are kept as written.
  Inside the answer block, a line break and the indentation around it read as one space, so
  answers may be wrapped over several lines; `\\n` writes a real line break anywhere.
- Escapes: `\\~ \\= \\# \\{ \\} \\:` give the character, `\\\\` a backslash, `\\n` a line break; any
  other backslash is kept. Spaces and line breaks written as such at the ends of a text are
  trimmed; an escaped `\\n` at the end is kept (so that a stem ending in a newline survives).
- `####text` at the end of the answer block is the general feedback: `explanation`.
- Choice (any `~`): one `=` answer, or no `=` and exactly one `~%100%`, gives `single`; several
  `=` answers give `multiple` with `correct: true` on each (Moodle would read that as a
  single-choice question with several fully right answers; Triops reads it as choose all that
  apply); several positive `~%N%` weights give `multiple` with explicit weights (negative weights
  kept). `#text` after an answer is its feedback.
- True/false: `{T}`, `{TRUE}`, `{F}`, `{FALSE}` (upper case, as in Moodle), then
  `#feedback-if-wrong#feedback-if-right`. This order is Moodle's: its `split_truefalse_comment`
  reads the first feedback as the one shown for a wrong answer and the second for a right one
  (MoodleDocs: `{TRUE#wrong#right}`).
- Short answer: whatever is not one of the other types, as in Moodle: the `=` answers and the
  text before the first `=` (so `{four}` is one accepted answer, like `{=four}`), each with an
  optional `%N%` weight (default 100) and feedback; `*` is kept as the wildcard of `short_text`.
  `{true}` is a short answer too (true/false is upper case), with a warning.
- Matching (`=` and `->`, no `~`): at least three pairs; an empty left side (`= -> x`) adds a
  distractor. Extension: `#text` after a right-hand item is that pair's feedback (Moodle has no
  per-pair feedback and would show it as part of the item).
- Numerical (`{#...}`): `value`, `value:tolerance`, `min..max`, or several `=%N%...` answers
  with feedback. Moodle's catch-all feedback (`~#text`, or an answer `*`) has no place in the
  model: it is dropped with a warning. So is a value that is not a number, which format.php
  turns into `*` (it assigns where it means to compare).
- Essay (`{}`) and description (no braces) are not imported; they are listed in `skipped`.

What stops the file (GiftError, FILE:LINE) is what Moodle's own import refuses
(qformat_gift::readquestion, qformat_default::importprocess and the question types'
save_question_options): a brace without its pair, a choice with fewer than two answers or without
a right answer, multiple-response weights that do not add up to 100 %, a short answer without a
full-credit answer, a weight outside -100..100 %, a tolerance or range bound that is not a
number, a matching answer without `->` or with fewer than two answers. What Moodle accepts is
read as Moodle reads it, with a warning where the file probably says something else than its
author meant: text before the first answer of a choice is a wrong option; `%half%` or `=%50%`
(the `=` already means 100 %) stays in the answer's text; a second `{...}` and a `{` inside the
block stay text; an unclosed `::name` is part of the question; an empty answer is dropped; a
weight Moodle does not list among its grades (e.g. 33 %) gets a warning, since Moodle's default
'Match grades' setting refuses it. A question Moodle imports but the bank cannot hold (two
matching pairs, two options with the same text, no question text, several `=` answers with
weights, a numerical question without a 100 % answer) is listed in `skipped` with the reason,
and the rest of the file imports.

Triops comments: fields GIFT has no syntax for ride in comment lines directly above a question
(inside its block), which Moodle ignores:
`// triops-id: <id>` (the id, used as is: no prefix), `// triops-unit: <unit>` (numeric),
`// triops-case-sensitive: true` and `// triops-semantic-threshold: 0.6` (short text),
`// triops-multiple: keyed` (see below).

Export and round trip
---------------------
`export_gift` writes `$CATEGORY: <track>/<domain>` (`<domain>` for a bare model) when it changes
(`$course$/top` back to no domain), then per question the `// triops-...` comments, `::title or
id::`, the `[format]` prefix when it is not markdown, and the text with every special character
escaped and every line break written as `\\n` (as Moodle's own exporter does). On import, a name
equal to the `triops-id` of its question is not a title. So `import_gift(export_gift([q]))`
gives back `q` with the same id, title, domain, stem, stem_format, options/answers, weights,
feedback, unit, case_sensitive and explanation; lesson, difficulty, tags, exam_only,
practice_only, choose and covers have no GIFT form and come back empty.

A `multiple` question keyed by `correct: true` (no weights) is written with Moodle's weights,
+100/k for each of the k right options and -100/k for each wrong one, so that Moodle scores it
the same way, plus `// triops-multiple: keyed`, which turns those weights back into the key on
import.

Not reproduced exactly (the score is the same in each case): the `answer:` short form of
single/multiple (it comes back as `correct: true`); a weight on the correct option of a single
question, or `correct` flags in a weighted multiple question (scoring ignores both); a title equal
to the id; a stem ending with `[[blank]]` (GIFT puts the answers after the text: the stem comes
back without the marker); spaces at the ends of a text. Questions whose text would change
meaning in GIFT are not exported but listed as `// skipped <id>: <reason>`: ordering questions,
`->` in a short-text answer or its feedback (it would read as matching) or on the left of a
matching pair, and option or answer texts that begin like a `%N%` weight.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from triops.content.models import KEBAB
from triops.content.problems import Problem, display_path, error, warning
from triops.quiz.bank import NOT_TRACKS, BankQuestion, parse_bank_file
from triops.quiz.models import (
    BLANK,
    TYPES,
    Matching,
    Multiple,
    Numeric,
    QuestionBase,
    ShortText,
    Single,
    TrueFalse,
)
from triops.quiz.types.gift_text import FORMAT, WEIGHT_LIKE, escape, plain, protect
from triops.quiz.types.gift_text import text as answer_text
from triops.quiz.vocabulary import load_vocabulary

GiftQuestion = Single | Multiple | TrueFalse | Numeric | ShortText | Matching
ESSAY = "essay question (free text cannot be graded automatically)"
DESCRIPTION = "description (no answers)"

# qformat_gift's weight: `^%\-*([0-9]{1,2})\.?([0-9]*)%` (a number, its point optional).
_WEIGHT = re.compile(r"%(-?\d+\.?\d*)%")
# PHP's is_numeric, which format.php applies to numerical answers and tolerances.
_PHP_NUMBER = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*")
# The grades Moodle's import accepts with 'Match grades: Error if grade not listed' (its default):
# question_bank::ensure_fraction_options_initialised (question/engine/bank.php), in percent,
# compared as match_grade_options does (within 0.00001 of a fraction).
_FRACTIONS = (1.0, 0.9, 0.8333333, 0.8, 0.75, 0.7, 0.6666667, 0.6, 0.5, 0.4, 0.3333333, 0.3)
_FRACTIONS += (0.25, 0.2, 0.1666667, 0.1428571, 0.125, 0.1111111, 0.1, 0.05, 0.0)
MOODLE_GRADES = tuple(sorted({s * f * 100 for f in _FRACTIONS for s in (1, -1)}))
GRADE_TOLERANCE = 0.001
_META = re.compile(r"//\s*triops-([a-z-]+)\s*:\s*(.*?)\s*$")
_TRUE_FALSE = {"T": True, "TRUE": True, "F": False, "FALSE": False}


class GiftError(Exception):
    """Malformed GIFT, located by its 1-based line."""

    def __init__(self, line: int, message: str, source: str = "<gift>") -> None:
        super().__init__(f"{source}:{line}: error: {message}")
        self.line = line
        self.message = message
        self.source = source


@dataclass
class ImportResult:
    """The questions read, what was left out and why, and the categories met."""

    questions: list[GiftQuestion] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    warnings: list[tuple[int, str]] = field(default_factory=list)
    # Per question (same order): the $CATEGORY in force and where it and the question start.
    placements: list[Placement] = field(default_factory=list)


@dataclass(frozen=True)
class Placement:
    category: str | None  # None: no $CATEGORY before the question
    category_line: int  # 0 when there is no category
    line: int  # the question's first line


def category_names(path: str) -> list[str]:
    """The category names of a $CATEGORY path, as Moodle splits them, without the context
    marker (`$course$`...) and without a leading root category `top`."""
    names = [n.replace("//", "/").strip() for n in re.split(r"(?<!/)/(?!/)", path)]
    if names and re.fullmatch(r"\$[a-z]+\$", names[0]):
        names = names[1:]
    if names and names[0] == "top":
        names = names[1:]
    return [n for n in names if n]


def track_of(path: str, tracks: Iterable[str]) -> str | None:
    """The first category name of the path whose slug is one of `tracks`."""
    known = set(tracks)
    return next((_slug(n) for n in category_names(path) if _slug(n) in known), None)


def questions_by_track(
    result: ImportResult,
    tracks: Iterable[str],
    *,
    forced: str | None = None,
    source: str = "<gift>",
) -> dict[str, list[GiftQuestion]]:
    """The imported questions grouped by track, in file order: every question in `forced`
    when given, otherwise in the track its $CATEGORY names (GiftError at the category's line
    when it names none)."""
    if forced is not None:
        return {forced: list(result.questions)} if result.questions else {}
    tracks = list(tracks)
    groups: dict[str, list[GiftQuestion]] = {}
    for question, place in zip(result.questions, result.placements, strict=True):
        if place.category is None:
            raise GiftError(
                place.line,
                f"no $CATEGORY before this question names its track ({', '.join(tracks)}); "
                "add one (e.g. $CATEGORY: devops/ci) or give --track",
                source,
            )
        track = track_of(place.category, tracks)
        if track is None:
            raise GiftError(
                place.category_line,
                f"category '{place.category}' names no track ({', '.join(tracks)}); "
                "name one in the path (e.g. devops/ci) or give --track",
                source,
            )
        names = category_names(place.category)
        if _slug(names[-1]) == track and question.domain == track:
            question = question.model_copy(update={"domain": None})
        groups.setdefault(track, []).append(question)
    return groups


# --- text helpers ---------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Answer-block layout: a line break and the indentation around it read as one space."""
    return re.sub(r"[ \t]*\n\s*", " ", text)


def _slug(text: str, max_words: int | None = None, max_len: int = 60) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())[:max_words]
    out = ""
    for word in words:
        longer = f"{out}-{word}" if out else word
        if len(longer) > max_len:
            break
        out = longer
    return out or (words[0][:max_len] if words else "")


# --- reading --------------------------------------------------------------------------------


@dataclass
class _Block:
    """One question's lines: protected text without comments, and where each line starts."""

    text: str
    starts: list[int]
    numbers: list[int]
    meta: dict[str, tuple[int, str]]
    source: str

    @property
    def first_line(self) -> int:
        return self.numbers[0]

    def line_at(self, pos: int) -> int:
        return self.numbers[max(bisect_right(self.starts, pos) - 1, 0)]

    def error(self, pos: int, message: str) -> GiftError:
        return GiftError(self.line_at(pos), message, self.source)


def _blocks(text: str, source: str) -> Iterable[_Block]:
    """The blocks of non-blank lines that hold something besides comments."""
    lines = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    group: list[tuple[int, str]] = []
    for number, raw in enumerate([*lines, ""], start=1):
        if raw.strip():
            group.append((number, raw))
            continue
        if not group:
            continue
        kept: list[tuple[int, str]] = []
        meta: dict[str, tuple[int, str]] = {}
        for n, line in group:
            stripped = line.strip()
            if not stripped.startswith("//"):
                kept.append((n, line))
            elif m := _META.match(stripped):
                meta[m.group(1)] = (n, plain(protect(m.group(2))))
        group = []
        if not kept:
            continue
        starts, pos = [], 0
        for _, line in kept:
            starts.append(pos)
            pos += len(line) + 1
        body = "\n".join(protect(line) for _, line in kept)
        yield _Block(body, starts, [n for n, _ in kept], meta, source)


def _clean(raw: str) -> tuple[str, str | None]:
    """An answer-block text: folded, trimmed, format prefix removed, unescaped."""
    text = _fold(raw).strip()
    fmt = None
    if m := FORMAT.match(text):
        fmt, text = m.group(1), text[m.end() :].strip()
    return plain(text), fmt


@dataclass
class _Answer:
    pos: int  # offset of the marker in the block text
    marker: str
    weight: float | None
    text: str
    feedback: str


class _Reader:
    def __init__(self, source: str, id_prefix: str) -> None:
        if id_prefix and not KEBAB.match(id_prefix):
            raise ValueError(f"id_prefix '{id_prefix}' is not kebab-case")
        self.source = source
        self.id_prefix = id_prefix
        self.result = ImportResult()
        self.domain: str | None = None
        self.in_force: tuple[str, int] | None = None  # the $CATEGORY in force and its line
        self.ids: set[str] = set()

    # -- ids, categories, warnings

    def warn(self, line: int, message: str) -> None:
        self.result.warnings.append((line, message))

    def unique(self, base: str) -> str:
        candidate, n = base, 1
        while candidate in self.ids:
            n += 1
            candidate = f"{base}-{n}"
        self.ids.add(candidate)
        return candidate

    def category(self, block: _Block, pos: int) -> None:
        text = block.text
        end = text.find("\n", pos)
        if end >= 0 and text[end:].strip():
            # Moodle reads the whole block as the category path, so the lines after it never
            # become a question: say so, and keep the first line as the path.
            at = end + 1 + (len(text[end + 1 :]) - len(text[end + 1 :].lstrip()))
            self.result.skipped.append(
                (
                    block.line_at(at),
                    "text in the same block as $CATEGORY: Moodle reads it as part of the "
                    "category name, so no question is imported from it (leave a blank line "
                    "after $CATEGORY)",
                )
            )
        path = plain(text[pos + len("$CATEGORY:") : end if end >= 0 else None]).strip()
        line = block.line_at(pos)
        names = category_names(path)
        self.domain = None
        if not path:
            self.warn(
                line,
                "$CATEGORY without a category path: Moodle files the questions after it in a "
                "category with no name; here they get no domain",
            )
        elif names:
            self.domain = _slug(names[-1], max_len=200) or None
            if self.domain is None:
                self.warn(
                    line,
                    f"category '{path}': its last part has no letters or digits, so the "
                    "questions after it get no domain",
                )
        self.in_force = (path, line)
        self.result.categories.append(path)

    # -- one block

    def read(self, block: _Block) -> None:
        text = block.text
        pos = len(text) - len(text.lstrip())
        if text.startswith("$CATEGORY:", pos):
            self.category(block, pos)
            return
        name = ""
        if text.startswith("::", pos):
            end = text.find("::", pos + 2)
            if end < 0:
                # Moodle drops the '::' and reads the rest as the question, without a name.
                self.warn(
                    block.line_at(pos),
                    "'::' has no closing '::': read as a question without a name, as Moodle "
                    "reads it",
                )
                pos += 2
            else:
                name = plain(_fold(text[pos + 2 : end]).strip())
                pos = end + 2
        while pos < len(text) and text[pos].isspace():
            pos += 1
        stem_format = "markdown"
        if m := FORMAT.match(text, pos):
            stem_format, pos = m.group(1), m.end()
        opening, closing = text.find("{", pos), text.find("}", pos)
        if opening < 0 and closing < 0:
            self.result.skipped.append((block.first_line, DESCRIPTION))
            return
        if closing >= 0 and (opening < 0 or closing < opening):
            raise block.error(closing, "'}' without an opening '{' (write \\} for a brace)")
        if closing < 0:
            raise block.error(
                opening,
                "unclosed '{': the answer block has no closing '}' (a blank line ends a question)",
            )
        # Moodle's answer block runs from the first '{' to the first '}'; any other brace is
        # text (inside the block, an answer's; after it, the question's).
        inner_brace = text.find("{", opening + 1, closing)
        if inner_brace >= 0:
            self.warn(
                block.line_at(inner_brace),
                "'{' inside the answer block is read as text, as Moodle reads it "
                "(write \\{ for a brace)",
            )
        after = text[closing + 1 :]
        stray = min((i for i in (after.find("{"), after.find("}")) if i >= 0), default=-1)
        if stray >= 0:
            self.warn(
                block.line_at(closing + 1 + stray),
                "a second {...} stays in the question text, as Moodle reads it: a question "
                "has one answer block (write \\{ and \\} for braces)",
            )
        before = text[pos:opening]
        stem = plain((before + BLANK + after if after.strip() else before).strip())

        inner_start, inner_end = opening + 1, closing
        explanation = None
        general = text.rfind("####", inner_start, inner_end)
        if general >= 0:
            explanation, _ = _clean(text[general + 4 : inner_end])
            inner_end = general
        inner = text[inner_start:inner_end]
        body = inner.strip()
        body_pos = inner_start + len(inner) - len(inner.lstrip())

        common: dict[str, Any] = {
            "title": name,
            "stem": stem,
            "stem_format": stem_format,
            "domain": self.domain,
            "explanation": explanation,
        }
        if not body:
            self.result.skipped.append((block.first_line, ESSAY))
            return
        # Moodle's order: numerical, multiple choice (any ~), matching (= and ->),
        # true/false, and anything else is a short answer.
        if body.startswith("#"):
            kind, fields = "numeric", self.numeric(block, body_pos + 1, inner_end)
        elif "~" in body:
            kind, fields = self.choice(block, opening, inner_start, inner_end)
        elif "=" in body and "->" in body:
            kind, fields = "matching", self.matching(block, opening, inner_start, inner_end)
        elif body.split("#", 1)[0].strip() in _TRUE_FALSE:
            kind, fields = "true_false", self.true_false(body)
        else:
            kind, fields = "short_text", self.short_text(block, inner_start, inner_end, body_pos)
        if fields is None:
            return  # skipped, with its reason
        self.apply_meta(block, kind, fields)
        title = common["title"]
        if "id" in fields:
            if title == fields["id"]:
                common["title"] = ""
        else:
            if title:
                slug = _slug(title)
            else:
                words = stem.replace(BLANK, " ")
                if stem_format == "html":
                    words = re.sub(r"<[^>]*>", " ", words)
                slug = _slug(words, max_words=6)
            slug = slug or "question"
            fields["id"] = self.unique(f"{self.id_prefix}-{slug}" if self.id_prefix else slug)
        if not stem.strip():
            self.skip(
                block.first_line,
                "the question has no text: Moodle imports it, but a bank question needs a stem",
            )
            return
        try:
            question = TYPES[kind](type=kind, **common, **fields)
        except ValidationError as exc:
            # Moodle's import refuses none of these (the refusals are checked above), so the
            # file goes on: the question is left out with the reason the bank gives.
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            message = err["msg"].removeprefix("Value error, ")
            self.skip(
                block.first_line,
                "Moodle imports this question but the bank cannot hold it: "
                + (f"{where}: {message}" if where else message),
            )
            return
        self.result.questions.append(question)
        path, line = self.in_force if self.in_force is not None else (None, 0)
        self.result.placements.append(Placement(path, line, block.first_line))

    def skip(self, line: int, reason: str) -> None:
        self.result.skipped.append((line, reason))

    def apply_meta(self, block: _Block, kind: str, fields: dict[str, Any]) -> None:
        for key, (line, value) in block.meta.items():
            if key == "id":
                if not KEBAB.match(value):
                    raise GiftError(line, f"triops-id '{value}' is not kebab-case", self.source)
                if value in self.ids:
                    raise GiftError(line, f"duplicate triops-id '{value}'", self.source)
                self.ids.add(value)
                fields["id"] = value
            else:
                try:
                    problem = TYPES[kind].read_gift_meta(key, value, fields)
                except ValueError as exc:
                    raise GiftError(line, str(exc), self.source) from None
                if problem is not None:
                    self.warn(line, problem)

    # -- answer lists

    def split(
        self, block: _Block, start: int, end: int, markers: str, *, lead: bool = False
    ) -> list[tuple[int, str, str]]:
        """Each answer as (offset, its marker, protected text after the marker). Text before
        the first marker is an answer without a marker when `lead` (Moodle's explode keeps
        it), else an error."""
        text = block.text
        found = [start + m.start() for m in re.finditer(f"[{markers}]", text[start:end])]
        head = text[start : found[0] if found else end]
        parts: list[tuple[int, str, str]] = []
        if head.strip():
            at = start + len(head) - len(head.lstrip())
            if not lead:
                snippet = plain(_fold(head.strip()))[:40]
                raise block.error(at, f"text before the first answer: '{snippet}'")
            parts.append((at, "", text[at : found[0] if found else end]))
        bounds = [*found, end]
        parts += [
            (pos, text[pos], text[pos + 1 : nxt])
            for pos, nxt in zip(bounds, bounds[1:], strict=False)
        ]
        return parts

    def answer(
        self, block: _Block, pos: int, marker: str, raw: str, *, choice: bool = False
    ) -> _Answer:
        """`%weight%text#feedback` after a marker, read as Moodle reads it: a weight is `%N%`
        at the start; after a choice's `=` (100%), or when it is not a number, the `%...%` is
        part of the answer text."""
        stripped = raw.lstrip()
        line = block.line_at(pos)
        weight = None
        weighted = not (choice and marker == "=")
        if weighted and (m := _WEIGHT.match(stripped)):
            weight = float(m.group(1))
            if not -100 <= weight <= 100:
                raise block.error(pos, f"weight {m.group(0)} is outside -100%..100%")
            if not any(abs(weight - g) < GRADE_TOLERANCE for g in MOODLE_GRADES):
                self.warn(
                    line,
                    f"weight {m.group(0)} is not one of Moodle's grades: Moodle's import "
                    "refuses it unless 'Match grades' is set to 'Nearest grade if not listed'",
                )
            stripped = stripped[m.end() :]
        elif m := WEIGHT_LIKE.match(stripped):
            shown = plain(m.group(0))
            if weighted:
                why = f"'{shown}' is not a weight (write a number such as %50%)"
            else:
                why = f"'=' gives 100%, so '{shown}' is not a weight (write ~%50% for less)"
            self.warn(line, f"{why}: Moodle keeps it as part of the answer text")
        body, _, feedback = stripped.partition("#")
        text, fmt = _clean(body)
        if fmt is not None and fmt != "markdown":
            self.warn(line, f"[{fmt}] on an answer ignored")
        return _Answer(pos, marker, weight, text, _clean(feedback)[0])

    def answers(
        self, block: _Block, pieces: list[tuple[int, str, str]], *, choice: bool = False
    ) -> list[_Answer]:
        """The answers of split pieces; an empty one is dropped with a warning, as Moodle
        saves no answer without text."""
        out = []
        for pos, marker, raw in pieces:
            a = self.answer(block, pos, marker, raw, choice=choice)
            if not a.text:
                self.warn(block.line_at(pos), "empty answer dropped, as Moodle drops it")
                continue
            out.append(a)
        return out

    def choice(
        self, block: _Block, opening: int, start: int, end: int
    ) -> tuple[str, dict[str, Any] | None]:
        pieces = self.split(block, start, end, "~=", lead=True)
        if len(pieces) < 2:
            raise block.error(opening, "a multiple-choice question needs at least two answers")
        if pieces[0][1] == "":
            snippet = plain(_fold(pieces[0][2].strip()))[:40]
            self.warn(
                block.line_at(pieces[0][0]),
                f"text before the first answer, '{snippet}', is read as a wrong answer, as "
                "Moodle reads it",
            )
        answers = self.answers(block, pieces, choice=True)
        right = [a for a in answers if a.marker == "="]
        full = [a for a in answers if a.weight == 100]
        positive = [a.weight for a in answers if a.weight is not None and a.weight > 0]
        options = []
        for a in answers:
            option: dict[str, Any] = {"text": a.text}
            if a.marker == "=":
                option["correct"] = True
            if a.weight is not None:
                option["weight"] = a.weight
            if a.feedback:
                option["feedback"] = a.feedback
            options.append(option)
        if len(right) == 1 or (not right and len(full) == 1 and sum(positive) == 100):
            return "single", {"options": options}
        if not right:
            # Moodle's multiple-response rule (qtype_multichoice): the positive weights add up
            # to 100%, rounded to 2 decimals of a fraction.
            if not positive:
                raise block.error(
                    opening, "no right answer: mark it with = or give it a positive %weight%"
                )
            if round(sum(positive) / 100, 2) != 1:
                raise block.error(
                    opening, f"positive option weights add up to {sum(positive):g}, not 100"
                )
            return "multiple", {"options": options}
        if any(a.weight is not None for a in answers):
            self.skip(
                block.first_line,
                "several = answers with %weights% on the others: Moodle reads a single-choice "
                "question with several right answers, which the bank cannot hold (give every "
                "answer a weight, ~%50%, or drop the weights)",
            )
            return "multiple", None
        return "multiple", {"options": options}

    def true_false(self, body: str) -> dict[str, Any]:
        parts = body.split("#", 2)
        answer = _TRUE_FALSE[parts[0].strip()]
        wrong = _clean(parts[1])[0] if len(parts) > 1 else ""
        right = _clean(parts[2])[0] if len(parts) > 2 else ""
        return {"answer": answer, "feedback_wrong": wrong, "feedback_right": right}

    def short_text(
        self, block: _Block, start: int, end: int, body_pos: int
    ) -> dict[str, Any] | None:
        """Moodle's short answer: every `=` answer, and the text before the first `=` (so that
        `{four}` is one accepted answer), each 100% unless it starts with a %weight%."""
        answers = self.answers(block, self.split(block, start, end, "=", lead=True))
        first = plain(_fold(block.text[body_pos:end])).split("#", 1)[0].strip()
        if first.upper() in _TRUE_FALSE and first not in _TRUE_FALSE:
            self.warn(
                block.line_at(body_pos),
                f"'{first}' is read as a short answer, as Moodle reads it: true/false is "
                "written T, TRUE, F or FALSE, in capitals",
            )
        if not answers:
            raise block.error(body_pos, "a short-answer question needs an answer")
        items = []
        for a in answers:
            item: dict[str, Any] = {"text": a.text}
            if a.weight is not None:
                item["weight"] = a.weight
            if a.feedback:
                item["feedback"] = a.feedback
            items.append(item)
        if not any(item.get("weight", 100) == 100 for item in items):
            # qtype_shortanswer refuses a question without a full-credit answer (fractionsnomax).
            raise block.error(body_pos, "no answer is worth 100%: give one without a %weight%")
        return {"answers": items}

    def matching(self, block: _Block, opening: int, start: int, end: int) -> dict[str, Any] | None:
        pairs: list[dict[str, Any]] = []
        distractors: list[str] = []
        pieces = self.split(block, start, end, "=")
        if len(pieces) < 2:
            raise block.error(opening, "a matching question needs at least two answers")
        for pos, _, raw in pieces:
            left, arrow, right = raw.partition("->")
            if not arrow:
                raise block.error(pos, "a matching answer needs '->' between its two items")
            right_raw, hash_, feedback = right.partition("#")
            left_text, right_text = _clean(left)[0], _clean(right_raw)[0]
            if not right_text:
                raise block.error(pos, "empty right-hand item after '->'")
            if not left_text:
                if hash_:
                    raise block.error(pos, "a distractor (= -> item) cannot carry feedback")
                distractors.append(right_text)
                continue
            pair = {"left": left_text, "right": right_text}
            if _clean(feedback)[0]:
                pair["feedback"] = _clean(feedback)[0]
            pairs.append(pair)
        if len(pairs) < 3:
            self.skip(
                block.first_line,
                f"a matching question with {len(pairs)} pairs: Moodle imports it, but a bank "
                "question needs at least three",
            )
            return None
        return {"pairs": pairs, "distractors": distractors}

    def numeric(self, block: _Block, start: int, end: int) -> dict[str, Any] | None:
        """`start` is just after the leading '#'."""
        text = block.text
        tilde = text.find("~", start, end)
        if tilde >= 0:
            self.warn(
                block.line_at(tilde),
                "numeric feedback for any other answer (~#...) dropped: the model has no place "
                "for it",
            )
            end = tilde
        if not text[start:end].strip():
            raise block.error(start, "a numerical question needs an answer after '#'")
        answers = self.answers(block, self.split(block, start, end, "=", lead=True))
        result = [item for a in answers if (item := self.number(block, a)) is not None]
        if not result:
            self.skip(
                block.first_line,
                "a numerical question whose only answer is the catch-all '*' (any response): "
                "there is no number to grade against",
            )
            return None
        return {"answers": result}

    def number(self, block: _Block, a: _Answer) -> dict[str, Any] | None:
        """One numerical answer as qformat_gift reads it: `min..max`, `value:tolerance` or
        `value`. A value that is not a number becomes Moodle's catch-all '*' (format.php
        assigns '*' where it means to compare), which the model has no place for."""
        spec = a.text
        line = block.line_at(a.pos)

        def number(value: str) -> float:
            if not _PHP_NUMBER.fullmatch(value):
                raise block.error(a.pos, f"'{value.strip()}' is not a number")
            return float(value)

        item: dict[str, Any] = {}
        if spec.find("..") > 0:
            low, _, high = spec.partition("..")
            item["min"], item["max"] = number(low), number(high)
        else:
            value, colon, tolerance = spec.partition(":") if spec.find(":") > 0 else (spec, "", "")
            if colon:
                item["tolerance"] = number(tolerance)
            if not _PHP_NUMBER.fullmatch(value):
                if value.strip() == "*":
                    self.warn(line, "numeric catch-all answer '*' dropped")
                else:
                    self.warn(
                        line,
                        f"'{value.strip()}' is not a number: Moodle reads this answer as the "
                        "catch-all '*' (any response), which has no place in the model: dropped",
                    )
                return None
            item["value"] = float(value)
        if a.weight is not None:
            item["weight"] = a.weight
        if a.feedback:
            item["feedback"] = a.feedback
        return item


def import_gift(text: str, *, source: str = "<gift>", id_prefix: str = "gift") -> ImportResult:
    """Read GIFT text; raise GiftError (with its 1-based line) on malformed input."""
    reader = _Reader(source, id_prefix)
    for block in _blocks(text, source):
        reader.read(block)
    return reader.result


# --- writing --------------------------------------------------------------------------------


def _unwrap(item: Any) -> Any:
    return getattr(item, "question", item)  # a BankQuestion or a bare model


def unexportable(question: Any) -> str | None:
    """Why a question cannot be written as GIFT, or None when it can (its type says)."""
    if not isinstance(question, QuestionBase):
        return f"unknown question type {type(question).__name__}"
    return question.gift_problem()


def _question_gift(q: GiftQuestion) -> str:
    answers = q.gift_answers()
    head = [f"// triops-id: {q.id}"] + [f"// triops-{m}" for m in answers.meta]
    prefix = f"[{q.stem_format}]" if q.stem_format != "markdown" or FORMAT.match(q.stem) else ""
    before, blank, after = q.stem.partition(BLANK)
    start = f"::{escape(q.title or q.id)}::{prefix}{escape(before)}"
    end = escape(after) if blank else ""
    general = "" if q.explanation is None else "####" + answer_text(q.explanation)
    if answers.inline is not None:
        body = [f"{start}{{{answers.inline}{general}}}{end}"]
    else:
        body = [start + answers.opening, *("\t" + line for line in answers.lines)]
        if general:
            body.append("\t" + general)
        body.append("}" + end)
    return "\n".join(head + body)


def export_gift(questions: Iterable[Any]) -> str:
    """GIFT for every question GIFT can express; the others become `// skipped` comments."""
    out = [
        "// Exported from Triops. Lines starting with // triops- carry fields that GIFT has",
        "// no syntax for; Moodle ignores them as comments.",
        "",
    ]
    domain: str | None = None
    for item in questions:
        q = _unwrap(item)
        reason = unexportable(q)
        if reason is not None:
            out += [f"// skipped {q.id}: {reason}", ""]
            continue
        # A bank question knows its track: `track/domain` lets an import tell the track again.
        track = getattr(item, "track", None)
        full = None if q.domain is None else (f"{track}/{q.domain}" if track else q.domain)
        if full != domain:
            category = "$course$/top" if full is None else escape(full)
            out += [f"$CATEGORY: {category}", ""]
            domain = full
        out += [_question_gift(q), ""]
    return "\n".join(out)


# --- exporting a course's bank ---------------------------------------------------------------


@dataclass
class BankExport:
    """What `quiz export-gift` writes, and every problem met while reading the bank for it."""

    text: str
    exported: list[BankQuestion] = field(default_factory=list)
    unexpressible: list[tuple[BankQuestion, str]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def written(self) -> bool:
        """Whether there is anything to write: at least one question GIFT can express."""
        return bool(self.exported)

    @property
    def ok(self) -> bool:
        """Something is written and no question was left out with an error."""
        return self.written and not any(p.severity == "error" for p in self.problems)


def export_bank(root: Path, track: str | None = None) -> BankExport:
    """Every question of root/quizzes/<track>/*.yaml (one track, or all) as GIFT.

    The export needs no vocabulary: a question is written whatever its domain, so nothing the
    bank files hold is lost silently. A missing quizzes/vocabulary.yaml, a folder it does not
    list as a track and a domain it does not list for the track are warnings; a question that
    does not validate, or repeats an id, is an error and is left out; no question to write is
    an error."""
    quizzes = root / "quizzes"
    shown = display_path(quizzes, root)
    if not quizzes.is_dir():
        return BankExport(
            "", problems=[error(str(quizzes), 1, "no quizzes/ folder here: is this a course root?")]
        )
    problems: list[Problem] = []
    vocab = load_vocabulary(root)
    known = vocab.domains if not vocab.problems else None
    if known is None:
        missing = not (quizzes / "vocabulary.yaml").is_file()
        problems.append(
            warning(
                "quizzes/vocabulary.yaml",
                1,
                ("missing vocabulary file" if missing else "the vocabulary file does not load")
                + ": every folder under quizzes/ is read as a track and domains are not checked",
            )
        )
        if not missing:
            problems += [warning(p.path, p.line, p.message) for p in vocab.problems]
    folders = sorted(p for p in quizzes.iterdir() if p.is_dir() and p.name not in NOT_TRACKS)
    if track is not None:
        folders = [p for p in folders if p.name == track]
        if not folders:
            problems.append(
                error(f"{shown}/{track}", 1, f"no folder for track '{track}' under quizzes/")
            )
    out = BankExport("", problems=problems)
    seen: dict[str, BankQuestion] = {}
    for folder in folders:
        name = folder.name
        if known is not None and name not in known:
            problems.append(
                warning(
                    display_path(folder, root),
                    1,
                    f"'{name}' is not a track in quizzes/vocabulary.yaml (it lists: "
                    f"{', '.join(known)}); its questions are exported under $CATEGORY {name}/...",
                )
            )
        domains = vocab.track_domains(name) if known is not None and name in known else None
        for path in sorted(folder.glob("*.y*ml")):
            parsed = parse_bank_file(path, root, name)
            problems += parsed.problems
            for q in parsed.value or []:
                first = seen.get(q.id)
                if first is not None:
                    problems.append(
                        error(
                            q.path,
                            q.line,
                            f"duplicate question id '{q.id}' (first used at "
                            f"{first.path}:{first.line}): left out of the export",
                        )
                    )
                    continue
                seen[q.id] = q
                domain = q.question.domain
                if domains is not None and domain is not None and domain not in domains:
                    problems.append(
                        warning(
                            q.path,
                            q.line,
                            f"question '{q.id}': domain '{domain}' is not a {name} domain in "
                            f"quizzes/vocabulary.yaml; exported under $CATEGORY {name}/{domain}",
                        )
                    )
                reason = unexportable(q.question)
                if reason is None:
                    out.exported.append(q)
                else:
                    out.unexpressible.append((q, reason))
    if not out.exported:
        given = len(out.unexpressible)
        what = f"track '{track}'" if track is not None else "quizzes/"
        why = (
            f"none of its {given} questions has a GIFT form"
            if given
            else f"no question could be read in {what}"
        )
        problems.append(error(shown, 1, f"nothing to export: {why}"))
        return out
    out.text = export_gift([q for q in seen.values()])
    return out


# --- bank YAML ------------------------------------------------------------------------------

_HEAD = (
    "id",
    "title",
    "type",
    "domain",
    "difficulty",
    "lesson",
    "tags",
    "exam_only",
    "practice_only",
    "covers",
    "stem_format",
    "stem",
)


def _compact(model: BaseModel) -> dict[str, Any]:
    """A model's fields in declaration order, without None and without defaults."""
    out: dict[str, Any] = {}
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if value is None:
            continue
        if not info.is_required() and value == info.get_default(call_default_factory=True):
            continue
        out[name] = _simple(value)
    return out


def _simple(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return _compact(value)
    if isinstance(value, list):
        return [_simple(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _bank_entry(question: BaseModel) -> dict[str, Any]:
    fields = _compact(question)
    ordered = {k: fields.pop(k) for k in _HEAD if k in fields}
    explanation = fields.pop("explanation", None)
    ordered |= fields
    if explanation is not None:
        ordered["explanation"] = explanation
    return ordered


class _BankDumper(yaml.SafeDumper):
    """Safe dumping with list items indented under their key, as in quizzes/README.md."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BankDumper.add_representer(str, _represent_str)


def to_bank_yaml(questions: Iterable[Any]) -> str:
    """Questions as a bank file (`questions:` list) in the shape of quizzes/README.md."""
    entries = [_bank_entry(_unwrap(q)) for q in questions]
    return yaml.dump(
        {"questions": entries},
        Dumper=_BankDumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )
