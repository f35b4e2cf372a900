"""Generated inputs for benchmarks (written to temp folders, never committed)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from triops.content.loader import load_course


def scaled_course(source_root: Path, target_root: Path, copies: int = 10) -> int:
    """A course `copies` times the size of the real one: each module repeated with renamed ids.

    Copy 0 keeps the original ids so that the knowledge files still resolve. Returns the number
    of lessons written."""
    shutil.copytree(source_root / "content" / "knowledge", target_root / "content" / "knowledge")
    shutil.copy(source_root / "content" / "tracks.yaml", target_root / "content" / "tracks.yaml")
    shutil.copytree(source_root / "data", target_root / "data")
    course = load_course(source_root)
    ids = sorted((lesson.id for lesson in course.lessons()), key=len, reverse=True)
    pattern = re.compile(r"(?<![a-z0-9-])(" + "|".join(map(re.escape, ids)) + r")(?![a-z0-9-])")
    written = 0
    for n in range(copies):
        suffix = "" if n == 0 else f"-c{n}"
        for track in course.tracks:
            for module in track.modules:
                src = source_root / "content" / track.id / module.id
                dst = target_root / "content" / track.id / f"{module.id}{suffix}"
                dst.mkdir(parents=True)
                shutil.copy(src / "module.yaml", dst / "module.yaml")
                for lesson in module.lessons:
                    text = (source_root / lesson.path).read_text(encoding="utf-8")
                    if suffix:
                        text = pattern.sub(lambda m, s=suffix: m.group(1) + s, text)
                    (dst / Path(lesson.path).name).write_text(text, encoding="utf-8")
                    written += 1
    return written
