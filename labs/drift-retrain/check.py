"""Check for the drift-retrain lab: drift verdicts, reasons, concept drift, champion, and the gate.

The check runs outside the sandbox, in the project's Python, and trusts neither the data files
in the work folder nor the numbers the run printed:

- Data: it regenerates every data set from the lab's seed with generate.py and compares the
  work folder's files with them byte for byte.
- Drift: it recomputes each week's drift report with `triops.drift` on the regenerated data and
  compares every column's test, score, threshold and verdict with `drift/<week>.json`.
- Models: it never unpickles a model the run produced (a pickle runs code when loaded). Training
  is deterministic, so it retrains each registered version itself, with the lab's own copy of
  pipeline/model.py, on the data sets the version names; checks the version's window hash and
  its recorded holdout AUC against that retrain; and scores the retrains on a hidden holdout
  drawn from the last week's population with a seed the work folder never sees. The champion
  must be the version that scores best there (within PICK_TOLERANCE).
- The gate: `ctx.rerun` runs the workflow again on a copy in which the check's policy retrains
  every week and the check's training sabotages every challenger (labels shuffled in weeks 1
  and 3; in weeks 2 and 4 an honest model whose decision threshold is pushed so high that it
  flags almost nobody: the same ranking and AUC, recall near 0). None may be promoted. The same
  rerun runs a probe (a script of the check's) that asks the learner's gate.py about five
  invented pairs of scores and the learner's policy.py about an invented week whose AUC fell
  without any input drift. That rerun happens in the sandbox, so learner code never runs here.

The artifact format (`monitoring/summary.json`, `registry.json`, `drift/<week>.json`,
`distributions/<week>.json`) is documented in labs/drift-retrain/README.md.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import shutil
import sys
from pathlib import Path

import yaml

from triops.drift import DriftReport, drift_report
from triops.labs.safefs import read_json

LAB = Path(__file__).resolve().parent
ARTIFACT = "monitoring"
WORKFLOW = ".github/workflows/pipeline.yml"
CONCEPT_WEEK = "week-4"
# The hidden holdout: the last week's population, a seed that is in no learner file.
HIDDEN_SEED = 7_340_117
HIDDEN_ROWS = 4000
PICK_TOLERANCE = 0.02  # AUC: a champion this close to the best version counts as the pick
RETRAIN_TOLERANCE = 1e-3  # AUC: a recorded metric against the check's retrain of that version
SCORE_TOLERANCE = 1e-6  # relative, drift scores
PERFORMANCE_WORDS = re.compile(
    r"auc|accuracy|recall|precision|brier|f1|log.?loss|performance|quality", re.I
)

CRITERIA = (
    "Drift tables match the check's own recomputation on the lab's data",
    "Every batch has a decision with a recorded reason",
    f"The concept drift in {CONCEPT_WEEK} triggered a retrain through performance monitoring",
    "`champion` points at the version the check picks on a hidden holdout",
    "Sabotaged challengers supplied by the check are not promoted",
    "The gate demands a margin and holds its guardrails (the check's probe)",
)


def check(ctx):
    """Return a list of (criterion, passed, reason) for this run."""
    artifacts = Path(ctx.artifacts) / ARTIFACT
    summary, registry, problem = _read_run(artifacts)
    if problem:
        return [(name, False, problem) for name in CRITERIA]
    truth = Truth()
    results = [
        _drift_tables(truth, Path(ctx.workdir), summary, artifacts),
        _reasons(summary),
    ]
    rerun = Rerun(ctx) if summary.get("status") == "complete" else None
    results.append(_concept_drift(truth, summary, registry, rerun))
    results.append(_champion(truth, summary, registry))
    results += _gate(rerun)
    return results


# --- the lab's own code, loaded from the lab folder (never from the learner's copy) ----------


def _load(relative: str, name: str):
    module_name = f"triops_lab_drift_retrain_{name}"
    spec = importlib.util.spec_from_file_location(module_name, LAB / relative)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


class Truth:
    """The lab's data regenerated from its seed, and models retrained by the lab's code."""

    def __init__(self):
        self.gen = _load("generate.py", "generate")
        self.model = _load("starter/pipeline/model.py", "model")
        self.texts = self.gen.files()
        self.names = {name.removesuffix(".csv") for name in self.texts}
        self.weeks = list(self.gen.WEEKS)
        self._frames: dict = {}
        self._models: dict = {}
        self._drift: dict = {}
        self._hidden = None

    def frame(self, name: str):
        if name not in self._frames:
            self._frames[name] = self.gen.frame(name)
        return self._frames[name]

    def window_hash(self, window: list[str]) -> str:
        """pipeline/data.py's formula, on the regenerated files."""
        lines = [
            f"{name}:{hashlib.sha256(self.texts[f'{name}.csv'].encode()).hexdigest()}"
            for name in window
        ]
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()

    def trained(self, window: tuple[str, ...]):
        """The lab's model trained on the window, as the pipeline trains it."""
        if window not in self._models:
            import pandas as pd

            frame = pd.concat([self.frame(name) for name in window], ignore_index=True)
            self._models[window] = self.model.train(frame, list(window))
        return self._models[window]

    def scores(self, window: tuple[str, ...], data: str) -> dict:
        return self.model.scores(self.trained(window), self.frame(data))

    def hidden_auc(self, window: tuple[str, ...]) -> float:
        if self._hidden is None:
            self._hidden = self.gen.hidden_holdout(self.weeks[-1], HIDDEN_SEED, rows=HIDDEN_ROWS)
        return self.model.scores(self.trained(window), self._hidden)["auc"]

    def drift(self, week: str) -> DriftReport:
        if week not in self._drift:
            self._drift[week] = drift_report(
                self.frame("reference"), self.frame(week), columns=self.model.FEATURES
            )
        return self._drift[week]


def _read_run(artifacts: Path):
    """summary.json and registry.json, or why they cannot be used."""
    summary_path = artifacts / "summary.json"
    if not summary_path.is_file():
        return (
            None,
            None,
            (
                f"the run uploaded no {ARTIFACT}/summary.json: the pipeline did not get past its "
                "start (read the log of the run's first failed step)"
            ),
        )
    try:
        summary = read_json(summary_path)
        registry_path = artifacts / "registry.json"
        registry = read_json(registry_path) if registry_path.is_file() else {}
        if not isinstance(summary, dict) or not isinstance(registry, dict):
            raise ValueError("expected a JSON object")
    except (OSError, ValueError) as exc:
        return None, None, f"the {ARTIFACT} artifact is not readable JSON: {exc}"
    if summary.get("status") != "complete":
        error = summary.get("error") or "it stopped before the last week"
        done = ", ".join(b.get("batch", "?") for b in summary.get("batches", [])) or "none"
        return None, None, f"the pipeline did not finish: {error} (weeks recorded: {done})"
    return summary, registry, None


def _batches(summary: dict) -> dict[str, dict]:
    return {b.get("batch"): b for b in summary.get("batches", []) if isinstance(b, dict)}


# --- criteria ----------------------------------------------------------------------------------


def _drift_tables(truth: Truth, workdir: Path, summary: dict, artifacts: Path):
    criterion = CRITERIA[0]
    changed = []
    for name, text in sorted(truth.texts.items()):
        path = workdir / "data" / name
        if not path.is_file() or path.read_bytes() != text.encode():
            changed.append(name)
    if changed:
        return (
            criterion,
            False,
            f"data/{', data/'.join(changed)} differ from the lab's generated data (or are "
            "missing): reset the lab to restore them, then copy policy.py and gate.py back",
        )
    batches = _batches(summary)
    problems, verdicts = [], []
    for week in truth.weeks:
        path = artifacts / "drift" / f"{week}.json"
        if week not in batches or not path.is_file():
            problems.append(f"{week}: no drift report")
            continue
        try:
            reported = DriftReport.from_dict(read_json(path))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            problems.append(f"{week}: drift/{week}.json is not a drift report ({exc})")
            continue
        expected = truth.drift(week)
        problems += [f"{week}: {p}" for p in _compare_reports(expected, reported)]
        recorded = batches[week].get("drift", {})
        if recorded.get("dataset_drift") != expected.dataset_drift:
            problems.append(
                f"{week}: summary.json says dataset_drift={recorded.get('dataset_drift')}, "
                f"recomputed {expected.dataset_drift}"
            )
        flagged = ", ".join(expected.drifted_columns) or "none"
        verdicts.append(
            f"{week} {expected.drifted_count}/{len(expected.columns)} ({flagged})"
            + (" dataset drift" if expected.dataset_drift else "")
        )
    if problems:
        # The pipeline's code is not editable, so a disagreement on unchanged data usually means
        # that the sandbox's copy of triops.drift is older than the project's.
        stale = " (the data is the lab's: if triops.drift changed, `make install` refreshes "
        stale += "the labs' environment, where the sandbox imports it)"
        return criterion, False, "; ".join(problems[:6]) + stale
    return criterion, True, "every column agrees: " + "; ".join(verdicts)


def _compare_reports(expected: DriftReport, reported: DriftReport) -> list[str]:
    problems = []
    got = {c.column: c for c in reported.columns}
    for want in expected.columns:
        have = got.get(want.column)
        if have is None:
            problems.append(f"column {want.column} is missing")
            continue
        if (have.test, have.kind, have.drifted) != (want.test, want.kind, want.drifted):
            problems.append(
                f"{want.column}: reported {have.test} {have.kind} drifted={have.drifted}, "
                f"recomputed {want.test} {want.kind} drifted={want.drifted}"
            )
        elif abs(have.score - want.score) > SCORE_TOLERANCE * max(1.0, abs(want.score)) or (
            have.threshold != want.threshold
        ):
            problems.append(
                f"{want.column}: reported score {have.score:.6g} (threshold {have.threshold}), "
                f"recomputed {want.score:.6g} (threshold {want.threshold})"
            )
    extra = sorted(set(got) - {c.column for c in expected.columns})
    if extra:
        problems.append(f"unexpected columns {', '.join(extra)}")
    return problems


def _reasons(summary: dict):
    criterion = CRITERIA[1]
    batches = summary.get("batches", [])
    if not batches:
        return criterion, False, "summary.json records no batch"
    missing = []
    for record in batches:
        week = record.get("batch", "?")
        if record.get("decision") not in ("no-retrain", "promoted", "rejected"):
            missing.append(f"{week}: no decision")
        if not str((record.get("policy") or {}).get("reason") or "").strip():
            missing.append(f"{week}: the policy gave no reason")
        if (
            record.get("challenger")
            and not str((record.get("gate") or {}).get("reason") or "").strip()
        ):
            missing.append(f"{week}: the gate gave no reason")
    if missing:
        return criterion, False, "; ".join(missing)
    decisions = ", ".join(f"{r['batch']} {r['decision']}" for r in batches)
    return criterion, True, f"{len(batches)} decisions, each with its reason: {decisions}"


def _concept_drift(truth: Truth, summary: dict, registry: dict, rerun: Rerun | None):
    criterion = CRITERIA[2]
    record = _batches(summary).get(CONCEPT_WEEK)
    if record is None:
        return criterion, False, f"summary.json has no record for {CONCEPT_WEEK}"
    champion = record.get("champion") or {}
    window = tuple(champion.get("window") or ())
    version = _version(registry, champion.get("version"))
    if not window or version is None or not set(window) <= truth.names:
        return criterion, False, f"{CONCEPT_WEEK}: the record does not say which champion served"
    now = truth.scores(window, CONCEPT_WEEK)["auc"]
    then = truth.scores(window, _holdout_of(version))["auc"]
    drift = truth.drift(CONCEPT_WEEK)
    quiet = (
        f"the drift tests stayed quiet ({drift.drifted_count} of {len(drift.columns)} columns, "
        f"dataset drift {'yes' if drift.dataset_drift else 'no'})"
    )
    facts = (
        f"the champion v{champion.get('version')}'s AUC on {CONCEPT_WEEK}'s labels is {now:.3f} "
        f"against {then:.3f} when it was registered, while {quiet}"
    )
    policy = record.get("policy") or {}
    if not policy.get("retrain"):
        return (
            criterion,
            False,
            f"{CONCEPT_WEEK}: no retrain, although {facts}. A policy that watches only input "
            "drift misses concept drift: compare batch.performance with batch.baseline",
        )
    if policy.get("trigger") != "performance":
        return (
            criterion,
            False,
            f"{CONCEPT_WEEK}: a retrain, but its trigger is '{policy.get('trigger')}', not "
            f"'performance'; {facts}",
        )
    if not PERFORMANCE_WORDS.search(str(policy.get("reason") or "")):
        return (
            criterion,
            False,
            f"{CONCEPT_WEEK}: the reason ({policy.get('reason')!r}) does not name the metric that "
            "dropped; write the numbers that decided into it",
        )
    if rerun is None:
        return criterion, False, "not tested yet: the pipeline must finish first"
    probe = rerun.probe().get("policy")
    if not isinstance(probe, dict) or "error" in probe:
        error = probe.get("error") if isinstance(probe, dict) else rerun.problem()
        return criterion, False, f"the check's probe could not ask policy.py: {error}"
    if not (probe.get("retrain") and probe.get("trigger") == "performance"):
        return (
            criterion,
            False,
            f"the run retrained in {CONCEPT_WEEK}, but for an invented week-9 whose AUC fell "
            "from 0.80 to 0.65 with no drifted column, policy.py answered "
            f"retrain={probe.get('retrain')}, trigger={probe.get('trigger')!r}: the trigger "
            "must follow the performance, not the week's name",
        )
    return (
        criterion,
        True,
        f"{CONCEPT_WEEK}: retrained on {'+'.join(policy.get('window') or [])}: "
        f"{policy.get('reason')} (recomputed: {facts})",
    )


def _champion(truth: Truth, summary: dict, registry: dict):
    criterion = CRITERIA[3]
    versions = registry.get("versions") or []
    champion = (registry.get("aliases") or {}).get("champion")
    if not versions or champion is None:
        return criterion, False, "registry.json lists no versions or no champion alias"
    batches = summary.get("batches") or []
    if batches and batches[-1].get("champion_after") != champion:
        return (
            criterion,
            False,
            f"the registry's champion is v{champion}, the last decision record says "
            f"v{batches[-1].get('champion_after')}",
        )
    known = truth.names
    hidden = {}
    for entry in versions:
        number, window = entry.get("version"), tuple(entry.get("window") or ())
        if not window or not set(window) <= known or any(n.endswith("holdout") for n in window):
            return criterion, False, f"v{number} names an unknown training window {list(window)}"
        if entry.get("window_hash") != truth.window_hash(list(window)):
            return (
                criterion,
                False,
                f"v{number}'s window hash does not match the data sets it names "
                f"({'+'.join(window)})",
            )
        recorded = (entry.get("metrics") or {}).get("auc")
        expected = truth.scores(window, _holdout_of(entry))["auc"]
        if recorded is None or abs(recorded - expected) > RETRAIN_TOLERANCE:
            return (
                criterion,
                False,
                f"v{number}'s recorded AUC {recorded} is not what the lab's model trained on "
                f"{'+'.join(window)} scores on {_holdout_of(entry)} ({expected:.4f}): the "
                "registry does not describe the model it holds",
            )
        hidden[number] = truth.hidden_auc(window)
    best = max(hidden, key=hidden.get)
    table = ", ".join(f"v{v} {auc:.3f}" for v, auc in sorted(hidden.items()))
    where = f"hidden holdout of {truth.weeks[-1]} ({HIDDEN_ROWS} rows): {table}"
    if champion not in hidden:
        return criterion, False, f"champion points at v{champion}, which is not in the registry"
    if hidden[champion] < hidden[best] - PICK_TOLERANCE:
        return (
            criterion,
            False,
            f"champion is v{champion}, but v{best} scores better by "
            f"{hidden[best] - hidden[champion]:.3f} AUC on the {where}",
        )
    return criterion, True, f"champion v{champion} is the pick on the {where}"


def _gate(rerun: Rerun | None):
    sabotage, probe = CRITERIA[4], CRITERIA[5]
    if rerun is None:
        reason = "not tested yet: the pipeline must finish first"
        return [(sabotage, False, reason), (probe, False, reason)]
    return [(sabotage, *_sabotage(rerun)), (probe, *_gate_probe(rerun))]


def _sabotage(rerun: Rerun) -> tuple[bool, str]:
    summary = rerun.summary()
    if summary is None:
        return False, rerun.problem()
    batches = _batches(summary)
    promoted, kept, missing = [], [], []
    for week, kind in SABOTAGE.items():
        record = batches.get(week)
        challenger = (record or {}).get("challenger")
        if not challenger:
            missing.append(week)
            continue
        champ, chall = challenger["champion_metrics"], challenger["challenger_metrics"]
        what = (
            f"{week} v{challenger['version']} ({kind}: AUC {chall['auc']:.3f} vs "
            f"{champ['auc']:.3f}, recall {chall['recall']:.3f} vs {champ['recall']:.3f})"
        )
        if record.get("decision") == "promoted":
            promoted.append(what)
        else:
            kept.append(week)
    if missing:
        return False, f"the rerun registered no challenger in {', '.join(missing)}"
    if promoted:
        return False, "the gate promoted: " + "; ".join(promoted)
    return True, f"all {len(kept)} sabotaged challengers were kept out ({', '.join(kept)})"


def _gate_probe(rerun: Rerun) -> tuple[bool, str]:
    results = rerun.probe().get("gate")
    if not isinstance(results, list):
        return False, f"the check's probe could not ask gate.py: {rerun.problem()}"
    wrong = []
    for result in results:
        case = GATE_CASES[result["case"]]
        if "error" in result:
            wrong.append(f"{case['says']}: gate.decide raised {result['error']}")
        elif result["promote"] != case["promote"]:
            verb = "promoted" if result["promote"] else "kept out"
            wrong.append(f"{verb} {case['says']}")
        elif not str(result.get("reason") or "").strip():
            wrong.append(f"no reason for {case['says']}")
    if wrong:
        return False, "; ".join(wrong)
    return True, f"right on all {len(results)} cases: " + ", ".join(GATE_CASES)


# --- the rerun: the check's policy, sabotaged training, and the probe --------------------------

# Which challenger the sabotaged training makes, by the week it is trained on.
SABOTAGE = {
    "week-1": "trained on shuffled labels",
    "week-2": "threshold pushed up, flags almost nobody",
    "week-3": "trained on shuffled labels",
    "week-4": "threshold pushed up, flags almost nobody",
}

CHECK_POLICY = '''\
"""Written by the lab's check for its rerun: retrain every week, to give the gate a challenger."""

from pipeline.contracts import BatchView, Retrain


def decide(batch: BatchView) -> Retrain:
    return Retrain(
        True,
        reason="the check retrains every week to test the gate",
        window=[batch.name],
        trigger="schedule",
    )
'''

CHECK_TRAINING = """

# --- added by the lab's check for its rerun: every challenger is sabotaged -------------------
_honest_train = train


def train(frame, window):
    import numpy

    week = window[-1]
    if week in ("week-1", "week-3"):
        frame = frame.copy()
        frame[LABEL] = numpy.random.default_rng(7).permutation(frame[LABEL].to_numpy())
        return _honest_train(frame, window)
    model = _honest_train(frame, window)
    if week in ("week-2", "week-4"):
        classifier = model.named_steps["classifier"]
        classifier.intercept_ = classifier.intercept_ - 4.0
    return model
"""

BASE = {
    "auc": 0.80,
    "accuracy": 0.80,
    "recall": 0.55,
    "precision": 0.62,
    "brier": 0.15,
    "positive_rate": 0.23,
    "churn_rate": 0.26,
    "rows": 500,
}
GATE_CASES = {
    "identical": {
        "says": "a challenger identical to the champion",
        "challenger": {},
        "promote": False,
    },
    "tiny-gain": {
        "says": "a challenger 0.002 AUC better (within noise: no margin)",
        "challenger": {"auc": 0.802},
        "promote": False,
    },
    "worse": {
        "says": "a challenger 0.05 AUC worse",
        "challenger": {"auc": 0.75, "accuracy": 0.77, "recall": 0.5, "brier": 0.17},
        "promote": False,
    },
    "guardrail": {
        "says": "a challenger 0.06 AUC better whose recall fell from 0.55 to 0.02 and Brier "
        "rose from 0.15 to 0.21 (no guardrail)",
        "challenger": {
            "auc": 0.86,
            "accuracy": 0.75,
            "recall": 0.02,
            "precision": 0.5,
            "brier": 0.21,
            "positive_rate": 0.01,
        },
        "promote": False,
    },
    "clear-gain": {
        "says": "a challenger 0.06 AUC better and better on every guardrail",
        "challenger": {
            "auc": 0.86,
            "accuracy": 0.83,
            "recall": 0.60,
            "precision": 0.66,
            "brier": 0.13,
        },
        "promote": True,
    },
}

PROBE = '''\
"""Written by the lab's check for its rerun: ask gate.py and policy.py about invented cases."""

import importlib.util
import json
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path.cwd()))

from pipeline.contracts import BatchView, Metrics, ModelInfo  # noqa: E402
from triops.drift import ColumnDrift, DriftReport  # noqa: E402

CASES = json.loads(Path(".triops-check/cases.json").read_text())
out = {"gate": [], "policy": None}


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def metrics(**changes):
    return Metrics(**{**CASES["base"], **changes})


try:
    gate = load("learner_gate", "gate.py")
    for name, case in CASES["gate"].items():
        try:
            answer = gate.decide(metrics(), metrics(**case))
            out["gate"].append(
                {"case": name, "promote": bool(answer.promote), "reason": str(answer.reason)}
            )
        except Exception as exc:
            out["gate"].append({"case": name, "error": repr(exc)})
except Exception:
    out["gate"] = {"error": traceback.format_exc(limit=2)}

try:
    policy = load("learner_policy", ".triops-check/learner_policy.py")
    quiet = DriftReport(
        columns=[
            ColumnDrift(
                column=c,
                kind="numeric",
                test="ks",
                score=0.6,
                threshold=0.05,
                drifted=False,
                score_kind="p_value",
            )
            for c in CASES["columns"]
        ],
        reference_rows=1000,
        current_rows=500,
    )
    view = BatchView(
        name="week-9",
        number=9,
        drift=quiet,
        performance=metrics(auc=0.65, accuracy=0.72, recall=0.35, brier=0.2),
        baseline=metrics(),
        champion=ModelInfo(1, ["reference"], "bootstrap"),
        available=["reference", "week-9"],
    )
    answer = policy.decide(view)
    out["policy"] = {
        "retrain": bool(answer.retrain),
        "trigger": str(answer.trigger),
        "reason": str(answer.reason),
    }
except Exception:
    out["policy"] = {"error": traceback.format_exc(limit=2)}

Path("out").mkdir(exist_ok=True)
Path("out/check-probe.json").write_text(json.dumps(out, indent=2))
'''


def _prepare_rerun(folder: Path) -> None:
    """The copy the check runs again: its policy, sabotaged training, the probe step."""
    folder = Path(folder)
    check_dir = folder / ".triops-check"
    check_dir.mkdir(exist_ok=True)
    learner_policy = folder / "policy.py"
    if learner_policy.is_file():
        shutil.copyfile(learner_policy, check_dir / "learner_policy.py")
    (folder / "policy.py").write_text(CHECK_POLICY, encoding="utf-8")
    model = folder / "pipeline" / "model.py"
    model.write_text(
        (LAB / "starter/pipeline/model.py").read_text(encoding="utf-8") + CHECK_TRAINING,
        encoding="utf-8",
    )
    cases = {
        "base": BASE,
        "gate": {name: case["challenger"] for name, case in GATE_CASES.items()},
        "columns": ["tenure_months", "monthly_charges", "usage_gb", "support_calls"],
    }
    (check_dir / "cases.json").write_text(json.dumps(cases), encoding="utf-8")
    (check_dir / "probe.py").write_text(PROBE, encoding="utf-8")
    # The lab's own workflow (not the learner's copy) with the probe before the upload.
    workflow = yaml.safe_load((LAB / "starter" / WORKFLOW).read_text(encoding="utf-8"))
    steps = workflow["jobs"]["retrain"]["steps"]
    probe_step = {"name": "The check's probe of gate.py and policy.py", "if": "always()"}
    probe_step["run"] = "python .triops-check/probe.py"
    steps.insert(len(steps) - 1, probe_step)
    (folder / WORKFLOW).write_text(yaml.safe_dump(workflow, sort_keys=False), encoding="utf-8")


class Rerun:
    """The check's rerun, started on first use and read once."""

    def __init__(self, ctx):
        self.ctx = ctx
        self._done = False
        self._summary = None
        self._probe: dict = {}
        self._problem = ""

    def _run(self) -> None:
        if self._done:
            return
        self._done = True
        run = self.ctx.rerun(_prepare_rerun)
        folder = Path(getattr(run, "artifacts", "")) / ARTIFACT
        try:
            summary, _, problem = _read_run(folder)
            self._summary, self._problem = (
                summary,
                (f"the check's rerun failed: {problem}" if problem else ""),
            )
            probe = folder / "check-probe.json"
            if probe.is_file():
                try:
                    self._probe = read_json(probe)
                except ValueError as exc:
                    self._problem = f"the check's probe result is not readable: {exc}"
            elif not self._problem:
                self._problem = "the check's probe wrote no result"
        finally:
            if getattr(run, "artifacts", None):
                shutil.rmtree(run.artifacts, ignore_errors=True)

    def summary(self) -> dict | None:
        self._run()
        return self._summary

    def probe(self) -> dict:
        self._run()
        return self._probe

    def problem(self) -> str:
        self._run()
        return self._problem or "unknown"


# --- helpers -----------------------------------------------------------------------------------


def _version(registry: dict, number) -> dict | None:
    return next((v for v in registry.get("versions") or [] if v.get("version") == number), None)


def _holdout_of(version: dict) -> str:
    """The holdout a version was scored on when registered: its batch's, or the reference's."""
    batch = version.get("batch")
    return "reference-holdout" if batch in (None, "bootstrap") else f"{batch}-holdout"
