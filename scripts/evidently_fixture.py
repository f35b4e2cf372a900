"""Evidently 0.7.23's drift verdicts on the CSV pairs in tests/fixtures/drift/, for
tests/test_drift.py to check triops.drift against.

Evidently 0.7.23 does not import with pandas 3, so this runs in a venv of its own:

    /usr/bin/python3 -m venv /var/tmp/evidently-venv
    /var/tmp/evidently-venv/bin/pip install evidently==0.7.23 'pandas<3'
    /var/tmp/evidently-venv/bin/python scripts/evidently_fixture.py --generate   # the CSVs (once)
    /var/tmp/evidently-venv/bin/python scripts/evidently_fixture.py              # the JSON

`--generate` writes the seeded CSVs (numpy and pandas only; any venv will do). Without it the
script runs Evidently's DataDriftPreset with its defaults (data definition inferred with
`DataDefinition()`, tests chosen by Evidently) on each scenario and writes
tests/fixtures/drift/evidently_0.7.23.json: per column the test name, score, threshold and
verdict, and the dataset verdict. Scenarios with `overrides` pass them as the preset's
per_column_method and per_column_threshold. The script runs itself with PYTHONHASHSEED=0 so
that the JSON is the same on every run (Evidently's category order follows string hashing, which
moves its scores in the last digits).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "drift"
RESULT = FIXTURES / "evidently_0.7.23.json"

# name: (rows, seed, changes from the reference population)
FILES: dict[str, tuple[int, int, dict]] = {
    "ref_small": (500, 1, {}),
    "cur_same": (300, 2, {}),
    "cur_numeric": (300, 3, {"age_shift": 6, "income_scale": 1.2, "tenure_shift": -8}),
    "cur_categorical": (
        300,
        4,
        {"plan_p": [0.3, 0.3, 0.4], "region_p": [0.1, 0.1, 0.2, 0.2, 0.4], "calls_lam": 3.0},
    ),
    "cur_binary": (300, 5, {"active_p": 0.4, "paperless_p": 0.8}),
    "ref_1000": (1000, 6, {}),
    # 1001 rows, but income misses ~5% of its values: that column stays on the <= 1000 side.
    "ref_1001": (1001, 7, {"nan_columns": ["income"], "nan_rate": 0.05}),
    "ref_large": (1500, 8, {}),
    "cur_large_same": (500, 9, {}),
    "cur_large_drift": (
        500,
        10,
        {"age_shift": 5, "income_scale": 1.1, "plan_p": [0.35, 0.35, 0.3], "active_p": 0.45},
    ),
    "cur_everything": (
        300,
        13,
        {
            "age_shift": 8,
            "income_scale": 1.3,
            "tenure_shift": -10,
            "calls_lam": 3.5,
            "plan_p": [0.25, 0.35, 0.4],
            "region_p": [0.1, 0.1, 0.2, 0.2, 0.4],
            "active_p": 0.3,
            "paperless_p": 0.85,
        },
    ),
    "ref_nan": (500, 11, {"nan_columns": ["age", "income", "plan", "is_active"], "nan_rate": 0.08}),
    "cur_nan": (
        300,
        12,
        {"nan_columns": ["age", "income", "plan", "is_active"], "nan_rate": 0.15, "age_shift": 4},
    ),
}

SCENARIOS: list[dict] = [
    {"name": "small_no_drift", "reference": "ref_small", "current": "cur_same"},
    {"name": "small_numeric_shift", "reference": "ref_small", "current": "cur_numeric"},
    {"name": "small_categorical_shift", "reference": "ref_small", "current": "cur_categorical"},
    {"name": "small_binary_shift", "reference": "ref_small", "current": "cur_binary"},
    {"name": "small_dataset_drift", "reference": "ref_small", "current": "cur_everything"},
    {
        # age and income drift, plan and region do not: exactly half, which is dataset drift.
        "name": "exactly_half_of_chosen_columns",
        "reference": "ref_small",
        "current": "cur_numeric",
        "chosen_columns": ["age", "income", "plan", "region"],
    },
    {"name": "reference_1000_rows", "reference": "ref_1000", "current": "cur_numeric"},
    {"name": "reference_1001_rows", "reference": "ref_1001", "current": "cur_numeric"},
    {"name": "large_no_drift", "reference": "ref_large", "current": "cur_large_same"},
    {"name": "large_drift", "reference": "ref_large", "current": "cur_large_drift"},
    {"name": "missing_values", "reference": "ref_nan", "current": "cur_nan"},
    {
        "name": "psi_every_column",
        "reference": "ref_large",
        "current": "cur_large_drift",
        "overrides": {
            column: {"test": "psi", "threshold": None}
            for column in (
                "age",
                "income",
                "tenure_months",
                "support_calls",
                "num_products",
                "discount",
                "plan",
                "region",
                "is_active",
                "paperless",
            )
        },
    },
    {
        "name": "small_overrides",
        "reference": "ref_small",
        "current": "cur_numeric",
        "overrides": {
            "age": {"test": "jensenshannon", "threshold": None},
            "income": {"test": "psi", "threshold": None},
            "tenure_months": {"test": "wasserstein", "threshold": 0.2},
            "discount": {"test": "jensenshannon", "threshold": 0.05},
            "plan": {"test": "psi", "threshold": 0.05},
            "is_active": {"test": "chisquare", "threshold": 0.1},
        },
    },
    {
        "name": "large_overrides",
        "reference": "ref_large",
        "current": "cur_large_drift",
        "overrides": {
            "income": {"test": "ks", "threshold": None},
            "age": {"test": "wasserstein", "threshold": 0.3},
            "region": {"test": "chisquare", "threshold": 0.01},
            "paperless": {"test": "z", "threshold": None},
        },
    },
]


def customers(rows: int, seed: int, changes: dict) -> pd.DataFrame:
    """A churn-style customer table: numbers with many values, integers with few, a float with
    four values, categories, a yes/no column and a boolean."""
    rng = np.random.default_rng(seed)
    age = np.clip(rng.normal(42 + changes.get("age_shift", 0), 12, rows), 18, 80).round()
    income = (rng.lognormal(10.5, 0.4, rows) * changes.get("income_scale", 1.0)).round(2)
    tenure = np.clip(rng.normal(30 + changes.get("tenure_shift", 0), 18, rows), 0, 72).round()
    frame = pd.DataFrame(
        {
            "age": age.astype(int),
            "income": income,
            "tenure_months": tenure.astype(int),
            "support_calls": np.clip(rng.poisson(changes.get("calls_lam", 2.0), rows), 0, 7),
            "num_products": rng.choice([1, 2, 3, 4], rows, p=[0.4, 0.35, 0.2, 0.05]),
            "discount": rng.choice([0.0, 0.05, 0.1, 0.2], rows, p=[0.5, 0.25, 0.15, 0.1]),
            "plan": rng.choice(
                ["basic", "standard", "premium"], rows, p=changes.get("plan_p", [0.5, 0.35, 0.15])
            ),
            "region": rng.choice(
                ["north", "south", "east", "west", "central"],
                rows,
                p=changes.get("region_p", [0.25, 0.25, 0.2, 0.2, 0.1]),
            ),
            "is_active": np.where(rng.random(rows) < changes.get("active_p", 0.55), "yes", "no"),
            "paperless": rng.random(rows) < changes.get("paperless_p", 0.6),
        }
    )
    for column in changes.get("nan_columns", []):
        gaps = rng.random(rows) < changes["nan_rate"]
        frame[column] = frame[column].astype(object if frame[column].dtype == object else float)
        frame.loc[gaps, column] = np.nan
    return frame


def generate() -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name, (rows, seed, changes) in FILES.items():
        customers(rows, seed, changes).to_csv(FIXTURES / f"{name}.csv", index=False)
    total = sum((FIXTURES / f"{name}.csv").stat().st_size for name in FILES)
    print(f"wrote {len(FILES)} CSV files to {FIXTURES} ({total / 1024:.0f} KB)")


def evidently_verdicts(scenario: dict) -> dict:
    """Run DataDriftPreset on one scenario; per column and dataset results."""
    import evidently
    from evidently import DataDefinition, Dataset, Report
    from evidently.legacy.calculations.stattests.registry import _registered_stat_tests
    from evidently.presets import DataDriftPreset

    # A resolved method is given by display name ("K-S p_value"), an override by name ("psi").
    names = {name: name for name in _registered_stat_tests}
    names |= {
        test.display_name: name
        for name, by_type in _registered_stat_tests.items()
        for test in by_type.values()
    }
    reference = pd.read_csv(FIXTURES / f"{scenario['reference']}.csv")
    current = pd.read_csv(FIXTURES / f"{scenario['current']}.csv")
    overrides = scenario.get("overrides", {})
    preset = DataDriftPreset(
        columns=scenario.get("chosen_columns"),
        per_column_method={c: o["test"] for c, o in overrides.items()} or None,
        per_column_threshold={
            c: o["threshold"] for c, o in overrides.items() if o["threshold"] is not None
        }
        or None,
    )
    snapshot = Report([preset], include_tests=True).run(
        Dataset.from_pandas(current, data_definition=DataDefinition()),
        Dataset.from_pandas(reference, data_definition=DataDefinition()),
    )
    result = snapshot.dict()
    status = {t["metric_config"]["metric_id"]: t["status"] for t in result["tests"]}
    columns, dataset = {}, None
    for metric in result["metrics"]:
        config = metric["config"]
        if config["type"] == "evidently:metric_v2:ValueDrift":
            columns[config["column"]] = {
                "test": names[config["method"]],
                "score": float(metric["value"]),
                "threshold": float(config["threshold"]),
                "drifted": status[metric["id"]] == "FAIL",
            }
        elif config["type"] == "evidently:metric_v2:DriftedColumnsCount":
            dataset = {
                "drifted_count": int(metric["value"]["count"]),
                "share": float(metric["value"]["share"]),
                # The preset's dataset test is "share < drift_share"; it fails on dataset drift.
                "dataset_drift": status[metric["id"]] == "FAIL",
            }
    return {
        **scenario,
        "chosen_columns": scenario.get("chosen_columns"),
        "overrides": overrides,
        "evidently": evidently.__version__,
        "columns": columns,
        "dataset": dataset,
    }


def run() -> None:
    import evidently
    import scipy

    results = [evidently_verdicts(s) for s in SCENARIOS]
    payload = {
        "made_by": "scripts/evidently_fixture.py",
        "versions": {
            "evidently": evidently.__version__,
            "pandas": pd.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
        },
        "scenarios": results,
    }
    RESULT.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    for r in results:
        d = r["dataset"]
        print(
            f"{r['name']}: {d['drifted_count']} of {len(r['columns'])} drifted, "
            f"dataset drift {d['dataset_drift']}"
        )
    print(f"wrote {RESULT}")


def main(argv: list[str] | None = None) -> int:
    # Evidently orders categories by a Python set of strings, whose order follows the per-process
    # string hash; a fixed seed makes its sums, and so this file, the same digit for digit.
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.execve(
            sys.executable, [sys.executable, *sys.argv], {**os.environ, "PYTHONHASHSEED": "0"}
        )
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generate", action="store_true", help="write the input CSVs")
    args = parser.parse_args(argv)
    if args.generate:
        generate()
    else:
        run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
