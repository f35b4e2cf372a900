"""Load the course from content/: parse each file once per fingerprint, then cross-check."""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from triops.content.frontmatter import FrontMatterError, split_front_matter
from triops.content.markdown import count_words, parse_body
from triops.content.models import (
    Course,
    Lesson,
    LessonMeta,
    Module,
    ModuleMeta,
    Track,
    TracksFile,
)
from triops.content.problems import Problem, display_path, error, warning
from triops.content.yamlsource import (
    YamlSyntaxError,
    describe_loc,
    parse_yaml,
    validate_model,
)

LESSON_NAME = re.compile(r"^(\d{2})-([a-z0-9-]+)\.md$")
KNOWLEDGE_DIR = "knowledge"
MIN_WORDS, MAX_WORDS = 400, 1200


def fingerprint(path: Path) -> tuple[int, int]:
    """What identifies a version of a file without reading it."""
    st = path.stat()
    return st.st_mtime_ns, st.st_size


@dataclass
class ParsedFile:
    value: object | None
    problems: list[Problem]


@dataclass
class ParseCache:
    """Parsed files keyed by path and fingerprint; owned by the caller (the UI caches it)."""

    entries: dict[str, tuple[tuple[int, int], ParsedFile]] = field(default_factory=dict)
    courses: dict[str, Course] = field(default_factory=dict)
    parses: int = 0

    def fingerprint(self, path: Path) -> object:
        """What tells this cache that a file changed: its modification time and size."""
        return fingerprint(path)

    def get(self, path: Path, parse) -> ParsedFile:
        key = str(path)
        fp = self.fingerprint(path)
        hit = self.entries.get(key)
        if hit is not None and hit[0] == fp:
            return hit[1]
        self.parses += 1
        parsed = parse(path)
        self.entries[key] = (fp, parsed)
        return parsed


class ContentParseCache(ParseCache):
    """A ParseCache that knows a version of a file by a hash of its bytes, not by its
    modification time and size: an edit that keeps the size within the file system's timestamp
    granularity (a few milliseconds) is still seen. Reading and hashing the whole bank (2.4 MB)
    costs about 2 ms where parsing it costs about 240 ms. What the loaders use when their caller
    hands them no cache (`shared_cache`)."""

    def fingerprint(self, path: Path) -> object:
        try:
            return hashlib.blake2b(path.read_bytes(), digest_size=16).digest()
        except OSError:
            # Unreadable: the parser reports it; the cache knows it by what stat says.
            return fingerprint(path)


_SHARED: OrderedDict[str, ContentParseCache] = OrderedDict()
_SHARED_ROOTS = 8
_SHARED_LOCK = threading.Lock()


def shared_cache(root: Path) -> ContentParseCache:
    """The process's cache of parsed files under `root` (as given: parsed problems name files
    relative to it), for loaders called without a cache of their own: a command, a job or a
    test that loads the bank several times parses each unchanged file once. The last
    `_SHARED_ROOTS` roots are kept."""
    key = str(root)
    with _SHARED_LOCK:
        cache = _SHARED.pop(key, None) or ContentParseCache()
        _SHARED[key] = cache
        while len(_SHARED) > _SHARED_ROOTS:
            _SHARED.popitem(last=False)
        return cache


def _read(path: Path, shown: str) -> tuple[str | None, list[Problem]]:
    try:
        return path.read_text(encoding="utf-8"), []
    except UnicodeDecodeError as exc:
        return None, [error(shown, 1, f"not UTF-8 text: {exc.reason}")]
    except OSError as exc:
        return None, [error(shown, 1, f"cannot read file: {exc.strerror}")]


def parse_lesson_file(path: Path, root: Path, track: str, module: str) -> ParsedFile:
    """Parse one lesson file; any problem in the file itself leaves `value` None."""
    shown = display_path(path, root)
    name = LESSON_NAME.match(path.name)
    if not name:
        return ParsedFile(
            None,
            [
                error(
                    shown,
                    1,
                    "lesson file names start with two digits and a dash, "
                    "then a kebab-case slug: NN-slug.md",
                )
            ],
        )
    text, problems = _read(path, shown)
    if text is None:
        return ParsedFile(None, problems)
    try:
        split = split_front_matter(text)
    except FrontMatterError as exc:
        return ParsedFile(None, [error(shown, exc.line, exc.message)])
    try:
        doc = parse_yaml(split.meta, line_offset=1)
    except YamlSyntaxError as exc:
        return ParsedFile(None, [error(shown, exc.line, exc.message)])
    meta, problems = validate_model(LessonMeta, doc, shown)
    blocks, headings, links, body_problems = parse_body(split.body, shown, split.body_line)
    problems += body_problems
    if meta is None or any(p.severity == "error" for p in problems):
        return ParsedFile(None, problems)
    words = count_words(split.body)
    if not MIN_WORDS <= words <= MAX_WORDS:
        problems.append(
            warning(
                shown,
                split.body_line,
                f"lesson body has {words} words; aim for {MIN_WORDS}-{MAX_WORDS}",
            )
        )
    if not any(h.anchor == "check-yourself" for h in headings):
        problems.append(warning(shown, split.body_line, "no '## Check yourself' section"))
    if not any(b.kind == "example" for b in blocks):
        problems.append(warning(shown, split.body_line, "no ':::example' worked example"))
    anchors: dict[str, int] = {}
    for h in headings:
        if h.anchor in anchors:
            problems.append(
                warning(
                    shown,
                    h.line,
                    f"heading anchor '#{h.anchor}' repeats the heading "
                    f"on line {anchors[h.anchor]}; links will reach the first one",
                )
            )
        anchors.setdefault(h.anchor, h.line)
    meta_lines = {key: doc.line_of((key,)) for key in ("id", "prerequisites", "labs", "covers")}
    for anchor, task_ids in meta.covers.items():
        # `covers.<anchor>` and `covers.<anchor>[i]`, for messages about one entry.
        for loc in [("covers", anchor)] + [("covers", anchor, i) for i in range(len(task_ids))]:
            meta_lines[describe_loc(loc)] = doc.line_of(loc)
    lesson = Lesson(
        meta=meta,
        path=shown,
        track=track,
        module=module,
        order=int(name.group(1)),
        body=split.body,
        blocks=tuple(blocks),
        headings=tuple(headings),
        links=tuple(links),
        words=words,
        meta_lines=meta_lines,
    )
    return ParsedFile(lesson, problems)


def parse_yaml_file(path: Path, root: Path, model) -> ParsedFile:
    """Parse a YAML file against a model."""
    shown = display_path(path, root)
    text, problems = _read(path, shown)
    if text is None:
        return ParsedFile(None, problems)
    try:
        doc = parse_yaml(text)
    except YamlSyntaxError as exc:
        return ParsedFile(None, [error(shown, exc.line, exc.message)])
    value, problems = validate_model(model, doc, shown)
    return ParsedFile(value, problems)


def _prereq_line(lesson: Lesson, target: str) -> int:
    return lesson.meta_lines.get("prerequisites", 1) + 1 + lesson.meta.prerequisites.index(target)


def cross_check(lessons: list[Lesson], labs_dir: Path | None) -> tuple[list[Lesson], list[Problem]]:
    """Unique ids, prerequisites and links that resolve, labs that exist (once labs/ does)."""
    problems: list[Problem] = []
    seen: dict[str, Lesson] = {}
    kept: list[Lesson] = []
    for lesson in lessons:
        first = seen.get(lesson.id)
        if first is not None:
            problems.append(
                error(
                    lesson.path,
                    lesson.meta_lines.get("id", 1),
                    f"duplicate lesson id '{lesson.id}' (first used in {first.path})",
                )
            )
            continue
        seen[lesson.id] = lesson
        kept.append(lesson)
    for lesson in kept:
        for target in lesson.meta.prerequisites:
            if target not in seen:
                problems.append(
                    error(
                        lesson.path,
                        _prereq_line(lesson, target),
                        f"prerequisite '{target}' is not a lesson id",
                    )
                )
            elif target == lesson.id:
                problems.append(
                    error(
                        lesson.path,
                        _prereq_line(lesson, target),
                        "a lesson cannot be its own prerequisite",
                    )
                )
        for link in lesson.links:
            target = seen.get(link.target)
            if target is None:
                problems.append(
                    error(lesson.path, link.line, f"link to unknown lesson '{link.target}'")
                )
            elif link.anchor and link.anchor not in target.anchors():
                problems.append(
                    error(
                        lesson.path,
                        link.line,
                        f"link to '{link.target}#{link.anchor}': no such section in {target.path}",
                    )
                )
        if labs_dir is not None and labs_dir.is_dir():
            for lab in lesson.meta.labs:
                if not (labs_dir / lab / "lab.yaml").is_file():
                    problems.append(
                        error(
                            lesson.path,
                            lesson.meta_lines.get("labs", 1),
                            f"lab '{lab}' not found (expected labs/{lab}/lab.yaml)",
                        )
                    )
    problems += _prerequisite_cycles(kept)
    return kept, problems


def _prerequisite_cycles(lessons: list[Lesson]) -> list[Problem]:
    graph = {lesson.id: [p for p in lesson.meta.prerequisites] for lesson in lessons}
    by_id = {lesson.id: lesson for lesson in lessons}
    state: dict[str, int] = {}
    problems: list[Problem] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in graph.get(node, []):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :] + [node, nxt] if nxt in stack else [node, nxt]
                lesson = by_id[node]
                problems.append(
                    error(
                        lesson.path,
                        _prereq_line(lesson, nxt),
                        "prerequisites form a cycle: " + " -> ".join(dict.fromkeys(cycle)),
                    )
                )
            elif state.get(nxt) is None:
                visit(nxt, stack + [node])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [])
    return problems


_ID_LINE = re.compile(r"^id:\s*[\"']?([A-Za-z0-9_-]+)", re.MULTILINE)


def _declared_id(path: Path) -> str:
    """The `id:` a broken lesson file declares, read as plain text (its YAML may not parse);
    its file name without the NN- prefix when there is none."""
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:4000]
    except OSError:
        head = ""
    found = _ID_LINE.search(head)
    return found.group(1) if found else re.sub(r"^\d+-", "", path.stem)


def load_course(root: Path, cache: ParseCache | None = None) -> Course:
    """The course under `root`/content; never raises for bad content, it reports it."""
    cache = cache if cache is not None else shared_cache(root)
    content = root / "content"
    problems: list[Problem] = []
    if not content.is_dir():
        return Course((), (error("content", 1, f"no content folder at {content}"),), "")

    files = sorted(p for p in content.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path).encode())
        digest.update(repr(cache.fingerprint(path)).encode())
    labs_dir = root / "labs"
    digest.update(str(labs_dir.is_dir()).encode())
    course_fp = digest.hexdigest()[:16]
    if course_fp in cache.courses:
        return cache.courses[course_fp]

    tracks_path = content / "tracks.yaml"
    track_metas = []
    if tracks_path.is_file():
        parsed = cache.get(tracks_path, lambda p: parse_yaml_file(p, root, TracksFile))
        problems += parsed.problems
        if parsed.value is not None:
            track_metas = list(parsed.value.tracks)
    else:
        problems.append(error("content/tracks.yaml", 1, "missing: it lists the course's tracks"))
    track_ids = [t.id for t in track_metas]

    for child in sorted(content.iterdir()):
        if child.is_dir() and child.name not in track_ids and child.name != KNOWLEDGE_DIR:
            problems.append(
                error(
                    display_path(child, root),
                    1,
                    f"unknown track '{child.name}' (tracks.yaml lists: {', '.join(track_ids)})",
                )
            )

    all_lessons: list[Lesson] = []
    unavailable: list[tuple[str, str]] = []
    module_parts: list[tuple[str, str, ModuleMeta, list[Lesson]]] = []
    for track in track_metas:
        track_dir = content / track.id
        if not track_dir.is_dir():
            problems.append(warning("content/tracks.yaml", 1, f"track '{track.id}' has no folder"))
            continue
        for module_dir in sorted(p for p in track_dir.iterdir() if p.is_dir()):
            module_yaml = module_dir / "module.yaml"
            if not module_yaml.is_file():
                problems.append(
                    error(display_path(module_dir, root), 1, "module folder has no module.yaml")
                )
                continue
            parsed = cache.get(module_yaml, lambda p: parse_yaml_file(p, root, ModuleMeta))
            problems += parsed.problems
            if parsed.value is None:
                continue
            lessons = []
            for md in sorted(module_dir.glob("*.md")):
                parsed_lesson = cache.get(
                    md, lambda p, t=track.id, m=module_dir.name: parse_lesson_file(p, root, t, m)
                )
                problems += parsed_lesson.problems
                if parsed_lesson.value is not None:
                    lessons.append(parsed_lesson.value)
                else:
                    unavailable.append((_declared_id(md), display_path(md, root)))
            all_lessons += lessons
            module_parts.append((track.id, module_dir.name, parsed.value, lessons))
        for stray in sorted(track_dir.glob("*.md")):
            problems.append(
                error(
                    display_path(stray, root),
                    1,
                    "lessons live in a module folder: content/<track>/<module>/NN-slug.md",
                )
            )

    kept, cross = cross_check(all_lessons, labs_dir)
    problems += cross
    kept_ids = {id(lesson) for lesson in kept}
    modules_by_track: dict[str, list[Module]] = {t: [] for t in track_ids}
    for track_id, module_id, meta, lessons in module_parts:
        ordered = tuple(sorted((x for x in lessons if id(x) in kept_ids), key=lambda x: x.order))
        modules_by_track[track_id].append(Module(track_id, module_id, meta, ordered))
    tracks = tuple(
        Track(meta, tuple(sorted(modules_by_track[meta.id], key=lambda m: (m.meta.order, m.id))))
        for meta in track_metas
    )
    dropped = [x for x in all_lessons if id(x) not in kept_ids]
    unavailable += [(x.id, x.path) for x in dropped]
    course = Course(
        tracks=tracks,
        problems=tuple(sorted(set(problems))),
        fingerprint=course_fp,
        unavailable=tuple(unavailable),
    )
    cache.courses = {course_fp: course}
    return course
