"""The course's data model: what instructors write, as pydantic models."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from triops.content.problems import Problem

KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def _kebab(value: str) -> str:
    if not KEBAB.match(value):
        raise ValueError(f"'{value}' is not kebab-case (lower-case words joined by dashes)")
    return value


class Strict(BaseModel):
    """Authored files reject unknown fields so that typos fail loudly."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(Strict):
    """A source a lesson's facts rest on."""

    title: str = Field(min_length=1)
    url: HttpUrl | None = None
    year: int = Field(ge=1900, le=2100)


class LessonMeta(Strict):
    """A lesson's front matter."""

    id: str
    title: str = Field(min_length=1)
    minutes: int = Field(ge=1, le=120)
    objectives: list[str] = Field(min_length=1)
    prerequisites: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    labs: list[str] = Field(default_factory=list)
    # The exam-guide task statements a section teaches: section anchor -> task ids
    # (`dop-c02/1.4`), checked against quizzes/guides/ by `triops validate`.
    covers: dict[str, list[str]] = Field(default_factory=dict)

    _check_id = field_validator("id")(_kebab)


class ModuleMeta(Strict):
    """A module's module.yaml."""

    title: str = Field(min_length=1)
    summary: str = Field(min_length=1)
    order: int = 0


class TrackMeta(Strict):
    """One entry of content/tracks.yaml."""

    id: str
    title: str
    summary: str

    _check_id = field_validator("id")(_kebab)


class TracksFile(Strict):
    tracks: list[TrackMeta] = Field(min_length=1)


@dataclass(frozen=True)
class Heading:
    """A `##` or `###` heading of a lesson, with its stable anchor."""

    level: int
    text: str
    anchor: str
    line: int


@dataclass(frozen=True)
class Block:
    """A run of markdown, or one admonition (`kind` is note, tip, warning or example)."""

    kind: str  # "markdown" or an admonition kind
    text: str
    line: int
    title: str = ""


@dataclass(frozen=True)
class LessonLink:
    """A `lesson:` link found in a lesson body."""

    target: str
    anchor: str
    line: int


@dataclass(frozen=True)
class Lesson:
    """A parsed, schema-valid lesson."""

    meta: LessonMeta
    path: str
    track: str
    module: str
    order: int
    body: str
    blocks: tuple[Block, ...]
    headings: tuple[Heading, ...]
    links: tuple[LessonLink, ...]
    words: int
    meta_lines: dict[str, int] = field(default_factory=dict, compare=False, hash=False)

    @property
    def id(self) -> str:
        return self.meta.id

    @property
    def title(self) -> str:
        return self.meta.title

    @property
    def module_key(self) -> str:
        return f"{self.track}/{self.module}"

    def anchors(self) -> set[str]:
        return {h.anchor for h in self.headings}


@dataclass(frozen=True)
class Module:
    track: str
    id: str
    meta: ModuleMeta
    lessons: tuple[Lesson, ...]

    @property
    def key(self) -> str:
        return f"{self.track}/{self.id}"

    @property
    def title(self) -> str:
        return self.meta.title


@dataclass(frozen=True)
class Track:
    meta: TrackMeta
    modules: tuple[Module, ...]

    @property
    def id(self) -> str:
        return self.meta.id

    @property
    def title(self) -> str:
        return self.meta.title

    def lessons(self) -> list[Lesson]:
        return [lesson for module in self.modules for lesson in module.lessons]


@dataclass(frozen=True)
class Course:
    """Every valid lesson, in reading order, plus every problem found on the way."""

    tracks: tuple[Track, ...]
    problems: tuple[Problem, ...]
    fingerprint: str
    # Lessons whose file has an error, so they are not served: (id as far as it can be read,
    # file). Other files' references to these ids fail as a consequence, not a cause.
    unavailable: tuple[tuple[str, str], ...] = ()

    def lessons(self) -> list[Lesson]:
        return [lesson for track in self.tracks for lesson in track.lessons()]

    def lesson(self, lesson_id: str) -> Lesson | None:
        return self._by_id().get(lesson_id)

    def _by_id(self) -> dict[str, Lesson]:
        cached = self.__dict__.get("_index")
        if cached is None:
            cached = {lesson.id: lesson for lesson in self.lessons()}
            object.__setattr__(self, "_index", cached)
        return cached

    def track(self, track_id: str) -> Track | None:
        return next((t for t in self.tracks if t.id == track_id), None)

    def neighbours(self, lesson_id: str) -> tuple[Lesson | None, Lesson | None]:
        """The lessons before and after this one in reading order."""
        ordered = self.lessons()
        ids = [lesson.id for lesson in ordered]
        if lesson_id not in ids:
            return None, None
        i = ids.index(lesson_id)
        return (ordered[i - 1] if i > 0 else None, ordered[i + 1] if i + 1 < len(ordered) else None)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]
