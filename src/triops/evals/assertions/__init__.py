"""Assertions: each checks one output and gives pass or fail, a score in [0, 1] and a reason.

Scoring follows promptfoo. Yes-or-no checks score 1 or 0. Graded checks (similar, groundedness,
answer-relevance, context-recall, llm-rubric) score their measure and pass when it reaches the
threshold. `not-` inverts the verdict; a graded score becomes 1 - score. A test's score is the
weighted average of its assertions' scores (skipped assertions left out); without a test
`threshold` the test passes when every assertion with a weight above 0 passes, with one it
passes when the score reaches it. An assertion of weight 0 is reported but never fails a test.

One record per type
-------------------
Each type is one `AssertionType` record (as promptfoo's assertionDefinition): its name, the
shape of its value, `check_value` (run when the config loads, so a wrong value is an error at
its file:line:key), `evaluate` (the handler), `texts_to_encode` for the types measured with the
embedder, and flags (`semantic`, `needs_judge`). The records live beside their handlers:
strings (equals, contains...), json_checks, measured (latency, cost), semantic (similar and the
context checks, see its docstring for Triops' own measures), rubric (llm-rubric).
`registry.ASSERTION_DEFINITIONS` lists them; the config's ASSERTION_TYPES and SEMANTIC (the
types measured with the embedder, which the loader hands to each EvalConfig) are read from it.
`record` defines the record and the value checks types share; `outcome` what an assertion sees
(`Case`) and gives (`Outcome`, `AssertionResult`). The models (triops.evals.models) import
nothing from here, so the records may take their `Assertion`.

Adding a type: write its handler and its value check in the module it belongs to (or a new
one), add its record to that module's list (and a new module's list to the registry), and test
it in tests/test_evals.py (a run, and a wrong value at load). Nothing else names the types.

`vectors.Vectors` (the embedding cache) and `judge` (the prompt sent to an llm-rubric judge and
the verdict read back) are the runner's: they are imported from their modules.
"""

from __future__ import annotations

from triops.evals.assertions.json_checks import json_values
from triops.evals.assertions.outcome import EPSILON, AssertionResult, Case, Outcome, case_verdict
from triops.evals.assertions.record import AssertionType, Checked, ValueProblem
from triops.evals.assertions.registry import (
    ALIASES,
    ASSERTION_DEFINITIONS,
    ASSERTION_TYPES,
    SEMANTIC,
    evaluate,
    texts_to_encode,
)
from triops.evals.assertions.semantic import context_sentences, supported

__all__ = [
    "ALIASES",
    "ASSERTION_DEFINITIONS",
    "ASSERTION_TYPES",
    "EPSILON",
    "SEMANTIC",
    "AssertionResult",
    "AssertionType",
    "Case",
    "Checked",
    "Outcome",
    "ValueProblem",
    "case_verdict",
    "context_sentences",
    "evaluate",
    "json_values",
    "supported",
    "texts_to_encode",
]
