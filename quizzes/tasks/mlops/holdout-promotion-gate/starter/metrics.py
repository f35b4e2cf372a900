"""What pipeline.py and gate.py share: the features, the label, the AUC and the decision."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sklearn.metrics import roc_auc_score

FEATURES = ["tenure_months", "monthly_eur", "support_calls", "usage_gb"]
LABEL = "churned"


@dataclass
class Decision:
    promote: bool
    champion_auc: float
    challenger_auc: float
    reason: str


def auc(model, frame: pd.DataFrame) -> float:
    """The model's ROC AUC on the labelled rows of `frame`."""
    return float(roc_auc_score(frame[LABEL], model.predict_proba(frame[FEATURES])[:, 1]))
