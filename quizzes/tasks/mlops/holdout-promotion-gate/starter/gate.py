"""The promotion gate: does the challenger replace the champion?

`decide(champion, challenger, holdout)` gets two pipeline.Candidate (`.model`, `.train`: the
rows it was trained on, `.registered_auc`: the registry's record, champion only) and
`holdout`, last week's labelled customers, whom neither model was trained on. It returns a
metrics.Decision(promote, champion_auc, challenger_auc, reason).
"""

from metrics import Decision, auc

MARGIN = 0.01  # AUC a challenger must gain to be worth a release


def decide(champion, challenger, holdout) -> Decision:
    challenger_auc = auc(challenger.model, challenger.train)
    champion_auc = champion.registered_auc
    promote = challenger_auc > champion_auc
    return Decision(
        promote,
        champion_auc,
        challenger_auc,
        reason=f"challenger AUC {challenger_auc:.3f} against the champion's {champion_auc:.3f}",
    )
