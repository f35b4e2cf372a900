"""Exam guides as data (quizzes/guides/*.yaml): a real exam's domains, weights and task
statements, and the `covers:` references that lessons and questions make to them.

A guide's id is its file name (`dop-c02.yaml` -> `dop-c02`); a task statement's id is the guide
id, a slash and the task's number (`dop-c02/1.4`), the issuer's numbering where it has one. Each
guide names the exam profile of quizzes/exams/ that copies the same exam, and each of its domains
the profile domain that draws its questions (by title), so coverage can say whether the bank
fills that profile.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from triops.content.loader import ParseCache, ParsedFile, shared_cache
from triops.content.models import Course, Strict
from triops.content.problems import Problem, display_path, error, warning
from triops.content.yamlsource import YamlDoc, YamlSyntaxError, parse_yaml, validate_model
from triops.quiz.bank import Bank
from triops.quiz.blueprint import EXAM_FILE, Exam, Exams

TASK_NUMBER = re.compile(r"^[0-9]+\.[0-9]+$")


class Task(Strict):
    """One task statement (AWS), sub-section (Google) or objective (Databricks)."""

    id: str  # the number within the guide: "1.4"
    title: str = Field(min_length=1)  # in Triops's own words, short
    summary: str = ""  # what the task asks, in Triops's own words
    # Whether this task's wording was read on the issuer's own page; None: as its domain says.
    verified: bool | None = None

    @field_validator("id")
    @classmethod
    def _number(cls, value: str) -> str:
        if not TASK_NUMBER.match(value):
            raise ValueError(f"'{value}' is not a task number such as 1.4 (write it in quotes)")
        return value


class Verified(Strict):
    """What was read on the issuer's own page on the day the guide was checked."""

    weight: bool
    tasks: bool


class GuideDomain(Strict):
    """A domain (AWS), section (Google, Databricks) of the guide."""

    number: int = Field(ge=1)
    title: str = Field(min_length=1)
    weight: float = Field(gt=0, le=100)
    # The title of the exam profile's domain that draws this domain's questions (default: title).
    profile_domain: str | None = None
    verified: Verified
    tasks: list[Task] = Field(min_length=1)

    @property
    def profile_title(self) -> str:
        return self.profile_domain or self.title


class GuideSource(Strict):
    """The issuer's page and the edition of the guide it shows."""

    title: str = Field(min_length=1)
    url: str = Field(pattern=r"^https://")
    version: str = Field(min_length=1)  # the edition, as the issuer names it
    checked: date  # the day someone read the page


class GuideFile(Strict):
    title: str = Field(min_length=1)
    exam: str = Field(min_length=1)  # the issuer's exam code or name
    issuer: str = Field(min_length=1)
    track: Literal["triad", "devops", "mlops", "llmops"]
    profile: str = Field(min_length=1)  # an exam profile id of quizzes/exams/
    source: GuideSource
    # Where each fact that could not be read on the issuer's page came from.
    notes: list[str] = Field(default_factory=list)
    domains: list[GuideDomain] = Field(min_length=1)


@dataclass(frozen=True)
class GuideTask:
    """A task statement with its full id and where it is written."""

    id: str  # "dop-c02/1.4"
    number: str  # "1.4"
    title: str
    summary: str
    verified: bool
    line: int

    @property
    def label(self) -> str:
        return f"{self.number} {self.title}"


@dataclass(frozen=True)
class Domain:
    number: int
    title: str
    weight: float
    profile_title: str
    weight_verified: bool
    tasks: tuple[GuideTask, ...]
    line: int  # of `profile_domain`, or of `title` when it names the profile domain
    weight_line: int


@dataclass(frozen=True)
class Guide:
    id: str
    path: str
    spec: GuideFile
    domains: tuple[Domain, ...]
    profile_line: int = 1

    @property
    def title(self) -> str:
        return self.spec.title

    @property
    def track(self) -> str:
        return self.spec.track

    def tasks(self) -> list[GuideTask]:
        return [t for d in self.domains for t in d.tasks]


@dataclass
class Guides:
    guides: list[Guide] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def get(self, guide_id: str) -> Guide | None:
        return next((g for g in self.guides if g.id == guide_id), None)

    def tasks(self) -> dict[str, tuple[Guide, GuideTask]]:
        """Every task statement by its full id."""
        return {t.id: (g, t) for g in self.guides for t in g.tasks()}


def parse_guide_file(path: Path, root: Path) -> ParsedFile:
    """One guide: its model, its tasks with their lines, and every problem at its line."""
    shown = display_path(path, root)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return ParsedFile(None, [error(shown, 1, f"cannot read file: {exc}")])
    try:
        doc = parse_yaml(text)
    except YamlSyntaxError as exc:
        return ParsedFile(None, [error(shown, exc.line, exc.message)])
    spec, problems = validate_model(GuideFile, doc, shown)
    problems = [_plain(p) for p in problems]
    if spec is None:
        return ParsedFile(None, problems)
    problems = _check_guide(spec, doc, shown)
    if any(p.severity == "error" for p in problems):
        return ParsedFile(None, problems)
    guide_id = path.stem
    domains = tuple(
        Domain(
            number=d.number,
            title=d.title,
            weight=d.weight,
            profile_title=d.profile_title,
            weight_verified=d.verified.weight,
            tasks=tuple(
                GuideTask(
                    id=f"{guide_id}/{t.id}",
                    number=t.id,
                    title=t.title,
                    summary=t.summary,
                    verified=d.verified.tasks if t.verified is None else t.verified,
                    line=doc.line_of(("domains", i, "tasks", j)),
                )
                for j, t in enumerate(d.tasks)
            ),
            line=doc.line_of(("domains", i, "profile_domain" if d.profile_domain else "title")),
            weight_line=doc.line_of(("domains", i, "weight")),
        )
        for i, d in enumerate(spec.domains)
    )
    guide = Guide(guide_id, shown, spec, domains, doc.line_of(("profile",)))
    return ParsedFile(guide, problems)


def _plain(p: Problem) -> Problem:
    return Problem(p.path, p.line, p.severity, p.message.replace("Value error, ", ""))


def _check_guide(spec: GuideFile, doc: YamlDoc, path: str) -> list[Problem]:
    """Rules across fields: weights that add up to 100, numbers that agree, no repeats."""
    out: list[Problem] = []
    total = sum(Fraction(str(d.weight)) for d in spec.domains)
    if total != 100:
        out.append(
            error(
                path,
                doc.line_of(("domains",)),
                f"domain weights are percentages and must add up to 100, not {float(total):g}",
            )
        )
    if not spec.notes:
        for i, d in enumerate(spec.domains):
            unverified = not d.verified.weight or not d.verified.tasks
            if unverified or any(t.verified is False for t in d.tasks):
                out.append(
                    error(
                        path,
                        doc.line_of(("domains", i, "verified")),
                        f"domain {d.number} is marked unverified: say in `notes` where its "
                        "weight or tasks came from",
                    )
                )
                break
    numbers: set[int] = set()
    seen: dict[str, int] = {}
    for i, d in enumerate(spec.domains):
        if d.number in numbers:
            out.append(
                error(path, doc.line_of(("domains", i, "number")), f"domain {d.number} repeats")
            )
        numbers.add(d.number)
        for j, t in enumerate(d.tasks):
            line = doc.line_of(("domains", i, "tasks", j, "id"))
            if t.id.split(".")[0] != str(d.number):
                out.append(error(path, line, f"task {t.id} is listed under domain {d.number}"))
            if t.id in seen:
                out.append(error(path, line, f"task {t.id} repeats the task on line {seen[t.id]}"))
            seen.setdefault(t.id, line)
    return out


def load_guides(root: Path, exams: Exams | None = None, cache: ParseCache | None = None) -> Guides:
    """Every guide under quizzes/guides; with the exam profiles, check each guide's link."""
    cache = cache if cache is not None else shared_cache(root)
    folder = root / "quizzes" / "guides"
    result = Guides()
    if not folder.is_dir():
        return result
    for path in sorted(folder.glob("*.y*ml")):
        shown = f"quizzes/guides/{path.name}"
        if not EXAM_FILE.match(path.name):
            result.problems.append(
                error(shown, 1, "guide file names are kebab-case: the name is the guide's id")
            )
            continue
        parsed = cache.get(path, lambda p: parse_guide_file(p, root))
        result.problems += parsed.problems
        if parsed.value is None:
            continue
        guide: Guide = parsed.value  # type: ignore[assignment]
        if exams is not None:
            result.problems += profile_problems(guide, exams)
        result.guides.append(guide)
    return result


def profile_problems(guide: Guide, exams: Exams) -> list[Problem]:
    """The guide's exam profile exists, is of its track, and has each of its domains."""
    exam = exams.get(guide.spec.profile)
    if exam is None:
        known = ", ".join(e.id for e in exams.exams) or "none"
        return [
            error(
                guide.path,
                guide.profile_line,
                f"profile '{guide.spec.profile}' is not an exam profile in quizzes/exams/ "
                f"(profiles: {known})",
            )
        ]
    bp = exam.blueprint
    out: list[Problem] = []
    if guide.track not in bp.tracks:
        out.append(
            error(
                guide.path,
                guide.profile_line,
                f"profile '{exam.id}' draws from {', '.join(bp.tracks)}, "
                f"not from this guide's track {guide.track}",
            )
        )
    by_title = {d.title: d for d in bp.domains if d.title is not None}
    for d in guide.domains:
        drawn = by_title.get(d.profile_title)
        if drawn is None:
            out.append(
                error(
                    guide.path,
                    d.line,
                    f"domain {d.number}: profile '{exam.id}' has no domain titled "
                    f"'{d.profile_title}' (its domains: {', '.join(by_title) or 'none titled'}); "
                    "set profile_domain to one of them",
                )
            )
        elif drawn.weight is not None and Fraction(str(drawn.weight)) != Fraction(str(d.weight)):
            out.append(
                warning(
                    guide.path,
                    d.weight_line,
                    f"domain {d.number} weighs {d.weight:g} % here but {drawn.weight:g} % in "
                    f"profile '{exam.id}'",
                )
            )
    return out


def profile_of(guide: Guide, exams: Exams) -> Exam | None:
    return exams.get(guide.spec.profile)


# --- covers: references from lessons and questions ------------------------------------------


def _unknown(task_id: str, guides: Guides) -> str:
    guide_id = task_id.split("/")[0] if "/" in task_id else ""
    guide = guides.get(guide_id)
    if guide is not None:
        numbers = ", ".join(t.number for t in guide.tasks())
        return f"covers: guide '{guide_id}' has no task '{task_id}' (its tasks: {numbers})"
    ids = ", ".join(g.id for g in guides.guides) or "none"
    return (
        f"covers: unknown task '{task_id}': write <guide>/<task number> with a guide of "
        f"quizzes/guides/ (guides: {ids})"
    )


def covers_problems(guides: Guides, course: Course, bank: Bank) -> list[Problem]:
    """An error for every `covers` entry that names no task statement, names a section the
    lesson does not have, or (on a question) names a task of another track's guide."""
    tasks = guides.tasks()
    out: list[Problem] = []
    for lesson in course.lessons():
        headings = {h.anchor for h in lesson.headings}
        for anchor, task_ids in lesson.meta.covers.items():
            key = f"covers.{anchor}"
            if anchor not in headings:
                sections = ", ".join(f"#{h.anchor}" for h in lesson.headings) or "none"
                out.append(
                    error(
                        lesson.path,
                        lesson.meta_lines.get(key, 1),
                        f"covers: no section '#{anchor}' in this lesson (its sections: {sections})",
                    )
                )
            for i, task_id in enumerate(task_ids):
                if task_id not in tasks:
                    line = lesson.meta_lines.get(f"{key}[{i}]", lesson.meta_lines.get(key, 1))
                    out.append(error(lesson.path, line, _unknown(task_id, guides)))
    by_track: dict[str, list[str]] = {}
    for g in guides.guides:
        by_track.setdefault(g.track, []).append(g.id)
    for q in bank.questions:
        for i, task_id in enumerate(q.question.covers):
            line = q.covers_lines[i] if i < len(q.covers_lines) else q.line
            found = tasks.get(task_id)
            if found is None:
                out.append(error(q.path, line, f"question '{q.id}': {_unknown(task_id, guides)}"))
            elif found[0].track != q.track:
                own = ", ".join(by_track.get(q.track, [])) or "none"
                out.append(
                    error(
                        q.path,
                        line,
                        f"question '{q.id}': covers '{task_id}', a task of the "
                        f"{found[0].track} guide '{found[0].id}'; a {q.track} question covers "
                        f"tasks of {q.track} guides only ({own})",
                    )
                )
    return out
