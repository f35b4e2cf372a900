"""The lab's data sets (written into data/ when the lab is reset) and the hash of a window."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.model import FEATURES, LABEL, NUMERIC
from triops.drift import read_csv_checked

DATA = Path("data")


class DataError(Exception):
    """The data folder is missing or not what the pipeline expects."""


@dataclass(frozen=True)
class Batch:
    name: str
    number: int
    file: str
    holdout: str


@dataclass(frozen=True)
class Catalog:
    """What data/manifest.json lists: the reference window and the weekly batches."""

    reference: str
    reference_holdout: str
    batches: list[Batch]
    files: dict[str, str]  # data set name -> file name

    def training_sets(self, upto: Batch | None) -> list[str]:
        """The data sets a model may be trained on once `upto`'s labels arrived."""
        names = ["reference"]
        for batch in self.batches:
            if upto is None:
                break
            names.append(batch.name)
            if batch.name == upto.name:
                break
        return names


def catalog(folder: Path = DATA) -> Catalog:
    path = folder / "manifest.json"
    if not path.is_file():
        raise DataError(
            f"{path} is missing: the data is generated when the lab is reset "
            "(triops lab reset drift-retrain --dir DIR, or Reset in the app)"
        )
    data = json.loads(path.read_text(encoding="utf-8"))
    batches = [
        Batch(b["name"], number, b["file"], b["holdout"])
        for number, b in enumerate(data["batches"], start=1)
    ]
    files = {"reference": data["reference"]["file"]}
    files["reference-holdout"] = data["reference_holdout"]["file"]
    for b in batches:
        files[b.name] = b.file
        files[f"{b.name}-holdout"] = b.holdout
    return Catalog("reference", "reference-holdout", batches, files)


def load(cat: Catalog, name: str, folder: Path = DATA) -> pd.DataFrame:
    """One data set, checked: every feature and the label present, numbers where expected."""
    return read_csv_checked(
        folder / cat.files[name], numeric=[*NUMERIC, LABEL], required=[*FEATURES, LABEL]
    )


def load_window(cat: Catalog, window: list[str], folder: Path = DATA) -> pd.DataFrame:
    """The rows of several data sets, in the window's order."""
    return pd.concat([load(cat, name, folder) for name in window], ignore_index=True)


def window_hash(cat: Catalog, window: list[str], folder: Path = DATA) -> str:
    """sha256 over the lines `name:sha256(file bytes)` of the window, joined by newlines.

    Names the exact rows a model saw: the same files in the same order give the same hash."""
    lines = [
        f"{name}:{hashlib.sha256((folder / cat.files[name]).read_bytes()).hexdigest()}"
        for name in window
    ]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()
