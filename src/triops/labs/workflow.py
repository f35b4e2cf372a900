"""The names `triops.labs.workflow` had before the runner became the package triops.labs.ci,
re-exported while its callers move to the modules that define them."""

from triops.labs.ci.actions import artifact_pattern_matches
from triops.labs.ci.engine import run_workflow
from triops.labs.ci.envfiles import (
    REFUSED_ENV,
    parse_env_file,
    python_version_matches,
    python_versions_from_file,
)
from triops.labs.ci.expressions import (
    ExpressionContext,
    ExpressionError,
    evaluate,
    evaluate_condition,
    interpolate,
)
from triops.labs.ci.matrix import MatrixError, expand_matrix, runner_os
from triops.labs.ci.model import WorkflowError, WorkflowUnreadable, load_workflow, parse_workflow
from triops.labs.ci.report import (
    LAB_NETWORK_HINT,
    NOT_TRIGGERED,
    Event,
    RunReport,
    exit_code,
    format_event,
    skipped_summary,
)
from triops.labs.ci.steps import LocalRunner, StepOutcome

__all__ = [
    "LAB_NETWORK_HINT",
    "NOT_TRIGGERED",
    "REFUSED_ENV",
    "Event",
    "ExpressionContext",
    "ExpressionError",
    "LocalRunner",
    "MatrixError",
    "RunReport",
    "StepOutcome",
    "WorkflowError",
    "WorkflowUnreadable",
    "artifact_pattern_matches",
    "evaluate",
    "evaluate_condition",
    "exit_code",
    "expand_matrix",
    "format_event",
    "interpolate",
    "load_workflow",
    "parse_env_file",
    "parse_workflow",
    "python_version_matches",
    "python_versions_from_file",
    "run_workflow",
    "runner_os",
    "skipped_summary",
]
