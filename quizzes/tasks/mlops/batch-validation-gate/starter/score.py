"""Score a validated batch: a churn risk per customer for the CRM (a fixed logistic score).

Usage: python score.py BATCH.csv --out out/scores.csv
"""

import argparse
import math
from pathlib import Path

import pandas as pd

PLAN = {"basic": 0.4, "plus": 0.0, "family": -0.5}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("batch")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    batch = pd.read_csv(args.batch)
    logit = (
        -0.04 * (batch["tenure_months"] - 24)
        + 0.02 * (batch["monthly_eur"] - 45)
        - 0.01 * (batch["age"] - 40)
        + batch["plan"].map(PLAN)
        - 1.0
    )
    batch["churn_risk"] = [round(1 / (1 + math.exp(-x)), 4) for x in logit]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    batch.to_csv(args.out, index=False)
    print(f"scored {len(batch)} customers, mean risk {batch['churn_risk'].mean():.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
