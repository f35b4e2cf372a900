"""Run the pipeline: `python -m pipeline.run` (bootstrap, then weeks, in one process: importing
scikit-learn, SciPy and MLflow costs seconds, so the workflow pays for it once).

bootstrap: train the first model on the reference window, register it, make it champion.
weeks: for each weekly batch, in order: drift report against the reference window, the
champion's performance on the batch's labels, your retrain policy (policy.py), and when it
retrains, a challenger judged against the champion on the batch's fresh holdout by your
promotion gate (gate.py); the aliases move, and the decision is recorded with its reasons."""

from __future__ import annotations

import importlib
import shutil
import sys
import traceback
from pathlib import Path

from pipeline import data, model
from pipeline import report as out
from pipeline.contracts import TRIGGERS, BatchView, Metrics, ModelInfo, Promotion, Retrain
from pipeline.registry import ARTIFACTS, MODEL_NAME, STORE, Registry
from triops.drift import DriftInputError, drift_report


class ContractError(Exception):
    """policy.py or gate.py answered something the pipeline cannot use."""


def bootstrap() -> None:
    """Train v1 on the reference window, register it and make it champion."""
    for path in (Path("mlruns.db"), ARTIFACTS, out.OUT):
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    cat = data.catalog()
    window = [cat.reference]
    reference = data.load(cat, cat.reference)
    holdout = data.load(cat, cat.reference_holdout)
    trained = model.train(reference, window)
    metrics = model.scores(trained, holdout)
    registry = Registry("bootstrap")
    window_hash = data.window_hash(cat, window)
    version = registry.register(
        trained,
        window=window,
        window_hash=window_hash,
        rows=len(reference),
        metrics=metrics,
        trigger="bootstrap",
    )
    registry.set_alias("champion", version)
    print(f"trained v{version} on {'+'.join(window)} ({len(reference)} rows)")
    print(f"  {cat.reference_holdout}: {out.metrics_line(metrics)}")
    print(f"  registered as {MODEL_NAME} v{version}; aliases: {_aliases(registry.aliases())}")
    out.write_json(
        out.SUMMARY,
        {
            "format": out.FORMAT,
            "status": "running",
            "error": None,
            "model_name": MODEL_NAME,
            "tracking_uri": STORE,
            "features": model.FEATURES,
            "label": model.LABEL,
            "reference": {"name": cat.reference, "rows": len(reference)},
            "bootstrap": {
                "version": version,
                "window": window,
                "window_hash": window_hash,
                "rows": len(reference),
                "holdout": cat.reference_holdout,
                "metrics": metrics,
            },
            "batches": [],
        },
    )


def weeks() -> None:
    """Every batch in order, then the registry's state."""
    summary = out.read_summary()
    if not summary.get("bootstrap"):
        raise ContractError("no bootstrap model: run `python -m pipeline.run bootstrap` first")
    cat = data.catalog()
    registry = Registry("weeks")
    policy, gate = _learner_module("policy"), _learner_module("gate")
    reference = data.load(cat, cat.reference)
    summary["batches"] = []
    try:
        for batch in cat.batches:
            registry.step = batch.name
            summary["batches"].append(_batch(cat, batch, reference, registry, policy, gate))
            out.write_json(out.SUMMARY, summary)
        summary["status"] = "complete"
    finally:
        _export(registry, cat)
        out.write_json(out.SUMMARY, summary)


def _batch(cat, batch, reference, registry: Registry, policy, gate) -> dict:
    print(f"\n=== {batch.name} ===")
    current = data.load(cat, batch.name)
    holdout = data.load(cat, f"{batch.name}-holdout")
    drift = drift_report(reference, current, columns=model.FEATURES)
    out.write_json(
        out.OUT / "drift" / f"{batch.name}.json",
        {"batch": batch.name, "reference": cat.reference, **drift.to_dict()},
    )
    out.write_json(
        out.OUT / "distributions" / f"{batch.name}.json",
        {"batch": batch.name, **out.distributions(reference, current, drift)},
    )
    print(
        f"drift of {batch.name} ({len(current)} rows) against {cat.reference} "
        f"({len(reference)} rows):"
    )
    print(out.drift_table(drift))

    champion_version = registry.aliases()["champion"]
    champion = registry.version(champion_version)
    champion_model = registry.load("champion")
    performance = model.scores(champion_model, current)
    baseline = champion["metrics"]
    print(f"champion v{champion_version} on {batch.name}'s labels: {out.metrics_line(performance)}")
    print(f"  baseline (when registered):  {out.metrics_line(baseline)}")

    view = BatchView(
        name=batch.name,
        number=batch.number,
        drift=drift,
        performance=_metrics(performance),
        baseline=_metrics(baseline),
        champion=ModelInfo(champion_version, champion["window"], champion["batch"]),
        available=cat.training_sets(batch),
    )
    decision = _retrain(_call(policy.decide, view, what="policy.decide(batch)"), view)
    record = {
        "batch": batch.name,
        "number": batch.number,
        "rows": len(current),
        "drift": {
            "file": f"drift/{batch.name}.json",
            "distributions": f"distributions/{batch.name}.json",
            "dataset_drift": drift.dataset_drift,
            "drifted_count": drift.drifted_count,
            "columns": len(drift.columns),
            "share": drift.share,
            "drifted_columns": drift.drifted_columns,
        },
        "champion": {"version": champion_version, "window": champion["window"]},
        "performance": {
            "metrics": performance,
            "baseline": baseline,
            "auc_drop": baseline["auc"] - performance["auc"],
        },
        "policy": {
            "retrain": decision.retrain,
            "trigger": decision.trigger,
            "window": list(decision.window),
            "reason": decision.reason,
        },
        "challenger": None,
        "gate": None,
    }
    if not decision.retrain:
        print(f"policy: no retrain. {decision.reason}")
        record["decision"] = "no-retrain"
        record["reason"] = decision.reason
    else:
        window = list(decision.window)
        print(
            f"policy: retrain on {'+'.join(window)} (trigger: {decision.trigger}). "
            f"{decision.reason}"
        )
        frame = data.load_window(cat, window)
        trained = model.train(frame, window)
        window_hash = data.window_hash(cat, window)
        champion_scores = model.scores(champion_model, holdout)
        challenger_scores = model.scores(trained, holdout)
        version = registry.register(
            trained,
            window=window,
            window_hash=window_hash,
            rows=len(frame),
            metrics=challenger_scores,
            trigger=decision.trigger,
        )
        registry.set_alias("challenger", version)
        print(
            f"challenger v{version} registered: {len(frame)} rows, window hash {window_hash[:12]}"
        )
        print(
            f"  {batch.name}-holdout, champion v{champion_version}:  "
            f"{out.metrics_line(champion_scores)}"
        )
        print(
            f"  {batch.name}-holdout, challenger v{version}: {out.metrics_line(challenger_scores)}"
        )
        promotion = _promotion(
            _call(
                gate.decide,
                _metrics(champion_scores),
                _metrics(challenger_scores),
                what="gate.decide(champion, challenger)",
            )
        )
        if promotion.promote:
            registry.set_alias("champion", version)
            registry.delete_alias("challenger")
            print(f"gate: promote v{version}. {promotion.reason}")
        else:
            print(f"gate: keep v{champion_version}. {promotion.reason}")
        record["challenger"] = {
            "version": version,
            "window": window,
            "window_hash": window_hash,
            "rows": len(frame),
            "holdout": f"{batch.name}-holdout",
            "champion_metrics": champion_scores,
            "challenger_metrics": challenger_scores,
        }
        record["gate"] = {"promote": promotion.promote, "reason": promotion.reason}
        record["decision"] = "promoted" if promotion.promote else "rejected"
        record["reason"] = f"{decision.reason}; gate: {promotion.reason}"
    aliases = registry.aliases()
    record["aliases_after"] = aliases
    record["champion_after"] = aliases["champion"]
    print(f"aliases: {_aliases(aliases)}")
    return record


def _export(registry: Registry, cat) -> None:
    """out/registry.json: versions, aliases, the timeline, and what @champion serves."""
    aliases = registry.aliases()
    served = None
    if "champion" in aliases and cat.batches:
        last = f"{cat.batches[-1].name}-holdout"
        metrics = model.scores(registry.load("champion"), data.load(cat, last))
        served = {
            "alias": "champion",
            "version": aliases["champion"],
            "data": last,
            "metrics": metrics,
        }
    out.write_json(
        out.OUT / "registry.json",
        {
            "model_name": MODEL_NAME,
            "tracking_uri": STORE,
            "aliases": aliases,
            "versions": registry.versions(),
            "timeline": registry.timeline,
            "served": served,
        },
    )
    print(f"\nregistry: {len(registry.versions())} version(s); aliases: {_aliases(aliases)}")
    if served:
        print(
            f"  models:/{MODEL_NAME}@champion loads v{served['version']}: "
            f"AUC {served['metrics']['auc']:.3f} on {served['data']}"
        )


def _learner_module(name: str):
    try:
        return importlib.import_module(name)
    except Exception as exc:
        raise ContractError(f"{name}.py cannot be imported: {exc!r}") from exc


def _call(function, *args, what: str):
    try:
        return function(*args)
    except Exception as exc:
        traceback.print_exc()
        raise ContractError(f"{what} raised {exc!r}") from exc


def _metrics(scores: dict) -> Metrics:
    return Metrics(**{**scores, "rows": int(scores["rows"])})


def _retrain(answer, view: BatchView) -> Retrain:
    if not isinstance(answer, Retrain):
        raise ContractError(
            f"policy.decide must return pipeline.contracts.Retrain, not {type(answer).__name__}"
        )
    # Plain values for the decision record (a numpy bool, say, is not JSON).
    answer = Retrain(
        retrain=bool(answer.retrain),
        reason=_text(answer.reason),
        window=[answer.window]
        if isinstance(answer.window, str)
        else [str(name) for name in answer.window or []],
        trigger=_text(answer.trigger),
    )
    if not answer.reason:
        print("warning: the policy gave no reason for its decision")
    if answer.trigger not in TRIGGERS:
        print(f"warning: trigger '{answer.trigger}' is none of {', '.join(TRIGGERS)}")
    if not answer.retrain:
        return answer
    window = list(answer.window)
    if not window:
        raise ContractError(
            f"{view.name}: the policy retrains on an empty window; name data sets from "
            f"batch.available ({', '.join(view.available)})"
        )
    holdouts = [n for n in window if n.endswith("holdout")]
    if holdouts:
        raise ContractError(
            f"{view.name}: {', '.join(holdouts)} is a holdout: the gate judges models on it, so "
            "no model may learn from it"
        )
    unknown = [n for n in window if n not in view.available]
    if unknown:
        raise ContractError(
            f"{view.name}: cannot train on {', '.join(unknown)}; the labelled data "
            f"sets so far are {', '.join(view.available)}"
        )
    if len(set(window)) != len(window):
        raise ContractError(f"{view.name}: the window names a data set twice: {window}")
    return answer


def _promotion(answer) -> Promotion:
    if not isinstance(answer, Promotion):
        raise ContractError(
            f"gate.decide must return pipeline.contracts.Promotion, not {type(answer).__name__}"
        )
    answer = Promotion(promote=bool(answer.promote), reason=_text(answer.reason))
    if not answer.reason:
        print("warning: the gate gave no reason for its decision")
    return answer


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _aliases(aliases: dict) -> str:
    return ", ".join(f"{alias} -> v{version}" for alias, version in aliases.items()) or "none"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    commands = {"bootstrap": [bootstrap], "weeks": [weeks], "all": [bootstrap, weeks]}
    if len(args) > 1 or (args and args[0] not in commands):
        print("usage: python -m pipeline.run [bootstrap|weeks|all]", file=sys.stderr)
        return 2
    try:
        for command in commands[args[0] if args else "all"]:
            command()
    except (ContractError, data.DataError, DriftInputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        summary = out.read_summary()
        if summary:
            summary.update(status="failed", error=str(exc))
            out.write_json(out.SUMMARY, summary)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
