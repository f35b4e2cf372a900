"""The churn model: a scikit-learn Pipeline (scaling, one-hot encoding, logistic regression).

Training is deterministic: the same rows give the same model, which lets the lab's check
retrain any registered version from the data sets it names and compare."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

NUMERIC = ["tenure_months", "monthly_charges", "usage_gb", "support_calls"]
CATEGORICAL = ["contract", "payment_method", "region", "paperless_billing"]
FEATURES = NUMERIC + CATEGORICAL
LABEL = "churned"
THRESHOLD = 0.5


def build() -> Pipeline:
    """An untrained model: numeric columns standardized, categories one-hot encoded."""
    features = ColumnTransformer(
        [
            ("numeric", StandardScaler(), NUMERIC),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
        ]
    )
    return Pipeline([("features", features), ("classifier", LogisticRegression(max_iter=1000))])


def train(frame: pd.DataFrame, window: list[str]) -> Pipeline:
    """A model fitted on `frame`, the rows of the data sets named in `window`."""
    return build().fit(frame[FEATURES], frame[LABEL])


def scores(model, frame: pd.DataFrame) -> dict:
    """The model's scores on a labelled frame (see pipeline.contracts.Metrics)."""
    truth = frame[LABEL].to_numpy()
    probability = model.predict_proba(frame[FEATURES])[:, 1]
    flagged = probability >= THRESHOLD
    both_classes = len(np.unique(truth)) == 2
    return {
        "auc": float(roc_auc_score(truth, probability)) if both_classes else float("nan"),
        "accuracy": float(accuracy_score(truth, flagged)),
        "recall": float(recall_score(truth, flagged, zero_division=0)),
        "precision": float(precision_score(truth, flagged, zero_division=0)),
        "brier": float(brier_score_loss(truth, probability)),
        "positive_rate": float(flagged.mean()),
        "churn_rate": float(truth.mean()),
        "rows": int(len(frame)),
    }
