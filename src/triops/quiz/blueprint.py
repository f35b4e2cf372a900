"""Exam blueprints (quizzes/exams/*.yaml): what an exam draws, how long it runs, how it ends,
how it scores and how it reports.

A blueprint's domains are either course domains (`domain: devops/integration-and-testing`) or
the domains of a real exam guide, each titled and drawing from one or more course domains
(`title: SDLC Automation`, `draws_from: [...]`). Checks that need the file's lines (weights that
do not add up to 100, a pass rule the scoring cannot express) live in `check_blueprint`, not in
the model: attempts store their blueprint, and one stored before a rule existed must still load.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from triops.content.loader import ParseCache, ParsedFile, shared_cache
from triops.content.models import Strict
from triops.content.problems import Problem, display_path, error, warning
from triops.content.yamlsource import YamlDoc, YamlSyntaxError, parse_yaml, validate_model
from triops.quiz import hooks
from triops.quiz.bank import Bank, BankQuestion
from triops.quiz.models import QUESTION_TYPES

EXAM_FILE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*\.ya?ml$")
COURSE_DOMAIN = r"^[a-z0-9-]+/[a-z0-9-]+$"
ItemType = Literal[QUESTION_TYPES]  # type: ignore[valid-type]


class DomainDraw(Strict):
    """One domain of the exam, with a count or a weight (percent): a course domain
    (`track/domain`), or a titled domain of a real exam guide that `draws_from` course domains."""

    domain: str | None = Field(default=None, pattern=COURSE_DOMAIN)
    title: str | None = Field(default=None, min_length=1)
    draws_from: list[str] | None = Field(default=None, min_length=1)
    count: int | None = Field(default=None, ge=1)
    weight: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one(self) -> DomainDraw:
        if (self.count is None) == (self.weight is None):
            raise ValueError("give either count or weight")
        if (self.domain is None) == (self.draws_from is None):
            raise ValueError(
                "give either domain (one course domain) or title with draws_from "
                "(the course domains a real exam's domain draws from)"
            )
        if self.draws_from is not None:
            if self.title is None:
                raise ValueError("a domain with draws_from needs a title")
            for d in self.draws_from:
                if not re.match(COURSE_DOMAIN, d):
                    raise ValueError(f"draws_from: '{d}' is not a `track/domain` id")
        return self

    @property
    def key(self) -> str:
        """What results group by: the course domain id, or the title of a real exam's domain."""
        return self.domain if self.domain is not None else self.title  # type: ignore[return-value]

    @property
    def course_domains(self) -> list[str]:
        """The `track/domain` ids this domain draws its questions from."""
        return [self.domain] if self.domain is not None else list(self.draws_from or [])

    @property
    def track(self) -> str:
        return self.course_domains[0].split("/")[0]

    @property
    def name(self) -> str:
        return self.course_domains[0].split("/")[1]


class Expiry(Strict):
    """What happens at the deadline: submit automatically, or allow a grace period to submit."""

    policy: Literal["auto-submit", "grace"] = "auto-submit"
    grace_minutes: int = Field(default=0, ge=0, le=120)

    @model_validator(mode="after")
    def _grace(self) -> Expiry:
        if self.policy == "grace" and self.grace_minutes < 1:
            raise ValueError("a grace policy needs grace_minutes of at least 1")
        return self


class Review(Strict):
    """What a candidate sees after submitting.

    `domains: verdict` shows per-domain results only as "meets" or "needs work", the way
    certification score reports do; `percent` also shows each domain's score."""

    score: bool = True
    domains: Literal["percent", "verdict"] = "percent"
    correctness: bool = True
    right_answer: bool = True
    explanation: bool = True
    feedback: bool = True

    @property
    def questions(self) -> bool:
        """Whether the results list the questions one by one."""
        return self.correctness or self.right_answer or self.explanation


class Scaled(Strict):
    """Scaled-score reporting: raw 0 % maps to `min`, the raw pass mark to `cut`, 100 % to `max`,
    linearly in between (two straight pieces)."""

    min: int = Field(ge=0)
    max: int
    cut: int

    @model_validator(mode="after")
    def _range(self) -> Scaled:
        if self.max <= self.min:
            raise ValueError(f"max ({self.max}) must be greater than min ({self.min})")
        if not self.min < self.cut < self.max:
            raise ValueError(
                f"cut ({self.cut}) must lie strictly between min ({self.min}) and max "
                f"({self.max}): at either end the scaled result and pass or fail would disagree"
            )
        return self

    def score(self, percent: float, pass_mark: float) -> int:
        """The scaled score of a raw percent; never on the wrong side of the cut."""
        p = max(0.0, min(100.0, percent))
        if p + 1e-9 >= pass_mark:  # the same tolerance as pass or fail (exam.meets)
            exact = self.cut + (p - pass_mark) / (100 - pass_mark) * (self.max - self.cut)
            return max(self.cut, min(self.max, round(exact)))
        exact = self.min + p / pass_mark * (self.cut - self.min)
        # Rounding must not lift a fail onto the cut.
        return max(self.min, min(self.cut - 1, round(exact)))

    def points_per_percent(self, percent: float, pass_mark: float) -> float:
        """The slope of the mapping at a raw percent: scaled points per raw percentage point."""
        if percent >= pass_mark:
            return (self.max - self.cut) / (100 - pass_mark)
        return (self.cut - self.min) / pass_mark


class TaskDraw(Strict):
    """The performance-based tasks of an exam (quizzes/tasks/): how many are drawn, from which
    pool, and what share of the score they carry."""

    weight: float = Field(gt=0, lt=100, description="percent of the exam score")
    count: int = Field(ge=1, le=20)
    # `track/id` of each task the exam may draw; without it, every task of the exam's tracks
    # whose course domain one of its domains draws from.
    ids: list[str] | None = Field(default=None, min_length=1)


class Source(Strict):
    """The real exam a profile is modelled on, and where its facts were read."""

    exam: str = Field(min_length=1)
    issuer: str = Field(min_length=1)
    url: str = Field(pattern=r"^https://")
    title: str = Field(min_length=1)
    checked: date
    # Where the pass rule comes from: the issuer's page, a third-party summary, or a study
    # target Triops chose because the issuer publishes none.
    pass_mark_basis: Literal["published", "third-party", "study-target"]
    note: str = ""


class Blueprint(Strict):
    title: str = Field(min_length=1)
    description: str = ""
    tracks: list[Literal["triad", "devops", "mlops", "llmops"]] = Field(min_length=1)
    time_limit_minutes: int = Field(ge=1, le=600)
    pass_mark: float = Field(ge=0, le=100, description="percent of the scored items")
    questions: int | None = Field(default=None, ge=1, le=500, description="scored items")
    domains: list[DomainDraw] = Field(min_length=1)
    pilot: int = Field(default=0, ge=0, le=200, description="unscored items, drawn in addition")
    multiple_response: Literal["partial", "all-or-nothing"] = "partial"
    item_types: list[ItemType] | None = Field(default=None, min_length=1)
    scaled: Scaled | None = None
    source: Source | None = None
    shuffle_questions: bool = True
    shuffle_options: bool = True
    expiry: Expiry = Field(default_factory=Expiry)
    attempts_allowed: int = Field(default=0, ge=0, description="0 means unlimited")
    review: Review = Field(default_factory=Review)
    # Labs a candidate must have passed (a passed check) before readiness calls them ready.
    labs: list[str] = Field(default_factory=list)
    # Hands-on tasks drawn after the questions, graded by their checks at submit.
    tasks: TaskDraw | None = None

    def task_pool(self, tasks) -> list:
        """The tasks (`triops.tasks.spec.Task`) this exam may draw, in a stable order."""
        if self.tasks is None:
            return []
        if self.tasks.ids is not None:
            by_key = {t.key: t for t in tasks}
            return [by_key[k] for k in self.tasks.ids if k in by_key]
        domains = {cd for d in self.domains for cd in d.course_domains}
        return sorted(
            (t for t in tasks if t.spec.track in self.tracks and t.spec.course_domain in domains),
            key=lambda t: t.key,
        )

    def _weights(self) -> list[Fraction]:
        if self.domains[0].count is not None:
            return [Fraction(d.count or 0) for d in self.domains]
        return [Fraction(str(d.weight)) for d in self.domains]

    def counts(self) -> dict[str, int]:
        """Scored questions per domain key; weights are apportioned by largest remainder."""
        if self.domains[0].count is not None:
            return {d.key: d.count for d in self.domains}  # type: ignore[misc]
        shares = apportion(self.questions or 0, self._weights())
        return {d.key: n for d, n in zip(self.domains, shares, strict=True)}

    def pilot_counts(self) -> dict[str, int]:
        """Unscored pilot questions per domain key, apportioned like the scored ones."""
        shares = apportion(self.pilot, self._weights())
        return {d.key: n for d, n in zip(self.domains, shares, strict=True)}

    @property
    def total(self) -> int:
        """Scored questions."""
        return sum(self.counts().values())

    @property
    def shown(self) -> int:
        """Questions an attempt shows: the scored ones and the pilot ones."""
        return self.total + self.pilot

    def domain_of(self, course_domain: str) -> DomainDraw | None:
        """The blueprint domain that draws from a `track/domain`."""
        return next((d for d in self.domains if course_domain in d.course_domains), None)

    def pools(self, bank: Bank) -> dict[str, list[BankQuestion]]:
        """The questions each domain may draw (its course domains' exam pools, of the allowed
        item types), keyed like `counts()`."""
        exam_pools = bank.exam_pools()
        allowed = set(self.item_types) if self.item_types else None
        out: dict[str, list[BankQuestion]] = {}
        for d in self.domains:
            pool = [bq for cd in d.course_domains for bq in exam_pools.get(cd, [])]
            if allowed is not None:
                pool = [bq for bq in pool if bq.question.type in allowed]
            out[d.key] = pool
        return out


def apportion(total: int, weights: list[Fraction]) -> list[int]:
    """Whole items in proportion to weights: floors first, then one more to each of the largest
    remainders (ties go to the domain listed first)."""
    weight_sum = sum(weights)
    if total <= 0 or weight_sum <= 0:
        return [0 for _ in weights]
    exact = [total * w / weight_sum for w in weights]
    counts = [math.floor(x) for x in exact]
    left = total - sum(counts)
    # sorted() is stable, also with reverse=True: equal remainders keep the listed order.
    by_remainder = sorted(range(len(exact)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in by_remainder[:left]:
        counts[i] += 1
    return counts


@dataclass(frozen=True)
class Shortfall:
    """A domain the bank cannot fill: what it needs, what it has, where it is written."""

    domain: str  # the domain's key (course domain id or title)
    title: str
    need: int
    have: int
    line: int

    @property
    def short(self) -> int:
        return self.need - self.have


@dataclass(frozen=True)
class Exam:
    id: str
    blueprint: Blueprint
    path: str
    # The line of each entry under `domains:` (same order), for messages about one domain.
    domain_lines: tuple[int, ...] = ()
    # Domains the bank cannot fill yet: such a profile is listed but cannot be started.
    shortfalls: tuple[Shortfall, ...] = ()
    # The tasks the profile's `tasks:` may draw (triops.tasks.spec.Task), resolved at load.
    task_pool: tuple = ()

    @property
    def startable(self) -> bool:
        return not self.shortfalls

    def shortfall_text(self) -> str:
        """One sentence on why the profile cannot be started, for pages and errors."""
        total = sum(s.short for s in self.shortfalls)
        parts = ", ".join(f"{s.title} ({s.short})" for s in self.shortfalls)
        return (
            f"cannot be started yet: the bank is short by {total} question"
            f"{'' if total == 1 else 's'} in {parts}"
        )


@dataclass
class Exams:
    exams: list[Exam] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def get(self, exam_id: str) -> Exam | None:
        return next((e for e in self.exams if e.id == exam_id), None)


@dataclass(frozen=True)
class _ParsedBlueprint:
    blueprint: Blueprint
    domain_lines: tuple[int, ...]
    lab_lines: tuple[int, ...] = ()
    # The line of `tasks:`, then of each entry of `tasks.ids`.
    task_lines: tuple[int, ...] = ()


def parse_blueprint_file(path: Path, root: Path) -> ParsedFile:
    """One blueprint: its model, the lines of its domains, and every problem at its line."""
    shown = display_path(path, root)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return ParsedFile(None, [error(shown, 1, f"cannot read file: {exc}")])
    try:
        doc = parse_yaml(text)
    except YamlSyntaxError as exc:
        return ParsedFile(None, [error(shown, exc.line, exc.message)])
    value, problems = validate_model(Blueprint, doc, shown)
    problems = [replace(p, message=p.message.replace("Value error, ", "")) for p in problems]
    if value is None:
        return ParsedFile(None, problems)
    lines = tuple(doc.line_of(("domains", i)) for i in range(len(value.domains)))
    lab_lines = tuple(doc.line_of(("labs", i)) for i in range(len(value.labs)))
    task_lines: tuple[int, ...] = ()
    if value.tasks is not None:
        ids = value.tasks.ids or []
        task_lines = (doc.line_of(("tasks",)),) + tuple(
            doc.line_of(("tasks", "ids", i)) for i in range(len(ids))
        )
    problems = check_blueprint(value, doc, shown)
    if any(p.severity == "error" for p in problems):
        return ParsedFile(None, problems)
    return ParsedFile(_ParsedBlueprint(value, lines, lab_lines, task_lines), problems)


def known_labs(root: Path) -> set[str]:
    """Lab ids: the folders under labs/ that hold a lab.yaml."""
    folder = root / "labs"
    if not folder.is_dir():
        return set()
    return {p.name for p in folder.iterdir() if (p / "lab.yaml").is_file()}


def lab_problems(
    bp: Blueprint, lab_lines: tuple[int, ...], path: str, labs: set[str]
) -> list[Problem]:
    """An error for each listed lab that is not a lab of the course, or is listed twice."""
    out: list[Problem] = []
    seen: set[str] = set()
    for i, lab in enumerate(bp.labs):
        line = lab_lines[i] if i < len(lab_lines) else 1
        if lab in seen:
            out.append(error(path, line, f"lab '{lab}' is listed twice"))
        elif lab not in labs:
            known = ", ".join(sorted(labs)) or "none"
            out.append(error(path, line, f"lab '{lab}' is not a lab id (labs/ has: {known})"))
        seen.add(lab)
    return out


def task_problems(
    bp: Blueprint, lines: tuple[int, ...], path: str, tasks: list
) -> tuple[list, list[Problem]]:
    """The profile's task pool, and an error for each listed task that is not a task of the
    course (or is outside the exam's tracks, or listed twice), and for a pool smaller than
    the count drawn."""
    assert bp.tasks is not None
    out: list[Problem] = []
    known = {t.key: t for t in tasks}
    seen: set[str] = set()
    for i, key in enumerate(bp.tasks.ids or []):
        line = lines[i + 1] if i + 1 < len(lines) else 1
        if key in seen:
            out.append(error(path, line, f"task '{key}' is listed twice"))
        elif key not in known:
            out.append(
                error(path, line, f"task '{key}' is not a task of quizzes/tasks/ (track/id)")
            )
        elif known[key].spec.track not in bp.tracks:
            out.append(error(path, line, f"task '{key}' is outside the exam's tracks"))
        seen.add(key)
    pool = bp.task_pool(tasks)
    if not out and len(pool) < bp.tasks.count:
        out.append(
            error(
                path,
                lines[0] if lines else 1,
                f"tasks.count is {bp.tasks.count} but the pool holds {len(pool)} task"
                f"{'' if len(pool) == 1 else 's'}",
            )
        )
    return pool, out


def check_blueprint(bp: Blueprint, doc: YamlDoc, path: str) -> list[Problem]:
    """Rules across fields, each reported at the line it concerns."""
    out: list[Problem] = []
    domains_line = doc.line_of(("domains",))
    weighted = [d for d in bp.domains if d.weight is not None]
    if weighted and len(weighted) != len(bp.domains):
        out.append(error(path, domains_line, "give every domain a count, or every domain a weight"))
        return out
    if weighted:
        if bp.questions is None:
            out.append(
                error(
                    path,
                    domains_line,
                    "domains with weights need `questions`: the number of scored items",
                )
            )
        weight_sum = sum(Fraction(str(d.weight)) for d in bp.domains)
        if weight_sum != 100:
            out.append(
                error(
                    path,
                    domains_line,
                    f"domain weights are percentages and must add up to 100, "
                    f"not {float(weight_sum):g}",
                )
            )
    elif bp.questions is not None and bp.questions != bp.total:
        out.append(
            error(
                path,
                doc.line_of(("questions",)),
                f"questions is {bp.questions} but the domain counts add up to {bp.total}",
            )
        )
    seen: dict[str, int] = {}
    keys: set[str] = set()
    for i, d in enumerate(bp.domains):
        line = doc.line_of(("domains", i))
        if d.key in keys:
            out.append(error(path, line, f"domain '{d.key}' is listed twice"))
        keys.add(d.key)
        for cd in d.course_domains:
            track = cd.split("/")[0]
            if track not in bp.tracks:
                out.append(error(path, line, f"domain {cd} is outside the exam's tracks"))
            if cd in seen:
                # Each course domain feeds one domain, so a question's result counts in one place.
                out.append(
                    error(
                        path,
                        line,
                        f"course domain {cd} already feeds the domain at line {seen[cd]}: "
                        "each course domain may feed only one domain of an exam",
                    )
                )
            else:
                seen[cd] = line
    if bp.scaled is not None and not 0 < bp.pass_mark < 100:
        out.append(
            error(
                path,
                doc.line_of(("pass_mark",)),
                f"with scaled reporting the raw pass_mark (the percent that maps to the cut "
                f"{bp.scaled.cut}) must lie strictly between 0 and 100, not {bp.pass_mark:g}: "
                "otherwise the scaled score and pass or fail disagree",
            )
        )
    return out


def load_exams(root: Path, bank: Bank | None = None, cache: ParseCache | None = None) -> Exams:
    """Blueprints under quizzes/exams; with a bank, note what it cannot fill.

    A profile the bank cannot fill stays listed (with a warning per short domain) but cannot be
    started; a domain that is not in the vocabulary is an error and leaves the profile out."""
    cache = cache if cache is not None else shared_cache(root)
    folder = root / "quizzes" / "exams"
    result = Exams()
    if not folder.is_dir():
        return result
    labs = known_labs(root)
    all_tasks = None  # loaded once, when a profile draws tasks
    for path in sorted(folder.glob("*.y*ml")):
        shown = f"quizzes/exams/{path.name}"
        if not EXAM_FILE.match(path.name):
            result.problems.append(
                error(shown, 1, "exam file names are kebab-case: the name is the exam's id")
            )
            continue
        parsed = cache.get(path, lambda p: parse_blueprint_file(p, root))
        result.problems += parsed.problems
        if parsed.value is None:
            continue
        value: _ParsedBlueprint = parsed.value  # type: ignore[assignment]
        prerequisites = lab_problems(value.blueprint, value.lab_lines, shown, labs)
        if prerequisites:
            result.problems += prerequisites
            continue
        exam = Exam(path.stem, value.blueprint, shown, value.domain_lines)
        if value.blueprint.tasks is not None:
            if hooks.task_loader is None:  # refused rather than drawn without its tasks
                result.problems.append(
                    error(shown, 1, "this profile draws tasks, and this process cannot load them")
                )
                continue
            if all_tasks is None:
                all_tasks = hooks.task_loader(root)
            pool, problems = task_problems(value.blueprint, value.task_lines, shown, all_tasks)
            result.problems += problems
            if problems:
                continue
            exam = replace(exam, task_pool=tuple(pool))
        if bank is not None:
            problems = fill_problems(exam, bank)
            result.problems += problems
            if any(p.severity == "error" for p in problems):
                continue
            exam = replace(exam, shortfalls=tuple(shortfalls(exam, bank)))
        result.exams.append(exam)
    return result


def _line(exam: Exam, index: int) -> int:
    return exam.domain_lines[index] if index < len(exam.domain_lines) else 1


def domain_title(d: DomainDraw, bank: Bank) -> str:
    """A domain as candidates read it: its title, or the course domain's vocabulary title."""
    if d.title is not None:
        return d.title
    track, name = d.domain.split("/")  # type: ignore[union-attr]
    return f"{track}: {bank.vocabulary.domain_title(track, name)}"


def shortfalls(exam: Exam, bank: Bank) -> list[Shortfall]:
    """Every domain whose pool holds fewer questions than it draws (scored plus pilot)."""
    bp = exam.blueprint
    pools = bp.pools(bank)
    counts, pilot = bp.counts(), bp.pilot_counts()
    out = []
    for i, d in enumerate(bp.domains):
        need = counts[d.key] + pilot[d.key]
        have = len(pools[d.key])
        if have < need:
            out.append(Shortfall(d.key, domain_title(d, bank), need, have, _line(exam, i)))
    return out


def fill_problems(exam: Exam, bank: Bank) -> list[Problem]:
    """An error per course domain missing from the vocabulary; a warning per domain the bank
    cannot fill yet, naming what it needs and what the bank has."""
    problems = []
    vocab = bank.vocabulary
    bp = exam.blueprint
    for i, d in enumerate(bp.domains):
        for cd in d.course_domains:
            track, name = cd.split("/")
            if name not in vocab.track_domains(track):
                problems.append(
                    error(
                        exam.path,
                        _line(exam, i),
                        f"domain '{cd}' is not in quizzes/vocabulary.yaml",
                    )
                )
    if problems:
        return problems
    counts, pilot = bp.counts(), bp.pilot_counts()
    kinds = f" ({', '.join(bp.item_types)} items)" if bp.item_types else ""
    for s in shortfalls(exam, bank):
        d = next(d for d in bp.domains if d.key == s.domain)
        parts = f"{counts[d.key]} scored + {pilot[d.key]} pilot" if pilot[d.key] else ""
        needs = f"needs {s.need}" + (f" ({parts})" if parts else "")
        problems.append(
            warning(
                exam.path,
                s.line,
                f"cannot be started yet: domain '{s.title}' {needs} from "
                f"{', '.join(d.course_domains)}{kinds}, the bank has {s.have} "
                f"(short by {s.short})",
            )
        )
    return problems
