"""Check of mlops/batch-validation-gate: a batch that breaks the schema never reaches scoring.

The check reruns the candidate's validate.py in the sandbox, through a workflow of its own, on
five batches it generates here (seeded): a clean one, and four copies of it that each break one
rule of schema.yaml in one known row (out of range, a decimal comma in a number, an empty value,
an unknown category). A batch must be rejected (exit code not 0) with a line naming its file,
its line and the column; the clean batch must pass. The candidate's own run must stop tonight's
batch before the score job.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

SCHEMA = "schema.yaml"
CLEAN = "clean"
# name -> (row index, column, value written there)
BROKEN = {
    "range": (17, "age", "230"),
    "decimal-comma": (8, "monthly_eur", "12,50"),
    "empty": (30, "age", ""),
    "category": (41, "plan", "premium"),
}

WORKFLOW_HEAD = """\
name: the check's batches
on: workflow_dispatch
jobs:
"""
JOB = """\
  {name}:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - run: |
          mkdir -p out
          python validate.py check-data/{name}.csv --schema schema.yaml > out/{name}.txt 2>&1
      - if: always()
        uses: actions/upload-artifact@v4
        with:
          name: {name}
          path: out/
"""


def clean_frame() -> pd.DataFrame:
    rng = np.random.default_rng(61_206)
    rows = 60
    return pd.DataFrame(
        {
            "customer_id": [f"C{10_000 + i}" for i in range(rows)],
            "age": rng.integers(18, 90, rows).astype(str),
            "tenure_months": rng.integers(0, 120, rows).astype(str),
            "monthly_eur": [f"{v:.2f}" for v in rng.uniform(5, 180, rows)],
            "plan": rng.choice(["basic", "plus", "family"], rows),
        }
    )


def batches() -> dict[str, str]:
    """Batch name -> CSV text."""
    clean = clean_frame()
    out = {CLEAN: clean.to_csv(index=False, lineterminator="\n")}
    for name, (row, column, value) in BROKEN.items():
        frame = clean.copy()
        frame.loc[row, column] = value
        out[name] = frame.to_csv(index=False, lineterminator="\n")
    return out


def rerun_files() -> dict[str, str]:
    names = [CLEAN, *BROKEN]
    files = {f"check-data/{name}.csv": text for name, text in batches().items()}
    files[".github/workflows/score.yml"] = WORKFLOW_HEAD + "".join(
        JOB.format(name=name) for name in names
    )
    return files


def _outcome(ctx, name: str) -> tuple[str | None, str]:
    """(the job's result, what validate.py printed) for one of the check's batches."""
    run = ctx.rerun(rerun_files())
    return run.jobs.get(name), run.artifact_text(f"{name}/{name}.txt") or ""


def _clean_problem(ctx) -> str:
    result, printed = _outcome(ctx, CLEAN)
    if result == "success":
        return ""
    first = printed.strip().splitlines()[:1]
    return f"the check's clean batch was rejected too ({first[0] if first else result})"


def _rejects(ctx, names: list[str]):
    problem = _clean_problem(ctx)
    if problem:
        return False, problem
    wrong, right = [], []
    for name in names:
        row, column, value = BROKEN[name]
        line, path = row + 2, f"check-data/{name}.csv"
        result, printed = _outcome(ctx, name)
        shown = f"{column}={value!r} on line {line}"
        if result != "failure":
            wrong.append(f"{shown} was accepted")
            continue
        pattern = re.compile(rf"^{re.escape(path)}:{line}:\s*{re.escape(column)}\b", re.M)
        if not pattern.search(printed):
            wrong.append(f"{shown} was rejected without a line '{path}:{line}: {column}: ...'")
            continue
        right.append(shown)
    if wrong:
        return False, "; ".join(wrong)
    return True, "rejected with file, line and column: " + "; ".join(right)


def accepts_clean_batch(ctx):
    problem = _clean_problem(ctx)
    if problem:
        return False, problem
    return True, "the clean batch of 60 customers passed"


def rejects_out_of_range(ctx):
    return _rejects(ctx, ["range"])


def rejects_wrong_type_and_empty(ctx):
    return _rejects(ctx, ["decimal-comma", "empty"])


def rejects_unknown_category(ctx):
    return _rejects(ctx, ["category"])


def scoring_waits_for_validation(ctx):
    jobs = ctx.run().jobs
    validate, score = jobs.get("validate"), jobs.get("score")
    if validate == "failure" and score == "skipped":
        return True, "tonight's batch failed validation and the score job was skipped"
    return False, f"on tonight's batch validate ended {validate} and score ended {score}"
