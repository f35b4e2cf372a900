"""Exam blueprints (quizzes/exams/*.yaml): what an exam draws, how long it runs, how it ends."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from triops.content.loader import ParseCache, parse_yaml_file
from triops.content.models import Strict
from triops.content.problems import Problem, error
from triops.quiz.bank import Bank

EXAM_FILE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*\.ya?ml$")


class DomainDraw(Strict):
    """One domain of the exam: `track/domain`, with a count or a weight."""

    domain: str = Field(pattern=r"^[a-z0-9-]+/[a-z0-9-]+$")
    count: int | None = Field(default=None, ge=1)
    weight: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one(self) -> DomainDraw:
        if (self.count is None) == (self.weight is None):
            raise ValueError("give either count or weight")
        return self

    @property
    def track(self) -> str:
        return self.domain.split("/")[0]

    @property
    def name(self) -> str:
        return self.domain.split("/")[1]


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
    """What a candidate sees after submitting."""

    score: bool = True
    correctness: bool = True
    right_answer: bool = True
    explanation: bool = True
    feedback: bool = True


class Blueprint(Strict):
    title: str = Field(min_length=1)
    description: str = ""
    tracks: list[Literal["triad", "devops", "mlops", "llmops"]] = Field(min_length=1)
    time_limit_minutes: int = Field(ge=1, le=600)
    pass_mark: float = Field(ge=0, le=100, description="percent")
    questions: int | None = Field(default=None, ge=1, le=500)
    domains: list[DomainDraw] = Field(min_length=1)
    shuffle_questions: bool = True
    shuffle_options: bool = True
    expiry: Expiry = Field(default_factory=Expiry)
    attempts_allowed: int = Field(default=0, ge=0, description="0 means unlimited")
    review: Review = Field(default_factory=Review)

    @model_validator(mode="after")
    def _shape(self) -> Blueprint:
        weighted = [d for d in self.domains if d.weight is not None]
        if weighted and self.questions is None:
            raise ValueError("domains with weights need a total number of questions")
        if weighted and len(weighted) != len(self.domains):
            raise ValueError("give every domain a count, or every domain a weight")
        names = [d.domain for d in self.domains]
        if len(set(names)) != len(names):
            raise ValueError("a domain is listed twice")
        for d in self.domains:
            if d.track not in self.tracks:
                raise ValueError(f"domain {d.domain} is outside the exam's tracks")
        if not weighted and self.questions is not None and self.questions != self.total:
            raise ValueError(
                f"questions is {self.questions} but the domain counts add up to {self.total}"
            )
        return self

    def counts(self) -> dict[str, int]:
        """Questions per `track/domain`; weights are apportioned by largest remainder."""
        if self.domains[0].count is not None:
            return {d.domain: d.count for d in self.domains}  # type: ignore[misc]
        total = self.questions or 0
        weight_sum = sum(d.weight for d in self.domains)  # type: ignore[misc]
        exact = {d.domain: total * d.weight / weight_sum for d in self.domains}  # type: ignore
        counts = {k: int(v) for k, v in exact.items()}
        left = total - sum(counts.values())
        for k in sorted(exact, key=lambda k: exact[k] - counts[k], reverse=True)[:left]:
            counts[k] += 1
        return counts

    @property
    def total(self) -> int:
        return sum(self.counts().values())


@dataclass(frozen=True)
class Exam:
    id: str
    blueprint: Blueprint
    path: str


@dataclass
class Exams:
    exams: list[Exam] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def get(self, exam_id: str) -> Exam | None:
        return next((e for e in self.exams if e.id == exam_id), None)


def load_exams(root: Path, bank: Bank | None = None, cache: ParseCache | None = None) -> Exams:
    """Blueprints under quizzes/exams; with a bank, check that it can fill every one."""
    cache = cache if cache is not None else ParseCache()
    folder = root / "quizzes" / "exams"
    result = Exams()
    if not folder.is_dir():
        return result
    for path in sorted(folder.glob("*.y*ml")):
        shown = f"quizzes/exams/{path.name}"
        if not EXAM_FILE.match(path.name):
            result.problems.append(
                error(shown, 1, "exam file names are kebab-case: the name is the exam's id")
            )
            continue
        parsed = cache.get(path, lambda p: parse_yaml_file(p, root, Blueprint))
        result.problems += parsed.problems
        if parsed.value is None:
            continue
        exam = Exam(path.stem, parsed.value, shown)
        if bank is not None:
            shortfall = fill_problems(exam, bank)
            result.problems += shortfall
            if shortfall:
                continue
        result.exams.append(exam)
    return result


def fill_problems(exam: Exam, bank: Bank) -> list[Problem]:
    """One error per domain the bank cannot fill, naming the shortfall."""
    problems = []
    vocab = bank.vocabulary
    for domain, need in exam.blueprint.counts().items():
        track, name = domain.split("/")
        if name not in vocab.track_domains(track):
            problems.append(
                error(exam.path, 1, f"domain '{domain}' is not in quizzes/vocabulary.yaml")
            )
            continue
        have = len(bank.exam_pools().get(domain, []))
        if have < need:
            problems.append(
                error(
                    exam.path,
                    1,
                    f"the bank cannot fill domain '{domain}': "
                    f"needs {need}, has {have} (short by {need - have})",
                )
            )
    return problems
