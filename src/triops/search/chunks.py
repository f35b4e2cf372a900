"""What search indexes: lesson sections, practice questions and lab instructions, as chunks.

A chunk's `text` is markdown as the course writes it (headings, admonition markers and tables
kept, long code blocks cut, a lesson's self-check answers left out), starting with a `#` line
naming the lesson or lab, so that a rename changes the hash. `hash` covers the kind and the text
and nothing model-specific: the vector cache key is (hash, model_id). `embed_text` is the plain
text the model and the keyword index see; bump EMBED_FORMAT whenever it changes, so stored
vectors are not reused.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass

from triops.content.markdown import lesson_url, render_plan, resolve_links, slugify

KINDS = ("lesson", "question", "lab")
EMBED_FORMAT = 2
CODE_LINES = 8  # a code block longer than this keeps its first lines and a marker
# The model reads at most 256 word pieces (about 180 English words); a longer section is split
# into parts at paragraph (or, for a long table or list, line) boundaries, each under its heading.
PART_WORDS = 150
MIN_PART_WORDS = 40

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,3})\s+(.+?)\s*#*\s*$")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|`)")
_TAG = re.compile(r"<[^>]+>")
_BLANK = "[[blank]]"


@dataclass(frozen=True)
class Chunk:
    """One searchable passage and the stable address it links to."""

    id: str
    kind: str  # lesson, question or lab
    track: str
    title: str
    section: str
    anchor: str
    url: str
    text: str
    hash: str


def chunk_hash(kind: str, text: str) -> str:
    """The model-independent identity of a chunk's content."""
    return hashlib.sha256(f"{kind}\0{text}".encode()).hexdigest()


def _chunk(id, kind, track, title, section, anchor, url, text) -> Chunk:
    return Chunk(id, kind, track, title, section, anchor, url, text, chunk_hash(kind, text))


def shorten_code(markdown: str, keep: int = CODE_LINES) -> str:
    """Cut fenced code blocks to their first `keep` lines; prose passes through unchanged."""
    out: list[str] = []
    in_fence = False
    inside = 0
    for line in markdown.split("\n"):
        if _FENCE.match(line):
            if in_fence and inside > keep:
                out.append(f"… ({inside - keep} more lines)")
            in_fence = not in_fence
            inside = 0
            out.append(line)
            continue
        if in_fence:
            inside += 1
            if inside > keep:
                continue
        out.append(line)
    return "\n".join(out)


# --------------------------------------------------------------------------- lessons


def lesson_chunks(lesson) -> list[Chunk]:
    """One chunk for the text before the first `##` heading, one per `##` section (its `###`
    subsections included); admonitions are kept with their markers, code is shortened. The
    self-check answers are left out: search and Ask never give them away."""
    sections: list[tuple[str, str, list[str]]] = [("", "", [])]
    for item in render_plan(lesson.blocks):
        if item[0] == "answers":
            continue
        if item[0] == "heading":
            _, level, text, anchor = item
            if level == "2":
                sections.append((text, anchor, []))
            else:
                sections[-1][2].append(f"### {text}")
        elif item[0] == "markdown":
            sections[-1][2].append(shorten_code(item[1].strip("\n")))
        else:
            _, kind, title, text = item
            opening = f":::{kind} {title}".rstrip()
            sections[-1][2].append(f"{opening}\n{shorten_code(text.strip(chr(10)))}\n:::")
    chunks = []
    seen: dict[str, int] = {}
    for section, anchor, parts in sections:
        body = "\n\n".join(p for p in parts if p.strip())
        if not _has_words(body):
            continue
        head = f"# {lesson.title}" + (f"\n## {section}" if section else "")
        seen[anchor] = seen.get(anchor, 0) + 1
        key = f"lesson:{lesson.id}#{anchor}" + ("" if seen[anchor] == 1 else f"~{seen[anchor]}")
        url = lesson_url(lesson.id, anchor)
        for i, part in enumerate(split_parts(body)):
            part_id = key if i == 0 else f"{key}@{i + 1}"
            chunks.append(
                _chunk(
                    part_id,
                    "lesson",
                    lesson.track,
                    lesson.title,
                    section,
                    anchor,
                    url,
                    f"{head}\n\n{part}",
                )
            )
    return chunks


def group_of(chunk_id: str) -> str:
    """The section a chunk belongs to: parts of one long section share it."""
    return chunk_id.split("@", 1)[0]


def _words(text: str) -> int:
    return len(text.split())


def _units(body: str) -> list[str]:
    """Paragraphs (blank-line separated, code blocks whole); a paragraph over PART_WORDS is cut
    at line boundaries (tables, lists)."""
    paragraphs: list[list[str]] = [[]]
    in_fence = False
    for line in body.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        if not line.strip() and not in_fence:
            if paragraphs[-1]:
                paragraphs.append([])
            continue
        paragraphs[-1].append(line)
    units: list[str] = []
    for lines in paragraphs:
        if not lines:
            continue
        if _words(" ".join(lines)) <= PART_WORDS:
            units.append("\n".join(lines))
            continue
        run: list[str] = []
        for line in lines:
            if run and _words(" ".join(run + [line])) > PART_WORDS:
                units.append("\n".join(run))
                run = []
            run.append(line)
        if run:
            units.append("\n".join(run))
    return units


def split_parts(body: str) -> list[str]:
    """The body in parts of about PART_WORDS words, never ending on a tiny remainder."""
    parts: list[list[str]] = []
    size = 0
    for unit in _units(body):
        n = _words(unit)
        if parts and size + n <= PART_WORDS:
            parts[-1].append(unit)
            size += n
        else:
            parts.append([unit])
            size = n
    if len(parts) > 1 and _words(" ".join(parts[-1])) < MIN_PART_WORDS:
        last = parts.pop()
        parts[-1] += last
    return ["\n\n".join(p) for p in parts] or [body]


def _has_words(markdown: str) -> bool:
    return any(ch.isalnum() for ch in markdown)


# --------------------------------------------------------------------------- questions


def _stem(question) -> str:
    stem = question.stem.replace(_BLANK, "_____")
    if question.stem_format in ("html", "moodle"):
        stem = html.unescape(_TAG.sub(" ", stem))
    return stem.strip()


def question_chunk(bank_question, domain_title: str = "") -> Chunk:
    """A practice question as one chunk: stem, choices and key, explanation."""
    q = bank_question.question
    stem = _stem(q)
    title = q.title.strip() or _short(plain_text(stem), 90)
    parts = [stem, "\n".join(q.search_lines())]
    if (q.explanation or "").strip():
        parts.append(f"Explanation: {q.explanation.strip()}")
    return _chunk(
        f"question:{q.id}",
        "question",
        bank_question.track,
        title,
        domain_title,
        "",
        f"/practice?question={q.id}",
        "\n\n".join(p for p in parts if p),
    )


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"


# --------------------------------------------------------------------------- labs


def lab_chunks(lab) -> list[Chunk]:
    """A lab's instructions.md by `##` heading (the `#` title line left out), and its steps."""
    title = lab.spec.title
    sections: list[tuple[str, str, list[str]]] = [("", "", [])]
    in_fence = False
    for raw in resolve_links(lab.instructions).split("\n"):
        if _FENCE.match(raw):
            in_fence = not in_fence
        h = None if in_fence else _HEADING.match(raw)
        if h and len(h.group(1)) == 1:
            continue
        if h and len(h.group(1)) == 2:
            sections.append((h.group(2), slugify(h.group(2)), []))
            continue
        sections[-1][2].append(raw)
    steps = "\n".join(
        f"{i}. **{s.title}.** {' '.join(s.instructions.split())}"
        for i, s in enumerate(lab.spec.steps, 1)
    )
    sections.append(("Steps", "steps", [steps]))
    chunks = []
    seen: dict[str, int] = {}
    for section, anchor, lines in sections:
        body = shorten_code("\n".join(lines).strip("\n"))
        if not _has_words(body):
            continue
        seen[anchor] = seen.get(anchor, 0) + 1
        key = f"lab:{lab.id}#{anchor}" + ("" if seen[anchor] == 1 else f"~{seen[anchor]}")
        head = f"# {title}" + (f"\n## {section}" if section else "")
        for i, part in enumerate(split_parts(body)):
            part_id = key if i == 0 else f"{key}@{i + 1}"
            chunks.append(
                _chunk(
                    part_id,
                    "lab",
                    lab.spec.track,
                    title,
                    section,
                    anchor,
                    f"/labs?lab={lab.id}",
                    f"{head}\n\n{part}",
                )
            )
    return chunks


# --------------------------------------------------------------------------- all


def collect(course, bank=None, labs=None) -> list[Chunk]:
    """Every chunk of the course, in reading order: lessons, practice questions, labs.

    `bank` is a quiz Bank (exam-only questions are never collected); `labs` a Labs or a list
    of Lab. Both are optional."""
    chunks: list[Chunk] = []
    for lesson in course.lessons():
        chunks += lesson_chunks(lesson)
    if bank is not None:
        vocabulary = getattr(bank, "vocabulary", None)
        for q in bank.practice():
            if q.question.exam_only:  # never: they stay inside exams (practice() says so too)
                continue
            domain = q.question.domain or ""
            title = vocabulary.domain_title(q.track, domain) if vocabulary and domain else domain
            chunks.append(question_chunk(q, title))
    if labs is not None:
        for lab in getattr(labs, "labs", labs):
            chunks += lab_chunks(lab)
    return chunks


# --------------------------------------------------------------------------- plain text


_DROP_LINES = re.compile(r"^[ \t]*(?:```|~~~).*$|^[ \t]*\|?[ \t:|-]+\|[ \t:|-]*$", re.MULTILINE)
_HEADING_LINE = re.compile(r"^#{1,3}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
_ADMONITION_LINE = re.compile(r"^:::[ \t]*([A-Za-z-]*)[ \t]*(.*?)[ \t]*$", re.MULTILINE)
_TABLE_LINE = re.compile(r"^.*\|.*$", re.MULTILINE)


def _admonition_line(m: re.Match) -> str:
    kind, title = m.group(1).capitalize(), m.group(2)
    return f"{kind}: {title}" if kind and title else kind


def _table_line(m: re.Match) -> str:
    return " · ".join(c.strip() for c in m.group(0).strip().strip("|").split("|"))


def plain_text(markdown: str) -> str:
    """Markdown as a reader hears it: no markers, links as their text, one line per line.
    (Whole-text substitutions: this runs for every chunk whenever an index loads.)"""
    text = _DROP_LINES.sub("", markdown)
    text = _HEADING_LINE.sub(r"\1", text)
    text = _ADMONITION_LINE.sub(_admonition_line, text)
    text = _EMPHASIS.sub("", _LINK.sub(r"\1", text))
    if "|" in text:
        text = _TABLE_LINE.sub(_table_line, text)
    return "\n".join(line.strip() for line in text.split("\n") if line.strip())


def embed_text(chunk: Chunk) -> str:
    """What the model encodes and the keyword index counts: the chunk's plain text, headings
    first (see EMBED_FORMAT)."""
    return plain_text(chunk.text)
