"""What the pipeline hands to policy.py and gate.py, and what they hand back."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from triops.drift import DriftReport

# The values of Retrain.trigger the pipeline knows; the check looks for "performance".
TRIGGERS = ("performance", "drift", "schedule", "none")


@dataclass(frozen=True)
class Metrics:
    """A model's scores on one labelled data set (decisions at a 0.5 probability threshold).

    auc: area under the ROC curve (0.5 is guessing, 1 is a perfect ranking).
    accuracy: share of customers classified right.
    recall: share of the customers who churned that the model flagged.
    precision: share of the flagged customers who churned.
    brier: mean squared error of the churn probability (lower is better; calibration).
    positive_rate: share of customers the model flags.
    churn_rate: share of customers who churned (the truth, not the model).
    rows: how many labelled customers the scores come from.
    """

    auc: float
    accuracy: float
    recall: float
    precision: float
    brier: float
    positive_rate: float
    churn_rate: float
    rows: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ModelInfo:
    """A registered model version: its number and the data sets it was trained on."""

    version: int
    window: list[str]
    batch: str  # the batch whose decision registered it ("bootstrap" for the first model)


@dataclass(frozen=True)
class BatchView:
    """One week of production data, once its labels have arrived.

    name: the batch, e.g. "week-2"; number: 1 for the first week.
    drift: the drift report of this week's inputs against the reference window (triops.drift:
        drift.columns, drift.drifted_count, drift.share, drift.dataset_drift, drift.column(name)).
    performance: the champion's scores on this week's labelled customers.
    baseline: the champion's scores when it was registered (on the holdout it was judged on).
    champion: the model serving now.
    available: the data sets you may train on, oldest first: "reference", then every week so
        far, this one included. Holdouts are not among them: they are kept for the gate.
    """

    name: str
    number: int
    drift: DriftReport
    performance: Metrics
    baseline: Metrics
    champion: ModelInfo
    available: list[str]


@dataclass(frozen=True)
class Retrain:
    """The policy's answer: whether to train a challenger, on which data sets, and why.

    window: names from BatchView.available (the challenger is trained on their rows together).
    trigger: what caused the retrain: "performance", "drift", "schedule", or "none".
    reason: one sentence for the decision record, with the numbers that decided.
    """

    retrain: bool
    reason: str
    window: list[str] = field(default_factory=list)
    trigger: str = "none"


@dataclass(frozen=True)
class Promotion:
    """The gate's answer: whether the challenger becomes champion, and why."""

    promote: bool
    reason: str
