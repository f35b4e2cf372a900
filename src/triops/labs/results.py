"""What a kept lab run shows on the lab page: the drift-retrain lab's monitoring artifacts, read
into tables (labs/drift-retrain/README.md documents the files).

Everything under a run's artifacts/ was written inside the sandbox by code the learner may have
edited, so nothing here trusts it: files are size-limited, parsed as JSON only, and every value
is checked for its type before it reaches a table. A file that does not fit raises
ResultsError naming the file; the page shows that instead of the results. The prompt-eval lab's
results are read by triops.labs.eval_lab, with the helpers of this module."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

# pandas (with numpy and pyarrow, about 0.4 s of CPU and 75 MB to import) is imported by the
# functions that build the page's tables: a worker process that only runs lab and task jobs
# (triops.labs.runs) never loads it.
if TYPE_CHECKING:
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


def load_file(path: Path, root: Path) -> Any:
    """A result file as JSON: a regular file (no link) of at most MAX_FILE_BYTES, named from
    the run's folder in errors (ResultsError)."""
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


def as_number(value: Any) -> float:
    """A finite float, or NaN for null and anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value) if math.isfinite(value) else math.nan


def _parse(text: Any) -> float:
    """A number written as text (a version in a table), or NaN."""
    try:
        return as_number(float(text))
    except (TypeError, ValueError):
        return math.nan


def as_text(value: Any) -> str:
    """A string as it is, None as '', anything else as its str()."""
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _window(value: Any) -> str:
    return ", ".join(as_text(v) for v in value) if isinstance(value, list) else as_text(value)


def read_monitoring(artifacts: Path) -> Monitoring | None:
    """The drift-retrain results of a kept run (`artifacts` is the run's artifacts folder);
    None when the run left no monitoring artifact (another lab, or a run that failed early)."""
    import pandas as pd

    root = Path(artifacts) / MONITORING
    if not (root / "summary.json").is_file():
        return None
    summary = load_file(root / "summary.json", root)
    where = "summary.json"
    status = as_text(summary.get("status")) if isinstance(summary, dict) else ""
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
                    "value": as_number(metrics.get(metric)),
                }
            )
    for n, raw in enumerate(raw_batches, start=1):
        here = f"{where}: batches[{n - 1}]"
        name = as_text(_get(raw, "batch", str, here))
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
                    "value": as_number(metrics.get(metric)),
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
                "champion AUC": as_number(metrics.get("auc")),
                "AUC drop": as_number(perf.get("auc_drop")),
                "trigger": as_text(policy.get("trigger")),
                "challenger": f"v{challenger.get('version')}" if challenger else "",
                "decision": as_text(raw.get("decision")),
                "champion after": as_text(raw.get("champion_after")),
                "reason": as_text(raw.get("reason")),
            }
        )
        batches.append(
            Batch(
                name=name,
                decision=as_text(raw.get("decision")),
                reason=as_text(raw.get("reason")),
                trigger=as_text(policy.get("trigger")),
                drift=_drift_table(root, drift_info, name),
                dataset_drift=bool(drift_info.get("dataset_drift")),
                drifted_count=int(as_number(drift_info.get("drifted_count")) or 0),
                columns=int(as_number(drift_info.get("columns")) or 0),
                distributions=_distributions(root, drift_info, name),
            )
        )

    versions, timeline, aliases = _registry(root)
    return Monitoring(
        status=status,
        error=as_text(summary.get("error")) if isinstance(summary, dict) else "",
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
    import pandas as pd

    path = _inside(root, info.get("file"), f"summary.json: {batch} drift")
    data = load_file(path, root)
    rows = []
    for i, col in enumerate(_get(data, "columns", list, path.name)):
        if not isinstance(col, dict):
            raise ResultsError(f"{path.name}: columns[{i}] is not an object")
        rows.append(
            {
                "column": as_text(col.get("column")),
                "kind": as_text(col.get("kind")),
                "test": as_text(col.get("test")),
                "score": as_number(col.get("score")),
                "threshold": as_number(col.get("threshold")),
                "verdict": "DRIFT" if col.get("drifted") is True else "no drift",
            }
        )
    return pd.DataFrame(rows, columns=["column", "kind", "test", "score", "threshold", "verdict"])


def _distributions(root: Path, info: dict, batch: str) -> list[Distribution]:
    """The drifted columns' reference and batch shares."""
    import pandas as pd

    if not info.get("distributions"):
        return []
    path = _inside(root, info.get("distributions"), f"summary.json: {batch} distributions")
    data = load_file(path, root)
    columns = _get(data, "columns", dict, path.name)
    out = []
    for name, col in columns.items():
        if not isinstance(col, dict) or col.get("drifted") is not True:
            continue
        ref, cur = col.get("reference"), col.get("current")
        if isinstance(col.get("edges"), list):
            edges = [as_number(e) for e in col["edges"]]
            labels = [f"{lo:.4g} to {hi:.4g}" for lo, hi in zip(edges, edges[1:], strict=False)]
        else:
            labels = [as_text(c) for c in col.get("categories") or []]
        if not (isinstance(ref, list) and isinstance(cur, list)) or not (
            len(ref) == len(cur) == len(labels)
        ):
            raise ResultsError(f"{path.name}: column '{name}' has counts that do not line up")
        rows = []
        for sample, counts in (("reference", ref), (batch, cur)):
            values = [
                max(as_number(c), 0.0) if not math.isnan(as_number(c)) else 0.0 for c in counts
            ]
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
                column=as_text(name),
                kind=as_text(col.get("kind")),
                test=as_text(col.get("test")),
                drifted=True,
                frame=pd.DataFrame(rows),
            )
        )
    return out


def _registry(root: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    import pandas as pd

    data = load_file(root / "registry.json", root)
    versions = []
    for i, v in enumerate(_get(data, "versions", list, "registry.json")):
        if not isinstance(v, dict):
            raise ResultsError(f"registry.json: versions[{i}] is not an object")
        metrics = v.get("metrics") if isinstance(v.get("metrics"), dict) else {}
        aliases = v.get("aliases") if isinstance(v.get("aliases"), list) else []
        versions.append(
            {
                "version": as_text(v.get("version")),
                "registered at": as_text(v.get("batch")),
                "trigger": as_text(v.get("trigger")),
                "trained on": _window(v.get("window")),
                "rows": as_number(v.get("rows")),
                "holdout AUC": as_number(metrics.get("auc")),
                "holdout recall": as_number(metrics.get("recall")),
                "aliases": ", ".join(as_text(a) for a in aliases),
                "window hash": as_text(v.get("window_hash"))[:12],
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
                "step": as_text(e.get("step")),
                "event": as_text(e.get("event")),
                "alias": as_text(e.get("alias")),
                "version": as_text(e.get("version")),
                "previous": as_text(e.get("previous")),
            }
        )
    aliases = {}
    raw_aliases = data.get("aliases") if isinstance(data, dict) else None
    for alias, version in (raw_aliases if isinstance(raw_aliases, dict) else {}).items():
        if isinstance(version, int) and not isinstance(version, bool):
            aliases[as_text(alias)] = version
    return (
        pd.DataFrame(versions),
        pd.DataFrame(events, columns=["order", "step", "event", "alias", "version", "previous"]),
        aliases,
    )


def registry_over_time(monitoring: Monitoring) -> pd.DataFrame:
    """Per step (bootstrap, then each batch): the version that is champion after it, and each
    version registered in it, as rows step, order, version, role (champion or registered)."""
    import pandas as pd

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
