"""Per-column drift tests chosen as Evidently 0.7 chooses them, and the dataset verdict."""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from triops.drift import stattests
from triops.drift.inputs import (
    DriftInputError,
    blank_cells,
    first_non_number,
    header_line,
    is_numeric,
    line_of,
    source_of,
)
from triops.drift.stattests import TESTS, Samples

# Evidently switches from statistical tests to distances above this many reference values.
SMALL_REFERENCE_MAX = 1000
# A numeric column with at most this many distinct values (both sides together) is tested as a
# category: chi-square, or the Z-test at 2 values or fewer.
FEW_VALUES_MAX = 5
BINARY_MAX = 2
# Evidently's type inference: an integer column with at most this many distinct values in the
# current data is categorical.
INTEGER_CATEGORY_MAX = 10
# ... and a text column with more distinct values than this share of its present values is text.
TEXT_DISTINCT_SHARE = 0.5
DEFAULT_DRIFT_SHARE = 0.5
REPORT_FORMAT = 1


@dataclass(frozen=True)
class ColumnTest:
    """A per-column choice of test, and optionally of threshold (default: the test's own)."""

    test: str
    threshold: float | None = None

    def __post_init__(self) -> None:
        if self.test not in TESTS:
            raise ValueError(f"unknown drift test '{self.test}' (use one of: {', '.join(TESTS)})")
        if self.threshold is not None and not (
            isinstance(self.threshold, numbers.Real) and np.isfinite(self.threshold)
        ):
            raise ValueError(f"threshold must be a finite number, got {self.threshold!r}")


@dataclass(frozen=True)
class ColumnDrift:
    """The result of one column's test."""

    column: str
    kind: str  # "numeric", "categorical" or "binary"
    test: str
    score: float
    threshold: float
    drifted: bool
    score_kind: str  # "p_value" (drift when low) or "distance" (drift when high)
    reference_count: int = 0  # values compared after dropping missing ones
    current_count: int = 0
    reference_missing: int = 0  # missing cells dropped (empty, NA, or only spaces in a CSV)
    current_missing: int = 0
    reference_blank: int = 0  # of those, the CSV cells that held only spaces
    current_blank: int = 0

    @property
    def missing(self) -> bool:
        """Whether either side had missing cells in this column."""
        return bool(self.reference_missing or self.current_missing)

    @property
    def verdict(self) -> str:
        return "drift" if self.drifted else "no drift"

    @property
    def rule(self) -> str:
        """When this column counts as drifted, e.g. `p < 0.05` or `distance >= 0.1`."""
        if self.score_kind == "distance":
            return f"distance >= {self.threshold:g}"
        return f"p {'<=' if TESTS[self.test].drift_at_threshold else '<'} {self.threshold:g}"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class DriftReport:
    """Every column's result and the dataset verdict: drift when drifted/columns >= drift_share."""

    columns: list[ColumnDrift]
    reference_rows: int
    current_rows: int
    drift_share: float = DEFAULT_DRIFT_SHARE
    notes: list[str] = field(default_factory=list)

    @property
    def drifted_count(self) -> int:
        return sum(c.drifted for c in self.columns)

    @property
    def share(self) -> float:
        return self.drifted_count / len(self.columns) if self.columns else 0.0

    @property
    def dataset_drift(self) -> bool:
        return bool(self.columns) and self.share >= self.drift_share

    @property
    def rule(self) -> str:
        return f"dataset drift when drifted columns / columns >= {self.drift_share:g}"

    def column(self, name: str) -> ColumnDrift:
        """The result for one column (KeyError if it was not compared)."""
        for result in self.columns:
            if result.column == name:
                return result
        raise KeyError(name)

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    def to_dict(self) -> dict:
        """JSON-ready; the derived verdicts are included for readers, ignored by from_dict."""
        return {
            "format": REPORT_FORMAT,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "drift_share": self.drift_share,
            "drifted_count": self.drifted_count,
            "share": self.share,
            "dataset_drift": self.dataset_drift,
            "rule": self.rule,
            "columns": [c.to_dict() for c in self.columns],
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: dict) -> DriftReport:
        """The report that to_dict produced."""
        return cls(
            columns=[ColumnDrift(**c) for c in data["columns"]],
            reference_rows=int(data["reference_rows"]),
            current_rows=int(data["current_rows"]),
            drift_share=float(data.get("drift_share", DEFAULT_DRIFT_SHARE)),
            notes=list(data.get("notes", [])),
        )


def drift_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    columns: list[str] | None = None,
    overrides: dict[str, ColumnTest | str] | None = None,
    drift_share: float = DEFAULT_DRIFT_SHARE,
) -> DriftReport:
    """Test every column (default: every column of the reference but datetimes) for drift from
    `reference` to `current` with Evidently 0.7's default test and threshold, or the test and
    threshold in `overrides[column]` (a ColumnTest or a test name).

    Missing and infinite values are dropped per column, as Evidently does. Raises
    DriftInputError for a missing column, an empty frame, a column with no values, or a column
    numeric on one side and not on the other."""
    ref_source = source_of(reference, "reference")
    cur_source = source_of(current, "current")
    if reference.empty:
        raise DriftInputError("no rows", source=ref_source)
    if current.empty:
        raise DriftInputError("no rows", source=cur_source)
    if columns is None:
        columns = [
            c for c in reference.columns if not pd.api.types.is_datetime64_any_dtype(reference[c])
        ]
    if not columns:
        raise DriftInputError("no columns to compare", source=ref_source)
    for frame, source in ((reference, ref_source), (current, cur_source)):
        for column in columns:
            if column not in frame.columns:
                raise DriftInputError(
                    f"missing (the data has: {', '.join(map(str, frame.columns))})",
                    source=source,
                    column=column,
                    row=header_line(frame),
                )
    chosen = {
        name: ColumnTest(spec) if isinstance(spec, str) else spec
        for name, spec in (overrides or {}).items()
    }
    unknown = sorted(set(chosen) - set(columns))
    if unknown:
        raise DriftInputError(
            "has a test override but is not among the compared columns "
            f"({', '.join(map(str, columns))})",
            column=unknown[0],
        )
    results, notes = [], []
    for column in columns:
        result, note = _column_drift(
            reference, current, column, chosen.get(column), ref_source, cur_source
        )
        results.append(result)
        if note:
            notes.append(note)
    return DriftReport(
        columns=results,
        reference_rows=len(reference),
        current_rows=len(current),
        drift_share=drift_share,
        notes=notes,
    )


def _column_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    column: str,
    override: ColumnTest | None,
    ref_source: str,
    cur_source: str,
) -> tuple[ColumnDrift, str | None]:
    """The column's result, and a note when Evidently would have typed it as text."""
    ref_raw, cur_raw = reference[column], current[column]
    numeric = _numeric_on_both_sides(
        (reference, ref_raw, ref_source), (current, cur_raw, cur_source), column
    )
    ref, ref_missing = _present_values(ref_raw, numeric, column, ref_source)
    cur, cur_missing = _present_values(cur_raw, numeric, column, cur_source)

    # Evidently's data definition types an integer column with few values as categorical, and
    # reads that from the current data (the first dataset given to Report.run).
    numerical = numeric and not (
        pd.api.types.is_integer_dtype(cur_raw)
        and stattests.count_distinct([cur], INTEGER_CATEGORY_MAX) <= INTEGER_CATEGORY_MAX
    )
    samples = Samples(ref, cur, numerical)
    note = None
    if numerical:
        n_values = stattests.count_distinct([ref, cur], FEW_VALUES_MAX)
    else:
        n_values = len(samples.counts[2])
        if not numeric and len(samples.value_counts[1][0]) > TEXT_DISTINCT_SHARE * len(cur):
            note = (
                f"column '{column}': most values are distinct, so Evidently would type it as "
                "text and use a different, model-based test; it is tested here as a category "
                "(leave identifiers out with `columns`)"
            )
    if n_values <= BINARY_MAX:
        kind = "binary"
    elif numerical and n_values > FEW_VALUES_MAX:
        kind = "numeric"
    else:
        kind = "categorical"

    if override is None:
        spec = TESTS[_default_test(kind, len(ref))]
        threshold = spec.default_threshold
    else:
        spec = TESTS[override.test]
        if spec.numeric_only and not numeric:
            raise DriftInputError(
                f"the '{spec.name}' test needs numbers; this column holds categories",
                source=ref_source,
                column=column,
            )
        threshold = spec.default_threshold if override.threshold is None else override.threshold
    score = spec.score(samples)
    result = ColumnDrift(
        column=str(column),
        kind=kind,
        test=spec.name,
        score=score,
        threshold=float(threshold),
        drifted=spec.drifted(score, threshold),
        score_kind=spec.score_kind,
        reference_count=len(ref),
        current_count=len(cur),
        reference_missing=ref_missing,
        current_missing=cur_missing,
        reference_blank=blank_cells(reference).get(str(column), 0),
        current_blank=blank_cells(current).get(str(column), 0),
    )
    return result, note


def _default_test(kind: str, reference_count: int) -> str:
    """Evidently's get_stattest: tests on a small reference, distances on a large one."""
    if reference_count <= SMALL_REFERENCE_MAX:
        return {"numeric": "ks", "categorical": "chisquare", "binary": "z"}[kind]
    return "wasserstein" if kind == "numeric" else "jensenshannon"


def _numeric_on_both_sides(
    reference: tuple[pd.DataFrame, pd.Series, str],
    current: tuple[pd.DataFrame, pd.Series, str],
    column: str,
) -> bool:
    """Whether the column holds numbers; DriftInputError when only one side does. Each side is
    (frame, its column, its source)."""
    ref_numeric, cur_numeric = is_numeric(reference[1]), is_numeric(current[1])
    if ref_numeric == cur_numeric:
        return ref_numeric
    (frame, series, source), other = (current, reference) if ref_numeric else (reference, current)
    bad = first_non_number(series)
    if bad is None:  # booleans, or numbers stored as text: name the type, not a value
        raise DriftInputError(
            f"holds {series.dtype} values but numbers in {other[2]}", source=source, column=column
        )
    position, value = bad
    line = line_of(frame, position)
    label = "" if line is not None else f" (row {frame.index[position]!r})"
    raise DriftInputError(
        f"{value!r} is not a number{label}; the column holds numbers in {other[2]}",
        source=source,
        column=column,
        row=line,
    )


def _present_values(
    series: pd.Series, numeric: bool, column: str | None, source: str
) -> tuple[np.ndarray | pd.Series, int]:
    """The column without missing or infinite values (float64 numbers, or a Series), and how
    many of its cells were missing (NaN, None or NA; an infinite number is not missing).

    Each side is read once: a column with nothing to drop comes back without a copy."""
    if numeric:
        if isinstance(series.dtype, np.dtype):  # float64 comes without a copy
            values = series.to_numpy(dtype=np.float64)
        else:  # nullable Int64/Float64 hold pd.NA
            values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = np.isfinite(values)
        missing = 0
        if not finite.all():
            if isinstance(series.dtype, np.dtype):  # numpy numbers: the missing cells are NaN
                missing = int(np.isnan(values).sum())
            else:  # count: the cells that are not NA
                missing = len(series) - int(series.count())
            values = values[finite]
    else:
        missing = len(series) - int(series.count())  # count: the cells that are not NA
        values = series.dropna() if missing else series
    if len(values) == 0:
        raise DriftInputError(
            f"has no values (all {len(series)} are missing)", source=source, column=column
        )
    return values, missing


def psi(reference, current) -> float:
    """Population Stability Index of two samples (array-likes or Series), binned as Evidently
    bins them; missing and infinite values are dropped. 0.1 or more is drift by default."""
    ref = reference if isinstance(reference, pd.Series) else pd.Series(np.asarray(reference))
    cur = current if isinstance(current, pd.Series) else pd.Series(np.asarray(current))
    numerical = is_numeric(ref) and is_numeric(cur)
    samples = Samples(
        _present_values(ref, numerical, None, "reference")[0],
        _present_values(cur, numerical, None, "current")[0],
        numerical,
    )
    return stattests.psi(samples)
