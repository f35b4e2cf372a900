"""Lesson bodies: admonition blocks, headings with stable anchors, and `lesson:` links.

A lesson's self-check answers (an admonition titled "Answers" in its "## Check yourself"
section, see content/README.md) are a plan item of their own, so the Learn page can hide each
answer behind a reveal and search and Ask can leave them out."""

from __future__ import annotations

import re

from triops.content.models import Block, Heading, LessonLink
from triops.content.problems import Problem, error

ADMONITION_KINDS = ("note", "tip", "warning", "example")
_OPEN = re.compile(r"^:::\s*([A-Za-z-]+)\s*(.*?)\s*$")
_CLOSE = re.compile(r"^:::\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{2,3})\s+(.+?)\s*#*\s*$")
_LINK = re.compile(r"\[([^\]]*)\]\(lesson:([^)#\s]*)(?:#([^)\s]*))?\)")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’.-]*")
_ITEM = re.compile(r"^(\d+)[.)]\s+(.*)$")

CHECK_YOURSELF = "check-yourself"  # the anchor of a lesson's self-check section
ANSWERS_TITLE = "answers"  # the title of the admonition holding its answers


def slugify(text: str) -> str:
    """The stable anchor of a heading: lower case, runs of non-alphanumerics become one dash."""
    text = re.sub(r"[`*_]", "", text)
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def parse_body(
    body: str, path: str, first_line: int
) -> tuple[list[Block], list[Heading], list[LessonLink], list[Problem]]:
    """Split a lesson body into blocks; collect headings and links. Lines are file lines."""
    blocks: list[Block] = []
    headings: list[Heading] = []
    links: list[LessonLink] = []
    problems: list[Problem] = []

    buf: list[str] = []
    buf_line = first_line
    open_kind: str | None = None
    open_title = ""
    open_line = 0
    in_fence = False

    def flush(kind: str, title: str = "", line: int = 0) -> None:
        nonlocal buf
        text = "\n".join(buf).strip("\n")
        if text.strip() or kind != "markdown":
            blocks.append(Block(kind=kind, text=text, line=line, title=title))
        buf = []

    for offset, raw in enumerate(body.split("\n")):
        lineno = first_line + offset
        if _FENCE.match(raw):
            in_fence = not in_fence
            buf.append(raw)
            continue
        if in_fence:
            buf.append(raw)
            continue
        if open_kind is None:
            m = _OPEN.match(raw)
            if m and not _CLOSE.match(raw):
                kind = m.group(1).lower()
                if kind not in ADMONITION_KINDS:
                    problems.append(
                        error(
                            path,
                            lineno,
                            f"unknown admonition kind '{kind}' "
                            f"(use one of: {', '.join(ADMONITION_KINDS)})",
                        )
                    )
                flush("markdown", line=buf_line)
                open_kind, open_title, open_line = kind, m.group(2), lineno
                continue
            if _CLOSE.match(raw):
                problems.append(error(path, lineno, "':::' closes no open admonition"))
                continue
        else:
            if _CLOSE.match(raw):
                flush(open_kind, open_title, open_line)
                open_kind = None
                buf_line = lineno + 1
                continue
            if _OPEN.match(raw):
                problems.append(
                    error(
                        path,
                        lineno,
                        f"admonition opened at line {open_line} is not closed "
                        "before another opens (admonitions do not nest)",
                    )
                )
        h = _HEADING.match(raw)
        if h and open_kind is None:
            text = h.group(2)
            headings.append(Heading(len(h.group(1)), text, slugify(text), lineno))
        for link in _LINK.finditer(raw):
            links.append(LessonLink(link.group(2), link.group(3) or "", lineno))
        if not buf and open_kind is None:
            buf_line = lineno
        buf.append(raw)

    if open_kind is not None:
        problems.append(error(path, open_line, f"admonition '{open_kind}' is never closed"))
        flush(open_kind, open_title, open_line)
    else:
        flush("markdown", line=buf_line)
    blocks = [b for b in blocks if b.kind in ADMONITION_KINDS or b.kind == "markdown"]
    return blocks, headings, links, problems


def count_words(body: str) -> int:
    """Words of prose, leaving out code blocks and admonition markers."""
    words = 0
    in_fence = False
    for raw in body.split("\n"):
        if _FENCE.match(raw):
            in_fence = not in_fence
            continue
        if in_fence or raw.startswith(":::"):
            continue
        words += len(_WORD.findall(raw))
    return words


def lesson_url(lesson_id: str, anchor: str = "") -> str:
    """The stable address of a lesson or one of its sections."""
    return f"/learn?lesson={lesson_id}" + (f"#{anchor}" if anchor else "")


def resolve_links(text: str) -> str:
    """Turn `lesson:` links into the app's stable lesson URLs."""
    return _LINK.sub(lambda m: f"[{m.group(1)}]({lesson_url(m.group(2), m.group(3) or '')})", text)


def answer_items(text: str) -> tuple[tuple[str, str], ...]:
    """The numbered answers of an "Answers" admonition as (number, markdown) pairs; an
    unnumbered body is one pair with an empty number. A line that does not start a new number
    continues the answer before it."""
    items: list[list[str]] = []
    lead: list[str] = []
    for raw in text.split("\n"):
        m = _ITEM.match(raw)
        if m:
            items.append([m.group(1), m.group(2)])
        elif items:
            items[-1][1] += "\n" + raw
        else:
            lead.append(raw)
    if not items or "".join(lead).strip():
        return (("", text.strip("\n")),)
    return tuple((n, _dedent(body).strip("\n")) for n, body in items)


def _dedent(text: str) -> str:
    """An answer's continuation lines without the indent that lined them up under the number."""
    first, _, rest = text.partition("\n")
    lines = rest.split("\n") if rest else []
    widths = [len(ln) - len(ln.lstrip(" ")) for ln in lines if ln.strip()]
    cut = min(widths) if widths else 0
    return "\n".join([first] + [ln[cut:] for ln in lines])


def render_plan(blocks: tuple[Block, ...] | list[Block]) -> list[tuple]:
    """What a page draws, in order: ("heading", level, text, anchor), ("markdown", text),
    ("admonition", kind, title, text) or, for the self-check answers, ("answers", title,
    ((number, text), ...)). Lesson links are already turned into URLs."""
    plan: list[tuple] = []
    section = ""  # the anchor of the current `##` section
    for block in blocks:
        if block.kind != "markdown":
            text = resolve_links(block.text)
            if section == CHECK_YOURSELF and block.title.strip().lower() == ANSWERS_TITLE:
                plan.append(("answers", block.title, answer_items(text)))
            else:
                plan.append(("admonition", block.kind, block.title, text))
            continue
        buf: list[str] = []
        in_fence = False
        for raw in block.text.split("\n"):
            if _FENCE.match(raw):
                in_fence = not in_fence
            h = None if in_fence else _HEADING.match(raw)
            if h:
                if "".join(buf).strip():
                    plan.append(("markdown", resolve_links("\n".join(buf))))
                buf = []
                text = h.group(2)
                anchor = slugify(text)
                if len(h.group(1)) == 2:
                    section = anchor
                plan.append(("heading", str(len(h.group(1))), text, anchor))
            else:
                buf.append(raw)
        if "".join(buf).strip():
            plan.append(("markdown", resolve_links("\n".join(buf))))
    return plan


def self_check_answers(blocks: tuple[Block, ...] | list[Block]) -> list[str]:
    """The text of each answer in a lesson's self-check answers, in order (links resolved)."""
    return [text for item in render_plan(blocks) if item[0] == "answers" for _, text in item[2]]
