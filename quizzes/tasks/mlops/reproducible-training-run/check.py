"""Check of mlops/reproducible-training-run: the seed pins the run, the record names its data.

The check reruns the candidate's train.py twice in the sandbox, through a workflow of its own,
with its own params.yaml (another seed, another data file it generates here, seeded) and
compares the two run records with each other and with its own training in the grader, done as
train.py's split and forest are specified (the same scikit-learn version as the labs'
environment, so the same seed gives the same numbers). The data version it expects is the
SHA-256 of the exact bytes of its data file.
"""

from __future__ import annotations

import hashlib
import io
import json

import numpy as np
import pandas as pd
import yaml

FEATURES = ["tenure_months", "monthly_eur", "support_calls", "usage_gb"]
LABEL = "churned"
DATA = "check-data/customers-2026-12.csv"
PARAMS = {"data": DATA, "seed": 2718, "test_size": 0.3, "n_estimators": 40, "max_depth": 5}

WORKFLOW = """\
name: the check's two training runs
on: workflow_dispatch
env:
  OPENBLAS_NUM_THREADS: "1"
  OMP_NUM_THREADS: "1"
  JOBLIB_MULTIPROCESSING: "0"
jobs:
  train:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - run: python train.py --params params.yaml --out out/first.json
      - if: always()
        run: python train.py --params params.yaml --out out/second.json
      - if: always()
        uses: actions/upload-artifact@v4
        with:
          name: runs
          path: out/
"""


def customers(seed: int, rows: int) -> str:
    """Labelled customers as CSV text: who churns depends on tenure, support calls and bills."""
    rng = np.random.default_rng(seed)
    tenure = rng.gamma(2.0, 12.0, rows)
    monthly = rng.normal(45.0, 12.0, rows)
    calls = rng.poisson(1.5, rows).astype(float)
    usage = rng.gamma(3.0, 8.0, rows)
    logit = -0.05 * (tenure - 24) + 0.6 * (calls - 1.5) + 0.03 * (monthly - 45) - 0.9
    churned = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame(
        {
            "tenure_months": np.round(tenure, 2),
            "monthly_eur": np.round(monthly, 2),
            "support_calls": calls,
            "usage_gb": np.round(usage, 2),
            "churned": churned,
        }
    )
    return frame.to_csv(index=False, lineterminator="\n")


def data_text() -> str:
    return customers(2026_12_06, 1200)


def rerun_files() -> dict[str, str]:
    return {
        ".github/workflows/train.yml": WORKFLOW,
        "params.yaml": yaml.safe_dump(PARAMS, sort_keys=False),
        DATA: data_text(),
    }


def expected_metrics() -> dict[str, float]:
    """The check's own training: split and forest both seeded with PARAMS' seed."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.model_selection import train_test_split

    frame = pd.read_csv(io.StringIO(data_text()))
    seed = PARAMS["seed"]
    train, test = train_test_split(
        frame, test_size=PARAMS["test_size"], stratify=frame[LABEL], random_state=seed
    )
    model = RandomForestClassifier(
        n_estimators=PARAMS["n_estimators"],
        max_depth=PARAMS["max_depth"],
        n_jobs=1,
        random_state=seed,
    ).fit(train[FEATURES], train[LABEL])
    scores = model.predict_proba(test[FEATURES])[:, 1]
    return {
        "accuracy": float(accuracy_score(test[LABEL], scores >= 0.5)),
        "auc": float(roc_auc_score(test[LABEL], scores)),
    }


def records(ctx) -> tuple[dict | None, dict | None, str]:
    run = ctx.rerun(rerun_files())
    out = []
    for name in ("first", "second"):
        text = run.artifact_text(f"runs/{name}.json")
        try:
            record = json.loads(text) if text is not None else None
        except ValueError:
            record = None
        out.append(record if isinstance(record, dict) else None)
    if out[0] is None:
        return None, None, "the check's first training run wrote no readable run record"
    return out[0], out[1], ""


def _metrics(record: dict | None) -> dict:
    metrics = (record or {}).get("metrics")
    return metrics if isinstance(metrics, dict) else {}


def runs_reproduce(ctx):
    first, second, problem = records(ctx)
    if problem:
        return False, problem
    if second is None:
        return False, "the check's second training run wrote no readable run record"
    a, b = _metrics(first), _metrics(second)
    if not a:
        return False, "the run record has no metrics"
    if a != b:
        # No numbers in the reason: they change from one grading to the next.
        return False, "two runs with the same params and data give different metrics"
    return True, "two runs with the same params and data give identical metrics"


def seed_from_params(ctx):
    first, _, problem = records(ctx)
    if problem:
        return False, problem
    seed = first.get("seed")
    if seed != PARAMS["seed"]:
        return False, f"the record's seed is {seed!r}, but params.yaml said {PARAMS['seed']}"
    expected, got = expected_metrics(), _metrics(first)
    wrong = [
        k
        for k, v in expected.items()
        if not isinstance(got.get(k), (int, float)) or abs(got[k] - v) > 1e-9
    ]
    if wrong:
        return False, (
            f"the metrics ({', '.join(wrong)}) are not those of the split and the forest seeded "
            f"with {PARAMS['seed']}"
        )
    return True, f"seed {PARAMS['seed']} is recorded and drives both the split and the forest"


def records_data_version(ctx):
    first, _, problem = records(ctx)
    if problem:
        return False, problem
    data = first.get("data")
    if not isinstance(data, dict):
        return False, "the run record has no data entry"
    digest = hashlib.sha256(data_text().encode("utf-8")).hexdigest()
    rows = len(pd.read_csv(io.StringIO(data_text())))
    if data.get("sha256") != digest:
        return False, (
            f"data.sha256 is {str(data.get('sha256'))[:16]!r}..., not the SHA-256 of the "
            f"file trained on ({digest[:16]}...)"
        )
    if data.get("rows") != rows:
        return False, f"data.rows is {data.get('rows')!r}, the file has {rows} rows"
    return True, f"the record names its data: SHA-256 {digest[:12]}..., {rows} rows"
