"""Check for the prompt-eval lab: numbers recomputed, v2 finished, the gate's rules, hidden
questions, and two sabotaged candidates the gate must stop.

The check runs outside the child process, in the project's Python. It trusts no number the run
reported: from `eval/results.json` (EvalRun.to_dict(), see README.md) it recomputes

- each assertion's verdict and score: text checks (icontains, starts-with, regex, ...) again on
  the recorded output; measured checks (similar, answer-relevance, groundedness,
  context-recall) from the recorded measure against the threshold the config asks for (the
  calibrated default when it gives none), since the measure is the model's own output, like
  latency; each test's status and score from its assertions' weights and threshold;
- each result's tokens, counted again with the embedding model's tokenizer, and its cost from
  the config's price table;
- each column's totals (counts, pass rate, score, tokens, cost, p50 and p95 latency from the
  results' own latencies, groundedness, answer relevance, context recall, abstain rate,
  named metrics) and every gate row and verdict, with its own arithmetic;

and compares them with what the run reported (results.json and summary.json). Then it reruns
the learner's v1 and v2 (`ctx.rerun`, the same child process) on hidden questions of its own
(hidden.yaml beside this file, never copied into the work folder), with two v3 candidates made
from the learner's v2: one that answers everything (abstain_threshold 0) and one whose answers
cost far more (ten sentences, ten passages, footnote citations). The learner's gate, with v2 as
the baseline, must stop both; the check applies the gate's rules itself.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from triops.content.yamlsource import LEARNER_YAML, parse_yaml
from triops.labs.safefs import read_json

LAB = Path(__file__).resolve().parent
CONFIG = "promptfooconfig.yaml"
ARTIFACT = "eval"
BASELINE, CANDIDATE = "v1", "v2"
EAGER, VERBOSE = "v3-eager", "v3-verbose"
PROVIDER = "triops:extractive"
ALLOWED = ("triops:extractive", "echo")
EPSILON = 1e-9  # the runner's own tolerance for a measure at its threshold
TOLERANCE = 1e-7  # reported against recomputed numbers (relative, or absolute near 0)
# The gate the instructions ask for: metric -> (limit, the bound it must respect, in words).
REQUIRED = {
    "pass_rate": ("min_delta", lambda x: x >= -EPSILON, "pass_rate: {min_delta: 0} (may not drop)"),
    "cost": ("max_increase_pct", lambda x: x <= 10 + EPSILON, "cost: {max_increase_pct: 10}"),
    "latency_p95_ms": ("max", lambda x: x <= 1000 + EPSILON, "latency_p95_ms: {max: 1000} or less"),
    "groundedness": ("min", lambda x: x >= 0.9 - EPSILON, "groundedness: {min: 0.9} or more"),
}
VERBOSE_RISE = 0.2  # the verbose v3 must cost at least 20 % more than v2 to be a fair test

CRITERIA = (
    "The run finished and left its results",
    "Every reported number equals the check's recomputation",
    "v2 passes every test of the eval set (the given tests unchanged)",
    "The gate compares v2 with the given v1 and has the four rules",
    "On the check's hidden questions, v2 passes every test and your gate",
    "Your gate stops a v3 that answers everything",
    "Your gate stops a v3 whose answers cost far more",
)


def check(ctx):
    """Return a list of (criterion, passed, reason) for this run."""
    work = Path(ctx.workdir)
    run, summary, config, problem = _read_run(Path(ctx.artifacts) / ARTIFACT, work)
    if problem:
        return [(name, False, problem) for name in CRITERIA]
    results = [(CRITERIA[0], True, _ran(run))]
    truth = Truth(config, _tokenizer(run))
    mismatches = truth.compare(run, summary)
    results.append(
        (
            CRITERIA[1],
            not mismatches,
            "; ".join(mismatches[:3])
            + (f" (and {len(mismatches) - 3} more)" if len(mismatches) > 3 else "")
            if mismatches
            else f"{len(run.results)} results, {len(run.totals)} columns and "
            f"{sum(len(g.rows) for g in run.gates)} gate rows recomputed",
        )
    )
    eval_set = _eval_set(truth, run, config)
    results += [eval_set, _gate_rules(config)]
    if not eval_set[1]:
        later = "not tested yet: the check reruns v2 once it passes every test of the eval set"
        return results + [(name, False, later) for name in CRITERIA[4:]]
    return results + Hidden(ctx, config).criteria(truth)


# --- reading the run ----------------------------------------------------------------------------


def _read_run(folder: Path, work: Path):
    """(run, summary, config, problem): the run file, the summary and the learner's config."""
    from triops.evals import EvalConfigError, EvalRun, EvalRunError, load_config

    summary = _json(folder / "summary.json")
    if not isinstance(summary, dict):
        return None, None, None, "the run left no eval/summary.json: press Run and read its log"
    if summary.get("status") != "complete":
        why = "; ".join(str(r) for r in summary.get("reasons") or []) or summary.get("status")
        return None, None, None, f"the run did not complete ({summary.get('status')}): {why}"
    try:
        run = EvalRun.from_dict(_json(folder / "results.json") or {})
    except EvalRunError as exc:
        return None, None, None, f"eval/results.json: {exc.user_message}"
    try:
        config = load_config(work / CONFIG, root=work, providers=ALLOWED)
    except EvalConfigError as exc:
        return None, None, None, f"{CONFIG} does not load: {exc.problems[0]}"
    if run.config_hash != config.config_hash:
        return None, None, None, f"the run is of another version of {CONFIG}: press Run again"
    for pid in (BASELINE, CANDIDATE):
        if config.prompt(pid) is None or config.prompt(pid).id != pid:
            return None, None, None, f"{CONFIG} has no prompt with the id {pid}: keep v1 and v2"
    if not any(p.kind == "extractive" for p in config.providers):
        return None, None, None, f"{CONFIG} must keep the {PROVIDER} provider"
    return run, summary, config, None


def _json(path: Path) -> Any:
    try:
        return read_json(path)
    except (OSError, ValueError):
        return None


def _ran(run) -> str:
    return f"{len(run.results)} cases in {len(run.totals)} columns: " + ", ".join(
        f"{t.column} {t.passed}/{t.tests}" for t in run.totals
    )


def _tokenizer(run):
    """The tokenizer of the model the run used (tokenizer.json of the model folder)."""
    from tokenizers import Tokenizer

    from triops.config import get_settings
    from triops.search.embedder import PACKAGED_ID, packaged_model_path

    model = get_settings().embed_model
    folder = packaged_model_path() if not model or run.tokenizer == PACKAGED_ID else Path(model)
    path = folder / "tokenizer.json"
    if not path.is_file():
        return None
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


# --- recomputation ------------------------------------------------------------------------------


@dataclass
class RowTruth:
    status: str
    score: float
    tokens_prompt: int
    tokens_completion: int
    cost: float | None
    assertions: list[tuple[str, float | None]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class Truth:
    """The check's own arithmetic over a run, for one config."""

    def __init__(self, config, tokenizer):
        self.config = config
        self.tokenizer = tokenizer

    # ---- one result

    def count(self, text: str) -> int:
        if self.tokenizer is None:
            return len(re.findall(r"\w+|[^\w\s]", text))
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def price(self, row) -> tuple[float, float, int] | None:
        prices = self.config.prices
        if prices is None:
            return None
        table = prices.providers
        price = table.get(row.provider_label) or table.get(row.provider_id)
        unit = 1_000_000 if prices.unit == "1M" else 1_000
        return (price.prompt, price.completion, unit) if price else None

    def row(self, row) -> RowTruth:
        test = (
            self.config.tests[row.test_index] if row.test_index < len(self.config.tests) else None
        )
        if test is None or test.key != row.test_key:
            return RowTruth(row.status, row.score, 0, 0, None, problems=["test not in the config"])
        if row.status == "error":
            return RowTruth("error", 0.0, 0, 0, None)
        tp, tc = self.count(row.prompt), self.count(row.output)
        price = self.price(row)
        cost = None if price is None else (tp * price[0] + tc * price[1]) / price[2]
        truth = RowTruth("pass", 1.0, tp, tc, cost)
        if len(test.assertions) != len(row.assertions):
            truth.problems.append(
                f"{len(row.assertions)} assertions, the test has {len(test.assertions)}"
            )
            return truth
        scored = []
        for spec, got in zip(test.assertions, row.assertions, strict=True):
            verdict = _assertion(spec, got, row, cost, truth.problems)
            truth.assertions.append(verdict)
            if verdict[0] != "skipped":
                scored.append((verdict, spec.weight))
        truth.status, truth.score = _test_verdict(scored, test.threshold, bool(row.assertions))
        return truth

    # ---- a column

    def totals(self, rows: list, truths: list[RowTruth]) -> dict[str, Any]:
        counted = [t for t in truths if t.status != "skipped"]
        answered = [(r, t) for r, t in zip(rows, truths, strict=True) if t.status != "error"]
        passed = sum(t.status == "pass" for t in truths)
        costs = [t.cost for _, t in answered]
        latencies = [r.latency_ms for r, _ in answered]
        abstained = [r.abstained for r, _ in answered if r.abstained is not None]
        metrics: dict[str, list[float]] = {}
        for r in rows:
            per: dict[str, list[tuple[float, float]]] = {}
            for a in r.assertions:
                if a.metric and a.status != "skipped":
                    per.setdefault(a.metric, []).append((a.score or 0.0, a.weight))
            for name, pairs in per.items():
                weight = sum(w for _, w in pairs)
                metrics.setdefault(name, []).append(
                    sum(s * w for s, w in pairs) / weight if weight else 0.0
                )
        tp = sum(t.tokens_prompt for t in truths)
        tc = sum(t.tokens_completion for t in truths)
        return {
            "tests": len(truths),
            "passed": passed,
            "failed": sum(t.status == "fail" for t in truths),
            "errors": sum(t.status == "error" for t in truths),
            "skipped": len(truths) - len(counted),
            "pass_rate": passed / len(counted) if counted else None,
            "score": _mean([t.score for t in counted]),
            "tokens_prompt": tp,
            "tokens_completion": tc,
            "tokens": tp + tc,
            "cost": None if any(c is None for c in costs) else sum(costs),
            "latency_p50_ms": float(np.percentile(latencies, 50)) if latencies else None,
            "latency_p95_ms": float(np.percentile(latencies, 95)) if latencies else None,
            "groundedness": _mean(_measures(rows, "groundedness")),
            "answer_relevance": _mean(_measures(rows, "answer-relevance")),
            "context_recall": _mean(_measures(rows, "context-recall")),
            "abstain_rate": sum(abstained) / len(abstained) if abstained else None,
            "metrics": {name: sum(v) / len(v) for name, v in metrics.items()},
        }

    def columns(self, run) -> dict[tuple[str, str], tuple[list, list[RowTruth], dict]]:
        """(prompt id, provider label) -> (rows, their truths, recomputed totals)."""
        grouped: dict[tuple[str, str], list] = {}
        for r in run.results:
            grouped.setdefault((r.prompt_id, r.provider_label), []).append(r)
        out = {}
        for key, rows in grouped.items():
            truths = [self.row(r) for r in rows]
            out[key] = (rows, truths, self.totals(rows, truths))
        return out

    # ---- against the report

    def compare(self, run, summary: dict | None) -> list[str]:
        """Every difference between what the run reported and the recomputation."""
        out: list[str] = []
        columns = self.columns(run)
        for (pid, label), (rows, truths, totals) in columns.items():
            for r, t in zip(rows, truths, strict=True):
                where = f"{pid} · {r.description or r.test_key}"
                out += [f"{where}: {p}" for p in t.problems]
                if r.status != t.status or not _same(r.score, t.score):
                    out.append(
                        f"{where}: reported {r.status} {r.score:.4f}, recomputed "
                        f"{t.status} {t.score:.4f}"
                    )
                for n, (a, (status, score)) in enumerate(
                    zip(r.assertions, t.assertions, strict=False)
                ):
                    if a.status != status or (status != "skipped" and not _same(a.score, score)):
                        out.append(
                            f"{where}: assertion {n + 1} ({a.type}) reported {a.status} "
                            f"{a.score}, recomputed {status} {score}"
                        )
                for name in ("tokens_prompt", "tokens_completion", "cost"):
                    if not _same(getattr(r, name), getattr(t, name)):
                        out.append(
                            f"{where}: {name} reported {getattr(r, name)}, recounted "
                            f"{getattr(t, name)}"
                        )
            reported = next(
                (x for x in run.totals if x.prompt_id == pid and x.provider_label == label), None
            )
            if reported is None:
                out.append(f"{pid} / {label}: no totals reported")
                continue
            for name, value in totals.items():
                if name == "metrics":
                    for metric, v in value.items():
                        if not _same(reported.metrics.get(metric), v):
                            out.append(
                                f"{reported.column}: metric {metric} reported "
                                f"{reported.metrics.get(metric)}, recomputed {v}"
                            )
                elif not _same(getattr(reported, name), value):
                    out.append(
                        f"{reported.column}: {name} reported {_show(getattr(reported, name))}, "
                        f"recomputed {_show(value)}"
                    )
        out += self._gates(run, columns)
        if summary is not None:
            out += self._summary(run, summary, columns)
        return out

    def gates(self, columns) -> list[list[dict[str, Any]]]:
        """The gate's rows, recomputed, for each provider (as triops.evals.gate pairs them)."""
        gate = self.config.gate
        if gate is None or not gate.rules or not gate.baseline or not gate.candidate:
            return []
        base, cand = self.config.prompt(gate.baseline), self.config.prompt(gate.candidate)
        out = []
        for provider in self.config.providers:
            b = columns.get((base.id, provider.label))
            c = columns.get((cand.id, provider.label))
            if b is not None and c is not None:
                out.append(gate_rows(gate.rules, b[2], c[2]))
        return out

    def _gates(self, run, columns) -> list[str]:
        expected = self.gates(columns)
        if len(expected) != len(run.gates):
            return [f"{len(run.gates)} gate results reported, {len(expected)} expected"]
        out = []
        for mine, reported in zip(expected, run.gates, strict=True):
            if len(mine) != len(reported.rows):
                out.append(
                    f"gate on {reported.candidate}: {len(reported.rows)} rows reported, "
                    f"{len(mine)} recomputed"
                )
                continue
            for m, r in zip(mine, reported.rows, strict=True):
                same = (
                    (r.metric, r.rule, r.verdict) == (m["metric"], m["rule"], m["verdict"])
                    and _same(r.baseline, m["baseline"])
                    and _same(r.candidate, m["candidate"])
                )
                if not same:
                    out.append(
                        f"gate {r.metric} {r.rule}: reported {r.verdict} ({_show(r.baseline)} -> "
                        f"{_show(r.candidate)}), recomputed {m['verdict']} "
                        f"({_show(m['baseline'])} -> {_show(m['candidate'])})"
                    )
            if reported.passed != all(m["verdict"] != "fail" for m in mine):
                out.append(f"gate on {reported.candidate}: the verdict does not follow its rows")
        return out

    def _summary(self, run, summary: dict, columns) -> list[str]:
        out = []
        passed = lab_passed(self.config, columns, self.gates(columns))
        if summary.get("verdict") != ("pass" if passed else "fail"):
            out.append(
                f"summary.json says {summary.get('verdict')}, recomputed "
                f"{'pass' if passed else 'fail'}"
            )
        reported = {
            (c.get("prompt_id"), c.get("provider_label")): c for c in summary.get("columns", [])
        }
        for key, (_, _, totals) in columns.items():
            shown = reported.get(key)
            if shown is None:
                out.append(f"summary.json has no column {key[0]} / {key[1]}")
                continue
            for name in ("pass_rate", "tokens", "cost", "latency_p50_ms", "latency_p95_ms"):
                if not _same(shown.get(name), totals[name]):
                    out.append(
                        f"summary.json {key[0]}: {name} {_show(shown.get(name))}, "
                        f"recomputed {_show(totals[name])}"
                    )
        gates = summary.get("gates") or []
        if [g.get("passed") for g in gates] != [g.passed for g in run.gates]:
            out.append("summary.json's gate verdicts differ from results.json's")
        return out


def _assertion(spec, got, row, cost, problems: list[str]) -> tuple[str, float | None]:
    """(status, score) of one assertion, recomputed; notes what cannot be right in problems."""
    from triops.evals.calibration import RELEVANCE_THRESHOLD, SIMILAR_THRESHOLD

    if spec.skip is not None:
        return "skipped", None
    base, value, output = spec.type, got.value, row.output
    if got.type != spec.name:
        problems.append(f"assertion {got.type} where the config has {spec.name}")
    if isinstance(spec.value, str) and "{{" not in spec.value and value != spec.value:
        problems.append(f"{spec.name} checked '{value}', the config says '{spec.value}'")
    graded = base in ("similar", "answer-relevance", "groundedness", "context-recall")
    if graded:
        default = {"similar": SIMILAR_THRESHOLD, "answer-relevance": RELEVANCE_THRESHOLD}
        threshold = spec.threshold if spec.threshold is not None else default.get(base, 1.0)
        if not _same(got.threshold, threshold):
            problems.append(f"{spec.name} used threshold {got.threshold}, expected {threshold}")
        if base == "groundedness" and got.measure is None:
            passed, score = (
                True,
                1.0,
            )  # an answer that abstains, or makes no claim, has nothing to ground
        elif got.measure is None:
            passed, score = False, 0.0
        else:
            passed, score = got.measure >= threshold - EPSILON, got.measure
    elif base == "latency":
        passed = row.latency_ms <= spec.threshold + EPSILON
        score = float(passed)
    elif base == "cost":
        passed = cost is not None and cost <= spec.threshold + EPSILON
        score = float(passed)
    else:
        passed = _text_check(base, value, output)
        if passed is None:
            problems.append(f"{spec.name}: the check cannot recompute this type")
            return got.status, got.score
        score = float(passed)
    if spec.negate:
        passed = not passed
        score = 1.0 - score if graded else float(passed)
    return ("pass" if passed else "fail"), max(0.0, min(1.0, score))


def _text_check(base: str, value: Any, output: str) -> bool | None:
    text = value if isinstance(value, str) else json.dumps(value) if value is not None else ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = str(value)
    if base == "equals":
        if isinstance(value, dict | list):
            try:
                return json.loads(output) == value
            except ValueError:
                return False
        return output == text
    if base == "contains":
        return text in output
    if base == "icontains":
        return text.lower() in output.lower()
    if base == "starts-with":
        return output.startswith(text)
    if base == "regex":
        return re.search(text, output) is not None
    if base in ("contains-any", "contains-all", "icontains-any", "icontains-all"):
        fold = base.startswith("i")
        hay = output.lower() if fold else output
        hits = [(v.lower() if fold else v) in hay for v in value]
        return all(hits) if base.endswith("-all") else any(hits)
    if base == "is-json" and value in (None, ""):
        try:
            json.loads(output)
        except ValueError:
            return False
        return True
    return None


def _test_verdict(scored, threshold: float | None, has_assertions: bool) -> tuple[str, float]:
    if not scored:
        return ("skipped", 1.0) if has_assertions else ("pass", 1.0)
    total = sum(w for _, w in scored)
    score = sum((s or 0.0) * w for (_, s), w in scored) / total if total > 0 else 0.0
    if threshold is not None:
        return ("pass" if score >= threshold - EPSILON else "fail"), score
    failed = [v for v, w in scored if v[0] != "pass" and w > 0]
    return ("fail" if failed else "pass"), score


def _measures(rows, assertion_type: str) -> list[float]:
    out = []
    for r in rows:
        found = [
            a.measure
            for a in r.assertions
            if a.type == assertion_type and a.status != "skipped" and a.measure is not None
        ]
        if found:
            out.append(sum(found) / len(found))
    return out


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def _show(value: Any) -> str:
    return "none" if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)


def _value(totals: dict, metric: str) -> float | None:
    value = totals.get(metric) if metric != "metrics" else None
    if value is None:
        value = totals["metrics"].get(metric)
    return None if value is None else float(value)


def gate_rows(rules, base: dict, cand: dict) -> list[dict[str, Any]]:
    """Every limit of every rule, candidate against baseline: metric, rule, baseline,
    candidate, verdict and why."""
    out = []
    for metric, rule in rules.items():
        c, b = _value(cand, metric), _value(base, metric)
        for name, limit in rule.limits():
            row = {"metric": metric, "rule": f"{name} {limit:g}", "baseline": b, "candidate": c}
            if c is None or (name not in ("min", "max") and b is None):
                out.append({**row, "verdict": "fail", "why": f"{metric} was not measured"})
                continue
            if name == "min":
                ok, why = c >= limit - EPSILON, f"{c:.4g} against a floor of {limit:g}"
            elif name == "max":
                ok, why = c <= limit + EPSILON, f"{c:.4g} against a ceiling of {limit:g}"
            elif name in ("min_delta", "max_delta"):
                delta = c - b
                ok = delta >= limit - EPSILON if name == "min_delta" else delta <= limit + EPSILON
                why = f"changed by {delta:+.4g}"
            else:
                sign = 1 if name == "max_increase_pct" else -1
                pct = sign * (c - b) / abs(b) * 100 if b else (0.0 if sign * c <= 0 else math.inf)
                word = "rose" if sign > 0 else "fell"
                ok, why = pct <= limit + EPSILON, f"{word} by {pct:.1f} %"
            out.append({**row, "verdict": "pass" if ok else "fail", "why": why})
    return out


def lab_passed(config, columns, gates: list[list[dict[str, Any]]]) -> bool:
    """The lab's verdict: the candidate passes every test and every gate (recomputed) holds."""
    gate = config.gate
    if gate is None or not gate.rules or not gate.baseline or not gate.candidate:
        return False
    cand = config.prompt(gate.candidate).id
    for (pid, _), (_, truths, _) in columns.items():
        if pid == cand and any(t.status in ("fail", "error") for t in truths):
            return False
    return bool(gates) and all(r["verdict"] != "fail" for rows in gates for r in rows)


# --- the eval set and the gate's rules ---------------------------------------------------------


def _starter():
    from triops.evals import load_config

    folder = LAB / "starter"
    return load_config(folder / CONFIG, root=folder, providers=ALLOWED)


def _eval_set(truth: Truth, run, config):
    criterion = CRITERIA[2]
    starter = _starter()
    have = {t.key: t for t in config.tests}
    changed = []
    for test in starter.tests:
        mine = have.get(test.key)
        if mine is None:
            changed.append(f"'{test.key}' is missing")
        elif mine.vars != test.vars or [a.model_dump() for a in mine.assertions] != [
            a.model_dump() for a in test.assertions
        ]:
            changed.append(f"'{test.key}' was changed")
    if changed:
        return criterion, False, "the given tests must stay as they are: " + "; ".join(changed[:3])
    columns = truth.columns(run)
    failing = [
        r.description or r.test_key
        for key, (rows, truths, _) in columns.items()
        if key[0] == CANDIDATE
        for r, t in zip(rows, truths, strict=True)
        if t.status in ("fail", "error")
    ]
    total = sum(len(rows) for key, (rows, _, _) in columns.items() if key[0] == CANDIDATE)
    if failing:
        return (
            criterion,
            False,
            f"v2 fails {len(failing)} of {total} tests, e.g. " + "; ".join(failing[:3]),
        )
    added = len(config.tests) - len(starter.tests)
    more = f", {added} of them yours" if added > 0 else ""
    return criterion, True, f"v2 passes all {total} tests{more}"


def _gate_rules(config):
    criterion = CRITERIA[3]
    gate = config.gate
    problems = []
    if gate is None or not gate.baseline or not gate.candidate:
        problems.append("name baseline: v1 and candidate: v2")
    else:
        if config.prompt(gate.baseline).id != BASELINE:
            problems.append(f"the baseline is {gate.baseline}, not v1")
        if config.prompt(gate.candidate).id != CANDIDATE:
            problems.append(f"the candidate is {gate.candidate}, not v2")
    given = next(p for p in _starter().prompts if p.id == BASELINE)
    mine = config.prompt(BASELINE)
    if (mine.raw, mine.config) != (given.raw, given.config):
        problems.append("v1 must stay as given (it is the release you compare with)")
    rules = gate.rules if gate is not None else {}
    for metric, (limit, ok, wanted) in REQUIRED.items():
        rule = rules.get(metric)
        value = getattr(rule, limit, None) if rule is not None else None
        if value is None or not ok(value):
            problems.append(f"missing {wanted}")
    if problems:
        return criterion, False, "; ".join(problems)
    shown = ", ".join(f"{m} {n} {v:g}" for m, rule in rules.items() for n, v in rule.limits())
    return criterion, True, f"v2 against v1: {shown}"


# --- the hidden questions and the sabotaged candidates ------------------------------------------


class Hidden:
    """One rerun of the learner's files with the check's questions and candidates."""

    def __init__(self, ctx, config):
        self.ctx = ctx
        self.learner = config
        self.config = None
        self.dropped: list[str] = []

    def change(self, folder: Path) -> None:
        """Rewrite the copy's config: the learner's v1, v2, provider, prices and gate; the
        check's questions; the two v3 candidates made from v2."""
        from triops.evals import load_config

        path = Path(folder) / CONFIG
        data = parse_yaml(path.read_text(encoding="utf-8"), limits=LEARNER_YAML).data
        prompts = [
            p
            for p in data["prompts"]
            if isinstance(p, dict) and p.get("id") in (BASELINE, CANDIDATE)
        ]
        v2 = next(p for p in prompts if p["id"] == CANDIDATE)
        knobs = dict(v2.get("config") or {})
        eager = {**v2, "id": EAGER, "label": EAGER, "config": {**knobs, "abstain_threshold": 0.0}}
        sentences = min(20, max(10, 2 * int(knobs.get("max_sentences", 3))))
        verbose = {
            **v2,
            "id": VERBOSE,
            "label": VERBOSE,
            "config": {
                **knobs,
                "k": max(10, int(knobs.get("k", 5))),
                "max_sentences": sentences,
                "citations": "footnote",
            },
        }
        data["prompts"] = prompts + [eager, verbose]
        data["providers"] = [
            p for p in data["providers"] if (p if isinstance(p, str) else p.get("id")) == PROVIDER
        ]
        data["tests"] = yaml.safe_load((LAB / "hidden.yaml").read_text(encoding="utf-8"))
        data.pop("defaultTest", None)
        measured = {
            "pass_rate",
            "score",
            "tokens",
            "tokens_prompt",
            "tokens_completion",
            "cost",
            "latency_p50_ms",
            "latency_p95_ms",
            "groundedness",
            "answer_relevance",
            "context_recall",
            "abstain_rate",
        }
        gate = data.get("gate") or {}
        for key in list(gate):
            if key not in ("baseline", "candidate") and key not in measured:
                self.dropped.append(key)
                del gate[key]
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        self.config = load_config(path, root=Path(folder), providers=ALLOWED)

    def criteria(self, truth: Truth):
        names = CRITERIA[4:]
        try:
            lab_run = self.ctx.rerun(self.change)
        except (KeyError, StopIteration, TypeError, AttributeError, ValueError) as exc:
            return [
                (n, False, f"the check could not rewrite {CONFIG} for its rerun: {exc!r}")
                for n in names
            ]
        folder = Path(getattr(lab_run, "artifacts", "")) / ARTIFACT
        summary = _json(folder / "summary.json") or {}
        data = _json(folder / "results.json")
        if self.config is None or summary.get("status") != "complete" or data is None:
            why = "; ".join(summary.get("reasons") or []) or "no results"
            return [(n, False, f"the rerun did not complete: {why}") for n in names]
        from triops.evals import EvalRun

        run = EvalRun.from_dict(data)
        mine = Truth(self.config, truth.tokenizer)
        columns = mine.columns(run)
        label = next(p.label for p in self.config.providers)
        col = {pid: columns.get((pid, label)) for pid in (BASELINE, CANDIDATE, EAGER, VERBOSE)}
        if any(v is None for v in col.values()):
            return [(n, False, "the rerun lacks a column of v1, v2 or a v3") for n in names]
        note = (
            f" (rules on {', '.join(self.dropped)} left out: the hidden tests do not measure them)"
            if self.dropped
            else ""
        )
        return [
            self._v2(run, mine, col, note),
            self._stopped(names[1], col[EAGER], col[CANDIDATE], "pass_rate", note),
            self._stopped(names[2], col[VERBOSE], col[CANDIDATE], "cost", note),
        ]

    def _v2(self, run, mine: Truth, col, note: str):
        name = CRITERIA[4]
        mismatches = mine.compare(run, None)
        if mismatches:
            return name, False, "the rerun's numbers do not add up: " + "; ".join(mismatches[:2])
        rows, truths, totals = col[CANDIDATE]
        failing = [r.description for r, t in zip(rows, truths, strict=True) if t.status != "pass"]
        if failing:
            return (
                name,
                False,
                f"v2 fails {len(failing)} of {len(rows)} hidden tests, e.g. {failing[0]}{note}",
            )
        rules = self.config.gate.rules if self.config.gate else {}
        failed = [
            f"{r['metric']} {r['rule']}: {r['why']}"
            for r in gate_rows(rules, col[BASELINE][2], totals)
            if r["verdict"] == "fail"
        ]
        if not rules or failed:
            stops = "; ".join(failed) or "it has no rules"
            return name, False, f"your gate stops v2 against v1 on the hidden questions: {stops}"
        return (
            name,
            True,
            f"v2 passes all {len(rows)} hidden tests (v1 passes {col[BASELINE][2]['passed']}) "
            f"and every rule of your gate against v1{note}",
        )

    def _stopped(self, name: str, sabotaged, v2, expected: str, note: str):
        rules = self.config.gate.rules if self.config.gate else {}
        stopped = [
            f"{r['metric']} {r['rule']} ({r['why']})"
            for r in gate_rows(rules, v2[2], sabotaged[2])
            if r["verdict"] == "fail"
        ]
        b, c = v2[2], sabotaged[2]
        facts = (
            f"pass rate {b['pass_rate']:.2f} -> {c['pass_rate']:.2f}, cost "
            f"{_show(b['cost'])} -> {_show(c['cost'])}"
        )
        if expected == "cost" and (
            b["cost"] is None or c["cost"] is None or c["cost"] < b["cost"] * (1 + VERBOSE_RISE)
        ):
            return (
                name,
                False,
                f"the check's verbose v3 does not cost much more than your v2 ({facts}): your v2 "
                f"already answers at length{note}",
            )
        if stopped:
            return (
                name,
                True,
                f"against your v2 ({facts}), your gate stops it: " + "; ".join(stopped) + note,
            )
        return (
            name,
            False,
            f"against your v2 ({facts}), every rule of your gate lets it through{note}",
        )
