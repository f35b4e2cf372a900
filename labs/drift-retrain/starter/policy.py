"""The retrain policy: after each week's batch, decide whether to train a challenger, and on what.

`decide(batch)` gets a pipeline.contracts.BatchView:
  batch.name, batch.number      "week-2", 2
  batch.drift                   the drift report against the reference window: .columns (each
                                with .column, .test, .score, .threshold, .drifted),
                                .drifted_count, .share, .dataset_drift, .column("region")
  batch.performance             the champion's Metrics on this week's labelled customers
  batch.baseline                the champion's Metrics when it was registered
  batch.champion                .version and .window (the data sets it was trained on)
  batch.available               data sets you may train on: "reference", "week-1", ... this week
and returns Retrain(retrain, reason, window=[...], trigger="performance"|"drift"|"schedule"|"none").
Metrics has auc, accuracy, recall, precision, brier, positive_rate, churn_rate and rows.
"""

from pipeline.contracts import BatchView, Retrain


def decide(batch: BatchView) -> Retrain:
    """Retrain when the drift report says the dataset drifted."""
    drift = batch.drift
    if drift.dataset_drift:
        return Retrain(
            True,
            reason=f"dataset drift: {drift.drifted_count} of {len(drift.columns)} columns drifted "
            f"({', '.join(drift.drifted_columns)})",
            window=["reference", batch.name],
            trigger="drift",
        )
    return Retrain(
        False,
        reason=f"no dataset drift: {drift.drifted_count} of {len(drift.columns)} columns drifted",
    )
