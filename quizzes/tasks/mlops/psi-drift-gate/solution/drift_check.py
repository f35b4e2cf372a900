"""Population stability index (PSI) of every numeric column: CURRENT against REFERENCE.

Usage: python drift_check.py REFERENCE.csv CURRENT.csv --out out/drift.json

What the team's drift runbook specifies:
- bins: 10 bins whose inner edges are the reference's deciles (numpy.quantile at 0.1, ..., 0.9);
  the first and last bins are open-ended, and both data sets are counted in these same bins;
- shares: a bin's count divided by that data set's number of rows; a share of 0 becomes 0.0001;
- PSI = the sum over the bins of (a - e) * ln(a / e), where e is the reference's share of a
  bin and a the current data's;
- a column has drifted when its PSI is above THRESHOLD;
- the report goes to --out, and the script exits with 1 when any column drifted, else 0.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

BINS = 10
FLOOR = 0.0001
THRESHOLD = 0.25


def shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The share of the values in each of the BINS bins that `edges` (the inner edges) make."""
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=BINS)
    return counts / len(values)


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    # Both data sets in the same bins: the reference's deciles.
    edges = np.quantile(reference, np.linspace(0.1, 0.9, BINS - 1))
    expected = np.maximum(shares(reference, edges), FLOOR)
    actual = np.maximum(shares(current, edges), FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("reference")
    parser.add_argument("current")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    reference = pd.read_csv(args.reference)
    current = pd.read_csv(args.current)
    columns = []
    for name in reference.select_dtypes("number").columns:
        score = psi(reference[name].to_numpy(float), current[name].to_numpy(float))
        columns.append(
            {"column": name, "psi": score, "threshold": THRESHOLD, "drifted": score > THRESHOLD}
        )
    drifted = [c["column"] for c in columns if c["drifted"]]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"columns": columns, "drifted": drifted}, indent=2))
    for c in columns:
        verdict = "DRIFT" if c["drifted"] else "ok"
        print(f"{c['column']:<16} PSI {c['psi']:.4f}  {verdict}")
    print(f"{len(drifted)} of {len(columns)} columns drifted")
    return 1 if drifted else 0


if __name__ == "__main__":
    sys.exit(main())
