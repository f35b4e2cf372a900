"""The promotion gate: should the challenger replace the champion?

`decide(champion, challenger)` gets two pipeline.contracts.Metrics, both measured on the same
fresh holdout of this week (customers neither model was trained on): auc, accuracy, recall,
precision, brier, positive_rate, churn_rate, rows. It returns Promotion(promote, reason).
"""

from pipeline.contracts import Metrics, Promotion

# The challenger must beat the champion's AUC by this much: a smaller gain on 500 holdout rows
# is within noise, and every promotion has a cost (a new model to watch, explain and roll back).
MARGIN = 0.01
# Guardrails: how much worse than the champion the challenger may be on each.
RECALL_TOLERANCE = 0.05  # share of churners caught: the business case of the model
BRIER_TOLERANCE = 0.01  # calibration: the retention team reads the probabilities


def decide(champion: Metrics, challenger: Metrics) -> Promotion:
    """Promote when the AUC gain reaches the margin and no guardrail regresses."""
    gain = challenger.auc - champion.auc
    scores = (
        f"AUC {challenger.auc:.3f} vs {champion.auc:.3f}, recall {challenger.recall:.3f} vs "
        f"{champion.recall:.3f}, Brier {challenger.brier:.3f} vs {champion.brier:.3f}"
    )
    if gain < MARGIN:
        return Promotion(
            False, reason=f"AUC gain {gain:+.3f} is under the margin {MARGIN} ({scores})"
        )
    if challenger.recall < champion.recall - RECALL_TOLERANCE:
        return Promotion(
            False,
            reason=f"recall guardrail: {challenger.recall:.3f} is more than "
            f"{RECALL_TOLERANCE} under the champion's {champion.recall:.3f} ({scores})",
        )
    if challenger.brier > champion.brier + BRIER_TOLERANCE:
        return Promotion(
            False,
            reason=f"calibration guardrail: Brier {challenger.brier:.3f} is more than "
            f"{BRIER_TOLERANCE} over the champion's {champion.brier:.3f} ({scores})",
        )
    return Promotion(
        True,
        reason=f"AUC gain {gain:+.3f} reaches the margin {MARGIN}, no guardrail regresses "
        f"({scores})",
    )
