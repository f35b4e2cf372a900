"""The model registry: MLflow's, with a SQLite store and the artifacts in the work folder.

Every trained model is an MLflow run (its parameters, the window's hash, its holdout metrics)
and a version of the registered model `churn`. The aliases `champion` (the model that serves)
and `challenger` (the latest candidate) move between versions; `models:/churn@champion` loads
whatever champion points at, as a serving job would. MLflow keeps no history of aliases, so the
pipeline records each change in a timeline of its own (out/timeline.json)."""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path

import mlflow
import mlflow.sklearn
from mlflow import MlflowClient

MODEL_NAME = "churn"
EXPERIMENT = "churn-retraining"
STORE = "sqlite:///mlruns.db"
ARTIFACTS = Path("mlartifacts")
TIMELINE = Path("out/timeline.json")
# Written into each model's requirements instead of MLflow inferring them (slow, and offline).
REQUIREMENTS = ["scikit-learn==1.9.1", "pandas==3.1.1", "numpy==2.4.6"]

# The store's first use prints Alembic's migrations, and MLflow warns about pickle (the lab saves
# with pickle on purpose; instructions.md says what that means for whoever loads the model).
logging.getLogger("alembic").setLevel(logging.WARNING)
logging.getLogger("mlflow").setLevel(logging.WARNING)
logging.getLogger("mlflow.sklearn").setLevel(logging.ERROR)
warnings.filterwarnings("ignore", module="mlflow")


class Registry:
    """The registered model `churn` and its aliases, with a timeline of every change."""

    def __init__(self, step: str):
        uri = os.environ.get("MLFLOW_TRACKING_URI", STORE)
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        self.client = MlflowClient()
        found = self.client.get_experiment_by_name(EXPERIMENT)
        self.experiment_id = (
            found.experiment_id
            if found
            else self.client.create_experiment(
                EXPERIMENT, artifact_location=ARTIFACTS.resolve().as_uri()
            )
        )
        self.step = step
        self.timeline = json.loads(TIMELINE.read_text()) if TIMELINE.is_file() else []

    def register(
        self, model, *, window: list[str], window_hash: str, rows: int, metrics: dict, trigger: str
    ) -> int:
        """Log a trained model as a run and register it as a new version; its number."""
        with mlflow.start_run(
            experiment_id=self.experiment_id, run_name=f"{self.step}: {'+'.join(window)}"
        ):
            mlflow.log_params(
                {
                    "window": ",".join(window),
                    "rows": rows,
                    "batch": self.step,
                    "trigger": trigger,
                    "model": "LogisticRegression",
                }
            )
            mlflow.set_tag("window_hash", window_hash)
            mlflow.log_metrics(metrics)
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                serialization_format="pickle",
                registered_model_name=MODEL_NAME,
                pip_requirements=REQUIREMENTS,
            )
        version = int(info.registered_model_version)
        tags = {
            "window": ",".join(window),
            "window_hash": window_hash,
            "rows": str(rows),
            "batch": self.step,
            "trigger": trigger,
        }
        for key, value in tags.items():
            self.client.set_model_version_tag(MODEL_NAME, str(version), key, value)
        self._event("registered", version=version, window=window)
        return version

    def aliases(self) -> dict[str, int]:
        model = self.client.get_registered_model(MODEL_NAME)
        return {alias: int(version) for alias, version in sorted(model.aliases.items())}

    def set_alias(self, alias: str, version: int) -> None:
        previous = self.aliases().get(alias)
        self.client.set_registered_model_alias(MODEL_NAME, alias, str(version))
        self._event("alias-set", alias=alias, version=version, previous=previous)

    def delete_alias(self, alias: str) -> None:
        previous = self.aliases().get(alias)
        if previous is not None:
            self.client.delete_registered_model_alias(MODEL_NAME, alias)
            self._event("alias-removed", alias=alias, version=None, previous=previous)

    def load(self, alias: str):
        """The model an alias points at, loaded the way a serving job loads it."""
        return mlflow.sklearn.load_model(f"models:/{MODEL_NAME}@{alias}")

    def version(self, version: int) -> dict:
        """A version's tags, the metrics it was registered with, and its aliases."""
        mv = self.client.get_model_version(MODEL_NAME, str(version))
        metrics = dict(self.client.get_run(mv.run_id).data.metrics) if mv.run_id else {}
        if "rows" in metrics:  # MLflow keeps every metric as a float
            metrics["rows"] = int(metrics["rows"])
        tags = dict(mv.tags)
        return {
            "version": int(mv.version),
            "run_id": mv.run_id,
            "created_at_ms": int(mv.creation_timestamp),
            "batch": tags.get("batch"),
            "trigger": tags.get("trigger"),
            "window": [n for n in tags.get("window", "").split(",") if n],
            "window_hash": tags.get("window_hash"),
            "rows": int(tags.get("rows", 0)),
            "metrics": {k: metrics[k] for k in sorted(metrics)},
            "aliases": sorted(mv.aliases),
            "source": mv.source,
        }

    def versions(self) -> list[dict]:
        found = self.client.search_model_versions(f"name='{MODEL_NAME}'")
        return [self.version(int(v.version)) for v in sorted(found, key=lambda v: int(v.version))]

    def save_timeline(self) -> None:
        TIMELINE.parent.mkdir(parents=True, exist_ok=True)
        TIMELINE.write_text(json.dumps(self.timeline, indent=2) + "\n", encoding="utf-8")

    def _event(self, event: str, **fields) -> None:
        self.timeline.append({"step": self.step, "event": event, **fields})
        self.save_timeline()
