"""Weekly retraining: rebuild the champion, train a challenger, ask gate.py which one serves.

Usage: python pipeline.py --data DIR --out out/decision.json

DIR holds models.json (each model's kind, the CSV it is trained on, and the champion's AUC as
the registry recorded it when it was promoted) and the CSVs it names, among them holdout.csv:
last week's labelled customers, whom neither model was trained on. Training is deterministic,
so the champion rebuilt here is the model in production.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

import gate
from metrics import FEATURES, LABEL


@dataclass
class Candidate:
    """A trained model and what is known about it."""

    name: str
    model: object
    train: pd.DataFrame  # the rows it was trained on
    registered_auc: float | None = None  # the registry's record (the champion only)


def make_model(kind: str):
    if kind == "logistic":
        return LogisticRegression(max_iter=1000)
    if kind == "tree":
        return DecisionTreeClassifier(random_state=0)
    raise ValueError(f"unknown model kind {kind!r}")


def train(kind: str, frame: pd.DataFrame):
    return make_model(kind).fit(frame[FEATURES], frame[LABEL])


def candidates(data: Path) -> tuple[Candidate, Candidate, pd.DataFrame]:
    spec = json.loads((data / "models.json").read_text())
    out = []
    for name in ("champion", "challenger"):
        frame = pd.read_csv(data / spec[name]["train"])
        model = train(spec[name]["kind"], frame)
        out.append(Candidate(name, model, frame, spec[name].get("registered_auc")))
    return out[0], out[1], pd.read_csv(data / "holdout.csv")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    champion, challenger, holdout = candidates(Path(args.data))

    decision = gate.decide(champion, challenger, holdout)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(
        json.dumps(
            {
                "promote": bool(decision.promote),
                "champion_auc": float(decision.champion_auc),
                "challenger_auc": float(decision.challenger_auc),
                "reason": str(decision.reason),
            },
            indent=2,
        )
    )
    print(f"champion AUC {decision.champion_auc:.3f}, challenger AUC {decision.challenger_auc:.3f}")
    print(("PROMOTE: " if decision.promote else "KEEP the champion: ") + decision.reason)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
