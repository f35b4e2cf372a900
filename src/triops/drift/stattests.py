"""The six drift tests, computed as Evidently 0.7.23 computes them.

Each function takes the Samples of one column: its present values (missing and infinite values
already dropped) in the reference and the current data, as float64 numpy arrays for numbers and
pandas Series otherwise. It returns a score: a p-value for `ks`, `chisquare` and `z`, a distance
for `wasserstein`, `jensenshannon` and `psi`.

Sources followed (evidently/legacy/calculations/stattests/ in evidently 0.7.23): ks_stattest.py,
chisquare_stattest.py, z_stattest.py, wasserstein_distance_norm.py, jensenshannon.py, psi.py and
utils.get_binned_data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance

# Evidently bins a numeric column into Sturges histogram bins only when its reference has more
# than this many distinct values; otherwise each value is its own bin.
HISTOGRAM_MIN_DISTINCT = 20


@dataclass
class Samples:
    """One column's present values on both sides; `numerical` is Evidently's column type
    (numbers tested as numbers), which lets JS and PSI use histogram bins."""

    reference: np.ndarray | pd.Series
    current: np.ndarray | pd.Series
    numerical: bool = False

    @cached_property
    def value_counts(self) -> tuple[tuple[list, list[int]], tuple[list, list[int]]]:
        """Each side's values that occur, and how often, in order of first appearance (a
        `category` column's unused categories are left out)."""
        return _occurring(self.reference), _occurring(self.current)

    @cached_property
    def counts(self) -> tuple[np.ndarray, np.ndarray, list]:
        """Counts on each side over the union of values seen on either (0 where absent).

        Plain dicts, as in Evidently's code: equal keys are the same bin (1, 1.0 and True)."""
        ref, cur = self.value_counts
        ref_map = dict(zip(*ref, strict=True))
        cur_map = dict(zip(*cur, strict=True))
        keys = list(ref_map) + [key for key in cur_map if key not in ref_map]
        return (
            np.array([ref_map.get(key, 0) for key in keys], dtype=np.float64),
            np.array([cur_map.get(key, 0) for key in keys], dtype=np.float64),
            keys,
        )


def _occurring(values: np.ndarray | pd.Series) -> tuple[list, list[int]]:
    """The values that occur and how often each does, in order of first appearance, as
    pandas' value_counts(sort=False) gives them; counted without building its Series where the
    data allows (the drift bench's 100,000-row columns)."""
    if values.dtype == np.bool_:  # numpy booleans: two counts
        data = np.asarray(values)
        true = int(np.count_nonzero(data))
        first = bool(data[0])
        found = [(first, true if first else len(data) - true)]
        found.append((not first, len(data) - found[0][1]))
        return [v for v, n in found if n], [n for _, n in found if n]
    # Arrow-backed (pandas' str with pyarrow installed, or an ArrowDtype): Arrow's own count,
    # as pandas calls it. Python-backed strings also offer __arrow_array__, which then needs
    # pyarrow: the storage decides, not the method (the labs' venv has no pyarrow).
    if getattr(values.dtype, "storage", None) == "pyarrow":
        counted = values.array.__arrow_array__().value_counts()
        keys, counts = counted.field(0).to_pylist(), counted.field(1).to_pylist()
        return (
            [k for k in keys if k is not None],
            [n for k, n in zip(keys, counts, strict=True) if k is not None],
        )
    counted = pd.Series(values, copy=False).value_counts(sort=False)
    if isinstance(counted.index.dtype, pd.CategoricalDtype):  # unused categories count 0
        counted = counted[counted > 0]
    return counted.index.tolist(), counted.tolist()


def count_distinct(parts: list[np.ndarray | pd.Series], cap: int) -> int:
    """Distinct values across `parts`, or `cap + 1` as soon as there are more than `cap`.

    Reads growing slices so that a high-cardinality column stops after a few thousand values
    instead of hashing all of them (the bench's 100,000-row columns)."""
    seen: set = set()
    for part in parts:
        start, step = 0, 1024
        while start < len(part):
            if isinstance(part, pd.Series):
                chunk = part.iloc[start : start + step]
            else:
                chunk = part[start : start + step]
            distinct = pd.unique(chunk)
            if len(distinct) > cap:  # a high-cardinality column ends on its first chunk
                return cap + 1
            seen.update(distinct.tolist())
            if len(seen) > cap:
                return cap + 1
            start += step
            step *= 4
    return len(seen)


def ks(samples: Samples) -> float:
    """Two-sample Kolmogorov-Smirnov test, two-sided: the p-value of scipy's ks_2samp."""
    return float(stats.ks_2samp(samples.reference, samples.current).pvalue)


def chisquare(samples: Samples) -> float:
    """Chi-square goodness of fit of the current counts against the reference proportions.

    Expected counts are the reference counts scaled to the current size; a value absent from
    the reference has an expected count of 0, which makes the statistic infinite and the p-value
    0 (scipy's result, as in Evidently)."""
    ref, cur, _ = samples.counts
    expected = ref * (cur.sum() / ref.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(stats.chisquare(cur, expected).pvalue)


def z(samples: Samples) -> float:
    """Two-sided Z-test for the difference of two proportions (a column with at most 2 values).

    The proportion is that of rows not equal to the smallest value; a column holding one and the
    same value on both sides has p-value 1. The p-value is 2 * (1 - Phi(|z|)), written as
    Evidently writes it (so it reaches exactly 0 for very large |z|)."""
    ref, cur, keys = samples.counts
    if len(keys) == 1:
        return 1.0
    first = keys.index(min(keys))
    n1, n2 = ref.sum(), cur.sum()
    p1 = float(n1 - ref[first]) / n1
    p2 = float(n2 - cur[first]) / n2
    pooled = float(p1 * n1 + p2 * n2) / (n1 + n2)
    statistic = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return float(2 * (1 - stats.norm.cdf(np.abs(statistic))))


def wasserstein(samples: Samples) -> float:
    """Wasserstein-1 distance divided by the reference's standard deviation (at least 0.001)."""
    scale = max(float(np.std(samples.reference)), 0.001)
    return float(stats.wasserstein_distance(samples.reference, samples.current)) / scale


def binned(samples: Samples, fill_zeroes: bool) -> tuple[np.ndarray, np.ndarray]:
    """Share of each sample per bin, as Evidently's get_binned_data computes it.

    A numerical column whose reference has more than 20 distinct values is cut into Sturges
    histogram bins over both samples together; any other column has one bin per value seen on
    either side. With `fill_zeroes` (PSI), an empty bin gets a small share instead of 0: 0.0001,
    or a millionth of the smallest non-zero share when that is at most 0.0001."""
    reference, current = samples.reference, samples.current
    if (
        samples.numerical
        and count_distinct([reference], HISTOGRAM_MIN_DISTINCT) > HISTOGRAM_MIN_DISTINCT
    ):
        edges = np.histogram_bin_edges(np.concatenate([reference, current]), bins="sturges")
        ref_share = np.histogram(reference, edges)[0] / len(reference)
        cur_share = np.histogram(current, edges)[0] / len(current)
    else:
        ref_counts, cur_counts, _ = samples.counts
        ref_share = ref_counts / len(reference)
        cur_share = cur_counts / len(current)
    if fill_zeroes:
        ref_share = _fill_zeroes(ref_share)
        cur_share = _fill_zeroes(cur_share)
    return ref_share, cur_share


def _fill_zeroes(shares: np.ndarray) -> np.ndarray:
    smallest = shares[shares != 0].min()
    return np.where(shares == 0, smallest / 10**6 if smallest <= 0.0001 else 0.0001, shares)


def jensenshannon(samples: Samples) -> float:
    """Jensen-Shannon distance (natural logarithm, so at most sqrt(ln 2) = 0.83) of the binned
    shares."""
    ref_share, cur_share = binned(samples, fill_zeroes=False)
    return float(distance.jensenshannon(ref_share, cur_share))


def psi(samples: Samples) -> float:
    """Population Stability Index: sum of (ref - cur) * ln(ref / cur) over the binned shares."""
    ref_share, cur_share = binned(samples, fill_zeroes=True)
    return float(np.sum((ref_share - cur_share) * np.log(ref_share / cur_share)))


@dataclass(frozen=True)
class TestSpec:
    """One named test: how it scores a column and when the score means drift."""

    name: str
    label: str
    score: Callable[[Samples], float]
    score_kind: str  # "p_value" (drift when low) or "distance" (drift when high)
    default_threshold: float
    numeric_only: bool
    # Evidently's KS flags drift at p <= threshold, its chi-square and Z-test at p < threshold.
    drift_at_threshold: bool = True

    def drifted(self, score: float, threshold: float) -> bool:
        if self.score_kind == "distance":
            return score >= threshold
        return score <= threshold if self.drift_at_threshold else score < threshold


TESTS: dict[str, TestSpec] = {
    spec.name: spec
    for spec in (
        TestSpec("ks", "K-S p-value", ks, "p_value", 0.05, numeric_only=True),
        TestSpec("chisquare", "chi-square p-value", chisquare, "p_value", 0.05, False, False),
        TestSpec("z", "Z-test p-value", z, "p_value", 0.05, False, drift_at_threshold=False),
        TestSpec("wasserstein", "normed Wasserstein distance", wasserstein, "distance", 0.1, True),
        TestSpec("jensenshannon", "Jensen-Shannon distance", jensenshannon, "distance", 0.1, False),
        TestSpec("psi", "PSI", psi, "distance", 0.1, numeric_only=False),
    )
}
