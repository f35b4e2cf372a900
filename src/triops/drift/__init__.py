"""Data drift detection with Evidently 0.7's defaults, on pandas, numpy and scipy alone.

`drift_report(reference, current)` tests each column for a change of distribution and gives
the dataset verdict; `read_csv_checked` reads a CSV with errors naming the file, column and line.
The library imports only the standard library, numpy, pandas and scipy, so that it also runs in
the labs' sandbox venv.

How a column is tested (Evidently 0.7.23, `get_stattest` in legacy/calculations/stattests/
registry.py, and `infer_column_type` in core/datasets.py):

- With `columns=None` every column of the reference is compared except datetime columns
  (Evidently's preset skips them too).
- Missing and infinite values are dropped per column first; "reference rows" below counts the
  reference's present values in that column, so a column with many gaps can fall on the small
  side of the switch while its neighbours do not.
- A column is numerical when it holds numbers (booleans are categories), except an integer column
  with at most 10 distinct values in the current data, which Evidently types as categorical.
- Reference of at most 1000 values: a numerical column with more than 5 distinct values (both
  sides together) gets the two-sample Kolmogorov-Smirnov test; any other column gets chi-square,
  or the Z-test for two proportions when it has at most 2 distinct values. Drift when p < 0.05
  (KS: p <= 0.05, as Evidently compares).
- Reference of more than 1000 values: the Wasserstein distance divided by the reference's
  standard deviation for numerical columns with more than 5 distinct values, the Jensen-Shannon
  distance (natural log) for the rest. Drift when the distance >= 0.1.
- PSI (threshold 0.1), and any test above, can be chosen per column with `overrides`, with or
  without a threshold. JS and PSI bin a numerical column whose reference has more than 20
  distinct values into Sturges histogram bins over both sides, other columns by value; PSI fills
  empty bins with a small share (Evidently's `get_binned_data`). A value present on one side only
  is a bin of its own; in chi-square it makes the p-value 0.
- The dataset drifts when drifted columns / columns >= drift_share (0.5).
- A result's `kind` says how the column was tested: "numeric" (KS or Wasserstein), "categorical"
  (chi-square or Jensen-Shannon, including numbers with few values) or "binary" (at most 2
  distinct values: Z-test or Jensen-Shannon).

Where this differs from Evidently, and why:

- Text: Evidently types a string column whose current data has more distinct values than half its
  present values as text and tests it with a model-based method; here it is a category (chi-square
  or Jensen-Shannon) and the report carries a note. Leave identifiers out with `columns`.
- Overrides: Evidently refuses chi-square or the Z-test on a numerical column, and KS or
  Wasserstein on an integer column it typed as categorical; here chi-square and the Z-test work on
  any column, KS and Wasserstein on any column of numbers.
- Input: Evidently raises a bare ValueError; here DriftInputError names the file, column and line.

On the committed fixture (tests/fixtures/drift/, Evidently 0.7.23 with pandas 2.3 and the same
scipy 1.17.1) every test choice, threshold and verdict is equal and scores agree to 1e-13
relative; tests/test_drift.py checks them to 1e-9.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from triops.drift.inputs import DriftInputError, read_csv_checked
    from triops.drift.report import ColumnDrift, ColumnTest, DriftReport, drift_report, psi
    from triops.drift.stattests import TESTS

# Loaded on first use (PEP 562): `triops` registers the drift command at start-up, and every
# other command should not pay for importing pandas and scipy.
_EXPORTS = {
    "ColumnDrift": "triops.drift.report",
    "ColumnTest": "triops.drift.report",
    "DriftInputError": "triops.drift.inputs",
    "DriftReport": "triops.drift.report",
    "TESTS": "triops.drift.stattests",
    "drift_report": "triops.drift.report",
    "psi": "triops.drift.report",
    "read_csv_checked": "triops.drift.inputs",
}
__all__ = [
    "TESTS",
    "ColumnDrift",
    "ColumnTest",
    "DriftInputError",
    "DriftReport",
    "drift_report",
    "psi",
    "read_csv_checked",
]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'triops.drift' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
