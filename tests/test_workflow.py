"""The local GitHub Actions runner: parsing, expressions, matrix, execution, reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from triops.labs.ci.actions import artifact_pattern_matches
from triops.labs.ci.engine import run_workflow
from triops.labs.ci.envfiles import (
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
from triops.labs.ci.model import WorkflowError, load_workflow
from triops.labs.ci.report import (
    LAB_NETWORK_HINT,
    NOT_TRIGGERED,
    Event,
    RunReport,
    exit_code,
    format_event,
    skipped_summary,
)
from triops.labs.ci.steps import LocalRunner
from triops.labs.ci.triggers import (
    NOT_TRIGGERED_EXIT,
    Trigger,
    compile_pattern,
    decide,
    git_trigger,
    selected,
)

PY = f"{sys.version_info.major}.{sys.version_info.minor}"
PY_FULL = ".".join(map(str, sys.version_info[:3]))


@pytest.fixture
def seed(tmp_path) -> Path:
    """The lab workspace that actions/checkout copies in."""
    root = tmp_path / "seed"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("print('app')\n")
    (root / "README.md").write_text("readme\n")
    return root


CASES = Path(__file__).parent / "fixtures" / "workflows"


def workflow_text(case: str) -> str:
    """The workflow of one case: tests/fixtures/workflows/<case>.yml."""
    return (CASES / f"{case}.yml").read_text()


def write_workflow(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ci.yml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def run(tmp_path: Path, seed: Path, text: str, **kwargs) -> RunReport:
    workflow = load_workflow(write_workflow(tmp_path, text))
    kwargs.setdefault("artifacts_dir", tmp_path / "artifacts")
    return run_workflow(workflow, runner=LocalRunner(), workspace_seed=seed, **kwargs)


def steps(report: RunReport, job: str, cell: int = 0) -> list:
    return report.job(job).cells[cell].steps


def logs(report: RunReport, job: str, cell: int = 0) -> str:
    return "\n".join(s.log for s in steps(report, job, cell))


# -- expressions ------------------------------------------------------------------------------

CONTEXT = {
    "github": {"event_name": "push", "ref": "refs/heads/main"},
    "env": {"MODE": "dev", "EMPTY": ""},
    "matrix": {"python": 3.10, "os": "ubuntu-latest"},
    "needs": {"build": {"result": "success", "outputs": {"version": "1.2"}}},
    "steps": {"s1": {"outputs": {"n": "3"}, "outcome": "failure", "conclusion": "success"}},
    "list": [{"name": "a", "v": 1}, {"name": "b", "v": 2}],
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("github.event_name == 'push'", True),
        ("github.event_name != 'push'", False),
        ("GITHUB.EVENT_NAME == 'PUSH'", True),  # names and string comparison ignore case
        ("env.MODE == 'dev' && matrix.os == 'ubuntu-latest'", True),
        ("env.MODE == 'prod' || env.MODE == 'dev'", True),
        ("!(env.MODE == 'dev')", False),
        ("!env.EMPTY", True),
        ("env.MISSING == null", True),
        ("env.MISSING == ''", True),
        ("env.MODE && 'yes'", "yes"),  # && and || return an operand, as in JavaScript
        ("env.EMPTY || 'fallback'", "fallback"),
        ("matrix.python", 3.1),
        ("format('{0}-{1}', matrix.os, matrix.python)", "ubuntu-latest-3.1"),
        ("format('{{literal}} {0}', 1)", "{literal} 1"),
        ("steps.s1.outputs.n == 3", True),  # '3' == 3: a string compared with a number
        ("steps.s1.outputs.n > 2", True),
        ("steps.s1.outcome == 'failure' && steps.s1.conclusion == 'success'", True),
        ("needs.build.result == 'success'", True),
        ("needs.build.outputs.version", "1.2"),
        ("contains('Hello World', 'world')", True),
        ("contains(fromJSON('[\"a\", \"b\"]'), 'b')", True),
        ("contains(list.*.name, 'b')", True),
        ("startsWith(github.ref, 'refs/heads/')", True),
        ("endsWith(github.ref, '/MAIN')", True),
        ("join(list.*.name, '+')", "a+b"),
        ("list[1].name", "b"),
        ("github['event_name']", "push"),
        ("'It''s'", "It's"),
        ("0xff == 255", True),
        ("1 < 2 && 2 <= 2 && 3 > 2 && 3 >= 4", False),
        ("fromJSON('{\"a\": [1, 2]}').a[1]", 2),
        ("toJSON(needs.build.outputs)", '{\n  "version": "1.2"\n}'),
        ("null", None),
        ("true == 1", True),
    ],
)
def test_expression_values(expression, expected):
    assert evaluate(expression, ExpressionContext(CONTEXT)) == expected


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ('github.event_name == "push"', "single quotes"),
        ("'unterminated", "unterminated"),
        ("env.A ==", "end"),
        ("nosuchfunction(1)", "unrecognized function"),
        ("contains('a')", "takes 2"),
        ("(1", r"expected '\)'"),
    ],
)
def test_expression_syntax_errors_are_explained(expression, problem):
    with pytest.raises(ExpressionError, match=problem):
        evaluate(expression, ExpressionContext(CONTEXT))


def test_hash_files_hashes_matching_files_in_the_workspace(tmp_path):
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("b")
    ctx = ExpressionContext({}, workspace=tmp_path)
    both = evaluate("hashFiles('**/*.txt')", ctx)
    assert len(both) == 64
    assert evaluate("hashFiles('a.txt')", ctx) != both
    assert evaluate("hashFiles('**/*.txt', '!sub/**')", ctx) == evaluate("hashFiles('a.txt')", ctx)
    assert evaluate("hashFiles('*.none')", ctx) == ""


def test_interpolation_replaces_each_expression_with_its_string_form():
    ctx = ExpressionContext(CONTEXT)
    text = "py ${{ matrix.python }} on ${{ matrix.os }}: ${{ env.MISSING }}!"
    assert interpolate(text, ctx) == "py 3.1 on ubuntu-latest: !"
    assert interpolate("${{ '}}' }}", ctx) == "}}"


def status_of(failed: bool):
    return lambda name: {
        "success": not failed,
        "failure": failed,
        "always": True,
        "cancelled": False,
    }[name]


@pytest.mark.parametrize(
    ("condition", "after_failure", "expected"),
    [
        (None, False, True),
        (None, True, False),
        ("env.MODE == 'dev'", True, False),  # implicit success() && ...
        ("${{ env.MODE == 'dev' }}", False, True),
        ("failure()", True, True),
        ("failure()", False, False),
        ("always()", True, True),
        ("success() || failure()", True, True),
        ("cancelled()", True, False),
        ("always() && env.MODE == 'prod'", True, False),
        (False, False, False),
        ("${{ env.MODE }} == 'prod'", False, True),  # text around ${{ }} is a non-empty string
    ],
)
def test_conditions_and_status_functions(condition, after_failure, expected):
    ctx = ExpressionContext(CONTEXT, status=status_of(after_failure))
    assert evaluate_condition(condition, ctx) is expected


# -- matrix -----------------------------------------------------------------------------------


def test_matrix_cross_product_keeps_the_order_of_the_vectors():
    combos = expand_matrix({"version": [10, 12], "os": ["ubuntu", "windows"]})
    assert combos == [
        {"version": 10, "os": "ubuntu"},
        {"version": 10, "os": "windows"},
        {"version": 12, "os": "ubuntu"},
        {"version": 12, "os": "windows"},
    ]


def test_matrix_exclude_matches_partially():
    combos = expand_matrix(
        {"a": [1, 2], "b": [3, 4], "exclude": [{"a": 1}, {"a": 2, "b": 4}]},
    )
    assert combos == [{"a": 2, "b": 3}]


def test_matrix_include_follows_githubs_documented_example():
    matrix = {
        "fruit": ["apple", "pear"],
        "animal": ["cat", "dog"],
        "include": [
            {"color": "green"},
            {"color": "pink", "animal": "cat"},
            {"fruit": "apple", "shape": "circle"},
            {"fruit": "banana"},
            {"fruit": "banana", "animal": "cat"},
        ],
    }
    assert expand_matrix(matrix) == [
        {"fruit": "apple", "animal": "cat", "color": "pink", "shape": "circle"},
        {"fruit": "apple", "animal": "dog", "color": "green", "shape": "circle"},
        {"fruit": "pear", "animal": "cat", "color": "pink"},
        {"fruit": "pear", "animal": "dog", "color": "green"},
        {"fruit": "banana"},
        {"fruit": "banana", "animal": "cat"},
    ]


def test_matrix_of_only_includes_is_the_include_list():
    assert expand_matrix({"include": [{"a": 1}, {"a": "x"}]}) == [{"a": 1}, {"a": "x"}]


@pytest.mark.parametrize(
    ("matrix", "problem"),
    [
        ({"os": "ubuntu"}, "must be a list"),
        ({"os": []}, "has no values"),
        ({"os": ["a"], "exclude": [{"python": 3}]}, "not a matrix key"),
        ({"os": ["a"], "include": ["x"]}, "must be mappings"),
        ({"os": ["a"], "exclude": [{"os": "a"}]}, "no combinations"),
    ],
)
def test_bad_matrices_are_rejected(matrix, problem):
    with pytest.raises(MatrixError, match=problem):
        expand_matrix(matrix)


def test_matrix_include_and_exclude_run_as_cells(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        workflow_text("matrix-include-and-exclude-run-as-cells"),
    )
    cells = report.job("test").cells
    assert [c.matrix for c in cells] == [
        {"os": "ubuntu", "python": "3.11", "experimental": True},
        {"os": "ubuntu", "python": "3.12", "experimental": True},
        {"os": "debian", "python": "3.12"},
        {"os": "alpine", "python": "3.13"},
    ]
    assert cells[0].name == "test (ubuntu, 3.11, true)"
    assert "cell debian 3.12 " in cells[2].steps[0].log
    assert report.status == "success"


# What each case's run ends with: every job's result, the statuses of its cells (a job's whole
# run, or one per matrix combination) in order, and the run's status.
OUTCOMES = {
    "fail-fast-cancels-the-remaining-cells": (
        {"test": ("failure", ["success", "failure", "cancelled"])},
        "failure",
    ),
    "without-fail-fast-every-cell-runs": (
        {"test": ("failure", ["success", "failure", "success"])},
        "failure",
    ),
    "job-continue-on-error-lets-an-experimental-cell-fail": (
        {"test": ("success", ["failure", "success"])},
        "success",
    ),
    "a-job-whose-needs-failed-is-skipped-unless-its-if-says-otherwise": (
        {
            "build": ("failure", ["failure"]),
            "test": ("skipped", []),
            "deploy": ("skipped", []),
            "report": ("success", ["success"]),
            "cleanup": ("success", ["success"]),
        },
        "failure",
    ),
}


@pytest.mark.parametrize("case", OUTCOMES)
def test_outcomes_of_the_cases(tmp_path, seed, case):
    jobs, status = OUTCOMES[case]
    report = run(tmp_path, seed, workflow_text(case))
    assert {j.id: (j.result, [c.status for c in j.cells]) for j in report.jobs} == jobs
    assert report.status == status
    assert exit_code(report) == (0 if status == "success" else 1)


def test_fail_fast_cancels_the_remaining_cells(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        workflow_text("fail-fast-cancels-the-remaining-cells"),
    )
    job = report.job("test")
    assert job.cells[2].steps[0].status == "cancelled"
    assert "fail-fast" in job.cells[2].message


def test_job_continue_on_error_lets_an_experimental_cell_fail(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        workflow_text("job-continue-on-error-lets-an-experimental-cell-fail"),
    )
    cells = report.job("test").cells
    assert [c.continue_on_error for c in cells] == [True, False]


def test_matrix_from_a_needed_jobs_output(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        workflow_text("matrix-from-a-needed-jobs-output"),
    )
    assert [c.matrix for c in report.job("build").cells] == [{"n": 1}, {"n": 2}]


# -- jobs, needs and conditions ----------------------------------------------------------------


def test_a_job_whose_needs_failed_is_skipped_unless_its_if_says_otherwise(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        workflow_text("a-job-whose-needs-failed-is-skipped-unless-its-if-says-otherwise"),
    )
    assert "build (failure)" in report.job("test").message
    assert "build was failure" in logs(report, "report")
    assert "deploy was skipped" in logs(report, "cleanup")


def test_jobs_run_in_dependency_order_not_file_order(tmp_path, seed):
    seen = []
    run(
        tmp_path,
        seed,
        workflow_text("jobs-run-in-dependency-order-not-file-order"),
        on_event=lambda e: seen.append(e.job) if e.kind == "job_finished" else None,
    )
    assert seen == ["first", "middle", "last"]


def test_step_conditions_use_contexts_and_status_functions(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        workflow_text("step-conditions-use-contexts-and-status-functions"),
    )
    status = {s.name: s.status for s in steps(report, "check")}
    assert status == {
        "push only": "success",
        "not prod": "success",
        "negated": "success",
        "prod": "skipped",
        "breaks": "failure",
        "after failure": "skipped",
        "on failure": "success",
        "either": "success",
        "always": "success",
    }
    assert steps(report, "check")[4].exit_code == 4
    assert steps(report, "check")[4].message == "Process completed with exit code 4."


def test_a_job_if_can_skip_a_job_without_failing_the_run(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        workflow_text("a-job-if-can-skip-a-job-without-failing-the-run"),
    )
    assert report.job("tagged").result == "skipped"
    assert "if condition was false" in report.job("tagged").message
    assert report.job("after").result == "skipped"
    assert report.status == "success" and exit_code(report) == 0


# -- environment, outputs and environment files ------------------------------------------------


def test_env_precedence_is_workflow_then_job_then_step(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        workflow_text("env-precedence-is-workflow-then-job-then-step"),
        env={"PATH": os.environ["PATH"], "BASE_ONLY": "base"},
    )
    lines = [s.log for s in steps(report, "show")]
    assert lines[0] == "job w j job"
    assert lines[1] == "step step"
    assert lines[2] == "true true Linux show push refs/heads/main"
    assert steps(report, "show")[3].status == "success"


def test_the_runner_environment_is_clean(tmp_path, seed, monkeypatch):
    monkeypatch.setenv("TRIOPS_SECRET_SHOULD_NOT_LEAK", "x")
    report = run(
        tmp_path,
        seed,
        workflow_text("the-runner-environment-is-clean"),
    )
    assert logs(report, "env") == "clean"


def test_outputs_flow_from_steps_to_jobs_to_needing_jobs(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        workflow_text("outputs-flow-from-steps-to-jobs-to-needing-jobs"),
    )
    assert steps(report, "build")[0].outputs == {
        "version": "1.4.2",
        "notes": "line one\nline two",
    }
    assert report.job("build").outputs == {"version": "1.4.2", "notes": "line one\nline two"}
    assert steps(report, "build")[1].log == "same job sees 1.4.2"
    assert logs(report, "release") == "releasing 1.4.2\nexact match"


def test_github_env_sets_variables_for_later_steps_including_multiline(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        workflow_text("github-env-sets-variables-for-later-steps-including-multiline"),
    )
    log = steps(report, "env")[1].log.splitlines()
    assert log[0] == "simple=one=two"
    assert log[1] == "workflow=changed changed"
    assert log[2:4] == ["first line", "second line"]
    assert log[4].endswith("/mytools")
    assert steps(report, "env")[2].log == "step env wins step"


def test_an_unterminated_heredoc_in_github_output_fails_the_step(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        workflow_text("an-unterminated-heredoc-in-github-output-fails-the-step"),
    )
    step = steps(report, "bad")[0]
    assert step.status == "failure"
    assert "Matching delimiter not found 'EOF'" in step.message


def test_step_summary_is_captured_per_step_and_per_job(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        workflow_text("step-summary-is-captured-per-step-and-per-job"),
    )
    assert steps(report, "summary")[0].summary == "## Results\n"
    assert report.job("summary").cells[0].summary == "## Results\n- 3 passed\n"


def test_parse_env_file_reads_both_forms():
    text = "A=1\nB<<X\nmulti\nline\nX\nC=has=equals\n"
    assert parse_env_file(text) == {"A": "1", "B": "multi\nline", "C": "has=equals"}
    with pytest.raises(ValueError, match="Matching delimiter not found 'X'"):
        parse_env_file("B<<X\nno end\n")
    with pytest.raises(ValueError, match="Invalid format"):
        parse_env_file("just words\n")


# -- timeouts, continue-on-error, working-directory --------------------------------------------


def test_step_timeout_minutes_stops_a_slow_step(tmp_path, seed):
    started = time.monotonic()
    report = run(
        tmp_path,
        seed,
        workflow_text("step-timeout-minutes-stops-a-slow-step"),
    )
    assert time.monotonic() - started < 15
    slow, skipped, cleanup = steps(report, "slow")
    assert slow.status == "failure" and slow.timed_out
    assert "timed out after 0.01 minutes" in slow.message
    assert skipped.status == "skipped"
    assert cleanup.status == "success"
    assert report.status == "failure"


def test_job_timeout_minutes_cancels_the_rest_of_the_job(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        workflow_text("job-timeout-minutes-cancels-the-rest-of-the-job"),
    )
    first, second = steps(report, "slow")
    assert first.status == "failure" and first.timed_out
    assert "job exceeded timeout-minutes" in first.message
    assert second.status == "cancelled"
    assert report.job("slow").result == "failure"


def test_continue_on_error_keeps_the_job_going_and_records_the_outcome(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        workflow_text("continue-on-error-keeps-the-job-going-and-records-the-outcome"),
    )
    flaky, after = steps(report, "lenient")
    assert (flaky.outcome, flaky.conclusion, flaky.status) == ("failure", "success", "success")
    assert flaky.exit_code == 2
    assert after.log == "failure success"
    assert report.status == "success"


def test_working_directory_is_relative_to_the_workspace(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        workflow_text("working-directory-is-relative-to-the-workspace"),
    )
    checkout, in_src, at_root, missing = steps(report, "wd")
    assert in_src.log == "app.py"
    assert at_root.log == "readme"
    assert missing.status == "failure"
    assert "working-directory 'missing' does not exist" in missing.message


def test_shells_follow_github_no_shell_is_bash_e_and_shell_bash_adds_pipefail(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        workflow_text("shells-follow-github-no-shell-is-bash-e-and-shell-bash-adds-pipefail"),
    )
    piped, errexit = steps(report, "default")
    # GitHub runs a step without shell: as `bash -e {0}`: a failing command stops the step,
    # but a pipe takes the status of its last command (no pipefail).
    assert piped.status == "success" and piped.log == "reached"
    assert errexit.status == "failure" and "unreachable" not in errexit.log
    pipe, python = steps(report, "explicit")
    assert pipe.status == "failure" and "unreachable" not in pipe.log
    assert python.log == "from python"


# -- workspaces and actions ---------------------------------------------------------------------


def test_checkout_copies_the_workspace_and_each_cell_starts_fresh(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        workflow_text("checkout-copies-the-workspace-and-each-cell-starts-fresh"),
    )
    assert logs(report, "empty").strip() == "0"
    for index in (0, 1):
        assert "no leftovers" in steps(report, "cells", index)[1].log
        assert "print('app')" in steps(report, "cells", index)[1].log
    assert not (seed / "leftover-1").exists()


def test_setup_python_accepts_a_satisfied_version_and_puts_it_first_on_path(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        f"""
        on: push
        jobs:
          py:
            runs-on: ubuntu-latest
            strategy:
              matrix:
                spec: ["{PY}", "3.x", ">=3.10"]
            steps:
              - id: setup
                uses: actions/setup-python@v5
                with:
                  python-version: ${{{{ matrix.spec }}}}
              - run: command -v python
        """,
        python=sys.executable,
    )
    for index in range(3):
        setup, which = steps(report, "py", index)
        assert setup.status == "success", setup.message
        assert setup.outputs["python-version"] == PY_FULL
        assert which.log.startswith(str(Path(sys.executable).parent))


def test_setup_python_fails_clearly_when_the_version_is_not_installed(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        workflow_text("setup-python-fails-clearly-when-the-version-is-not-installed"),
    )
    old, unquoted = steps(report, "py")
    assert old.status == "failure"
    assert "'2.7'" in old.message and PY_FULL in old.message
    assert "'3.1'" in unquoted.message and "quote" in unquoted.message


@pytest.mark.parametrize(
    ("spec", "version", "ok"),
    [
        ("3.11", "3.11.7", True),
        ("3.11", "3.1.2", False),
        ("3.1", "3.11.7", False),
        ("3.x", "3.11.7", True),
        ("3", "3.12.0", True),
        (">=3.10", "3.11.7", True),
        (">=3.12", "3.11.7", False),
        (">=3.10 <3.12", "3.11.7", True),
        (">=3.10, <3.11", "3.11.7", False),
        ("~3.11", "3.11.9", True),
        ("^3.8", "3.11.7", True),
        ("3.11.7", "3.11.7", True),
        ("3.11.6", "3.11.7", False),
    ],
)
def test_python_version_specs(spec, version, ok):
    assert python_version_matches(spec, version) is ok


def test_python_version_specs_that_cannot_be_read_raise():
    with pytest.raises(ValueError):
        python_version_matches("pypy3.10", "3.11.7")


def test_upload_artifact_copies_matching_files_under_their_common_root(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        workflow_text("upload-artifact-copies-matching-files-under-their-common-root"),
    )
    artifacts = tmp_path / "artifacts"
    assert report.artifacts_dir == str(artifacts)
    assert report.artifacts["dist"] == ["pkg.whl", "sub/pkg.tar.gz"]
    assert report.artifacts["wheels"] == ["dist/pkg.whl", "report.txt"]
    assert (artifacts / "dist" / "sub" / "pkg.tar.gz").read_text() == "sdist\n"
    _, _, _, error, warned = steps(report, "build")
    assert error.status == "failure" and "No files were found" in error.message
    assert warned.status == "success" and "Warning: No files were found" in warned.log
    assert "nothing" not in report.artifacts
    assert steps(report, "use")[1].log == "got/pkg.whl\ngot/sub/pkg.tar.gz"


def test_uploading_the_same_artifact_name_twice_fails(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        workflow_text("uploading-the-same-artifact-name-twice-fails"),
    )
    second = steps(report, "build", 1)[1]
    assert second.status == "failure" and "already uploaded" in second.message


def test_an_unknown_action_is_not_available_offline(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        workflow_text("an-unknown-action-is-not-available-offline"),
    )
    step = steps(report, "other")[0]
    assert step.status == "failure"
    assert step.message == "not available offline: x/y@v1"
    assert "not available offline: x/y@v1" in step.log


# -- validation before running ------------------------------------------------------------------


def load_error(tmp_path: Path, text: str) -> WorkflowError:
    with pytest.raises(WorkflowError) as info:
        load_workflow(write_workflow(tmp_path, text))
    return info.value


def test_invalid_yaml_is_reported_with_file_and_line(tmp_path):
    error = load_error(
        tmp_path,
        workflow_text("invalid-yaml-is-reported-with-file-and-line"),
    )
    assert error.path == str(tmp_path / "ci.yml")
    assert error.line == 7
    assert str(error).startswith(f"{tmp_path / 'ci.yml'}:7: error: YAML syntax error")


def test_an_unknown_need_is_reported_at_the_line_of_that_entry(tmp_path):
    error = load_error(
        tmp_path,
        workflow_text("an-unknown-need-is-reported-at-the-line-of-that-entry"),
    )
    assert error.line == 10
    assert "needs 'lint'" in error.message and "build, test" in error.message


def test_a_cycle_in_needs_is_named(tmp_path):
    error = load_error(
        tmp_path,
        workflow_text("a-cycle-in-needs-is-named"),
    )
    assert "cycle: a -> c -> b -> a" in error.message
    assert error.line == 8  # b's `needs: a` closes the cycle


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("on: push\nname: x\n", 1, "missing required key 'jobs'"),
        ("jobs:\n  a:\n    runs-on: x\n    steps: [{run: echo}]\n", 1, "missing required key 'on'"),
        ("on: push\njobs:\n  a:\n    steps: [{run: echo}]\n", 3, "missing 'runs-on'"),
        ("on: push\njobs:\n  a:\n    runs-on: x\n", 3, "needs 'steps'"),
        ("on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - name: x\n", 6, "neither"),
        ("on: push\njobs:\n  a:\n    runs-on: x\n    need: b\n    steps: [{run: e}]\n", 5, "need"),
        (
            "on: push\njobs:\n  a:\n    runs-on: x\n    strategy:\n      matrix:\n"
            "        os: [a]\n        exclude:\n          - py: 3\n    steps: [{run: e}]\n",
            9,
            "not a matrix key",
        ),
        (
            "on: push\njobs:\n  a:\n    runs-on: x\n    strategy:\n      matrix:\n"
            "        os: ubuntu\n    steps: [{run: e}]\n",
            7,
            "must be a list",
        ),
        (
            "on: push\njobs:\n  a:\n    runs-on: x\n    if: env.X == 'y'\n    steps: [{run: e}]\n",
            5,
            "unrecognized named-value 'env'",
        ),
        (
            "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo ${{ bad( }}\n",
            6,
            "expression",
        ),
        (
            "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout\n",
            6,
            "owner/repo@ref",
        ),
        (
            "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - id: s\n        run: a\n"
            "      - id: s\n        run: b\n",
            8,
            "used twice",
        ),
    ],
)
def test_structural_problems_are_reported_with_their_line(tmp_path, text, line, problem):
    path = tmp_path / "ci.yml"
    path.write_text(text)
    with pytest.raises(WorkflowError) as info:
        load_workflow(path)
    assert problem in info.value.message
    assert info.value.line == line


def test_the_on_key_is_not_mistaken_for_a_boolean(tmp_path):
    workflow = load_workflow(
        write_workflow(
            tmp_path,
            workflow_text("the-on-key-is-not-mistaken-for-a-boolean"),
        )
    )
    assert workflow.name == "Checks" and workflow.order == ["a"]


# -- reports and events -------------------------------------------------------------------------


def test_the_json_report_has_jobs_cells_steps_and_artifacts(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        workflow_text("the-json-report-has-jobs-cells-steps-and-artifacts"),
    )
    data = json.loads(report.to_json())
    assert data["workflow"] == "Shape"
    assert data["status"] == "success"
    assert isinstance(data["seconds"], float)
    job = data["jobs"][0]
    assert (job["id"], job["result"], job["outputs"]) == ("build", "success", {"n": "1"})
    cell = job["cells"][0]
    assert cell["matrix"] == {"n": 1} and cell["name"] == "build (1)"
    step = cell["steps"][0]
    assert {k: step[k] for k in ("name", "id", "status", "outcome", "conclusion", "exit_code")} == {
        "name": "Make",
        "id": "s",
        "status": "success",
        "outcome": "success",
        "conclusion": "success",
        "exit_code": 0,
    }
    assert step["outputs"] == {"n": "1"} and isinstance(step["seconds"], float)
    assert "log" in step
    assert data["artifacts"] == {"a": ["a.txt"]}
    assert data["artifacts_dir"] == str(tmp_path / "artifacts")


def test_long_logs_are_capped_in_the_report(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        workflow_text("long-logs-are-capped-in-the-report"),
    )
    log = steps(report, "noisy")[0].log
    assert len(log) < 70_000 and "omitted" in log
    assert log.startswith("1\n2\n") and log.endswith("39999\n40000")


def test_events_stream_the_run_and_format_as_lines(tmp_path, seed):
    events: list[Event] = []
    run(
        tmp_path,
        seed,
        workflow_text("events-stream-the-run-and-format-as-lines"),
        on_event=events.append,
    )
    kinds = [e.kind for e in events]
    assert kinds == [
        "job_started",
        "step_started",
        "output",
        "step_finished",
        "job_finished",
        "workflow_finished",
    ]
    lines = [format_event(e) for e in events]
    assert lines[1] == "[hello] ▶ Greet"
    assert lines[2] == "[hello]   hello"
    assert lines[3].startswith("[hello] ✓ Greet: success")
    assert lines[4] == "[hello] ✓ job success"
    cell_event = Event("cell_finished", "test", "3.11", status="failure")
    assert format_event(cell_event) == "[test (3.11)] ✗ job failure"


class RecordingRunner(LocalRunner):
    """A LocalRunner whose work folders stay, with a record of their lifecycle."""

    def __init__(self, folder: Path):
        super().__init__()
        self.folder = folder
        self.made: list[Path] = []
        self.prepared: list[Path] = []
        self.released: list[Path] = []

    def new_workdir(self) -> Path:
        path = self.folder / f"work{len(self.made)}"
        path.mkdir()
        self.made.append(path)
        return path

    def prepare(self, workdir: Path) -> None:
        self.prepared.append(workdir)

    def release(self, workdir: Path) -> None:
        self.released.append(workdir)


def test_the_step_runner_owns_the_job_directories(tmp_path, seed):
    workflow = load_workflow(
        write_workflow(tmp_path, workflow_text("the-step-runner-owns-the-job-directories"))
    )
    runner = RecordingRunner(tmp_path)
    report = run_workflow(workflow, runner=runner, workspace_seed=seed)
    made, prepared, released = runner.made, runner.prepared, runner.released
    assert report.status == "success"
    assert prepared == [made[0]]  # once before the one command; checkout runs no command
    assert released == [made[0]]
    assert (made[0] / "workspace" / "made-here").exists()
    assert (made[0] / "workspace" / "src" / "app.py").exists()


def test_local_runner_kills_the_process_group_on_timeout(tmp_path):
    marker = tmp_path / "child-survived"
    script = f"(sleep 1.5; touch {marker}) & sleep 30"
    started = time.monotonic()
    outcome = LocalRunner().run(
        ["bash", "-c", script],
        workdir=tmp_path,
        cwd=None,
        env={},
        timeout=0.3,
        on_output=None,
        allow_network=False,
    )
    assert outcome.status == "timeout" and outcome.exit_code is None
    assert time.monotonic() - started < 5
    time.sleep(1.6)
    assert not marker.exists()


# -- real workflows: runners, events, version files, artifacts, composite actions -------------

FIXTURES = Path(__file__).parent / "fixtures" / "workflows"


def run_fixture(name: str, seed: Path, tmp_path: Path, **kwargs) -> RunReport:
    """Run a trimmed real workflow of tests/fixtures/workflows on `seed`."""
    kwargs.setdefault("artifacts_dir", tmp_path / "artifacts")
    return run_workflow(
        load_workflow(FIXTURES / name), runner=LocalRunner(), workspace_seed=seed, **kwargs
    )


def cells_of(report: RunReport, job: str) -> dict[str, str]:
    return {cell.name: cell.status for cell in report.job(job).cells}


@pytest.mark.parametrize(
    ("runs_on", "system"),
    [
        ("windows-latest", "Windows"),
        ("windows-11-arm", "Windows"),
        ("macOS-latest", "macOS"),
        ("macos-14", "macOS"),
        (["self-hosted", "Windows", "X64"], "Windows"),
        ({"group": "big-runners", "labels": ["macos-15-xlarge"]}, "macOS"),
        ("ubuntu-latest", None),
        ("ubuntu-24.04-arm", None),
        (["self-hosted", "linux"], None),
        ({"group": "gpu-runners"}, None),
    ],
)
def test_runner_os_reads_labels_lists_and_groups(runs_on, system):
    assert runner_os(runs_on) == system


def test_a_typer_matrix_runs_only_its_linux_cells_and_says_why_the_others_are_skipped(
    tmp_path, seed
):
    (seed / ".python-version").write_text(f"{PY}\n")
    events: list[Event] = []
    report = run_fixture(
        "typer-test.yml",
        seed,
        tmp_path,
        trigger=Trigger(event="push", ref="refs/heads/master"),
        on_event=events.append,
    )
    assert report.status == "success"
    assert cells_of(report, "test") == {
        "test (ubuntu-latest, 3.14, highest)": "success",
        "test (windows-latest, 3.14, highest)": "skipped",
        "test (macos-latest, 3.14, highest)": "skipped",
        "test (ubuntu-latest, 3.10, lowest-direct)": "success",
        "test (macos-latest, 3.11, highest)": "skipped",
        "test (macos-latest, 3.12, lowest-direct)": "skipped",
        "test (windows-latest, 3.13, highest)": "skipped",
    }
    skipped = [c for c in report.job("test").cells if c.status == "skipped"]
    assert skipped[0].message == "runs-on windows-latest: only Linux runs here"
    assert skipped[1].message == "runs-on macos-latest: only Linux runs here"
    assert all(step.status == "skipped" and not step.log for c in skipped for step in c.steps)
    assert report.skipped_cells == 5
    assert any("5 of 9 job runs were skipped" in note for note in report.notes)
    assert skipped_summary(report).startswith("; 5 of 9 job runs skipped")
    # runner.os is Linux only where a cell ran: no Windows or macOS coverage file exists.
    assert sorted(report.artifacts) == ["coverage-Linux-3.10", "coverage-Linux-3.14"]
    combined = steps(report, "coverage-combine")[-1].log.split()
    assert sorted(n for n in combined if n.startswith(".coverage")) == [
        ".coverage.Linux-py3.10",
        ".coverage.Linux-py3.14",
    ]
    assert report.job("test").result == "success"  # from the cells that ran
    assert steps(report, "check")[0].log == "needs success success"
    lines = [format_event(e) for e in events]
    assert (
        "[test (windows-latest, 3.14, highest)] - job skipped (runs-on windows-latest: only "
        "Linux runs here)"
    ) in lines


def test_a_job_that_runs_only_on_windows_is_skipped_and_so_are_the_jobs_that_need_it(
    tmp_path, seed
):
    report = run(
        tmp_path,
        seed,
        workflow_text(
            "a-job-that-runs-only-on-windows-is-skipped-and-so-are-the-jobs-that-need-it"
        ),
    )
    windows = report.job("windows")
    assert windows.result == "skipped"
    assert windows.message == "runs-on [self-hosted, windows]: only Linux runs here"
    assert windows.cells[0].steps[0].status == "skipped"
    assert report.job("package").result == "skipped"
    assert "needed jobs did not succeed: windows (skipped)" in report.job("package").message
    assert steps(report, "report")[0].log == "windows was skipped on Linux"
    assert report.status == "success" and report.skipped_cells == 1


def test_blacks_matrix_over_four_runners_and_its_job_if_for_internal_pull_requests(tmp_path, seed):
    report = run_fixture("black-test.yml", seed, tmp_path)
    cells = cells_of(report, "test")
    assert len(cells) == 10 and report.skipped_cells == 7
    ran = sorted(name for name, status in cells.items() if status == "success")
    assert ran == [
        "test (3.10, ubuntu-latest)",
        "test (3.11, ubuntu-latest)",
        "test (pypy3.11-v7.3.22, ubuntu-latest)",
    ]
    assert cells["test (3.11, macOS-latest)"] == "skipped"
    assert cells["test (3.11, windows-11-arm)"] == "skipped"
    pypy = next(
        c for c in report.job("test").cells if c.name == "test (pypy3.11-v7.3.22, ubuntu-latest)"
    )
    assert [s.status for s in pypy.steps] == ["skipped", "success"]
    assert pypy.steps[1].log == "tox -e ci-pypy3 on Linux"
    # A pull request from the repository itself: the job's if: leaves it to the push.
    pull = run_fixture(
        "black-test.yml", seed, tmp_path, trigger=Trigger(event="pull_request", changed=None)
    )
    assert pull.job("test").result == "skipped"
    assert "if condition was false" in pull.job("test").message


# -- events: on:, filters, refs -------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        # GitHub's "Filter pattern cheat sheet", patterns to match branches and tags
        ("feature/*", ["feature/my-branch", "feature/your-branch"], ["feature/a/b"]),
        ("feature/**", ["feature/beta-a/my-branch", "feature/mona/the/octocat"], ["feat/x"]),
        ("main", ["main"], ["main2", "xmain"]),
        ("*", ["main", "releases"], ["releases/1"]),
        ("**", ["all/the/branches", "every/tag"], []),
        ("*feature", ["mona-feature", "feature", "ver-10-feature"], ["feature-x"]),
        ("v2*", ["v2", "v2.0", "v2.9"], ["v3"]),
        ("v[12].[0-9]+.[0-9]+", ["v1.10.1", "v2.0.0"], ["v3.0.0", "v1.x.1"]),
        # patterns to match file paths
        ("*.jsx?", ["page.js", "page.jsx"], ["page.jsxx", "a/page.js"]),
        ("**.js", ["index.js", "js/index.js", "src/js/app.js"], ["index.json"]),
        ("docs/*", ["docs/README.md", "docs/file.txt"], ["docs/mona/octocat.txt"]),
        ("docs/**/*.md", ["docs/README.md", "docs/mona/hello-world.md"], ["docs/a.txt"]),
        ("**/docs/**", ["docs/hello.md", "dir/docs/my-file.txt"], ["docsx/a"]),
        ("**/README.md", ["README.md", "js/README.md"], ["README.mdx"]),
        ("**/*src/**", ["a/src/app.js", "my-src/code/js/app.js"], ["src.js"]),
        ("**/migrate-*.sql", ["migrate-10909.sql", "db/sept/migrate-v1.sql"], ["m.sql"]),
        ("\\!file", ["!file"], ["file"]),
    ],
)
def test_filter_patterns_follow_githubs_cheat_sheet(pattern, matches, misses):
    compiled = [compile_pattern(pattern)]
    assert [selected(compiled, name) for name in matches] == [True] * len(matches)
    assert [selected(compiled, name) for name in misses] == [False] * len(misses)


def test_later_patterns_override_earlier_ones_as_the_cheat_sheet_says():
    two = [compile_pattern(p) for p in ("*.md", "!README.md")]
    assert [selected(two, n) for n in ("hello.md", "README.md", "docs/hello.md")] == [
        True,
        False,
        False,
    ]
    three = [*two, compile_pattern("README*")]
    assert [selected(three, n) for n in ("hello.md", "README.md", "README.doc")] == [True] * 3


@pytest.mark.parametrize(
    ("on", "line", "problem"),
    [
        ("on: pushh", 1, "'pushh' is not an event that triggers workflows (did you mean 'push'?)"),
        ("on: [push, pull-request]", 1, "did you mean 'pull_request'?"),
        ("on:\n  push:\n    branches: ['[]']", 3, "empty brackets"),
        ("on:\n  push:\n    tags: ['v[0-9']", 3, "without its closing ']'"),
        ("on:\n  push:\n    branches: ['v[a-9]']", 3, "ranges in [] can only be"),
        ("on:\n  push:\n    branches: [main]\n    branches-ignore: [dev]", 4, "cannot use both"),
        ("on:\n  pull_request:\n    paths: main", 3, None),
        ("on:\n  schedule:\n    - cron: '0 6 * *'", 3, "needs five fields"),
        ("on:\n  push: [main]", 2, "on.push must be a mapping"),
    ],
)
def test_bad_on_values_are_reported_with_their_line(tmp_path, on, line, problem):
    path = tmp_path / "ci.yml"
    path.write_text(f"{on}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps: [{{run: echo}}]\n")
    if problem is None:  # a single pattern instead of a list is accepted
        assert load_workflow(path).on["pull_request"] == {"paths": "main"}
        return
    with pytest.raises(WorkflowError) as caught:
        load_workflow(path)
    assert caught.value.line == line
    assert problem in caught.value.message


@pytest.mark.parametrize(
    ("on", "event", "triggered"),
    [
        ("push", "push", True),
        ("push", "pull_request", False),
        ("[push, workflow_dispatch]", "workflow_dispatch", True),
        ("{pull_request: null, schedule: [{cron: '0 0 * * 1'}]}", "schedule", True),
        ("{pull_request: {types: [closed]}}", "pull_request", False),
        ("{pull_request: {types: [opened, synchronize]}}", "pull_request", True),
        ("{release: {types: [published]}}", "release", True),
    ],
)
def test_on_as_a_name_a_list_or_a_mapping(tmp_path, on, event, triggered):
    path = tmp_path / "ci.yml"
    path.write_text(
        f"on: {on}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps: [{{run: echo}}]\n"
    )
    workflow = load_workflow(path)
    assert decide(workflow.on, Trigger(event=event)).triggered is triggered


def test_typers_events_decide_whether_it_runs_and_name_the_filter_when_not(tmp_path, seed):
    workflow = load_workflow(FIXTURES / "typer-test.yml")
    path = str(FIXTURES / "typer-test.yml")
    main = decide(workflow.on, Trigger(ref="refs/heads/main"), workflow.on_lines, path)
    assert not main.triggered
    assert main.reason == (f"{path}:10: branch 'main' does not match on.push.branches [master]")
    assert decide(workflow.on, Trigger(ref="refs/heads/master")).triggered
    assert decide(workflow.on, Trigger(event="schedule")).triggered
    assert decide(workflow.on, Trigger(event="pull_request")).triggered
    dispatch = decide(workflow.on, Trigger(event="workflow_dispatch"))
    assert (
        dispatch.reason
        == "on: lists pull_request, push, schedule; workflow_dispatch is not among them"
    )
    tag = decide(workflow.on, Trigger(ref="refs/tags/0.20.0"), workflow.on_lines, path)
    assert "has branch filters and no tag filter, so a push of tag '0.20.0'" in tag.reason
    report = run_fixture("typer-test.yml", seed, tmp_path, trigger=Trigger(ref="refs/heads/main"))
    assert (report.status, report.jobs) == (NOT_TRIGGERED, [])
    assert report.message == main.reason
    assert exit_code(report) == NOT_TRIGGERED_EXIT == 3


def test_attrs_runs_for_any_tag_and_for_main_but_not_another_branch():
    workflow = load_workflow(FIXTURES / "attrs-ci.yml")
    assert decide(workflow.on, Trigger(ref="refs/tags/25.4.0")).triggered
    assert decide(workflow.on, Trigger(ref="refs/heads/main")).triggered
    feature = decide(workflow.on, Trigger(ref="refs/heads/feature/x"), workflow.on_lines)
    assert feature.reason == "line 12: branch 'feature/x' does not match on.push.branches [main]"
    assert decide(workflow.on, Trigger(event="merge_group")).triggered


def git(folder: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(folder), *args],
        check=True,
        capture_output=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "a",
            "GIT_AUTHOR_EMAIL": "a@example.com",
            "GIT_COMMITTER_NAME": "a",
            "GIT_COMMITTER_EMAIL": "a@example.com",
        },
    )


def commit(folder: Path, files: dict[str, str], message: str = "change") -> None:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", message)


def test_blacks_path_filters_match_the_files_of_the_last_commit(tmp_path):
    repo = tmp_path / "black"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, {"src/black/__init__.py": "x = 1\n", "docs/index.md": "# Black\n"})
    workflow = load_workflow(FIXTURES / "black-test.yml")
    first = git_trigger(repo)
    assert first.ref == "refs/heads/main" and len(first.sha) == 40 and first.before == ""
    assert sorted(first.changed) == ["docs/index.md", "src/black/__init__.py"]
    assert decide(workflow.on, first).triggered
    commit(repo, {"docs/index.md": "# Black, the formatter\n"})
    docs = git_trigger(repo)
    assert docs.changed == ("docs/index.md",) and docs.before == first.sha
    why = decide(workflow.on, docs, workflow.on_lines).reason
    assert why.startswith("line 9: none of the 1 changed file(s) matches on.push.paths [")
    git(repo, "checkout", "-q", "-b", "fix/windows")
    commit(repo, {"tests/test_format.py": "def test(): pass\n"})
    fix = git_trigger(repo)
    assert fix.ref == "refs/heads/fix/windows" and decide(workflow.on, fix).triggered
    # A pull request targets main by default, and comes from the current branch.
    pull = git_trigger(repo, "pull_request")
    assert (pull.ref, pull.head_ref) == ("refs/heads/main", "fix/windows")
    assert git_trigger(repo, "push", "release").ref == "refs/heads/release"


def test_path_filters_outside_a_git_repository_are_reported_not_passed_silently(tmp_path, seed):
    workflow = load_workflow(FIXTURES / "black-test.yml")
    trigger = git_trigger(seed)
    assert trigger.changed is None and trigger.ref == "refs/heads/main"
    decision = decide(workflow.on, trigger)
    assert decision.triggered
    assert decision.notes == [
        f"on.push.paths was not evaluated: there is no list of changed files ({seed}: not a "
        "git repository), so the workflow runs as if the filter matched"
    ]
    events: list[Event] = []
    report = run_fixture("black-test.yml", seed, tmp_path, trigger=trigger, on_event=events.append)
    assert report.notes[0] == decision.notes[0]
    assert format_event(events[0]) == f"note: {decision.notes[0]}"


def test_a_workflow_with_only_workflow_call_says_it_is_reusable(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        workflow_text("a-workflow-with-only-workflow-call-says-it-is-reusable"),
    )
    assert report.status == NOT_TRIGGERED and exit_code(report) == 3
    assert "this is a reusable workflow (its only event is workflow_call)" in report.message
    assert "jobs.<id>.uses" in report.message
    called = decide({"workflow_call": None, "push": None}, Trigger(event="workflow_call"))
    assert (
        not called.triggered and "is not an event that can be triggered on its own" in called.reason
    )


def test_the_github_context_follows_the_event_and_the_ref(tmp_path, seed):
    text = workflow_text("the-github-context-follows-the-event-and-the-ref")

    def shown(trigger: Trigger) -> list[str]:
        report = run(tmp_path, seed, text, trigger=trigger)
        return [part.strip() for part in steps(report, "show")[0].log.split("|")]

    assert shown(Trigger(ref="refs/tags/v1.2")) == [
        "push",
        "refs/tags/v1.2",
        "v1.2",
        "tag",
        "",
        "",
        "",
        "",
        "",
        "",
        "v1.2",
    ]
    assert shown(Trigger(event="pull_request", ref="refs/heads/main", head_ref="fix")) == [
        "pull_request",
        "refs/pull/1/merge",
        "1/merge",
        "branch",
        "main",
        "fix",
        "main",
        "",
        "",
        "",
        "1/merge",
    ]
    assert shown(Trigger(event="workflow_dispatch", ref="refs/heads/dev")) == [
        "workflow_dispatch",
        "refs/heads/dev",
        "dev",
        "branch",
        "",
        "",
        "",
        "true",
        "info",
        "",
        "dev",
    ]
    assert shown(Trigger(event="schedule"))[0::9] == ["schedule", "0 6 * * 1"]


# -- setup-python's python-version-file ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "versions"),
    [
        (".python-version", "# pinned\n3.11\n\n3.10/envs/tools\n", ["3.11", "3.10"]),
        (".python-version-default", "3.14\n", ["3.14"]),
        (".tool-versions", "nodejs 20.11.0\npython 3.11.7\npython 3.12.1\n", ["3.11.7"]),
        (".tool-versions", "# python 3.9\npython v3.12.1\n", ["3.12.1"]),
        (".tool-versions", "python 3.11.7 3.10.13\n", []),  # setup-python's regex wants one
        ("pyproject.toml", '[project]\nname = "click"\nrequires-python = ">=3.10"\n', [">=3.10"]),
        ("pyproject.toml", '[project]\nrequires-python = ">=3.9, <4"\n', [">=3.9  <4"]),
        ("pyproject.toml", '[project]\nrequires-python = "~=3.10"\n', ["~=3.10"]),
        ("pyproject.toml", '[project]\nrequires-python = ">=3.9,!=3.9.1"\n', []),
        ("pyproject.toml", '[project]\nname = "x"\n', []),
        ("pyproject.toml", '[tool.poetry.dependencies]\npython = "^3.9"\n', ["^3.9"]),
        ("Pipfile", '[requires]\npython_version = "3.11"\n', ["3.11"]),
    ],
)
def test_python_version_files_are_read_as_setup_python_reads_them(name, text, versions):
    assert python_versions_from_file(name, text)[0] == versions


@pytest.mark.parametrize(
    ("spec", "version", "ok"),
    [
        (">3.10", "3.10.5", False),  # node-semver: above every 3.10.x
        (">3.10", "3.11.0", True),
        ("<=3.11", "3.11.7", True),
        ("<3.11", "3.11.0", False),
        ("~=3.10", "3.11.7", False),  # setup-python reads ~= as ~ (3.10.x), not as PEP 440
        ("==3.11.*", "3.11.7", True),
        (">=3.9  <4", "3.11.7", True),
        ("^3.12 || ~3.11", "3.11.7", True),
        ("^3.12 || 3.10", "3.11.7", False),
    ],
)
def test_semver_ranges_from_version_files(spec, version, ok):
    assert python_version_matches(spec, version) is ok


def test_click_reads_its_python_version_from_pyproject_toml(tmp_path, seed):
    (seed / "pyproject.toml").write_text(
        '[project]\nname = "click"\nversion = "8.3.0"\nrequires-python = ">=3.10"\n'
    )
    report = run_fixture("click-tests.yaml", seed, tmp_path)
    setup = steps(report, "typing")[1]
    assert setup.status == "success", setup.message
    assert "Extracted >=3.10 from pyproject.toml" in setup.log
    assert steps(report, "typing")[2].log == f"typing with {PY_FULL}"
    assert cells_of(report, "tests") == {
        "3.14": "success",
        "Windows": "skipped",
        "Mac": "skipped",
        "3.11": "success",
    }
    (seed / "pyproject.toml").write_text('[project]\nrequires-python = ">=3.99"\n')
    too_new = steps(run_fixture("click-tests.yaml", seed, tmp_path), "typing")[1]
    assert too_new.status == "failure"
    assert too_new.message.startswith(
        "python-version '>=3.99' (from pyproject.toml) was requested, but the available Python"
    )


def test_typers_python_version_file_names_the_version_it_asked_for(tmp_path, seed):
    (seed / ".python-version").write_text("2.7\n")
    report = run_fixture("typer-test.yml", seed, tmp_path, trigger=Trigger(event="schedule"))
    setup = steps(report, "coverage-combine")[1]
    assert setup.status == "failure"
    assert "python-version '2.7' (from .python-version) was requested" in setup.message
    assert report.job("coverage-combine").result == "failure"
    assert steps(report, "check")[0].log == "needs failure success"  # if: always()
    (seed / ".python-version").unlink()
    again = run_fixture(
        "typer-test.yml",
        seed,
        tmp_path,
        trigger=Trigger(event="schedule"),
        artifacts_dir=tmp_path / "again",
    )
    missing = steps(again, "coverage-combine")[1]
    assert missing.message == "The specified python version file at: .python-version doesn't exist."


def test_setup_python_without_a_version_reads_python_version_or_uses_the_one_on_path(
    tmp_path, seed
):
    text = workflow_text(
        "setup-python-without-a-version-reads-python-version-or-uses-the-one-on-path"
    )
    bare = steps(run(tmp_path, seed, text), "py")[1]
    assert bare.status == "success"
    assert "Attempting to find '.python-version' file" in bare.log
    assert "The `python-version` input is not set." in bare.log
    (seed / ".python-version").write_text("3.0\n")
    pinned = steps(run(tmp_path, seed, text), "py")[1]
    assert pinned.status == "failure" and "'3.0' (from .python-version)" in pinned.message


# -- download-artifact v4: pattern and merge-multiple -----------------------------------------


def test_attrs_combines_coverage_with_pattern_and_merge_multiple(tmp_path, seed):
    (seed / ".python-version-default").write_text(f"{PY}\n")
    report = run_fixture("attrs-ci.yml", seed, tmp_path)
    assert report.status == "success"
    assert sorted(report.artifacts) == [
        "coverage-data-3.10",
        "coverage-data-3.11",
        "coverage-data-3.12",
    ]
    download, combine = steps(report, "coverage")
    assert "Filtering artifacts by pattern 'coverage-data-*'" in download.log
    assert "Total of 3 artifact(s) downloaded" in download.log
    assert combine.log.split() == [".coverage.3.10", ".coverage.3.11", ".coverage.3.12"]
    assert steps(report, "lint")[1].status == "success"
    assert steps(report, "required-checks-pass")[0].log == "success success"


DOWNLOADS = workflow_text("downloads")


def test_download_artifact_patterns_folders_and_merges_as_v4_and_v5_do(tmp_path, seed):
    report = run(tmp_path, seed, DOWNLOADS)
    found = steps(report, "down")[6].log.split()
    assert found == [
        "./by-id/wheel-mac/wheel-mac.txt",  # v4: a folder of its own, as for a pattern
        "./everything/sdist/sdist.txt",
        "./everything/wheel-linux/wheel-linux.txt",
        "./everything/wheel-mac/wheel-mac.txt",
        "./merged/sdist.txt",
        "./merged/wheel-mac.txt",
        "./v4-one/sdist/sdist.txt",  # v4: a folder per artifact found by pattern, even one
        "./v4/wheel-linux/wheel-linux.txt",
        "./v4/wheel-mac/wheel-mac.txt",
        "./v5-one/sdist.txt",  # v5: a single match goes straight into path
    ]
    both, bad_bool, missing = steps(report, "down")[7:]
    assert both.message == (
        "Inputs 'name' and 'artifact-ids' cannot be used together. Please specify only one."
    )
    assert 'does not meet YAML 1.2 "Core Schema" specification: merge-multiple' in bad_bool.message
    assert missing.message == "Unable to download artifact(s): Artifact 'wheel-windows' not found"


@pytest.mark.parametrize(
    ("pattern", "name", "hit"),
    [
        ("coverage-data-*", "coverage-data-3.10", True),
        ("coverage-*", "html-report", False),
        ("{sdist,wheel-*}", "wheel-mac", True),
        ("!wheel-*", "sdist", True),
        ("*", ".hidden", False),
        (".*", ".hidden", True),
        ("wheel-[lm]*", "wheel-linux", True),
    ],
)
def test_artifact_patterns_match_as_minimatch_does(pattern, name, hit):
    assert artifact_pattern_matches(pattern, name) is hit


# -- local composite actions --------------------------------------------------------------------


def datasette_seed(tmp_path: Path) -> Path:
    """The trimmed datasette repository with a tiny SQLite amalgamation next to it."""
    import shutil
    import zipfile

    seed = tmp_path / "datasette"
    shutil.copytree(FIXTURES / "datasette", seed)
    with zipfile.ZipFile(seed / "sqlite-amalgamation-3460000.zip", "w") as archive:
        archive.writestr(
            "sqlite-amalgamation-3460000/sqlite3.c",
            "int sqlite3_libversion_number(void) { return 3046000; }\n",
        )
    return seed


def test_datasettes_composite_action_runs_with_its_inputs_and_outputs(tmp_path):
    seed = datasette_seed(tmp_path)
    report = run_workflow(
        load_workflow(seed / ".github/workflows/test-sqlite-support.yml"),
        runner=LocalRunner(),
        workspace_seed=seed,
        artifacts_dir=tmp_path / "artifacts",
    )
    checkout, action, built, library_path = steps(report, "test")
    assert action.status == "success", action.message + action.log
    assert action.name == "Set up SQLite 3.46"
    location = action.outputs["sqlite-location"]
    assert location.endswith("/_runner/temp/sqlite-versions/build/3.46.0")
    assert built.log == f"built in {location}"
    # The action's own steps, each with its log: the script found by $GITHUB_ACTION_PATH.
    mkdir, build = action.steps
    assert (mkdir.status, build.status, build.id) == ("success", "success", "build")
    assert "Downloading SQLite 3.46.0 amalgamation from file://" in build.log
    assert f"Compiling SQLite 3.46.0 to {location}/libsqlite3.so.0" in build.log
    assert '✓ Run mkdir -p "$RUNNER_TEMP/sqlite-versions/downloads": success' in action.log
    # Its GITHUB_ENV line sets LD_LIBRARY_PATH, which Triops refuses (SECURITY.md).
    assert "LD_LIBRARY_PATH cannot be set through GITHUB_ENV" in build.log
    assert library_path.log == "LD_LIBRARY_PATH=unset"


def composite(tmp_path: Path, seed: Path, action: str, workflow: str, **kwargs) -> RunReport:
    folder = seed / ".github" / "actions" / "greet"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "action.yml").write_text(textwrap.dedent(action).lstrip())
    return run(tmp_path, seed, workflow, **kwargs)


GREET = """
    name: Greet
    description: Say hello
    inputs:
      who:
        description: whom to greet
        required: true
      greeting:
        description: the word
        default: "Hello from ${{ github.event_name }}"
      old:
        description: an input on its way out
        deprecationMessage: use greeting
    outputs:
      said:
        description: what was said
        value: ${{ steps.say.outputs.line }}
    runs:
      using: composite
      steps:
        - id: say
          shell: bash
          run: |
            echo "${{ inputs.greeting }}, ${{ inputs.who }}! ($MOOD)"
            echo "line=${{ inputs.greeting }} ${{ inputs.who }}" >> "$GITHUB_OUTPUT"
            echo "GREETED=${{ inputs.who }}" >> "$GITHUB_ENV"
        - if: failure()
          shell: bash
          run: echo never
        - shell: python
          run: |
            import os
            print("action path", os.environ["GITHUB_ACTION_PATH"].endswith("greet"))
"""


def test_a_composite_action_gets_inputs_defaults_env_and_maps_its_outputs(tmp_path, seed):
    report = composite(
        tmp_path,
        seed,
        GREET,
        workflow_text("a-composite-action-gets-inputs-defaults-env-and-maps-its-outputs"),
    )
    _, greet, after, bare = steps(report, "hi")
    assert greet.status == "success", greet.message
    said, skipped, path = greet.steps
    assert said.log == "Hello from push, Mona! (cheerful)"
    assert skipped.status == "skipped" and path.log == "action path True"
    assert greet.outputs == {"said": "Hello from push Mona"}
    assert after.log == "Hello from push Mona / Mona"  # GITHUB_ENV reaches the job's steps
    assert "Warning: Unexpected input(s) 'colour', valid inputs are ['who', 'greeting', 'old']" in (
        greet.log
    )
    assert "Warning: Input 'old' has been deprecated with message: use greeting" in greet.log
    # A required input left out only warns, as on GitHub.
    assert bare.status == "success"
    assert "input 'who' is required by ./.github/actions/greet/action.yml but was not" in bare.log
    assert bare.steps[0].log == "Hello from push, ! ()"


@pytest.mark.parametrize(
    ("action", "problem"),
    [
        (
            "runs:\n  using: composite\n  steps:\n    - run: echo hi\n",
            "./.github/actions/greet/action.yml:4: error: step 1 of the action runs a script "
            "without shell:",
        ),
        (
            "runs:\n  using: node20\n  main: index.js\n",
            "./.github/actions/greet/action.yml:2: error: runs.using is 'node20': only "
            "composite actions",
        ),
        ("runs: [oops\n", "./.github/actions/greet/action.yml:2: error: YAML syntax error"),
        (
            "name: x\nruns:\n  using: composite\n  steps:\n    - uses: ./.github/actions/greet\n",
            "Composite action depth exceeded max depth 9",
        ),
    ],
)
def test_composite_actions_that_cannot_run_say_why(tmp_path, seed, action, problem):
    report = composite(
        tmp_path,
        seed,
        action,
        workflow_text("composite-actions-that-cannot-run-say-why"),
    )
    step = steps(report, "hi")[1]
    assert step.status == "failure"
    assert problem in step.message + " ".join(s.message for s in step.steps)


def test_a_local_action_missing_or_behind_a_link_is_refused(tmp_path, seed):
    elsewhere = tmp_path / "elsewhere"  # a real action outside the workspace
    elsewhere.mkdir()
    (elsewhere / "action.yml").write_text(
        "runs:\n  using: composite\n  steps:\n    - {shell: bash, run: echo FOLLOWED}\n"
    )
    text = f"""
        on: push
        jobs:
          hi:
            runs-on: ubuntu-latest
            steps:
              - uses: ./.github/actions/greet
              - if: always()
                run: |
                  mkdir -p .github/actions/file .github/actions/fifo .github/actions/big
                  ln -s {elsewhere} .github/actions/greet
                  ln -s {elsewhere}/action.yml .github/actions/file/action.yml
                  mkfifo .github/actions/fifo/action.yml
                  head -c 1100000 /dev/zero | tr '\\0' '#' > .github/actions/big/action.yml
              - if: always()
                uses: ./.github/actions/greet
              - if: always()
                uses: ./.github/actions/file
              - if: always()
                uses: ./.github/actions/fifo
              - if: always()
                uses: ./.github/actions/big
              - if: always()
                uses: ./../outside
    """
    report = run(tmp_path, seed, text)
    missing, plant, folder, file, fifo, big, outside = steps(report, "hi")
    assert plant.status == "success", plant.log
    assert missing.message == (
        "Can't find 'action.yml' or 'action.yaml' under './.github/actions/greet'. Did you "
        "forget to run actions/checkout before running your local action?"
    )
    assert "'workspace/.github/actions/greet' is a link or not a folder" in folder.message
    assert "'workspace/.github/actions/file/action.yml' is a link" in file.message
    assert "is not a regular file" in fifo.message
    assert big.message == "./.github/actions/big/action.yml is larger than 1,048,576 bytes"
    assert outside.message == "uses: ./../outside is outside the workspace"
    assert "FOLLOWED" not in logs(report, "hi")


# -- network errors ------------------------------------------------------------------------------

PIP_OFFLINE = (
    "WARNING: Retrying (Retry(total=0, connect=None, read=None, redirect=None, status=None)) "
    "after connection broken by 'NewConnectionError('<pip._vendor.urllib3.connection."
    "HTTPSConnection object at 0x7f>: Failed to establish a new connection: [Errno -3] "
    "Temporary failure in name resolution')': /simple/requests/"
)


def test_a_step_that_failed_on_the_network_gets_one_hint_line(tmp_path, seed):
    script = seed / "offline.sh"
    script.write_text(f'echo "{PIP_OFFLINE}"\necho "ERROR: No matching distribution"\nexit 1\n')
    text = workflow_text("a-step-that-failed-on-the-network-gets-one-hint-line")
    report = run(tmp_path, seed, text)
    pip, other = steps(report, "deps")[1:]
    assert pip.log.count("Hint: this looks like a network error") == 1
    assert pip.log.endswith("--allow-network` (only for a workflow you trust).")
    assert pip.message == (
        "Process completed with exit code 1. Hint: this looks like a network error, and the "
        "sandbox has no network. Where this machine has one, run it with `triops ci run "
        "--allow-network` (only for a workflow you trust)."
    )
    assert "Hint" not in other.log + other.message
    lab = steps(run(tmp_path, seed, text, network_hint=LAB_NETWORK_HINT), "deps")[1]
    assert lab.message.endswith(
        "labs run offline, so a step cannot download anything; use "
        "the tools the lab's environment already provides."
    )
    allowed = steps(run(tmp_path, seed, text, allow_network=True), "deps")[1]
    assert "Hint" not in allowed.log + allowed.message


# -- temporary folders -----------------------------------------------------------------------


def test_a_run_without_an_artifacts_folder_leaves_nothing_in_the_temp_folder(
    tmp_path, seed, monkeypatch
):
    import tempfile

    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))

    def triops_entries() -> list[str]:
        return sorted(p.name for p in private.iterdir() if p.name.startswith("triops-"))

    before = triops_entries()
    report = run(tmp_path, seed, DOWNLOADS, artifacts_dir=None)
    assert before == [] and triops_entries() == []
    # The artifacts existed while the run needed them.
    assert steps(report, "down")[6].log.startswith("./by-id/wheel-mac/wheel-mac.txt")
    assert report.artifacts_dir == ""
    kept = run(tmp_path, seed, DOWNLOADS, artifacts_dir=tmp_path / "kept")
    assert kept.artifacts_dir == str(tmp_path / "kept")
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == [
        "sdist",
        "wheel-linux",
        "wheel-mac",
    ]


# -- the command line: environment problems, temp folders, the sandbox ---------------------

REPO = Path(__file__).resolve().parents[1]


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300):
    return subprocess.run(
        [sys.executable, "-m", "triops.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


def one_error_line(result) -> str:
    """The single line a command printed for an environment problem (exit 2, no traceback)."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


HELLO = workflow_text("hello")


@pytest.fixture
def lab_files(tmp_path) -> Path:
    folder = tmp_path / "lab"
    assert cli("lab", "reset", "ci-build", "--dir", str(folder)).returncode == 0
    return folder


@pytest.mark.usefixtures("root_required")
@pytest.mark.parametrize("command", ["ci run", "lab run", "lab check", "sandbox run"])
def test_a_sandbox_root_the_pool_cannot_traverse_is_one_line_and_exit_2(
    tmp_path, lab_files, command
):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    workflow = tmp_path / "ci.yml"
    workflow.write_text(HELLO)
    args = {
        "ci run": ["ci", "run", str(workflow), "--dir", str(tmp_path)],
        "lab run": ["lab", "run", "ci-build", "--dir", str(lab_files)],
        "lab check": ["lab", "check", "ci-build", "--dir", str(lab_files)],
        "sandbox run": ["sandbox", "run", "--", "true"],
    }[command]
    result = cli(*args, env={"TRIOPS_SANDBOX_ROOT": str(private / "sandbox")})
    assert one_error_line(result) == (
        f"error: The sandbox users cannot reach {private / 'sandbox'}: {private} is not "
        "traversable by others. Set TRIOPS_SANDBOX_ROOT to a folder under /tmp or /var/tmp."
    )


@pytest.mark.usefixtures("root_required")
@pytest.mark.parametrize("command", ["lab run", "lab check"])
def test_a_missing_labs_venv_is_one_line_and_exit_2(tmp_path, lab_files, command):
    result = cli(
        *command.split(),
        "ci-build",
        "--dir",
        str(lab_files),
        env={"TRIOPS_LABS_VENV": str(tmp_path / "no-venv")},
    )
    assert one_error_line(result) == (
        f"error: The labs' tool environment is missing at {tmp_path / 'no-venv'}: run "
        "`make install`."
    )


def test_an_unreadable_workflow_is_one_line_and_exit_2(tmp_path):
    fifo = tmp_path / "ci.yml"
    os.mkfifo(fifo)  # opening it for reading would block forever
    line = one_error_line(cli("ci", "run", str(fifo), "--dir", str(tmp_path), timeout=60))
    assert line == f"{fifo}:1: error: cannot read the workflow: not a regular file"
    folder = one_error_line(cli("ci", "run", str(tmp_path), "--dir", str(tmp_path)))
    assert folder == f"{tmp_path}:1: error: cannot read the workflow: not a regular file"
    missing = one_error_line(cli("ci", "run", str(tmp_path / "none.yml"), "--dir", str(tmp_path)))
    assert missing.endswith("cannot read the workflow: No such file or directory")
    nowhere = one_error_line(cli("ci", "run", str(fifo), "--dir", str(tmp_path / "nowhere")))
    assert (
        nowhere == f"error: {tmp_path / 'nowhere'} is not a folder to run the workflow on (--dir)"
    )
    assert one_error_line(cli("ci", "run", str(fifo), "--event", "pushed")) == (
        "error: unknown event 'pushed' (for example push, pull_request, workflow_dispatch, "
        "schedule)"
    )


@pytest.mark.usefixtures("root_required")
def test_all_sandbox_uids_busy_is_one_line_and_exit_2(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from triops import cli as cli_module
    from triops.cli import app
    from triops.labs.sandbox import Sandbox

    root = Path("/tmp") / f"triops-test-busy-{tmp_path.name}"
    uids = range(61960, 61961)  # one UID, apart from every other test's pool
    holder = Sandbox(root=root / "holder", uids=uids)
    workflow = tmp_path / "ci.yml"
    workflow.write_text(HELLO)
    monkeypatch.setattr(cli_module, "_sandbox", lambda: Sandbox(root=root / "cli", uids=uids))
    try:
        holder.workdir()  # takes the only UID
        result = CliRunner().invoke(app, ["ci", "run", str(workflow), "--dir", str(tmp_path)])
    finally:
        holder.close()
        import shutil

        shutil.rmtree(root, ignore_errors=True)
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "error: All 1 sandbox slots are in use; try again when a lab run ends." in result.output
    assert "Traceback" not in result.output


@pytest.mark.usefixtures("sandbox_required")
def test_ci_run_leaves_no_temporary_folder_and_hints_at_the_network(tmp_path):
    private = Path("/tmp") / f"triops-test-tmpdir-{tmp_path.name}"
    private.mkdir(mode=0o711)
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "ci.yml").write_text(
        textwrap.dedent(DOWNLOADS)
        + "  fetch:\n"
        + "    runs-on: ubuntu-latest\n"
        + "    steps:\n"
        + "      - run: curl -sS https://www.sqlite.org/ -o /dev/null\n"
    )
    env = {"TMPDIR": str(private), "TRIOPS_SANDBOX_ROOT": str(Path("/tmp") / "triops-sandbox")}
    try:
        before = sorted(p.name for p in private.iterdir())
        result = cli("ci", "run", "ci.yml", "--dir", str(repo), env=env)
        after = sorted(p.name for p in private.iterdir())
    finally:
        import shutil

        shutil.rmtree(private, ignore_errors=True)
    assert before == after == []
    assert result.returncode == 1, result.stdout + result.stderr
    assert "curl: (6) Could not resolve host: www.sqlite.org" in result.stdout
    assert result.stdout.count("Hint: this looks like a network error") == 2  # log, message
    assert "[down] ✓ Run find . -type f" in result.stdout
    assert "artifacts: 3 uploaded and removed with the run; keep them with --artifacts DIR" in (
        result.stdout
    )


@pytest.mark.usefixtures("sandbox_required")
def test_ci_run_runs_datasettes_composite_action_in_the_sandbox_for_the_event_given(tmp_path):
    seed = datasette_seed(tmp_path)
    git(seed, "init", "-q", "-b", "main")
    commit(seed, {})
    workflow = ".github/workflows/test-sqlite-support.yml"
    result = cli("ci", "run", workflow, "--dir", str(seed))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"event: push on refs/heads/main ({seed}: git, the last ")
    assert 'Set up SQLite 3.46 › Run bash "$GITHUB_ACTION_PATH/setup-sqlite-version.sh"' in (
        result.stdout
    )
    assert "built in /" in result.stdout and "LD_LIBRARY_PATH=unset" in result.stdout
    dispatch = cli("ci", "run", workflow, "--dir", str(seed), "--event", "workflow_dispatch")
    assert dispatch.returncode == 3
    assert dispatch.stdout.splitlines()[-1] == (
        "workflow: not triggered: on: lists pull_request, push; workflow_dispatch is not among them"
    )


@pytest.mark.usefixtures("sandbox_required")
def test_lab_check_and_its_reruns_leave_no_temporary_folder(tmp_path):
    private = Path("/tmp") / f"triops-test-tmpdir-{tmp_path.name}"
    private.mkdir(mode=0o711)
    work = tmp_path / "work"
    assert cli("lab", "solve", "ci-build", "--dir", str(work)).returncode == 0
    env = {"TMPDIR": str(private), "TRIOPS_SANDBOX_ROOT": str(Path("/tmp") / "triops-sandbox")}
    try:
        result = cli("lab", "check", "ci-build", "--dir", str(work), env=env)
        left = sorted(p.name for p in private.iterdir())
    finally:
        import shutil

        shutil.rmtree(private, ignore_errors=True)
    assert result.returncode == 0, result.stdout[-3000:]
    assert result.stdout.count("the check runs the lab again") == 2  # two reruns, two folders
    assert left == []
