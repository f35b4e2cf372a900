"""Exam coverage: which task statements of a guide the course teaches and the bank tests, and
whether the bank can fill the guide's exam profile twice without reusing a question.

Pure functions over a loaded course, bank, exam profiles and guides; `triops coverage` prints
`format_coverage`, and Instructor › Exam coverage draws the same figures.

The measures, per task statement:
- lesson sections: the sections (lesson and heading anchor) whose `covers:` names the task;
- practice questions: questions that name it and may be shown in practice (not `exam_only`);
- exam questions: questions that name it and that the guide's exam profile can draw (in the
  exam pool of a course domain the profile draws from, of the profile's item types).
A task is covered by lessons with one section, and by questions with `MINIMUM` practice and
`MINIMUM` exam questions (a question in both pools counts in both). Per domain, the profile
domain "fills twice" when its pool holds at least twice what one attempt draws (scored and
pilot questions), so two attempts in a row need not repeat a question.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from triops.content.loader import load_course
from triops.content.markdown import lesson_url
from triops.content.models import Course
from triops.content.problems import Problem
from triops.errors import InvalidInputError
from triops.quiz.bank import Bank, load_bank
from triops.quiz.blueprint import Exam, Exams, load_exams
from triops.quiz.guides import Guide, Guides, GuideTask, covers_problems, load_guides

MINIMUM = 3  # practice questions, and exam questions, a task needs


@dataclass(frozen=True)
class SectionRef:
    """A lesson section that teaches a task."""

    lesson_id: str
    lesson_title: str
    anchor: str
    heading: str

    @property
    def url(self) -> str:
        return lesson_url(self.lesson_id, self.anchor)

    @property
    def label(self) -> str:
        return f"{self.lesson_title} › {self.heading}"


@dataclass(frozen=True)
class TaskCoverage:
    task: GuideTask
    sections: tuple[SectionRef, ...]
    practice: tuple[str, ...]  # question ids
    exam: tuple[str, ...]

    @property
    def by_lesson(self) -> bool:
        return bool(self.sections)

    @property
    def by_questions(self) -> bool:
        return len(self.practice) >= MINIMUM and len(self.exam) >= MINIMUM

    @property
    def gaps(self) -> list[str]:
        """What the task still lacks, in words; empty when fully covered."""
        out = []
        if not self.sections:
            out.append("no lesson section")
        if len(self.practice) < MINIMUM:
            out.append(f"{len(self.practice)} of {MINIMUM} practice questions")
        if len(self.exam) < MINIMUM:
            out.append(f"{len(self.exam)} of {MINIMUM} exam questions")
        return out


@dataclass(frozen=True)
class Fill:
    """Whether the profile domain behind a guide domain can be drawn twice without reuse."""

    profile_domain: str
    per_attempt: int  # scored plus pilot questions one attempt draws
    pool: int  # questions the domain may draw

    @property
    def twice(self) -> bool:
        return self.pool >= 2 * self.per_attempt

    @property
    def short(self) -> int:
        """Questions missing for two attempts without reuse."""
        return max(0, 2 * self.per_attempt - self.pool)


@dataclass(frozen=True)
class DomainCoverage:
    number: int
    title: str
    weight: float
    tasks: tuple[TaskCoverage, ...]
    fill: Fill | None  # None when the profile is missing or has no such domain

    @property
    def by_lesson(self) -> int:
        return sum(1 for t in self.tasks if t.by_lesson)

    @property
    def by_questions(self) -> int:
        return sum(1 for t in self.tasks if t.by_questions)


@dataclass(frozen=True)
class GuideCoverage:
    guide: Guide
    profile: str  # the exam profile's id
    profile_found: bool
    domains: tuple[DomainCoverage, ...]

    @property
    def tasks(self) -> list[TaskCoverage]:
        return [t for d in self.domains for t in d.tasks]

    @property
    def by_lesson(self) -> int:
        return sum(d.by_lesson for d in self.domains)

    @property
    def by_questions(self) -> int:
        return sum(d.by_questions for d in self.domains)

    @property
    def fills_twice(self) -> int:
        return sum(1 for d in self.domains if d.fill is not None and d.fill.twice)


def _sections(guide: Guide, course: Course) -> dict[str, list[SectionRef]]:
    """Task id -> the lesson sections that name it, in reading order."""
    own = {t.id for t in guide.tasks()}
    out: dict[str, list[SectionRef]] = {}
    for lesson in course.lessons():
        headings = {h.anchor: h.text for h in lesson.headings}
        for anchor, task_ids in lesson.meta.covers.items():
            if anchor not in headings:
                continue  # reported by covers_problems; a missing section teaches nothing
            ref = SectionRef(lesson.id, lesson.title, anchor, headings[anchor])
            for task_id in dict.fromkeys(task_ids):
                if task_id in own:
                    out.setdefault(task_id, []).append(ref)
    return out


def guide_coverage(guide: Guide, course: Course, bank: Bank, exam: Exam | None) -> GuideCoverage:
    """Every measure for one guide (see the module's docstring)."""
    sections = _sections(guide, course)
    own = {t.id for t in guide.tasks()}
    if exam is not None:
        drawable = {q.id for pool in exam.blueprint.pools(bank).values() for q in pool}
    else:
        drawable = {q.id for pool in bank.exam_pools().values() for q in pool}
    practice: dict[str, list[str]] = {}
    in_exam: dict[str, list[str]] = {}
    for q in bank.questions:
        if q.track != guide.track:
            continue  # reported by covers_problems
        for task_id in dict.fromkeys(q.question.covers):
            if task_id not in own:
                continue
            if not q.question.exam_only:
                practice.setdefault(task_id, []).append(q.id)
            if q.id in drawable:
                in_exam.setdefault(task_id, []).append(q.id)
    fills = _fills(exam, bank)
    domains = tuple(
        DomainCoverage(
            number=d.number,
            title=d.title,
            weight=d.weight,
            tasks=tuple(
                TaskCoverage(
                    t,
                    tuple(sections.get(t.id, [])),
                    tuple(practice.get(t.id, [])),
                    tuple(in_exam.get(t.id, [])),
                )
                for t in d.tasks
            ),
            fill=fills.get(d.profile_title),
        )
        for d in guide.domains
    )
    return GuideCoverage(guide, guide.spec.profile, exam is not None, domains)


def _fills(exam: Exam | None, bank: Bank) -> dict[str, Fill]:
    """Profile domain title -> what one attempt draws from it and what its pool holds."""
    if exam is None:
        return {}
    bp = exam.blueprint
    pools, counts, pilot = bp.pools(bank), bp.counts(), bp.pilot_counts()
    return {
        d.title: Fill(d.title, counts[d.key] + pilot[d.key], len(pools[d.key]))
        for d in bp.domains
        if d.title is not None
    }


def coverage(
    guides: Guides, course: Course, bank: Bank, exams: Exams, guide_id: str | None = None
) -> list[GuideCoverage]:
    """Coverage of every guide, or of one."""
    chosen = [g for g in guides.guides if guide_id is None or g.id == guide_id]
    return [guide_coverage(g, course, bank, exams.get(g.spec.profile)) for g in chosen]


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} ({round(100 * part / whole) if whole else 0} %)"


def format_coverage(cov: GuideCoverage) -> str:
    """The plain-text report of one guide: totals, then each domain with its gaps by name."""
    g = cov.guide
    n = len(cov.tasks)
    name = g.title if g.spec.exam in g.title else f"{g.title} ({g.spec.exam})"
    lines = [
        f"{g.id}: {name} ({g.spec.source.version}; checked {g.spec.source.checked:%Y-%m-%d})",
        f"  task statements: {n}  covered by a lesson section: {_share(cov.by_lesson, n)}  "
        f"with {MINIMUM}+ practice and {MINIMUM}+ exam questions: {_share(cov.by_questions, n)}",
    ]
    if cov.profile_found:
        lines.append(
            f"  profile {cov.profile}: {cov.fills_twice} of {len(cov.domains)} domains can "
            "fill two attempts without reusing a question"
        )
    else:
        lines.append(f"  profile {cov.profile}: not found in quizzes/exams/, no fill check")
    for d in cov.domains:
        lines.append("")
        lines.append(
            f"  {d.number} {d.title} ({d.weight:g} %): {len(d.tasks)} tasks, "
            f"lesson {d.by_lesson}/{len(d.tasks)}, questions {d.by_questions}/{len(d.tasks)}"
        )
        if d.fill is None:
            lines.append("    fill: no profile domain to check")
        else:
            verdict = "fills twice" if d.fill.twice else f"short by {d.fill.short}"
            lines.append(
                f"    fill: pool {d.fill.pool}, one attempt draws {d.fill.per_attempt}, "
                f"two need {2 * d.fill.per_attempt}: {verdict}"
            )
        gaps = [t for t in d.tasks if t.gaps]
        if not gaps:
            lines.append("    gaps: none")
            continue
        lines.append("    gaps:")
        for t in gaps:
            lines.append(f"      {t.task.label}: {'; '.join(t.gaps)}")
    return "\n".join(lines)


def report(root: Path, guide_id: str | None = None) -> tuple[str, list[Problem]]:
    """`triops coverage`: the report of every guide (or one) under `root`, and the problems in
    guides and covers references. An unknown guide id is an InvalidInputError."""
    course = load_course(root)
    bank = load_bank(root, {lesson.id for lesson in course.lessons()})
    exams = load_exams(root, bank)
    guides = load_guides(root, exams)
    if guide_id is not None and guides.get(guide_id) is None:
        known = ", ".join(g.id for g in guides.guides) or "none"
        raise InvalidInputError(f"no guide '{guide_id}' in quizzes/guides/ (guides: {known})")
    problems = sorted(set(guides.problems) | set(covers_problems(guides, course, bank)))
    texts = [format_coverage(c) for c in coverage(guides, course, bank, exams, guide_id)]
    return "\n\n".join(texts) if texts else "no exam guides in quizzes/guides/", problems
