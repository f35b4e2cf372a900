"""The drift-retrain lab's data: a seeded churn dataset with a reference window and weekly batches.

Run at `triops lab reset|solve drift-retrain` (lab.yaml `reset: generate.py` calls `reset`), and
by the check, which regenerates everything from the seed instead of trusting the files in the
work folder, and draws hidden holdouts from the same model with a seed of its own.

The generative model (one customer per row)
-------------------------------------------
- contract: month-to-month 50 %, one-year 30 %, two-year 20 %.
- tenure_months: Gamma(shape k, scale s) by contract (k = 1.5, 2.5, 4; s = 10, 12, 12 months),
  times the regime's tenure factor, rounded up and clipped to 1..72.
- monthly_charges: Normal(65 + charges shift, 18), clipped to 20..120, in cents.
- usage_gb: exp(3.0 + 0.012 * monthly_charges + Normal(0, 0.45)) times the usage factor, 0.1 GB.
- support_calls: Poisson(1.4, + 0.9 on month-to-month, + the regime's extra calls), capped at 6
  (the CRM records "6 or more" as 6).
- payment_method: electronic-check, credit-card, bank-transfer, mailed-check.
- region: north, south, east, west.
- paperless_billing: yes 60 %.
- churned: Bernoulli(sigmoid(logit)) where, before the change (concept "A"),

      logit = -1.25 - 0.045 (tenure - 24) + 0.03 (charges - 65) + 0.35 (calls - 2)
              + 1.0 [month-to-month] - 0.9 [two-year] + 0.45 [electronic-check]
              + 0.2 [paperless]

  and after a competitor's offer (concept "B": heavy users on long contracts are poached, and
  how long someone has been a customer or how often they called no longer matters)

      logit = -1.35 + 0.045 (usage - 60) + 0.02 (charges - 65) + 0.8 [two-year]
              + 0.5 [one-year] - 0.6 [month-to-month] + 0.6 [bank-transfer]

The regimes: the reference and week 1 are the base population under concept A; week 2 is an
acquisition campaign and a price rise (newer customers, higher charges and usage, more support
calls: covariate drift in the four numeric columns); week 3 is a new app that pushes electronic
checks and the opening of the West region (a categorical shift); week 4 has the base inputs
under concept B (concept drift: the inputs do not move, the relation to the label does).

Every data set draws from its own random stream, `numpy.random.default_rng([seed, stream])`, so
adding a data set never changes another, and the check's hidden holdouts (another seed) are
independent of the learner's files. The CSV text is written by this module alone, so the same
seed gives the same bytes: the check compares file hashes, and the pipeline records a hash of
the files a model saw.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20262852
REFERENCE_ROWS = 1000  # at most 1000: the drift tests are statistical tests (KS, chi-square, Z)
BATCH_ROWS = 500
HOLDOUT_ROWS = 500

ID = "customer_id"
LABEL = "churned"
NUMERIC = ["tenure_months", "monthly_charges", "usage_gb", "support_calls"]
CATEGORICAL = ["contract", "payment_method", "region", "paperless_billing"]
FEATURES = NUMERIC + CATEGORICAL
COLUMNS = [ID, *FEATURES, LABEL]

CONTRACTS = ["month-to-month", "one-year", "two-year"]
PAYMENTS = ["electronic-check", "credit-card", "bank-transfer", "mailed-check"]
REGIONS = ["north", "south", "east", "west"]


@dataclass(frozen=True)
class Regime:
    """How one week's customers are drawn: input shifts and which concept labels them."""

    story: str
    tenure_factor: float = 1.0
    charges_shift: float = 0.0
    usage_factor: float = 1.0
    extra_calls: float = 0.0
    contract: tuple[float, ...] = (0.5, 0.3, 0.2)
    payment: tuple[float, ...] = (0.35, 0.25, 0.25, 0.15)
    region: tuple[float, ...] = (0.3, 0.25, 0.25, 0.2)
    paperless: float = 0.6
    concept: str = "A"
    drift: tuple[str, ...] = ()


BASE = Regime("the customer base the first model was trained on")
REGIMES = {
    "reference": BASE,
    "week-1": Regime("an ordinary week"),
    "week-2": Regime(
        "an acquisition campaign brings many new customers, prices rise and a network outage "
        "fills the support queue",
        tenure_factor=0.7,
        charges_shift=6.0,
        usage_factor=1.2,
        extra_calls=0.5,
        drift=("tenure_months", "monthly_charges", "usage_gb", "support_calls"),
    ),
    "week-3": Regime(
        "the new mobile app pushes electronic checks, and the West region opens its shops",
        payment=(0.6, 0.2, 0.12, 0.08),
        region=(0.2, 0.18, 0.17, 0.45),
        drift=("payment_method", "region"),
    ),
    "week-4": Regime(
        "a competitor's offer for heavy users on long contracts: the same kind of customers, "
        "but different ones leave",
        concept="B",
    ),
}
WEEKS = [name for name in REGIMES if name.startswith("week-")]
# One random stream per data set; hidden holdouts use streams from 100 up.
STREAMS = {"reference": 0, "reference-holdout": 1}
for _i, _week in enumerate(WEEKS):
    STREAMS[_week] = 10 + 2 * _i
    STREAMS[f"{_week}-holdout"] = 11 + 2 * _i


def regime_of(name: str) -> Regime:
    """The regime of a data set name: `week-2`, `week-2-holdout`, `reference-holdout`."""
    return REGIMES[name.removesuffix("-holdout")]


def sample(regime: Regime, rows: int, rng: np.random.Generator, first_id: int) -> pd.DataFrame:
    """`rows` customers drawn from `regime`, labelled by its concept."""
    contract = rng.choice(CONTRACTS, size=rows, p=regime.contract)
    shape = np.select([contract == "month-to-month", contract == "one-year"], [1.5, 2.5], 4.0)
    scale = np.where(contract == "month-to-month", 10.0, 12.0)
    tenure = rng.gamma(shape, scale) * regime.tenure_factor
    tenure = np.clip(np.ceil(tenure), 1, 72).astype(int)
    charges = np.clip(rng.normal(65 + regime.charges_shift, 18, rows), 20, 120).round(2)
    usage = np.exp(3.0 + 0.012 * charges + rng.normal(0, 0.45, rows)) * regime.usage_factor
    usage = usage.round(1)
    rate = 1.4 + 0.9 * (contract == "month-to-month") + regime.extra_calls
    calls = np.minimum(rng.poisson(rate), 6)
    payment = rng.choice(PAYMENTS, size=rows, p=regime.payment)
    region = rng.choice(REGIONS, size=rows, p=regime.region)
    paperless = np.where(rng.random(rows) < regime.paperless, "yes", "no")
    if regime.concept == "A":
        logit = (
            -1.9
            - 0.045 * (tenure - 24)
            + 0.03 * (charges - 65)
            + 0.35 * (calls - 2)
            + 1.0 * (contract == "month-to-month")
            - 0.9 * (contract == "two-year")
            + 0.45 * (payment == "electronic-check")
            + 0.2 * (paperless == "yes")
        )
    else:
        logit = (
            -1.3
            + 0.04 * (usage - 60)
            + 0.03 * (charges - 65)
            - 0.015 * (tenure - 24)
            + 0.6 * (payment == "bank-transfer")
            - 0.3 * (contract == "month-to-month")
        )
    churned = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(
        {
            ID: [f"C{first_id + i:06d}" for i in range(rows)],
            "tenure_months": tenure,
            "monthly_charges": charges,
            "usage_gb": usage,
            "support_calls": calls,
            "contract": contract,
            "payment_method": payment,
            "region": region,
            "paperless_billing": paperless,
            LABEL: churned,
        },
        columns=COLUMNS,
    )


def rows_of(name: str) -> int:
    if name == "reference":
        return REFERENCE_ROWS
    return HOLDOUT_ROWS if name.endswith("-holdout") else BATCH_ROWS


def frame(name: str, seed: int = SEED, rows: int | None = None, stream: int | None = None):
    """One data set as a DataFrame, read back from its CSV text (as the pipeline reads it)."""
    return pd.read_csv(io.StringIO(csv_text(name, seed, rows=rows, stream=stream)))


def csv_text(name: str, seed: int = SEED, *, rows: int | None = None, stream: int | None = None):
    """The CSV text of one data set; the same arguments always give the same bytes."""
    stream = STREAMS[name] if stream is None else stream
    rows = rows_of(name) if rows is None else rows
    rng = np.random.default_rng([seed, stream])
    data = sample(regime_of(name), rows, rng, first_id=stream * 10_000)
    return data.to_csv(index=False, lineterminator="\n")


def hidden_holdout(week: str, seed: int, rows: int = 4000) -> pd.DataFrame:
    """A holdout from `week`'s regime that the learner never sees (the check's own seed)."""
    stream = 100 + WEEKS.index(week) if week in WEEKS else 99
    return frame(week, seed, rows=rows, stream=stream)


def files(seed: int = SEED) -> dict[str, str]:
    """Every data file of the lab, name -> CSV text."""
    return {f"{name}.csv": csv_text(name, seed) for name in STREAMS}


def sha256(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def manifest(texts: dict[str, str], seed: int = SEED) -> dict:
    """What data/manifest.json says: the seed, the reference, the weeks and each file's hash."""
    return {
        "seed": seed,
        "generator": "labs/drift-retrain/generate.py",
        "label": LABEL,
        "id": ID,
        "numeric": NUMERIC,
        "categorical": CATEGORICAL,
        "reference": {"name": "reference", "file": "reference.csv", "rows": REFERENCE_ROWS},
        "reference_holdout": {
            "name": "reference-holdout",
            "file": "reference-holdout.csv",
            "rows": HOLDOUT_ROWS,
        },
        "batches": [
            {
                "name": week,
                "file": f"{week}.csv",
                "holdout": f"{week}-holdout.csv",
                "rows": BATCH_ROWS,
                "holdout_rows": HOLDOUT_ROWS,
            }
            for week in WEEKS
        ],
        "sha256": {name: sha256(text) for name, text in sorted(texts.items())},
    }


def write(folder: Path, seed: int = SEED) -> dict:
    """Write every data file and manifest.json into `folder`; return the manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    texts = files(seed)
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    data = manifest(texts, seed)
    (folder / "manifest.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return data


def reset(workdir: Path) -> None:
    """The lab's reset hook: the data folder of a fresh work folder."""
    write(Path(workdir) / "data")


if __name__ == "__main__":
    import sys

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "data")
    print(json.dumps(write(target)["sha256"], indent=2))
