"""Train the churn model and record the run.

Usage: python train.py --params params.yaml --out out/run.json

params.yaml gives the data file, the seed, the share of rows held out for testing and the
forest's size. The run record (out/run.json) is what the team compares runs by.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
import yaml
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split

FEATURES = ["tenure_months", "monthly_eur", "support_calls", "usage_gb"]
LABEL = "churned"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--params", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    params = yaml.safe_load(Path(args.params).read_text())

    frame = pd.read_csv(params["data"])
    train, test = train_test_split(frame, test_size=params["test_size"], stratify=frame[LABEL])
    model = RandomForestClassifier(
        n_estimators=params["n_estimators"], max_depth=params["max_depth"], n_jobs=1
    )
    model.fit(train[FEATURES], train[LABEL])
    scores = model.predict_proba(test[FEATURES])[:, 1]
    metrics = {
        "accuracy": float(accuracy_score(test[LABEL], scores >= 0.5)),
        "auc": float(roc_auc_score(test[LABEL], scores)),
    }

    record = {
        "params": {k: params[k] for k in ("test_size", "n_estimators", "max_depth")},
        "metrics": metrics,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=2))
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
