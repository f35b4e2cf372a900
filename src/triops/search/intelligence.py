"""Content intelligence for `triops validate`: near-duplicate questions, questions whose stem is
far from the lesson they link, and lessons with too few questions."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from triops.content.models import Course
from triops.content.problems import Problem, warning
from triops.quiz.bank import Bank

# Calibrated on the course's own bank with all-MiniLM-L6-v2 (2026-11-28): the closest pair of
# genuinely different questions scores 0.87 (two token-cost calculations), so 0.90 flags only
# rewordings. A stem's best section of its own lesson scores 0.19 at the lowest (1st percentile
# 0.25, median 0.54), while a deliberately wrong lesson from another track scores a median 0.26:
# the two overlap, so 0.19 catches only about a quarter of wrong links, with no false warning on
# the course. It is a hint to look, not a verdict.
DUPLICATE_THRESHOLD = 0.90
FAR_THRESHOLD = 0.19
MIN_QUESTIONS = 3


def too_few_questions(course: Course, bank: Bank) -> list[Problem]:
    """Lessons with fewer than MIN_QUESTIONS linked questions (a warning each)."""
    counts = Counter(q.question.lesson for q in bank.questions)
    return [
        warning(
            lesson.path,
            1,
            f"lesson '{lesson.id}' has {counts[lesson.id]} question(s); "
            f"at least {MIN_QUESTIONS} are expected",
        )
        for lesson in course.lessons()
        if counts[lesson.id] < MIN_QUESTIONS
    ]


def _stem_text(q) -> str:
    return " ".join(q.question.stem.replace("[[blank]]", "___").split())


def semantic_warnings(
    course: Course,
    bank: Bank,
    embedder,
    derived_dir: Path,
    *,
    duplicate: float = DUPLICATE_THRESHOLD,
    far: float = FAR_THRESHOLD,
) -> list[Problem]:
    """Near-duplicate questions (naming both files and lines) and stems far from their lesson."""
    from triops.search.chunks import collect
    from triops.search.index import build_index

    questions = bank.questions
    if not questions:
        return []
    problems: list[Problem] = []
    stems = embedder.encode([_stem_text(q) for q in questions])
    sims = stems @ stems.T
    np.fill_diagonal(sims, -1.0)
    rows, cols = np.where(np.triu(sims, k=1) >= duplicate)
    for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
        a, b = questions[i], questions[j]
        problems.append(
            warning(
                a.path,
                a.line,
                f"question '{a.id}' nearly duplicates '{b.id}' at {b.path}:{b.line} "
                f"(cosine {sims[i, j]:.2f} >= {duplicate:.2f})",
            )
        )
    # Lesson sections come from the search index's cache: only changed sections are encoded.
    index, _ = build_index(collect(course), embedder, derived_dir)
    by_lesson: dict[str, list[int]] = {}
    for n, chunk in enumerate(index.chunks):
        if chunk.kind == "lesson":
            lesson_id = chunk.url.split("lesson=", 1)[1].split("#", 1)[0]
            by_lesson.setdefault(lesson_id, []).append(n)
    for k, q in enumerate(questions):
        rows_of = by_lesson.get(q.question.lesson or "")
        if not rows_of:
            continue
        best = float((index.vectors[rows_of] @ stems[k]).max())
        if best < far:
            problems.append(
                warning(
                    q.path,
                    q.line,
                    f"question '{q.id}' seems far from its lesson '{q.question.lesson}' "
                    f"(best section cosine {best:.2f} < {far:.2f}); check the lesson link",
                )
            )
    return problems
