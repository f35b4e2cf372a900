"""What a learner has done: completion per track and module, and where to continue.

The pages read and write a learner's lesson progress through this module (it calls
`triops.store.progress`); without a profile (`user_id` None) there is nothing to read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from triops.content.models import Course, Lesson
from triops.store import progress


@dataclass(frozen=True)
class ModuleProgress:
    track_id: str
    track: str
    module_id: str
    module: str
    done: int
    total: int

    @property
    def percent(self) -> float:
        return 100.0 * self.done / self.total if self.total else 0.0


def module_progress(course: Course, completed: dict[str, datetime]) -> list[ModuleProgress]:
    """Completed and total lessons for every module, in course order."""
    rows = []
    for track in course.tracks:
        for module in track.modules:
            ids = [lesson.id for lesson in module.lessons]
            rows.append(
                ModuleProgress(
                    track.id,
                    track.title,
                    module.id,
                    module.title,
                    sum(1 for i in ids if i in completed),
                    len(ids),
                )
            )
    return rows


def track_progress(rows: list[ModuleProgress]) -> dict[str, tuple[int, int]]:
    """Track id -> (done, total)."""
    out: dict[str, tuple[int, int]] = {}
    for row in rows:
        done, total = out.get(row.track_id, (0, 0))
        out[row.track_id] = (done + row.done, total + row.total)
    return out


def continue_lesson(
    course: Course, completed: dict[str, datetime], last_visited: str | None
) -> Lesson | None:
    """Where to pick up: the last lesson opened if unfinished, else the next unfinished one."""
    lessons = course.lessons()
    if not lessons:
        return None
    if last_visited and course.lesson(last_visited) is not None:
        if last_visited not in completed:
            return course.lesson(last_visited)
        ids = [lesson.id for lesson in lessons]
        start = ids.index(last_visited)
        for lesson in lessons[start + 1 :] + lessons[:start]:
            if lesson.id not in completed:
                return lesson
        return None
    return next((lesson for lesson in lessons if lesson.id not in completed), None)


@dataclass(frozen=True)
class Summary:
    """A learner's place in the course: completed lessons (id -> when), progress per module
    (course order) and per track (id -> done, total), the last lesson opened, and where to
    continue (None once every lesson is done)."""

    completed: dict[str, datetime]
    modules: list[ModuleProgress]
    tracks: dict[str, tuple[int, int]]
    last_visited: str | None
    next_lesson: Lesson | None


def summary(db, course: Course, user_id: str | None) -> Summary:
    """The learner's summary from the store; without a profile, nothing done and the first
    lesson next."""
    done = completed(db, user_id)
    visit = progress.last_visit(db, user_id) if user_id else None
    last = visit.lesson_id if visit else None
    rows = module_progress(course, done)
    return Summary(done, rows, track_progress(rows), last, continue_lesson(course, done, last))


def completed(db, user_id: str | None) -> dict[str, datetime]:
    """Lesson id -> when the learner completed it; empty without a profile."""
    return progress.completed_lessons(db, user_id) if user_id else {}


def record_visit(db, user_id: str, lesson_id: str, now: datetime) -> None:
    """Remember that the learner opened a lesson (where Continue picks up)."""
    progress.record_visit(db, user_id, lesson_id, now)


def mark_complete(db, user_id: str, lesson_id: str, now: datetime) -> None:
    """Mark a lesson complete; completing it again keeps the first time."""
    progress.mark_complete(db, user_id, lesson_id, now)


def mark_incomplete(db, user_id: str, lesson_id: str) -> None:
    """Take a lesson's completion back."""
    progress.mark_incomplete(db, user_id, lesson_id)
