"""Drift figures: `drift_report` over 20 columns x 100,000 rows against the bare scipy calls it
makes on the same arrays, measured in the same run; once with a 100,000-row reference (normed
Wasserstein and Jensen-Shannon) and once with a 1,000-row reference (KS, chi-square, Z-test).

The baseline is only the scipy work: the column arrays, and for categorical columns the count
vectors scipy needs, are prepared before the clock starts. Everything else the report does
(dropping missing values, typing each column, counting categories, choosing the test, building
the result) is overhead the ratio measures."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance

from bench.report import Figure, median
from triops.drift import drift_report

ROWS = 100_000
NUMERIC = 14
CATEGORIES = ["basic", "standard", "premium", "business", "student", "family"]
REPEATS = {"large": 5, "small": 15}


def frames(reference_rows: int, current_rows: int = ROWS, seed: int = 3):
    """Reference and current tables: 14 float columns (half of them shifted), 4 string columns
    with 6 categories, a yes/no column and a boolean (20 columns)."""
    rng = np.random.default_rng(seed)

    def table(rows: int, shift: float) -> pd.DataFrame:
        data: dict[str, object] = {}
        for i in range(NUMERIC):
            data[f"num_{i}"] = rng.normal(10 * i + (shift if i % 2 else 0), 3 + i, rows)
        for i in range(4):
            p = np.full(len(CATEGORIES), 1 / len(CATEGORIES))
            if shift and i % 2:
                p = np.roll(np.linspace(1, 2, len(CATEGORIES)), i)
                p /= p.sum()
            data[f"cat_{i}"] = pd.Series(rng.choice(CATEGORIES, rows, p=p), dtype="str")
        data["active"] = pd.Series(
            np.where(rng.random(rows) < 0.5 + shift / 20, "yes", "no"), dtype="str"
        )
        data["paperless"] = rng.random(rows) < 0.6
        return pd.DataFrame(data)

    return table(reference_rows, 0.0), table(current_rows, 1.5)


def _bare_inputs(reference: pd.DataFrame, current: pd.DataFrame):
    """Per column, what the scipy call takes: float arrays, or aligned count vectors."""
    inputs = []
    for column in reference.columns:
        ref, cur = reference[column], current[column]
        if pd.api.types.is_float_dtype(ref):
            inputs.append(("numeric", ref.to_numpy(), cur.to_numpy()))
        else:
            ref_counts = ref.value_counts()
            cur_counts = cur.value_counts().reindex(ref_counts.index, fill_value=0)
            inputs.append(("counts", ref_counts.to_numpy(float), cur_counts.to_numpy(float)))
    return inputs


def _bare_large(inputs) -> None:
    for kind, ref, cur in inputs:
        if kind == "numeric":
            stats.wasserstein_distance(ref, cur)
        else:
            distance.jensenshannon(ref / ref.sum(), cur / cur.sum())


def _bare_small(inputs) -> None:
    for kind, ref, cur in inputs:
        if kind == "numeric":
            stats.ks_2samp(ref, cur)
        elif len(ref) > 2:
            stats.chisquare(cur, ref * (cur.sum() / ref.sum()))
        else:
            stats.norm.cdf(abs(ref[0] / ref.sum() - cur[0] / cur.sum()))


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _figure(
    name: str, reference: pd.DataFrame, current: pd.DataFrame, bare, tests: str, repeats: int
) -> Figure:
    inputs = _bare_inputs(reference, current)
    report = drift_report(reference, current)  # warm-up, and the check of what it chose
    chosen = sorted({c.test for c in report.columns})
    bare(inputs)
    report_s, bare_s = [], []
    for _ in range(repeats):  # interleaved pairs, so that load on the machine hits both alike
        report_s.append(_timed(lambda: drift_report(reference, current)))
        bare_s.append(_timed(lambda: bare(inputs)))
    paired = median([r / b for r, b in zip(report_s, bare_s, strict=True)])
    return Figure(
        name,
        median(report_s) * 1000,
        "ms",
        median(bare_s) * 1000,
        "<= 1.3 x bare scipy",
        f"tests {', '.join(chosen)}; {report.drifted_count} of {len(report.columns)} drifted; "
        f"medians of {repeats} interleaved runs (median paired ratio {paired:.2f}); "
        f"baseline: {tests} on the same arrays, count vectors precomputed",
    )


def large_reference() -> Figure:
    reference, current = frames(ROWS)
    return _figure(
        f"drift report, 20 columns x {ROWS:,} rows, reference {ROWS:,} rows",
        reference,
        current,
        _bare_large,
        "scipy wasserstein_distance and jensenshannon",
        REPEATS["large"],
    )


def small_reference() -> Figure:
    reference, current = frames(1000)
    return _figure(
        f"drift report, 20 columns x {ROWS:,} rows, reference 1,000 rows",
        reference,
        current,
        _bare_small,
        "scipy ks_2samp, chisquare and norm.cdf",
        REPEATS["small"],
    )


def run() -> list[Figure]:
    """Both drift figures."""
    return [large_reference(), small_reference()]


if __name__ == "__main__":
    from bench.report import table

    for figure in run():
        print(table([figure]))
        print(f"  {figure.note}")
