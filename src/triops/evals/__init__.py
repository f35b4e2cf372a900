"""Prompt evaluation in promptfoo's shape: configs, providers, assertions, a runner and a gate.

The library the LLMOps lab builds on::

    config = load_config("promptfooconfig.yaml")      # EvalConfigError names file:line:key
    run = run_eval(config, embedder=embedder, index=index, on_result=print)
    print(format_run(run))                             # matrix, totals, gate
    run.to_dict()                                      # the run file (EvalRun.from_dict reads it)
    evaluate_gate(config.gate, baseline_totals, candidate_totals)
    compare(saved_run, run, config.gate)

See config (the schema), assertions (scoring), runner (totals), results (the run's types),
gate (rules) and CALIBRATION.md (the thresholds of the semantic assertions).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# Names load on first use: `triops eval` is registered on every `triops` start, and the runner
# pulls in the search engine (pandas, DuckDB: about 0.6 s), which only `eval run` needs.
_HOME = {
    "EvalConfigError": "config",
    "load_config": "config",
    "Comparison": "gate",
    "compare": "gate",
    "evaluate_gate": "gate",
    "EvalConfig": "models",
    "EvalProblem": "models",
    "Gate": "models",
    "GateRule": "models",
    "EvalError": "providers",
    "ProviderError": "providers",
    "format_answer": "providers",
    "make_provider": "providers",
    "format_comparison": "report",
    "format_gate": "report",
    "format_matrix": "report",
    "format_run": "report",
    "format_totals": "report",
    "EvalRun": "results",
    "EvalRunError": "results",
    "GateResult": "results",
    "GateRow": "results",
    "ResultRow": "results",
    "Totals": "results",
    "percentile": "runner",
    "run_eval": "runner",
}


def __getattr__(name: str):
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'triops.evals' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"triops.evals.{module}"), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from triops.evals.config import EvalConfigError, load_config
    from triops.evals.gate import Comparison, compare, evaluate_gate
    from triops.evals.models import EvalConfig, EvalProblem, Gate, GateRule
    from triops.evals.providers import EvalError, ProviderError, format_answer, make_provider
    from triops.evals.report import (
        format_comparison,
        format_gate,
        format_matrix,
        format_run,
        format_totals,
    )
    from triops.evals.results import EvalRun, EvalRunError, GateResult, GateRow, ResultRow, Totals
    from triops.evals.runner import percentile, run_eval

__all__ = [
    "Comparison",
    "EvalConfig",
    "EvalConfigError",
    "EvalError",
    "EvalProblem",
    "EvalRun",
    "EvalRunError",
    "Gate",
    "GateResult",
    "GateRow",
    "GateRule",
    "ProviderError",
    "ResultRow",
    "Totals",
    "compare",
    "evaluate_gate",
    "format_answer",
    "format_comparison",
    "format_gate",
    "format_matrix",
    "format_run",
    "format_totals",
    "load_config",
    "make_provider",
    "percentile",
    "run_eval",
]
