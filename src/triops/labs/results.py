"""What a kept lab run shows on the lab page: the drift-retrain lab's monitoring artifacts, read
into tables (labs/drift-retrain/README.md documents the files).

Everything under a run's artifacts/ was written inside the sandbox by code the learner may have
edited, so nothing here trusts it: files are size-limited, parsed as JSON only, and every value
is checked for its type before it reaches a table. A file that does not fit raises
ResultsError naming the file; the page shows that instead of the results."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from triops.errors import InvalidInputError

MONITORING = "monitoring"
MAX_FILE_BYTES = 5_000_000
METRICS = ("auc", "accuracy", "recall", "precision", "brier", "positive_rate")


class ResultsError(InvalidInputError):
    """A run's result files are missing a part or do not have the documented shape."""


@dataclass
class Distribution:
    """One column, reference against the batch, as shares of each sample (for a chart)."""

    column: str
    kind: str
    test: str
    drifted: bool
    frame: pd.DataFrame  # value (bin label or category), order, sample, share, count


@dataclass
class Batch:
    name: str
    decision: str
    reason: str
    trigger: str
    drift: pd.DataFrame  # column, kind, test, score, threshold, verdict
    dataset_drift: bool
    drifted_count: int
    columns: int
    distributions: list[Distribution] = field(default_factory=list)


@dataclass
class Monitoring:
    status: str
    error: str
    batches: list[Batch]
    performance: pd.DataFrame  # batch, champion, metric, value (long form, for a line chart)
    decisions: pd.DataFrame  # one row per batch
    versions: pd.DataFrame  # one row per registered version
    timeline: pd.DataFrame  # one row per registry change
    aliases: dict[str, int]


def _load(path: Path, root: Path) -> Any:
    shown = path.relative_to(root.parent).as_posix() if path.is_relative_to(root.parent) else path
    if not path.is_file() or path.is_symlink():
        raise ResultsError(f"{shown}: missing")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ResultsError(f"{shown}: larger than {MAX_FILE_BYTES // 1_000_000} MB")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsError(f"{shown}: not JSON ({exc})") from exc


def _get(data: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(data, dict) or key not in data:
        raise ResultsError(f"{where}: no '{key}'")
    value = data[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _kinds(kind)):
        raise ResultsError(f"{where}: '{key}' has the wrong type")
    return value


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _number(value: Any) -> float:
    """A finite float, or NaN for null and anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value) if math.isfinite(value) else math.nan


def _parse(text: Any) -> float:
    """A number written as text (a version in a table), or NaN."""
    try:
        return _number(float(text))
    except (TypeError, ValueError):
        return math.nan


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _window(value: Any) -> str:
    return ", ".join(_text(v) for v in value) if isinstance(value, list) else _text(value)


def read_monitoring(artifacts: Path) -> Monitoring | None:
    """The drift-retrain results of a kept run (`artifacts` is the run's artifacts folder);
    None when the run left no monitoring artifact (another lab, or a run that failed early)."""
    root = Path(artifacts) / MONITORING
    if not (root / "summary.json").is_file():
        return None
    summary = _load(root / "summary.json", root)
    where = "summary.json"
    status = _text(summary.get("status")) if isinstance(summary, dict) else ""
    raw_batches = _get(summary, "batches", list, where)
    bootstrap = summary.get("bootstrap") if isinstance(summary.get("bootstrap"), dict) else {}

    performance: list[dict] = []
    decisions: list[dict] = []
    batches: list[Batch] = []
    for metric in ("auc", "recall"):
        metrics = bootstrap.get("metrics") if isinstance(bootstrap.get("metrics"), dict) else {}
        if metrics:
            performance.append(
                {
                    "batch": "bootstrap",
                    "order": 0,
                    "champion": f"v{bootstrap.get('version', 1)}",
                    "metric": metric,
                    "value": _number(metrics.get(metric)),
                }
            )
    for n, raw in enumerate(raw_batches, start=1):
        here = f"{where}: batches[{n - 1}]"
        name = _text(_get(raw, "batch", str, here))
        perf = raw.get("performance") if isinstance(raw.get("performance"), dict) else {}
        metrics = perf.get("metrics") if isinstance(perf.get("metrics"), dict) else {}
        champion = raw.get("champion") if isinstance(raw.get("champion"), dict) else {}
        version = champion.get("version")
        for metric in ("auc", "recall"):
            performance.append(
                {
                    "batch": name,
                    "order": n,
                    "champion": f"v{version}" if version is not None else "",
                    "metric": metric,
                    "value": _number(metrics.get(metric)),
                }
            )
        drift_info = raw.get("drift") if isinstance(raw.get("drift"), dict) else {}
        policy = raw.get("policy") if isinstance(raw.get("policy"), dict) else {}
        challenger = raw.get("challenger") if isinstance(raw.get("challenger"), dict) else None
        decisions.append(
            {
                "batch": name,
                "drifted columns": f"{drift_info.get('drifted_count', '?')} of "
                f"{drift_info.get('columns', '?')}",
                "dataset drift": bool(drift_info.get("dataset_drift")),
                "champion AUC": _number(metrics.get("auc")),
                "AUC drop": _number(perf.get("auc_drop")),
                "trigger": _text(policy.get("trigger")),
                "challenger": f"v{challenger.get('version')}" if challenger else "",
                "decision": _text(raw.get("decision")),
                "champion after": _text(raw.get("champion_after")),
                "reason": _text(raw.get("reason")),
            }
        )
        batches.append(
            Batch(
                name=name,
                decision=_text(raw.get("decision")),
                reason=_text(raw.get("reason")),
                trigger=_text(policy.get("trigger")),
                drift=_drift_table(root, drift_info, name),
                dataset_drift=bool(drift_info.get("dataset_drift")),
                drifted_count=int(_number(drift_info.get("drifted_count")) or 0),
                columns=int(_number(drift_info.get("columns")) or 0),
                distributions=_distributions(root, drift_info, name),
            )
        )

    versions, timeline, aliases = _registry(root)
    return Monitoring(
        status=status,
        error=_text(summary.get("error")) if isinstance(summary, dict) else "",
        batches=batches,
        performance=pd.DataFrame(
            performance, columns=["batch", "order", "champion", "metric", "value"]
        ),
        decisions=pd.DataFrame(decisions),
        versions=versions,
        timeline=timeline,
        aliases=aliases,
    )


def _inside(root: Path, rel: Any, where: str) -> Path:
    """A path named in a result file, kept inside the artifact folder."""
    if not isinstance(rel, str) or not rel:
        raise ResultsError(f"{where}: no file named")
    path = (root / rel).resolve()
    if not path.is_relative_to(root.resolve()):
        raise ResultsError(f"{where}: '{rel}' points outside the run's artifacts")
    return path


def _drift_table(root: Path, info: dict, batch: str) -> pd.DataFrame:
    path = _inside(root, info.get("file"), f"summary.json: {batch} drift")
    data = _load(path, root)
    rows = []
    for i, col in enumerate(_get(data, "columns", list, path.name)):
        if not isinstance(col, dict):
            raise ResultsError(f"{path.name}: columns[{i}] is not an object")
        rows.append(
            {
                "column": _text(col.get("column")),
                "kind": _text(col.get("kind")),
                "test": _text(col.get("test")),
                "score": _number(col.get("score")),
                "threshold": _number(col.get("threshold")),
                "verdict": "DRIFT" if col.get("drifted") is True else "no drift",
            }
        )
    return pd.DataFrame(rows, columns=["column", "kind", "test", "score", "threshold", "verdict"])


def _distributions(root: Path, info: dict, batch: str) -> list[Distribution]:
    """The drifted columns' reference and batch shares."""
    if not info.get("distributions"):
        return []
    path = _inside(root, info.get("distributions"), f"summary.json: {batch} distributions")
    data = _load(path, root)
    columns = _get(data, "columns", dict, path.name)
    out = []
    for name, col in columns.items():
        if not isinstance(col, dict) or col.get("drifted") is not True:
            continue
        ref, cur = col.get("reference"), col.get("current")
        if isinstance(col.get("edges"), list):
            edges = [_number(e) for e in col["edges"]]
            labels = [f"{lo:.4g} to {hi:.4g}" for lo, hi in zip(edges, edges[1:], strict=False)]
        else:
            labels = [_text(c) for c in col.get("categories") or []]
        if not (isinstance(ref, list) and isinstance(cur, list)) or not (
            len(ref) == len(cur) == len(labels)
        ):
            raise ResultsError(f"{path.name}: column '{name}' has counts that do not line up")
        rows = []
        for sample, counts in (("reference", ref), (batch, cur)):
            values = [max(_number(c), 0.0) if not math.isnan(_number(c)) else 0.0 for c in counts]
            total = sum(values) or 1.0
            for order, (label, count) in enumerate(zip(labels, values, strict=True)):
                rows.append(
                    {
                        "value": label,
                        "order": order,
                        "sample": sample,
                        "share": count / total,
                        "count": int(count),
                    }
                )
        out.append(
            Distribution(
                column=_text(name),
                kind=_text(col.get("kind")),
                test=_text(col.get("test")),
                drifted=True,
                frame=pd.DataFrame(rows),
            )
        )
    return out


def _registry(root: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    data = _load(root / "registry.json", root)
    versions = []
    for i, v in enumerate(_get(data, "versions", list, "registry.json")):
        if not isinstance(v, dict):
            raise ResultsError(f"registry.json: versions[{i}] is not an object")
        metrics = v.get("metrics") if isinstance(v.get("metrics"), dict) else {}
        aliases = v.get("aliases") if isinstance(v.get("aliases"), list) else []
        versions.append(
            {
                "version": _text(v.get("version")),
                "registered at": _text(v.get("batch")),
                "trigger": _text(v.get("trigger")),
                "trained on": _window(v.get("window")),
                "rows": _number(v.get("rows")),
                "holdout AUC": _number(metrics.get("auc")),
                "holdout recall": _number(metrics.get("recall")),
                "aliases": ", ".join(_text(a) for a in aliases),
                "window hash": _text(v.get("window_hash"))[:12],
            }
        )
    events = []
    raw_timeline = data.get("timeline") if isinstance(data, dict) else None
    for order, e in enumerate(raw_timeline if isinstance(raw_timeline, list) else []):
        if not isinstance(e, dict):
            continue
        events.append(
            {
                "order": order,
                "step": _text(e.get("step")),
                "event": _text(e.get("event")),
                "alias": _text(e.get("alias")),
                "version": _text(e.get("version")),
                "previous": _text(e.get("previous")),
            }
        )
    aliases = {}
    raw_aliases = data.get("aliases") if isinstance(data, dict) else None
    for alias, version in (raw_aliases if isinstance(raw_aliases, dict) else {}).items():
        if isinstance(version, int) and not isinstance(version, bool):
            aliases[_text(alias)] = version
    return (
        pd.DataFrame(versions),
        pd.DataFrame(events, columns=["order", "step", "event", "alias", "version", "previous"]),
        aliases,
    )


def registry_over_time(monitoring: Monitoring) -> pd.DataFrame:
    """Per step (bootstrap, then each batch): the version that is champion after it, and each
    version registered in it, as rows step, order, version, role (champion or registered)."""
    steps = ["bootstrap"] + [b.name for b in monitoring.batches]
    rows = []
    for _, e in monitoring.timeline.iterrows():
        if e["event"] == "registered" and e["step"] in steps:
            rows.append(
                {
                    "step": e["step"],
                    "order": steps.index(e["step"]),
                    "version": _parse(e["version"]),
                    "role": "registered",
                }
            )
    first = next(
        (
            e["version"]
            for _, e in monitoring.timeline.iterrows()
            if e["alias"] == "champion" and e["event"] == "alias-set"
        ),
        None,
    )
    holders = [first] + list(monitoring.decisions.get("champion after", []))
    for order, (step, version) in enumerate(zip(steps, holders, strict=False)):
        number = _parse(version)
        if not math.isnan(number):
            rows.append({"step": step, "order": order, "version": number, "role": "champion"})
    return pd.DataFrame(rows, columns=["step", "order", "version", "role"])


# --------------------------------------------------------------------------- prompt-eval

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
    data = _load(path, root)
    if not isinstance(data, dict):
        raise ResultsError("summary.json: not an object")
    problems = []
    for p in data.get("problems") or []:
        if isinstance(p, dict):
            problems.append(
                f"{_text(p.get('path'))}:{_text(p.get('line'))}: {_text(p.get('key'))}: "
                f"{_text(p.get('message'))}"
            )
    reasons = data.get("reasons") if isinstance(data.get("reasons"), list) else []
    return {
        "status": _text(data.get("status")) or "complete",
        "verdict": _text(data.get("verdict")),
        "reasons": [_text(r) for r in reasons],
        "problems": problems,
    }


def read_eval(artifacts: Path) -> EvalView | None:
    """The eval results a prompt-eval run left (artifacts/eval/results.json), or None."""
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
        run = EvalRun.from_dict(_load(path, root))
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
        number = _number(value)
        return "–" if math.isnan(number) else f"{number:.4g}"

    side = view.totals.set_index("column").T
    side.index.name = "total"
    return side.apply(lambda col: col.map(shown))
