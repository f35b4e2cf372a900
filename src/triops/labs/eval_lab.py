"""Eval labs (lab.yaml `run: {kind: eval, config: promptfooconfig.yaml}`): the run, in a child
process of the project's Python (`python -I -m triops.labs.eval_child`), and the reader of what it
leaves (read_eval: the results as tables for the lab page).

The learner edits only YAML and only Triops' code runs, but DESIGN.md keeps learner work out of
the server process all the same. This module copies the learner's files into a fresh 0700
folder under the sandbox root (links kept as links: the config loader refuses any that lead
out), starts the child in a session of its own with an explicit minimal environment, streams
its output line by line (capped), and kills its process group at the lab's wall-clock limit.
The child limits itself before any heavy import (rlimits, no new privileges, seccomp without
network sockets: see triops.labs.eval_child), because preexec_fn can deadlock in a threaded
server. It writes `eval/results.json`, `eval/summary.json` and `eval/protections.json` into the
run's artifacts folder (labs/prompt-eval/README.md documents them); a run stopped before it
wrote its summary gets one from here that says why.
"""

from __future__ import annotations

import json
import math
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

# pandas (with numpy and pyarrow, about 0.4 s of CPU and 75 MB to import) is imported by the
# functions that build the page's tables: a worker process that only runs lab and task jobs
# (triops.labs.runs) never loads it.
if TYPE_CHECKING:
    import pandas as pd

from triops.labs.outcome import LabRun
from triops.labs.process import supervise
from triops.labs.results import ResultsError, as_number, as_text, load_file
from triops.labs.spec import Lab
from triops.terminal import visible

ARTIFACT = "eval"
EXIT_CODES = {0: "pass", 1: "fail", 2: "config-error", 3: "error"}
MEMORY_SIGNS = ("MemoryError", "Cannot allocate memory", "std::bad_alloc", "out of memory")


def execute_eval(
    lab: Lab,
    files: Path,
    *,
    sandbox_root: Path,
    on_line: Callable[[str], None] | None = None,
    settings=None,
) -> LabRun:
    """Run the lab's eval config on the learner's files in a child process; a LabRun with the
    run's summary as its report, success when the eval's verdict is pass."""
    from triops.config import get_settings

    settings = settings or get_settings()
    limits = lab.spec.limits
    config = lab.spec.run.config
    sandbox_root = Path(sandbox_root)
    sandbox_root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="triops-eval-", dir=sandbox_root))
    artifacts = Path(tempfile.mkdtemp(prefix="triops-artifacts-"))
    out = artifacts / ARTIFACT
    out.mkdir()
    lines: list[str] = []

    def emit(text: str, own: bool = True) -> None:
        # The child's lines quote the learner's YAML (test descriptions, outputs): escaped and
        # marked, so none can pass for a line of Triops' own such as the verdict.
        line = text if own else f"[eval] {visible(text)}"
        lines.append(line)
        if on_line is not None:
            on_line(line)

    start = time.monotonic()
    try:
        work = scratch / "work"
        shutil.copytree(files, work, symlinks=True)
        for name in ("home", "tmp"):
            (scratch / name).mkdir(mode=0o700)
        cmd = [
            sys.executable,
            "-I",  # no cwd, user site or PYTHON* variables: a learner's yaml.py shadows nothing
            "-u",
            "-B",
            "-m",
            "triops.labs.eval_child",
            config,
            "--out",
            str(out),
            "--memory-mb",
            str(limits.memory_mb),
            "--cpu-seconds",
            str(limits.cpu_seconds),
            "--file-size-mb",
            str(limits.disk_mb),
        ]
        emit(f"$ triops eval (lab mode) {config}")
        code, stopped = _supervise(
            cmd,
            cwd=work,
            env=child_env(settings, scratch),
            wall_seconds=limits.wall_seconds,
            output_bytes=limits.output_bytes,
            emit=lambda text: emit(text, own=False),
        )
    except BaseException:
        shutil.rmtree(artifacts, ignore_errors=True)  # the run never returns: nobody else will
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    seconds = time.monotonic() - start
    report = _report(out, code, stopped, limits, seconds, "\n".join(lines))
    if stopped:
        emit(f"eval: stopped ({stopped}): {report['reasons'][0]}")
    protection = _read_json(out / "protections.json") or {}
    return LabRun(
        status="success" if code == 0 and not stopped else "failure",
        report=report,
        artifacts=artifacts,
        seconds=seconds,
        log="\n".join(lines),
        protections=list(protection.get("protections", [])),
        missing=sorted(protection.get("missing", {})),
    )


def child_env(settings, scratch: Path) -> dict[str, str]:
    """The child's whole environment: where the course and TRIOPS_HOME are, offline models,
    HOME and TMPDIR in its scratch folder; nothing inherited (no proxies, no API keys)."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": str(scratch / "home"),
        "TMPDIR": str(scratch / "tmp"),
        "TRIOPS_HOME": str(Path(settings.home).resolve()),
        "TRIOPS_ROOT": str(Path(settings.root).resolve()),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    if settings.embed_model:
        env["TRIOPS_EMBED_MODEL"] = str(settings.embed_model)
    return env


def _supervise(
    cmd: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    wall_seconds: float,
    output_bytes: int,
    emit: Callable[[str], None],
) -> tuple[int | None, str | None]:
    """Run `cmd`, pass its output on line by line, and kill its process group at the wall-clock
    limit (the output closed or not) or past the output cap; (exit code, or -signal; why it was
    stopped, or None)."""
    finished = supervise(
        cmd,
        env=env,
        cwd=cwd,
        wall=wall_seconds,
        output_cap=output_bytes,
        on_line=emit,
        grace=0,  # only Triops' code runs there: nothing to wind down, killed at once
    )
    code, stopped = finished.exit_code, finished.stopped
    if stopped is None and code == -signal.SIGXCPU:
        stopped = "cpu-limit"
    elif stopped is None and code is not None and code < 0:
        stopped = "killed"
    return code, stopped


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _report(
    out: Path, code: int | None, stopped: str | None, limits, seconds: float, log: str
) -> dict[str, Any]:
    """The run's summary as the child wrote it, or one that says why there is none; the exit
    code and how the run was stopped are added either way."""
    summary = _read_json(out / "summary.json")
    written = isinstance(summary, dict) and not stopped
    if not written:
        why = {
            "timeout": f"the run took longer than the lab's {limits.wall_seconds:g} s and was "
            "stopped",
            "cpu-limit": f"the run used more than {limits.cpu_seconds} s of CPU",
            "output-truncated": f"the run printed more than {limits.output_bytes:,} bytes",
            "killed": "the run was killed",
        }.get(stopped or "", "the run ended without writing its summary")
        if stopped is None and any(sign in log for sign in MEMORY_SIGNS):
            stopped, why = "memory-limit", f"the run needed more than {limits.memory_mb} MB"
        summary = {
            "format": 1,
            "status": stopped or "error",
            "verdict": "fail",
            "reasons": [why],
            "config": None,
            "problems": [],
            "seconds": round(seconds, 3),
        }
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    summary["exit_code"] = code
    summary["stopped"] = stopped
    if stopped:
        summary["outcome"] = stopped
    elif written and summary.get("status") == "complete":
        summary["outcome"] = EXIT_CODES.get(code, "error")
    else:
        summary["outcome"] = summary.get("status", "error")
    return summary


# --------------------------------------------------------------------------- the reader

EVAL_RESULTS = ("eval", "results.json")
# Words, not emoji: a machine without an emoji font shows emoji as empty boxes.
STATUS_MARK = {"pass": "pass", "fail": "FAIL", "error": "error", "skipped": "skipped"}


@dataclass
class EvalView:
    """A prompt-eval run as tables: one column per prompt x provider."""

    run: Any  # triops.evals.runner.EvalRun
    columns: list[str]
    matrix: pd.DataFrame  # test, then per column "pass 0.92" / "FAIL 0.31" / ...
    totals: pd.DataFrame  # one row per column
    gates: list[tuple[str, str | None, bool, pd.DataFrame]]  # candidate, baseline, passed, rows
    latencies: pd.DataFrame  # column, test, latency_ms (one row per result)
    cases: list[str]  # test labels, in order
    status: str = "complete"  # the lab run's summary.json, when there is one
    verdict: str = ""
    reasons: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # config errors as path:line: key: ...


def _eval_summary(root: Path) -> dict[str, Any]:
    """status, verdict, reasons and problems from a prompt-eval run's summary.json."""
    path = root / "summary.json"
    if not path.is_file():
        return {}
    data = load_file(path, root)
    if not isinstance(data, dict):
        raise ResultsError("summary.json: not an object")
    problems = []
    for p in data.get("problems") or []:
        if isinstance(p, dict):
            problems.append(
                f"{as_text(p.get('path'))}:{as_text(p.get('line'))}: {as_text(p.get('key'))}: "
                f"{as_text(p.get('message'))}"
            )
    reasons = data.get("reasons") if isinstance(data.get("reasons"), list) else []
    return {
        "status": as_text(data.get("status")) or "complete",
        "verdict": as_text(data.get("verdict")),
        "reasons": [as_text(r) for r in reasons],
        "problems": problems,
    }


def read_eval(artifacts: Path) -> EvalView | None:
    """The eval results a prompt-eval run left (artifacts/eval/results.json), or None."""
    import pandas as pd

    from triops.evals.runner import EvalRun, EvalRunError

    root = Path(artifacts) / EVAL_RESULTS[0]
    path = root / EVAL_RESULTS[1]
    summary = _eval_summary(root)
    if not path.is_file():
        if not summary:
            return None
        empty = pd.DataFrame()
        return EvalView(None, [], empty, empty, [], empty, [], **summary)
    try:
        run = EvalRun.from_dict(load_file(path, root))
    except EvalRunError as exc:
        raise ResultsError(f"{EVAL_RESULTS[1]}: {exc.user_message}") from exc
    columns: list[str] = []
    for row in run.totals:
        if row.column not in columns:
            columns.append(row.column)
    cases: list[str] = []
    cells: dict[str, dict[str, str]] = {}
    latencies = []
    for r in run.results:
        label = f"{r.test_index + 1}. {r.description or _vars(r.vars)}"
        if label not in cells:
            cases.append(label)
            cells[label] = {}
        cells[label][r.column] = f"{STATUS_MARK.get(r.status, r.status)} {r.score:.2f}"
        if r.status != "error":
            latencies.append({"column": r.column, "test": label, "latency_ms": r.latency_ms})
    matrix = pd.DataFrame(
        [{"test": case, **{c: cells[case].get(c, "") for c in columns}} for case in cases],
        columns=["test", *columns],
    )
    totals = pd.DataFrame(
        [
            {
                "column": t.column,
                "passed": f"{t.passed} of {t.tests - t.skipped}",
                "pass rate": t.pass_rate,
                "score": t.score,
                "tokens": t.tokens,
                f"cost ({run.currency or 'price units'})": t.cost,
                "p50 ms": t.latency_p50_ms,
                "p95 ms": t.latency_p95_ms,
                "groundedness": t.groundedness,
                "abstain rate": t.abstain_rate,
            }
            for t in run.totals
        ]
    )
    gates = []
    for g in run.gates:
        rows = pd.DataFrame(
            [
                {
                    "metric": r.metric,
                    "rule": r.rule,
                    "baseline": r.baseline,
                    "candidate": r.candidate,
                    "delta": r.delta,
                    "verdict": r.verdict,
                    "reason": r.reason,
                }
                for r in g.rows
            ],
            columns=["metric", "rule", "baseline", "candidate", "delta", "verdict", "reason"],
        )
        gates.append((g.candidate, g.baseline, g.passed, rows))
    return EvalView(
        run=run,
        columns=columns,
        matrix=matrix,
        totals=totals,
        gates=gates,
        latencies=pd.DataFrame(latencies, columns=["column", "test", "latency_ms"]),
        cases=cases,
        **summary,
    )


def _vars(values: dict) -> str:
    text = ", ".join(f"{k}={v}" for k, v in values.items())
    return text if len(text) <= 80 else text[:79] + "…"


def eval_case(view: EvalView, case: str) -> list[dict[str, Any]]:
    """Each column's answer to one test: output, status, score, and each assertion's verdict."""
    import pandas as pd

    out = []
    for r in view.run.results:
        label = f"{r.test_index + 1}. {r.description or _vars(r.vars)}"
        if label != case:
            continue
        out.append(
            {
                "column": r.column,
                "status": r.status,
                "score": r.score,
                "output": r.output,
                "latency_ms": r.latency_ms,
                "cost": r.cost,
                "assertions": pd.DataFrame(
                    [
                        {
                            "assertion": a.type,
                            "verdict": a.status,
                            "score": a.score,
                            "reason": a.reason,
                        }
                        for a in r.assertions
                    ],
                    columns=["assertion", "verdict", "score", "reason"],
                ),
            }
        )
    return out


def side_by_side(view: EvalView) -> pd.DataFrame:
    """The totals with one column per prompt x provider (v1 beside v2), as display text."""

    def shown(value: Any) -> str:
        if isinstance(value, str):
            return value
        number = as_number(value)
        return "–" if math.isnan(number) else f"{number:.4g}"

    side = view.totals.set_index("column").T
    side.index.name = "total"
    return side.apply(lambda col: col.map(shown))
