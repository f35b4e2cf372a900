"""Prompt evaluation in promptfoo's shape: configs, providers, assertions, a runner and a gate.

The library the LLMOps lab builds on::

    config = load_config("promptfooconfig.yaml")      # EvalConfigError names file:line:key
    run = run_eval(config, embedder=embedder, index=index, on_result=print)
    print(format_run(run))                             # matrix, totals, gate
    run.to_dict()                                      # the run file (EvalRun.from_dict reads it)
    evaluate_gate(config.gate, baseline_totals, candidate_totals)
    compare(saved_run, run, config.gate)

See config (the schema), assertions (scoring), runner (totals), gate (rules) and
CALIBRATION.md (the thresholds of the semantic assertions).
"""

from triops.evals.config import EvalConfigError, load_config
from triops.evals.gate import Comparison, GateResult, GateRow, compare, evaluate_gate
from triops.evals.models import EvalConfig, EvalProblem, Gate, GateRule
from triops.evals.providers import EvalError, ProviderError, format_answer, make_provider
from triops.evals.report import (
    format_comparison,
    format_gate,
    format_matrix,
    format_run,
    format_totals,
)
from triops.evals.runner import EvalRun, EvalRunError, ResultRow, Totals, percentile, run_eval

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
