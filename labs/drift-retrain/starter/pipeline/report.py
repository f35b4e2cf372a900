"""The run's artifacts under out/ (uploaded as the `monitoring` artifact) and the log's tables.

out/summary.json        the bootstrap model and one record per batch (what was decided, why)
out/registry.json       every version, the aliases now, and the timeline of alias changes
out/drift/<batch>.json  the batch's drift report, as triops.drift's DriftReport.to_dict()
out/distributions/<batch>.json   reference and batch histograms or category counts per column
out/timeline.json       the timeline as it grows (kept between the steps of the workflow)
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from triops.drift import DriftReport

OUT = Path("out")
SUMMARY = OUT / "summary.json"
FORMAT = 1
BINS = 20


def write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_finite(data), indent=2) + "\n", encoding="utf-8")


def read_summary() -> dict:
    return json.loads(SUMMARY.read_text(encoding="utf-8")) if SUMMARY.is_file() else {}


def distributions(reference: pd.DataFrame, current: pd.DataFrame, report: DriftReport) -> dict:
    """Per column: histogram counts over shared bin edges (numbers) or counts per category."""
    columns = {}
    for result in report.columns:
        ref, cur = reference[result.column].dropna(), current[result.column].dropna()
        entry = {"kind": result.kind, "test": result.test, "drifted": result.drifted}
        if result.kind == "numeric":
            edges = np.histogram_bin_edges(np.concatenate([ref, cur]).astype(float), bins=BINS)
            entry["edges"] = [round(float(e), 4) for e in edges]
            entry["reference"] = np.histogram(ref, edges)[0].tolist()
            entry["current"] = np.histogram(cur, edges)[0].tolist()
        else:
            categories = sorted(set(ref.tolist()) | set(cur.tolist()), key=str)
            ref_counts, cur_counts = ref.value_counts(), cur.value_counts()
            entry["categories"] = [_plain(c) for c in categories]
            entry["reference"] = [int(ref_counts.get(c, 0)) for c in categories]
            entry["current"] = [int(cur_counts.get(c, 0)) for c in categories]
        columns[result.column] = entry
    return {"reference_rows": len(reference), "current_rows": len(current), "columns": columns}


def drift_table(report: DriftReport) -> str:
    """The drift report as the log shows it."""
    lines = [f"  {'column':<18} {'kind':<12} {'test':<10} {'score':>9}  {'rule':<16} verdict"]
    for c in report.columns:
        lines.append(
            f"  {c.column:<18} {c.kind:<12} {c.test:<10} {c.score:>9.4f}  {c.rule:<16} "
            f"{'DRIFT' if c.drifted else 'ok'}"
        )
    verdict = "DATASET DRIFT" if report.dataset_drift else "no dataset drift"
    lines.append(
        f"  dataset: {report.drifted_count} of {len(report.columns)} columns drifted "
        f"(share {report.share:.2f}; {report.rule}): {verdict}"
    )
    return "\n".join(lines)


def metrics_line(metrics: dict) -> str:
    return (
        f"AUC {metrics['auc']:.3f}  accuracy {metrics['accuracy']:.3f}  "
        f"recall {metrics['recall']:.3f}  precision {metrics['precision']:.3f}  "
        f"Brier {metrics['brier']:.3f}  flagged {metrics['positive_rate']:.1%}  "
        f"({metrics['rows']} rows)"
    )


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def _finite(data):
    """JSON has no NaN: write null instead."""
    if isinstance(data, float) and not math.isfinite(data):
        return None
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_finite(v) for v in data]
    return data
