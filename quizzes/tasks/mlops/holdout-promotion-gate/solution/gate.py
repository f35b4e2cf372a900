"""The promotion gate: does the challenger replace the champion?

`decide(champion, challenger, holdout)` gets two pipeline.Candidate (`.model`, `.train`: the
rows it was trained on, `.registered_auc`: the registry's record, champion only) and
`holdout`, last week's labelled customers, whom neither model was trained on. It returns a
metrics.Decision(promote, champion_auc, challenger_auc, reason).
"""

from metrics import Decision, auc

MARGIN = 0.01  # AUC a challenger must gain to be worth a release


def decide(champion, challenger, holdout) -> Decision:
    # Both models on the same rows, which neither saw in training: a model's score on its own
    # training rows says how well it memorised them, and an old record was measured on other data.
    champion_auc = auc(champion.model, holdout)
    challenger_auc = auc(challenger.model, holdout)
    promote = challenger_auc >= champion_auc + MARGIN
    verdict = "beats" if promote else "does not beat"
    return Decision(
        promote,
        champion_auc,
        challenger_auc,
        reason=f"on the holdout, challenger AUC {challenger_auc:.3f} {verdict} the champion's "
        f"{champion_auc:.3f} by the margin of {MARGIN}",
    )
