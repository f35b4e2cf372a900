"""The course's search index as the CLI and the labs get it: opened, or (re)built when stale.

Search stands below the labs: the caller hands in `labs(root, lesson_ids)`, the lab specs whose
passages the index holds (triops.labs.spec.load_labs), and search imports nothing of the labs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

LabSpecs = Callable[[Path, set[str]], Any]
"""labs(root, lesson_ids): the labs under root, their lessons checked against lesson_ids (a
Labs or an iterable of Lab, as search.chunks.collect takes them)."""

# A first build encodes every passage of the course: 40 to 60 s on two cores for about 600 to
# 800 passages (the browser walk of 2026-12-06 measured 60 s for 622 on a busy machine).
FIRST_BUILD_NOTE = "the first build encodes the whole course: about a minute"


def course_chunks(root: Path, labs: LabSpecs) -> list:
    """Every passage of the course under `root` as search indexes it: lessons, practice
    questions and the labs `labs(root, lesson_ids)` gives (what the app's Search and Ask use)."""
    from triops.content.loader import load_course
    from triops.quiz.bank import load_bank
    from triops.search.chunks import collect

    course = load_course(root)
    lesson_ids = {lesson.id for lesson in course.lessons()}
    return collect(course, load_bank(root, lesson_ids), labs(root, lesson_ids))


def course_index(
    settings,
    labs: LabSpecs,
    model: str | None = None,
    *,
    rebuild: bool = False,
    log: Callable[[str], None] | None = None,
    save_encoder: bool = True,
):
    """(index, embedder) for the course under settings.root as it is now, with the passages of
    `labs(root, lesson_ids)`: the artifact in settings.derived_dir when it is current, else built
    incrementally there (only changed passages are encoded). `model` overrides
    settings.embed_model; `log` hears about builds.
    The embedder keeps its traced query encoder in settings.derived_dir (`save_encoder` False:
    it only reads one saved there)."""
    from triops.search.embedder import default_embedder
    from triops.search.index import build_index, index_is_current, open_index
    from triops.store.vectors import artifact_path

    chunks = course_chunks(settings.root, labs)
    embedder = default_embedder(
        model or settings.embed_model, settings.derived_dir, save=save_encoder
    )
    index = None if rebuild else open_index(settings.derived_dir, embedder.model_id)
    if index is None or not index_is_current(index, chunks):
        if log is not None:
            first = not artifact_path(settings.derived_dir, embedder.model_id).is_file()
            note = f" ({FIRST_BUILD_NOTE})" if first else ""
            log(f"indexing {len(chunks)} passages…{note}")
        index, stats = build_index(chunks, embedder, settings.derived_dir)
        if log is not None:
            log(
                f"indexed {stats.chunks} passages: encoded {stats.encoded}, reused "
                f"{stats.reused}, in {stats.seconds:.1f} s"
            )
    return index, embedder
