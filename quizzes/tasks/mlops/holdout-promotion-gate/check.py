"""Check of mlops/holdout-promotion-gate: one fresh holdout for both models, a margin, a gate.

The check reruns the candidate's gate.py in the sandbox, through a workflow of its own, on three
weeks it generates here (seeded, so every grading sees the same rows):

- `overfit`: the challenger is an unpruned decision tree. On its own training rows its AUC is
  1.0; on the holdout it is well below the champion's.
- `small-gain`: the challenger is the champion's kind of model trained on newer rows of the same
  population: 0.002 better on the holdout, less than the margin (noise, not progress).
- `better`: the churn pattern changed; the challenger, trained on the new pattern, beats the
  champion on the holdout by far more than the margin.

It recomputes both models' holdout AUC in the grader, training them as starter/pipeline.py does
(the same scikit-learn version as the labs' environment; training is deterministic).
"""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd

FEATURES = ["tenure_months", "monthly_eur", "support_calls", "usage_gb"]
LABEL = "churned"
MARGIN = 0.01
AUC_TOLERANCE = 1e-6
WEEKS = ("overfit", "small-gain", "better")

WORKFLOW = """\
name: the check's promotion runs
on: workflow_dispatch
env:
  OPENBLAS_NUM_THREADS: "1"
  OMP_NUM_THREADS: "1"
  JOBLIB_MULTIPROCESSING: "0"
jobs:
  weeks:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - run: python pipeline.py --data check-data/overfit --out out/overfit.json
      - if: always()
        run: python pipeline.py --data check-data/small-gain --out out/small-gain.json
      - if: always()
        run: python pipeline.py --data check-data/better --out out/better.json
      - if: always()
        uses: actions/upload-artifact@v4
        with:
          name: decisions
          path: out/
"""


def customers(rng: np.random.Generator, rows: int, pattern: str = "old") -> pd.DataFrame:
    """Labelled customers; `pattern` is who churns: "old" (short tenure, many support calls) or
    "new" (high bills and heavy usage, after a competitor's offer)."""
    tenure = rng.gamma(2.0, 12.0, rows)
    monthly = rng.normal(45.0, 12.0, rows)
    calls = rng.poisson(1.5, rows).astype(float)
    usage = rng.gamma(3.0, 8.0, rows)
    if pattern == "old":
        logit = -0.06 * (tenure - 24) + 0.7 * (calls - 1.5) - 0.9
    else:
        logit = 0.09 * (monthly - 45) + 0.06 * (usage - 24) - 0.9
    churned = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(
        {
            "tenure_months": np.round(tenure, 2),
            "monthly_eur": np.round(monthly, 2),
            "support_calls": calls,
            "usage_gb": np.round(usage, 2),
            "churned": churned,
        }
    )


def csv_text(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


def week(name: str, seed: int) -> dict[str, str]:
    """One week's data folder: file name -> text."""
    rng = np.random.default_rng(seed)
    history = customers(rng, 1500, "old")
    if name == "better":
        recent, holdout = customers(rng, 1500, "new"), customers(rng, 800, "new")
        challenger = {"kind": "logistic", "train": "recent.csv"}
    else:
        recent, holdout = customers(rng, 1500, "old"), customers(rng, 800, "old")
        kind = "tree" if name == "overfit" else "logistic"
        challenger = {"kind": kind, "train": "recent.csv"}
    models = {
        "champion": {"kind": "logistic", "train": "history.csv", "registered_auc": 0.78},
        "challenger": challenger,
    }
    return {
        "models.json": json.dumps(models, indent=2) + "\n",
        "history.csv": csv_text(history),
        "recent.csv": csv_text(recent),
        "holdout.csv": csv_text(holdout),
    }


def scenario() -> dict[str, dict[str, str]]:
    return {name: week(name, 7_100 + i) for i, name in enumerate(WEEKS)}


def rerun_files() -> dict[str, str]:
    files = {".github/workflows/promote.yml": WORKFLOW}
    for name, folder in scenario().items():
        for file, text in folder.items():
            files[f"check-data/{name}/{file}"] = text
    return files


def _holdout_auc(kind: str, train: pd.DataFrame, holdout: pd.DataFrame) -> float:
    """As pipeline.train and metrics.auc do it."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.tree import DecisionTreeClassifier

    model = (
        LogisticRegression(max_iter=1000)
        if kind == "logistic"
        else DecisionTreeClassifier(random_state=0)
    ).fit(train[FEATURES], train[LABEL])
    return float(roc_auc_score(holdout[LABEL], model.predict_proba(holdout[FEATURES])[:, 1]))


def truth() -> dict[str, tuple[float, float]]:
    """Week -> (champion AUC, challenger AUC) on that week's holdout."""
    out = {}
    for name, folder in scenario().items():
        spec = json.loads(folder["models.json"])
        holdout = pd.read_csv(io.StringIO(folder["holdout.csv"]))
        aucs = []
        for role in ("champion", "challenger"):
            frame = pd.read_csv(io.StringIO(folder[spec[role]["train"]]))
            aucs.append(_holdout_auc(spec[role]["kind"], frame, holdout))
        out[name] = (aucs[0], aucs[1])
    return out


def decisions(ctx) -> tuple[dict[str, dict], str]:
    run = ctx.rerun(rerun_files())
    found, missing = {}, []
    for name in WEEKS:
        text = run.artifact_text(f"decisions/{name}.json")
        try:
            found[name] = json.loads(text) if text is not None else None
        except ValueError:
            found[name] = None
        if not isinstance(found[name], dict):
            missing.append(name)
    if missing:
        return found, f"no decision was written for the check's week(s): {', '.join(missing)}"
    return found, ""


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def same_holdout_auc(ctx):
    found, problem = decisions(ctx)
    if problem:
        return False, problem
    wrong = []
    for name, (champion, challenger) in truth().items():
        got = found[name]
        for role, expected in (("champion", champion), ("challenger", challenger)):
            value = _number(got.get(f"{role}_auc"))
            if value is None or abs(value - expected) > AUC_TOLERANCE:
                shown = "nothing" if value is None else f"{value:.4f}"
                wrong.append(f"{name}: {role} AUC {shown}, holdout AUC {expected:.4f}")
    if wrong:
        return False, "the AUCs compared are not both models' on the holdout: " + "; ".join(wrong)
    return True, "both AUCs are measured on the same holdout in all three weeks"


def _verdict(ctx, name: str, want: bool, what: str):
    found, problem = decisions(ctx)
    if problem:
        return False, problem
    champion, challenger = truth()[name]
    promote = found[name].get("promote")
    numbers = f"holdout AUC {challenger:.4f} against the champion's {champion:.4f}"
    if promote is want:
        return True, f"{what}: {'promoted' if want else 'kept out'} ({numbers})"
    return False, f"{what}: {'promoted' if promote else 'not promoted'} ({numbers})"


def keeps_overfit_challenger(ctx):
    return _verdict(ctx, "overfit", False, "an unpruned tree that memorised its training rows")


def margin_holds_small_gain(ctx):
    return _verdict(ctx, "small-gain", False, "a challenger better by less than the margin")


def promotes_clear_gain(ctx):
    return _verdict(ctx, "better", True, "a challenger trained on the new churn pattern")
