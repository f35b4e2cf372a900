"""Check of mlops/psi-drift-gate: PSI on the reference's deciles, the comparison, the exit code.

The check never trusts the task's own data or the numbers the run printed. It reruns the
candidate's drift_check.py in the sandbox, through a workflow of its own, on two pairs of data
sets it generates here (seeded, so every grading sees the same rows): `shifted`, where one
column's values moved by a constant (the shift that binning each data set on its own range
hides), and `stable`, a fresh sample of the reference's population. It recomputes every
column's PSI itself from the same CSV text and compares.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd

BINS = 10
FLOOR = 0.0001
THRESHOLD = 0.25
PSI_TOLERANCE = 1e-3  # relative: a value on a bin edge counted on either side moves PSI less
COLUMNS = ("basket_eur", "session_minutes", "discount_pct")

WORKFLOW = """\
name: the check's drift runs
on: workflow_dispatch
env:
  OPENBLAS_NUM_THREADS: "1"
  OMP_NUM_THREADS: "1"
jobs:
{jobs}
"""
JOB = """\
  {name}:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - run: >-
          python drift_check.py check-data/reference.csv check-data/{name}.csv
          --out out/{name}.json
      - if: always()
        uses: actions/upload-artifact@v4
        with:
          name: {name}
          path: out/
"""


def population(rng: np.random.Generator, rows: int, shift: float = 0.0) -> pd.DataFrame:
    """Orders of one night: the basket in EUR, minutes in session, discount in percent."""
    return pd.DataFrame(
        {
            "basket_eur": np.round(rng.lognormal(3.6, 0.45, rows) + shift, 6),
            "session_minutes": np.round(rng.gamma(3.0, 4.0, rows), 6),
            "discount_pct": np.round(rng.beta(2.0, 8.0, rows) * 40, 6),
        }
    )


def csv_text(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


def scenario() -> dict[str, str]:
    """The check's data sets as CSV text: a reference, a shifted night and a stable one."""
    rng = np.random.default_rng(20_261_206)
    reference = population(rng, 1000)
    shifted = population(rng, 600)
    shifted["session_minutes"] = shifted["session_minutes"] + 3.0
    stable = population(rng, 600)
    return {
        "check-data/reference.csv": csv_text(reference),
        "check-data/shifted.csv": csv_text(shifted),
        "check-data/stable.csv": csv_text(stable),
    }


def truth_psi(reference: np.ndarray, current: np.ndarray) -> float:
    """The runbook's PSI: reference deciles as inner edges, open outer bins, floor 0.0001."""
    edges = np.quantile(reference, np.linspace(0.1, 0.9, BINS - 1))

    def shares(values: np.ndarray) -> np.ndarray:
        bins = np.searchsorted(edges, values, side="right")
        return np.maximum(np.bincount(bins, minlength=BINS) / len(values), FLOOR)

    expected, actual = shares(reference), shares(current)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def truth() -> dict[str, dict[str, float]]:
    """Night -> column -> PSI, from the same CSV text the candidate's script reads."""
    files = scenario()
    reference = pd.read_csv(io.StringIO(files["check-data/reference.csv"]))
    out = {}
    for night in ("shifted", "stable"):
        current = pd.read_csv(io.StringIO(files[f"check-data/{night}.csv"]))
        out[night] = {
            c: truth_psi(reference[c].to_numpy(float), current[c].to_numpy(float)) for c in COLUMNS
        }
    return out


def rerun_files() -> dict[str, str]:
    jobs = "".join(JOB.format(name=name) for name in ("shifted", "stable"))
    return {**scenario(), ".github/workflows/drift.yml": WORKFLOW.format(jobs=jobs)}


def reports(ctx) -> tuple[dict[str, dict], dict[str, str], str]:
    """(night -> the script's report, night -> job result, a problem or "")."""
    run = ctx.rerun(rerun_files())
    found, problems = {}, []
    for night in ("shifted", "stable"):
        text = run.artifact_text(f"{night}/{night}.json")
        if text is None:
            problems.append(f"on the check's {night} night the script wrote no report")
            continue
        try:
            report = json.loads(text)
        except ValueError:
            problems.append(f"the {night} report is not JSON")
            continue
        columns = report.get("columns") if isinstance(report, dict) else None
        if not isinstance(columns, list):
            problems.append(f"the {night} report has no list of columns")
            continue
        found[night] = {
            str(c.get("column")): c for c in columns if isinstance(c, dict) and "column" in c
        }
    return found, run.jobs, "; ".join(problems)


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def psi_on_reference_bins(ctx):
    found, _, problem = reports(ctx)
    if problem:
        return False, problem
    expected = truth()
    wrong = []
    for night, columns in expected.items():
        for column, value in columns.items():
            got = _number((found[night].get(column) or {}).get("psi"))
            if got is None:
                wrong.append(f"{night} {column}: no PSI")
            elif abs(got - value) > PSI_TOLERANCE * max(abs(value), 0.01):
                wrong.append(f"{night} {column}: {got:.4f}, expected {value:.4f}")
    if wrong:
        return False, "PSI differs from the runbook's on the check's data: " + "; ".join(wrong)
    shown = expected["shifted"]["session_minutes"]
    return True, f"all 6 PSI values match (shifted session_minutes {shown:.3f})"


def drift_above_threshold(ctx):
    found, _, problem = reports(ctx)
    if problem:
        return False, problem
    wrong = []
    for night, columns in found.items():
        for column in COLUMNS:
            entry = columns.get(column) or {}
            score, drifted = _number(entry.get("psi")), entry.get("drifted")
            if score is None or not isinstance(drifted, bool):
                wrong.append(f"{night} {column}: no PSI or no drifted verdict")
            elif drifted != (score > THRESHOLD):
                word = "drifted" if drifted else "not drifted"
                wrong.append(f"{night} {column}: PSI {score:.4f} reported {word}")
    if wrong:
        return False, f"verdicts disagree with PSI > {THRESHOLD}: " + "; ".join(wrong)
    return True, f"every verdict is PSI > {THRESHOLD} on the PSI the report gives"


def exit_code_gates(ctx):
    found, jobs, problem = reports(ctx)
    if problem:
        return False, problem
    expected = truth()
    drifted = [c for c, v in expected["shifted"].items() if v > THRESHOLD]
    shifted, stable = jobs.get("shifted"), jobs.get("stable")
    if shifted != "failure":
        return False, (
            f"on the shifted night ({', '.join(drifted)} drifted) the drift job ended {shifted}: "
            "nothing downstream is stopped"
        )
    if stable != "success":
        return False, f"on the stable night (nothing drifted) the drift job ended {stable}"
    return True, "the job fails on the shifted night and succeeds on the stable one"
