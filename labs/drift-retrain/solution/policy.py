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

# A drop of the champion's AUC on the week's labels, against its AUC when registered, that
# counts as decay. 500 labelled rows give an AUC with a standard error of about 0.02, so a
# smaller threshold would retrain on noise.
AUC_DROP = 0.05


def decide(batch: BatchView) -> Retrain:
    """Retrain on a performance drop (on the newest labels only), or on dataset drift (on the
    reference plus the weeks since); otherwise keep the champion."""
    now, then = batch.performance.auc, batch.baseline.auc
    drop = then - now
    drift = batch.drift
    columns = f"{drift.drifted_count} of {len(drift.columns)} columns drifted"
    if drop >= AUC_DROP:
        # The inputs may look the same while the relation to the label has changed (concept
        # drift): older labels now teach the wrong lesson, so train on this week alone.
        return Retrain(
            True,
            reason=f"performance drop: the champion's AUC fell from {then:.3f} to {now:.3f} "
            f"(-{drop:.3f}, threshold {AUC_DROP}) on {batch.name}'s labels while {columns}; "
            f"retrain on {batch.name} only",
            window=[batch.name],
            trigger="performance",
        )
    if drift.dataset_drift:
        # The inputs moved but the labels still follow the old rule: more data of the new kind
        # helps, and the reference keeps the rest of the population.
        return Retrain(
            True,
            reason=f"dataset drift: {columns} ({', '.join(drift.drifted_columns)}), AUC "
            f"{now:.3f} against {then:.3f}; retrain on the reference and {batch.name}",
            window=["reference", batch.name],
            trigger="drift",
        )
    return Retrain(
        False,
        reason=f"AUC {now:.3f} against {then:.3f} when registered (a drop under {AUC_DROP}) "
        f"and no dataset drift ({columns})",
    )
