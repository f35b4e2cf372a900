"""Parse and validate data/*.csv; a malformed row is reported with file and line, then skipped."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from triops.content.problems import Problem, error
from triops.content.yamlsource import describe_loc

SEED = "seed article"


class SourcedRow(BaseModel):
    """Every figure names its primary source, the page it was read on, and a year."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    source: str = Field(min_length=1)
    source_url: str = ""
    published: int | None = Field(default=None, ge=1990, le=2100)
    retrieved: int = Field(ge=2000, le=2100)
    via: str = Field(min_length=1)

    @field_validator("published", mode="before")
    @classmethod
    def _undated(cls, value: object) -> object:
        # An empty cell means the page carries no date: say so rather than guess one.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("source_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) address or empty")
        return value

    @model_validator(mode="after")
    def _url_or_seed(self):
        if not self.source_url and self.via != SEED:
            raise ValueError(f"source_url may be empty only when via is '{SEED}'")
        return self


class Salary(SourcedRow):
    role: str = Field(min_length=1)
    region: str = Field(min_length=1)
    amount: float = Field(gt=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    period: Literal["year", "month", "hour"]
    statistic: Literal["average", "median", "mean", "low", "high", "entry", "senior", "p10", "p90"]


class MarketFigure(SourcedRow):
    market: str = Field(min_length=1)
    metric: Literal["size", "cagr", "share"]
    value: float
    unit: Literal["USD billion", "percent"]
    region: str = Field(min_length=1)
    year: int = Field(ge=1990, le=2100)


class MarketClaim(SourcedRow):
    claim: str = Field(min_length=10)
    market: str = Field(min_length=1)
    region: str = Field(min_length=1)


COLUMNS: dict[type[SourcedRow], list[str]] = {
    Salary: [
        "role",
        "region",
        "amount",
        "currency",
        "period",
        "statistic",
        "source",
        "source_url",
        "published",
        "retrieved",
        "via",
    ],
    MarketFigure: [
        "market",
        "metric",
        "value",
        "unit",
        "region",
        "year",
        "source",
        "source_url",
        "published",
        "retrieved",
        "via",
    ],
    MarketClaim: [
        "claim",
        "market",
        "region",
        "source",
        "source_url",
        "published",
        "retrieved",
        "via",
    ],
}

FILES: dict[str, tuple[str, type[SourcedRow]]] = {
    "salaries": ("salaries.csv", Salary),
    "figures": ("market_figures.csv", MarketFigure),
    "claims": ("market_claims.csv", MarketClaim),
}


@dataclass
class MarketData:
    salaries: list[Salary] = field(default_factory=list)
    figures: list[MarketFigure] = field(default_factory=list)
    claims: list[MarketClaim] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    fingerprint: str = ""

    @property
    def rows(self) -> int:
        return len(self.salaries) + len(self.figures) + len(self.claims)


def data_fingerprint(data_dir: Path) -> str:
    """A hash of the data files' contents: what the derived database is keyed by."""
    digest = hashlib.sha256()
    for _, (name, _) in sorted(FILES.items()):
        path = data_dir / name
        digest.update(name.encode())
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
    return digest.hexdigest()[:16]


def read_csv(path: Path, shown: str, model: type[SourcedRow]) -> tuple[list, list[Problem]]:
    """Rows that validate, and a problem for each one that does not."""
    expected = COLUMNS[model]
    problems: list[Problem] = []
    rows = []
    try:
        handle = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        return [], [error(shown, 1, f"cannot read file: {exc.strerror}")]
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            return [], [error(shown, 1, "empty file: expected a header row")]
        except (csv.Error, UnicodeDecodeError) as exc:
            return [], [error(shown, 1, f"unreadable header: {exc}")]
        header = [h.strip() for h in header]
        missing = [c for c in expected if c not in header]
        unknown = [c for c in header if c not in expected]
        if missing or unknown:
            parts = []
            if missing:
                parts.append("missing columns: " + ", ".join(missing))
            if unknown:
                parts.append("unknown columns: " + ", ".join(unknown))
            return [], [error(shown, 1, "; ".join(parts))]
        while True:
            line = reader.line_num + 1
            try:
                record = next(reader)
            except StopIteration:
                break
            except (csv.Error, UnicodeDecodeError) as exc:
                problems.append(error(shown, line, f"unreadable row: {exc}; row skipped"))
                continue
            if not record or all(not cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                problems.append(
                    error(
                        shown,
                        line,
                        f"expected {len(header)} fields, found {len(record)}; row skipped",
                    )
                )
                continue
            values = dict(zip(header, record, strict=True))
            try:
                rows.append(model.model_validate(values))
            except ValidationError as exc:
                for err in exc.errors():
                    where = describe_loc(tuple(err["loc"]))
                    what = f"column '{where}'" if err["loc"] else "row"
                    problems.append(error(shown, line, f"{what}: {err['msg']}; row skipped"))
    return rows, problems


def load_market_data(data_dir: Path) -> MarketData:
    """Every valid row of the three data files, with the problems found."""
    data = MarketData(fingerprint=data_fingerprint(data_dir))
    for attr, (name, model) in FILES.items():
        path = data_dir / name
        shown = f"data/{name}"
        if not path.is_file():
            data.problems.append(error(shown, 1, "missing data file"))
            continue
        rows, problems = read_csv(path, shown, model)
        setattr(data, attr, rows)
        data.problems += problems
    return data
