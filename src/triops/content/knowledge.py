"""Structured knowledge: lifecycles, the comparison matrix and applications, as validated data."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from triops.content.loader import ParseCache, parse_yaml_file, shared_cache
from triops.content.models import Source, Strict, _kebab
from triops.content.problems import Problem, error

Discipline = Literal["devops", "mlops", "llmops"]
DISCIPLINES: tuple[str, ...] = ("devops", "mlops", "llmops")


class Phase(Strict):
    id: str
    name: str = Field(min_length=1)
    what_happens: str = Field(min_length=20)
    key_practices: list[str] = Field(min_length=2)
    typical_tools: list[str] = Field(min_length=2)
    outputs: list[str] = Field(min_length=1)
    lesson: str

    _check_id = field_validator("id")(_kebab)


class Lifecycle(Strict):
    id: Discipline
    title: str
    summary: str
    sources: list[Source] = Field(default_factory=list)
    phases: list[Phase] = Field(min_length=3)

    @model_validator(mode="after")
    def _unique_phases(self) -> Lifecycle:
        ids = [p.id for p in self.phases]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"phase ids repeat: {', '.join(dupes)}")
        return self


class LifecyclesFile(Strict):
    lifecycles: list[Lifecycle] = Field(min_length=1)


class Dimension(Strict):
    id: str
    name: str
    devops: str = Field(min_length=3)
    mlops: str = Field(min_length=3)
    llmops: str = Field(min_length=3)
    example: str = Field(min_length=3)

    _check_id = field_validator("id")(_kebab)


class SharedTrait(Strict):
    id: str
    name: str
    description: str
    devops: str
    mlops: str
    llmops: str

    _check_id = field_validator("id")(_kebab)


class ComparisonFile(Strict):
    disciplines: list[Discipline]
    dimensions: list[Dimension] = Field(min_length=10)
    shared_traits: list[SharedTrait] = Field(min_length=1)


class Application(Strict):
    id: str
    discipline: Discipline
    title: str
    industry: str
    example: str = Field(min_length=20)
    practices: list[str] = Field(min_length=2)
    lesson: str

    _check_id = field_validator("id")(_kebab)


class ApplicationsFile(Strict):
    applications: list[Application]

    @model_validator(mode="after")
    def _five_each(self) -> ApplicationsFile:
        for d in DISCIPLINES:
            n = sum(1 for a in self.applications if a.discipline == d)
            if n < 5:
                raise ValueError(f"{d} has {n} applications; at least 5 are expected")
        return self


FILES = {
    "lifecycles": ("knowledge/lifecycles.yaml", LifecyclesFile),
    "comparison": ("knowledge/comparison.yaml", ComparisonFile),
    "applications": ("knowledge/applications.yaml", ApplicationsFile),
}


@dataclass
class Knowledge:
    """The three knowledge files (None where a file is missing or invalid) and their problems."""

    lifecycles: LifecyclesFile | None = None
    comparison: ComparisonFile | None = None
    applications: ApplicationsFile | None = None
    problems: list[Problem] = field(default_factory=list)

    def lifecycle(self, lifecycle_id: str) -> Lifecycle | None:
        if self.lifecycles is None:
            return None
        return next((lc for lc in self.lifecycles.lifecycles if lc.id == lifecycle_id), None)


def load_knowledge(
    root: Path, lesson_ids: set[str] | None = None, cache: ParseCache | None = None
) -> Knowledge:
    """Load and validate content/knowledge/*.yaml; lesson references are checked when ids given."""
    cache = cache if cache is not None else shared_cache(root)
    knowledge = Knowledge()
    for name, (rel, model) in FILES.items():
        path = root / "content" / rel
        shown = f"content/{rel}"
        if not path.is_file():
            knowledge.problems.append(error(shown, 1, "missing structured-knowledge file"))
            continue
        parsed = cache.get(path, lambda p, m=model: parse_yaml_file(p, root, m))
        knowledge.problems += parsed.problems
        setattr(knowledge, name, parsed.value)
    if lesson_ids is not None:
        knowledge.problems += _check_lessons(knowledge, root, lesson_ids)
    return knowledge


def _line_after(lines: list[str], needles: list[str]) -> int:
    """1-based line of the last needle, each needle searched after the one before it."""
    at = 0
    found = 1
    for needle in needles:
        for i in range(at, len(lines)):
            if needle in lines[i]:
                found, at = i + 1, i + 1
                break
    return found


def _check_lessons(knowledge: Knowledge, root: Path, lesson_ids: set[str]) -> list[Problem]:
    problems: list[Problem] = []

    def check(rel: str, refs: list[tuple[str, list[str], str]]) -> None:
        path = root / "content" / rel
        lines = path.read_text(encoding="utf-8").split("\n") if path.is_file() else []
        for label, needles, lesson in refs:
            if lesson not in lesson_ids:
                line = _line_after(lines, needles + ["lesson:"])
                problems.append(
                    error(f"content/{rel}", line, f"{label}: lesson '{lesson}' is not a lesson id")
                )

    if knowledge.lifecycles is not None:
        check(
            FILES["lifecycles"][0],
            [
                (f"{lc.id} phase '{p.id}'", [f"id: {lc.id}", f"id: {p.id}"], p.lesson)
                for lc in knowledge.lifecycles.lifecycles
                for p in lc.phases
            ],
        )
    if knowledge.applications is not None:
        check(
            FILES["applications"][0],
            [
                (f"application '{a.id}'", [f"id: {a.id}"], a.lesson)
                for a in knowledge.applications.applications
            ],
        )
    return problems
