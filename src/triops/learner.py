"""What a learner has done: completion per track and module, and where to continue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from triops.content.models import Course, Lesson


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
