"""Item analysis figures (issue 13): the item report over 10,000 simulated attempts of 65 items
against a plain pandas groupby computing the same figures in the same run, and `triops validate
--fast` on the course with and without the item-writing checks (their facts cached by the last
run, one question edited, no cache; see validate_item_writing).

Both sides of the report figure start from the same frames in memory (what
`triops.quiz.analysis.load` reads from the database); reading the database is not timed. The
groupby computes facility, the point-biserial against the rest score and each option's choice
rate; the report computes those and also the upper-lower index, group option rates, median times,
flags and KR-20. The bench checks that the two agree before it reports a ratio."""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
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


# One run of `triops validate --fast ROOT` in a fresh process. Checks off: the item-writing
# modules (the checks and their cache) are never imported and validate gets no findings from
# them, so the difference to a run with the checks is everything they cost, imports included.
# The process reports on stderr whether the checks' module was loaded, which the bench asserts.
_COMMAND = """\
import sys
import time

if {off}:
    import types

    stub = types.ModuleType("triops.quiz.itemcache")
    stub.cached_item_writing_problems = lambda bank, exams, folder: ([], [])
    sys.modules["triops.quiz.itemcache"] = stub
else:
    # The checks' own CPU time in this run: importing their two modules (after what validate
    # imports anyway) and the call validate makes.
    import triops.content.problems, triops.quiz.bank  # noqa: E401

    start = time.process_time()
    import triops.quiz.itemcache as itemcache

    spent = [time.process_time() - start]
    checks = itemcache.cached_item_writing_problems

    def timed(*args):
        start = time.process_time()
        try:
            return checks(*args)
        finally:
            spent.append(time.process_time() - start)
            print("item-writing CPU ms:", 1000 * sum(spent), file=sys.stderr)

    itemcache.cached_item_writing_problems = timed
from triops.cli import main

sys.argv = ["triops", "validate", "--fast", {root!r}]
try:
    main()
finally:
    print("item-writing loaded:", "triops.quiz.itemwriting" in sys.modules, file=sys.stderr)
"""

# What validate reads: a copy of them is validated, so that one bank file can be edited.
_COURSE = ("content", "quizzes", "labs", "data")


def _edit_one_question(root: Path, round_: int) -> None:
    """Change the first line of the first stem of one bank file, as an instructor's edit does:
    that question's text differs from the last run's (every round, from the round before)."""
    path = root / "quizzes" / "devops" / "delivery.yaml"
    lines = path.read_text(encoding="utf-8").split("\n")
    at = next(i for i, line in enumerate(lines) if line.strip() == "stem: |") + 1
    lines[at] = re.sub(r" \(edit \d+\)$", "", lines[at]) + f" (edit {round_})"
    path.write_text("\n".join(lines), encoding="utf-8")


def validate_item_writing(runs: int = 9) -> list[Figure]:
    """`triops validate --fast` on a copy of the course, with the item-writing checks and with
    them switched off, in a fresh process each time as a user runs it: with the checks' facts
    cached by the run before (the instructor's loop), with one question edited since that run,
    and with no cache (a fresh clone's first run); and validate() in one process.

    The target is on the cached figure: an instructor edits a file and runs validate again, and
    from the second run on the facts of every unchanged question come from the cache
    (quizzes/README.md, "Item-writing checks"). The first run on a fresh clone pays for every
    question's words once; that figure is reported beside its baseline, not targeted. Each run
    is timed by the clock and by the CPU time the process used: on an idle machine the two
    agree (validate --fast works on one thread), and on a shared one the CPU time is the figure to
    read, since the clock then mostly measures waiting for a core. A run with the checks also
    times their own part (importing them, and the call): its share of the command without them
    is what they add, measured without subtracting two whole runs' noise (+-200 ms of CPU time
    between two runs on a loaded machine), and carries the same target (<= 0.10).
    Subprocesses get Python's default bytecode cache (in a folder of the bench's own, not the
    checkout) whatever the caller's PYTHONDONTWRITEBYTECODE says, as an instructor's Python has;
    without it every run compiles all of Triops and both sides grow by the same time."""
    from triops.quiz import itemcache, itemwriting
    from triops.validate import validate

    with tempfile.TemporaryDirectory(prefix="triops-bench-validate-") as tmp:
        root = Path(tmp) / "course"
        for name in _COURSE:
            shutil.copytree(REPO / name, root / name)
        home = Path(tmp) / "home"
        derived = home / "derived"
        env = dict(os.environ, TRIOPS_HOME=str(home), PYTHONPYCACHEPREFIX=str(Path(tmp) / "pyc"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        summaries: dict[str, set[str]] = defaultdict(set)
        checks_cpu: dict[str, list[float]] = defaultdict(list)  # measured inside the runs

        def command(kind: str, round_: int) -> tuple[float, float]:
            """Wall-clock and CPU milliseconds (the child's user + system time) of one run."""
            if kind == "cold":
                (derived / itemcache.FILE_NAME).unlink(missing_ok=True)
            elif kind == "edited":
                _edit_one_question(root, round_)
            cache = derived / itemcache.FILE_NAME
            written = cache.stat().st_mtime_ns if kind == "warm" else None
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", _COMMAND.format(off=kind == "off", root=str(root))],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            elapsed = (time.perf_counter() - start) * 1000
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
            if done.returncode not in (0, 1) or "lessons:" not in done.stdout:
                raise RuntimeError(f"triops validate --fast failed: {done.stderr[-2000:]}")
            loaded = f"item-writing loaded: {kind != 'off'}"
            if loaded not in done.stderr:
                raise RuntimeError(f"{kind} run: expected {loaded!r}: {done.stderr[-2000:]}")
            if kind != "off" and not cache.is_file():
                raise RuntimeError(f"{kind} run left no cache in {derived}")
            if written is not None and cache.stat().st_mtime_ns != written:
                # A run rewrites the file only when it worked out a question's facts.
                raise RuntimeError("a run with the cache filled worked out facts again")
            summaries[kind].add(done.stdout.strip().splitlines()[-1])
            if kind != "off":
                own = re.search(r"item-writing CPU ms: ([\d.]+)", done.stderr)
                if own is None:
                    raise RuntimeError(f"{kind} run: the checks did not run: {done.stderr[-2000:]}")
                checks_cpu[kind].append(float(own.group(1)))
            return elapsed, cpu

        def in_process(folder: Path | None) -> float:
            """CPU milliseconds of one validate() in this process."""
            itemwriting.release_caches()  # the text caches last one process run, not the next
            start = time.process_time()
            validate(root, None, folder)
            return (time.process_time() - start) * 1000

        # Warm-up: Python's bytecode, the OS file cache, the facts cache.
        for kind in ("off", "cold", "warm"):
            command(kind, 0)
        validate(root)
        kinds = ["off", "warm", "edited", "cold"]
        times: dict[str, list[float]] = defaultdict(list)
        cpu: dict[str, list[float]] = defaultdict(list)
        calls: dict[str, list[float]] = defaultdict(list)
        for round_ in range(1, runs + 1):
            # Each round in another order (rotated), so that drift on the shared machine does
            # not favour one side. A warm run always finds the cache the run before it wrote.
            shift = round_ % len(kinds)
            for kind in kinds[shift:] + kinds[:shift]:
                wall, used = command(kind, round_)
                times[kind].append(wall)
                cpu[kind].append(used)
            calls["cached"].append(in_process(derived))
            calls["uncached"].append(in_process(None))
            with mock.patch(
                "triops.validate.cached_item_writing_problems", lambda bank, exams, folder: ([], [])
            ):
                calls["off"].append(in_process(derived))
        on = {kind: lines for kind, lines in summaries.items() if kind != "off"}
        if len({frozenset(lines) for lines in on.values()}) != 1 or len(on["warm"]) != 1:
            raise RuntimeError(f"the runs with the checks disagree: {dict(summaries)}")
    fresh = "a fresh process per run; baseline: the same command with the checks switched off"
    rows = [
        (
            "triops validate --fast, item-writing facts cached by the last run",
            times["warm"],
            times["off"],
            "ratio <= 1.10",
            f"the instructor's loop (edit, validate again); {fresh}",
        ),
        (
            "triops validate --fast, one question edited since the last run",
            times["edited"],
            times["off"],
            "",
            f"its facts worked out again, the cache rewritten; {fresh}",
        ),
        (
            "triops validate --fast, no cache: a fresh clone's first run",
            times["cold"],
            times["off"],
            "",
            f"every question's facts worked out and stored; {fresh}",
        ),
        (
            "triops validate --fast, facts cached by the last run: CPU time",
            cpu["warm"],
            cpu["off"],
            "ratio <= 1.10",
            "the same runs' user + system time: what wall-clock time is on an idle machine, and "
            "far less moved by other work on a shared one",
        ),
        (
            "the checks' own CPU time inside those cached runs",
            checks_cpu["warm"],
            cpu["off"],
            "ratio <= 0.10",
            "importing the checks and running them, timed inside each run; the ratio is the "
            "share they add to the command without them, free of the noise of subtracting "
            "two whole runs",
        ),
        (
            "triops validate --fast, one question edited: CPU time",
            cpu["edited"],
            cpu["off"],
            "",
            "the same runs' user + system time",
        ),
        (
            "the checks' own CPU time inside those edited runs",
            checks_cpu["edited"],
            cpu["off"],
            "",
            "as above: the share they add",
        ),
        (
            "triops validate --fast, no cache: CPU time",
            cpu["cold"],
            cpu["off"],
            "",
            "the same runs' user + system time",
        ),
        (
            "the checks' own CPU time inside those runs without a cache",
            checks_cpu["cold"],
            cpu["off"],
            "",
            "as above: the share they add",
        ),
        (
            "validate() in process, facts cached: CPU time",
            calls["cached"],
            calls["off"],
            "",
            "no interpreter start-up or imports: the checks' own cost beside parsing the course",
        ),
        (
            "validate() in process, no cache: CPU time",
            calls["uncached"],
            calls["off"],
            "",
            "the same, every question's facts worked out (the text caches emptied first)",
        ),
    ]
    return [
        Figure(f"{name} (median)", median(value), "ms", median(baseline), target, note)
        for name, value, baseline, target, note in rows
    ]
