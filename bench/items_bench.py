"""Item analysis figures (issue 13): the item report over 10,000 simulated attempts of 65 items
against a plain pandas groupby computing the same figures in the same run, and `triops validate
--fast` on the course with and without the item-writing checks.

Both sides of the report figure start from the same frames in memory (what
`triops.quiz.analysis.load` reads from the database); reading the database is not timed. The
groupby computes facility, the point-biserial against the rest score and each option's choice
rate; the report computes those and also the upper-lower index, group option rates, median times,
flags and KR-20. The bench checks that the two agree before it reports a ratio."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd

from bench.report import Figure, median
from triops.quiz import analysis, simulate

REPO = Path(__file__).resolve().parents[1]
CANDIDATES = 10_000
ITEMS = 65


def groupby_figures(data: analysis.ItemData) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Facility, point-biserial against the rest score, and option choice rates, written as
    plain pandas groupby code."""
    items = data.items
    frame = items[["exam_id", "attempt_id", "question_id", "score"]]
    by_attempt = frame.groupby("attempt_id")["score"]
    rest = (by_attempt.transform("sum") - frame["score"]) / (by_attempt.transform("size") - 1)
    frame = frame.assign(rest=rest)
    per_item = frame.groupby(["exam_id", "question_id"])
    facility = per_item["score"].mean()
    point_biserial = per_item[["score", "rest"]].corr().xs("score", level=2)["rest"]
    rows = data.choices["row"].to_numpy()
    chosen = pd.DataFrame(
        {
            "exam_id": items["exam_id"].to_numpy()[rows],
            "question_id": items["question_id"].to_numpy()[rows],
            "option": data.options["option"].to_numpy()[data.choices["option"].to_numpy()],
        }
    )
    counts = chosen.groupby(["exam_id", "question_id", "option"]).size()
    rates = counts / per_item.size().reindex(counts.index.droplevel(2)).to_numpy()
    return facility, point_biserial, rates


def _agree(form: analysis.FormReport, figures) -> None:
    facility, point_biserial, rates = figures
    items = form.items.set_index("question_id")
    ids = facility.index.get_level_values("question_id")
    assert np.allclose(items.loc[ids, "facility"], facility.to_numpy())
    assert np.allclose(items.loc[ids, "discrimination"], point_biserial.to_numpy())
    options = form.options.set_index(["question_id", "option"])["overall"]
    keyed = rates.droplevel("exam_id")
    assert np.allclose(options.loc[keyed.index], keyed.to_numpy())


def report_vs_groupby(runs: int = 5) -> Figure:
    plan = simulate.plan_form(simulate.synthetic_questions(ITEMS), seed=1)
    data = simulate.item_data(simulate.simulate(plan, CANDIDATES, seed=1), "bench")
    report, baseline = [], []
    for _ in range(runs):
        start = time.perf_counter()
        form = analysis.analyse(data)[0]
        report.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        figures = groupby_figures(data)
        baseline.append((time.perf_counter() - start) * 1000)
    _agree(form, figures)
    return Figure(
        f"item report, {CANDIDATES:,} attempts x {ITEMS} items (median)",
        median(report),
        "ms",
        median(baseline),
        "ratio <= 1.5",
        "baseline: plain pandas groupby for facility, point-biserial and option rates",
    )


_COMMAND = """\
import sys
from unittest import mock

import triops.validate
from triops.cli import main

sys.argv = ["triops", "validate", "--fast"]
if {off}:
    mock.patch.object(triops.validate, "item_writing_problems", lambda b, e: ([], [])).start()
main()
"""


def validate_item_writing(runs: int = 7) -> list[Figure]:
    """`triops validate --fast` on the course with and without the item-writing checks: the
    command as a user runs it (a fresh process each time), and validate() in one process."""
    from triops.validate import validate

    def command(off: bool) -> float:
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _COMMAND.format(off=off)],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode not in (0, 1) or "lessons:" not in done.stdout:
            raise RuntimeError(f"triops validate --fast failed: {done.stderr[-2000:]}")
        return (time.perf_counter() - start) * 1000

    def in_process() -> float:
        start = time.perf_counter()
        validate(REPO)
        return (time.perf_counter() - start) * 1000

    validate(REPO)  # warm imports and the OS file cache
    runs_with, runs_without, calls_with, calls_without = [], [], [], []
    for _ in range(runs):
        runs_with.append(command(False))
        runs_without.append(command(True))
        calls_with.append(in_process())
        with mock.patch("triops.validate.item_writing_problems", lambda bank, exams: ([], [])):
            calls_without.append(in_process())
    return [
        Figure(
            "triops validate --fast with item-writing checks (median)",
            median(runs_with),
            "ms",
            median(runs_without),
            "ratio <= 1.10",
            "a fresh process per run; baseline: the same command with the checks switched off",
        ),
        Figure(
            "validate() in process with item-writing checks (median)",
            median(calls_with),
            "ms",
            median(calls_without),
            "",
            "no interpreter start-up: the checks' own cost beside parsing the course",
        ),
    ]
