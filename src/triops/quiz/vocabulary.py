"""The fixed vocabularies of quizzes/vocabulary.yaml: domains per track and difficulties."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field

from triops.content.loader import ParseCache, parse_yaml_file, shared_cache
from triops.content.models import Strict
from triops.content.problems import Problem, error


class DomainEntry(Strict):
    id: str
    title: str


class VocabularyFile(Strict):
    difficulties: list[str] = Field(min_length=1)
    domains: dict[str, list[DomainEntry]]


@dataclass
class Vocabulary:
    difficulties: list[str] = field(default_factory=list)
    domains: dict[str, list[DomainEntry]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def track_domains(self, track: str) -> list[str]:
        return [d.id for d in self.domains.get(track, [])]

    def domain_title(self, track: str, domain: str) -> str:
        return next((d.title for d in self.domains.get(track, []) if d.id == domain), domain)

    def all_domains(self) -> dict[str, str]:
        """Domain id -> track id."""
        return {d.id: t for t, ds in self.domains.items() for d in ds}


def load_vocabulary(root: Path, cache: ParseCache | None = None) -> Vocabulary:
    path = root / "quizzes" / "vocabulary.yaml"
    if not path.is_file():
        return Vocabulary(problems=[error("quizzes/vocabulary.yaml", 1, "missing vocabulary file")])
    cache = cache if cache is not None else shared_cache(root)
    parsed = cache.get(path, lambda p: parse_yaml_file(p, root, VocabularyFile))
    if parsed.value is None:
        return Vocabulary(problems=list(parsed.problems))
    return Vocabulary(parsed.value.difficulties, parsed.value.domains, list(parsed.problems))
