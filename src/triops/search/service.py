"""The course's search index as the CLI and the labs get it: opened, or (re)built when stale."""

from __future__ import annotations

from collections.abc import Callable

# A first build encodes every passage of the course: about 40 s on two cores (600 passages).
FIRST_BUILD_NOTE = "the first build encodes the whole course: about 40 s"


def course_index(
    settings,
    model: str | None = None,
    *,
    rebuild: bool = False,
    log: Callable[[str], None] | None = None,
    save_encoder: bool = True,
):
    """(index, embedder) for the course under settings.root as it is now: the artifact in
    settings.derived_dir when it is current, else built incrementally there (only changed
    passages are encoded). `model` overrides settings.embed_model; `log` hears about builds.
    The embedder keeps its traced query encoder in settings.derived_dir (`save_encoder` False:
    it only reads one saved there)."""
    from triops.content.loader import load_course
    from triops.labs.spec import load_labs
    from triops.quiz.bank import load_bank
    from triops.search.chunks import collect
    from triops.search.embedder import default_embedder
    from triops.search.index import build_index, index_is_current, open_index
    from triops.store.vectors import artifact_path

    root = settings.root
    chunks = collect(load_course(root), load_bank(root), load_labs(root))
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
