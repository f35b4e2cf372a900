"""The local GitHub Actions runner: parsing, expressions, matrix, execution, reports."""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time
from pathlib import Path

import pytest

from triops.labs.workflow import (
    Event,
    ExpressionContext,
    ExpressionError,
    LocalRunner,
    MatrixError,
    RunReport,
    WorkflowError,
    evaluate,
    evaluate_condition,
    exit_code,
    expand_matrix,
    format_event,
    interpolate,
    load_workflow,
    parse_env_file,
    python_version_matches,
    run_workflow,
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
        """
        on: push
        jobs:
          test:
            runs-on: ubuntu-latest
            strategy:
              max-parallel: 2
              matrix:
                os: [ubuntu, debian]
                python: ["3.11", "3.12"]
                exclude:
                  - os: debian
                    python: "3.11"
                include:
                  - os: ubuntu
                    experimental: true
                  - os: alpine
                    python: "3.13"
            steps:
              - run: echo "cell ${{ matrix.os }} ${{ matrix.python }} ${{ matrix.experimental }}"
        """,
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


def test_fail_fast_cancels_the_remaining_cells(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        """
        on: push
        jobs:
          test:
            runs-on: ubuntu-latest
            strategy:
              matrix:
                n: [1, 2, 3]
            steps:
              - run: test "${{ matrix.n }}" != 2
        """,
    )
    job = report.job("test")
    assert [c.status for c in job.cells] == ["success", "failure", "cancelled"]
    assert job.cells[2].steps[0].status == "cancelled"
    assert "fail-fast" in job.cells[2].message
    assert job.result == "failure"


def test_job_continue_on_error_lets_an_experimental_cell_fail(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        """
        on: push
        jobs:
          test:
            runs-on: ubuntu-latest
            continue-on-error: ${{ matrix.experimental }}
            strategy:
              matrix:
                experimental: [true, false]
            steps:
              - run: ${{ matrix.experimental }} && exit 1 || echo stable
        """,
    )
    cells = report.job("test").cells
    assert [(c.status, c.continue_on_error) for c in cells] == [
        ("failure", True),
        ("success", False),
    ]
    assert report.job("test").result == "success" and report.status == "success"


def test_without_fail_fast_every_cell_runs(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        """
        on: push
        jobs:
          test:
            runs-on: ubuntu-latest
            strategy:
              fail-fast: false
              matrix:
                n: [1, 2, 3]
            steps:
              - run: test "${{ matrix.n }}" != 2
        """,
    )
    assert [c.status for c in report.job("test").cells] == ["success", "failure", "success"]
    assert report.status == "failure"


def test_matrix_from_a_needed_jobs_output(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        """
        on: push
        jobs:
          plan:
            runs-on: ubuntu-latest
            outputs:
              matrix: ${{ steps.m.outputs.matrix }}
            steps:
              - id: m
                run: echo 'matrix={"n":[1,2]}' >> "$GITHUB_OUTPUT"
          build:
            needs: plan
            runs-on: ubuntu-latest
            strategy:
              matrix: ${{ fromJSON(needs.plan.outputs.matrix) }}
            steps:
              - run: echo "n=${{ matrix.n }}"
        """,
    )
    assert [c.matrix for c in report.job("build").cells] == [{"n": 1}, {"n": 2}]


# -- jobs, needs and conditions ----------------------------------------------------------------


def test_a_job_whose_needs_failed_is_skipped_unless_its_if_says_otherwise(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        """
        on: push
        jobs:
          build:
            runs-on: ubuntu-latest
            steps:
              - run: exit 1
          test:
            needs: build
            runs-on: ubuntu-latest
            steps:
              - run: echo never
          deploy:
            needs: [test]
            runs-on: ubuntu-latest
            steps:
              - run: echo never
          report:
            needs: [build]
            if: failure()
            runs-on: ubuntu-latest
            steps:
              - run: echo "build was ${{ needs.build.result }}"
          cleanup:
            needs: [deploy]
            if: always()
            runs-on: ubuntu-latest
            steps:
              - run: echo "deploy was ${{ needs.deploy.result }}"
        """,
    )
    results = {job.id: job.result for job in report.jobs}
    assert results == {
        "build": "failure",
        "test": "skipped",
        "deploy": "skipped",
        "report": "success",
        "cleanup": "success",
    }
    assert "build (failure)" in report.job("test").message
    assert report.job("test").cells == []
    assert "build was failure" in logs(report, "report")
    assert "deploy was skipped" in logs(report, "cleanup")
    assert report.status == "failure" and exit_code(report) == 1


def test_jobs_run_in_dependency_order_not_file_order(tmp_path, seed):
    seen = []
    run(
        tmp_path,
        seed,
        """
        on: push
        jobs:
          last:
            needs: [middle]
            runs-on: ubuntu-latest
            steps: [{run: echo last}]
          middle:
            needs: first
            runs-on: ubuntu-latest
            steps: [{run: echo middle}]
          first:
            runs-on: ubuntu-latest
            steps: [{run: echo first}]
        """,
        on_event=lambda e: seen.append(e.job) if e.kind == "job_finished" else None,
    )
    assert seen == ["first", "middle", "last"]


def test_step_conditions_use_contexts_and_status_functions(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        """
        on: push
        env:
          MODE: dev
        jobs:
          check:
            runs-on: ubuntu-latest
            steps:
              - name: push only
                if: github.event_name == 'push' && github.ref == 'refs/heads/main'
                run: echo push
              - name: not prod
                if: ${{ env.MODE != 'prod' }}
                run: echo not-prod
              - name: negated
                if: "!startsWith(github.ref, 'refs/tags/')"
                run: echo branch
              - name: prod
                if: env.MODE == 'prod'
                run: echo prod
              - name: breaks
                run: exit 4
              - name: after failure
                run: echo should-skip
              - name: on failure
                if: failure()
                run: echo failure-handler
              - name: either
                if: success() || failure()
                run: echo either
              - name: always
                if: always()
                run: echo always
        """,
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
        """
        on: push
        jobs:
          tagged:
            if: startsWith(github.ref, 'refs/tags/')
            runs-on: ubuntu-latest
            steps: [{run: echo release}]
          after:
            needs: tagged
            runs-on: ubuntu-latest
            steps: [{run: echo never}]
        """,
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
        """
        on: push
        env:
          LEVEL: workflow
          ONLY_WORKFLOW: w
        jobs:
          show:
            runs-on: ubuntu-latest
            env:
              LEVEL: job
              ONLY_JOB: j
            steps:
              - run: echo "$LEVEL $ONLY_WORKFLOW $ONLY_JOB ${{ env.LEVEL }}"
              - run: echo "$LEVEL ${{ env.LEVEL }}"
                env:
                  LEVEL: step
              - run: echo $CI $GITHUB_ACTIONS $RUNNER_OS $GITHUB_JOB $GITHUB_EVENT_NAME $GITHUB_REF
              - run: test "$GITHUB_WORKSPACE" = "$PWD" && test -d "$RUNNER_TEMP"
        """,
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
        """
        on: push
        jobs:
          env:
            runs-on: ubuntu-latest
            steps:
              - run: env | grep TRIOPS_SECRET_SHOULD_NOT_LEAK || echo clean
        """,
    )
    assert logs(report, "env") == "clean"


def test_outputs_flow_from_steps_to_jobs_to_needing_jobs(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        """
        on: push
        jobs:
          build:
            runs-on: ubuntu-latest
            outputs:
              version: ${{ steps.ver.outputs.version }}
              notes: ${{ steps.ver.outputs.notes }}
            steps:
              - id: ver
                run: |
                  echo "version=1.4.2" >> "$GITHUB_OUTPUT"
                  {
                    echo "notes<<EOF"
                    echo "line one"
                    echo "line two"
                    echo "EOF"
                  } >> "$GITHUB_OUTPUT"
              - run: echo "same job sees ${{ steps.ver.outputs.version }}"
          release:
            needs: build
            runs-on: ubuntu-latest
            steps:
              - run: echo "releasing ${{ needs.build.outputs.version }}"
              - if: needs.build.outputs.version == '1.4.2'
                run: echo "exact match"
        """,
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
        """
        on: push
        env:
          FROM_WORKFLOW: original
        jobs:
          env:
            runs-on: ubuntu-latest
            steps:
              - run: |
                  echo "SIMPLE=one=two" >> "$GITHUB_ENV"
                  echo "FROM_WORKFLOW=changed" >> "$GITHUB_ENV"
                  {
                    echo "BLOCK<<END_OF_BLOCK"
                    echo "first line"
                    echo "second line"
                    echo "END_OF_BLOCK"
                  } >> "$GITHUB_ENV"
                  echo "$HOME/mytools" >> "$GITHUB_PATH"
              - run: |
                  echo "simple=$SIMPLE"
                  echo "workflow=$FROM_WORKFLOW ${{ env.FROM_WORKFLOW }}"
                  printf '%s\\n' "$BLOCK"
                  echo "path-first=${PATH%%:*}"
              - run: echo "step env wins $SIMPLE"
                env:
                  SIMPLE: step
        """,
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
        """
        on: push
        jobs:
          bad:
            runs-on: ubuntu-latest
            steps:
              - run: printf 'x<<EOF\\nvalue\\n' >> "$GITHUB_OUTPUT"
        """,
    )
    step = steps(report, "bad")[0]
    assert step.status == "failure"
    assert "Matching delimiter not found 'EOF'" in step.message


def test_step_summary_is_captured_per_step_and_per_job(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        """
        on: push
        jobs:
          summary:
            runs-on: ubuntu-latest
            steps:
              - run: echo "## Results" >> "$GITHUB_STEP_SUMMARY"
              - run: echo "- 3 passed" >> "$GITHUB_STEP_SUMMARY"
        """,
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
        """
        on: push
        jobs:
          slow:
            runs-on: ubuntu-latest
            steps:
              - run: sleep 30
                timeout-minutes: 0.02
              - run: echo skipped
              - if: always()
                run: echo cleanup
        """,
    )
    assert time.monotonic() - started < 15
    slow, skipped, cleanup = steps(report, "slow")
    assert slow.status == "failure" and slow.timed_out
    assert "timed out after 0.02 minutes" in slow.message
    assert skipped.status == "skipped"
    assert cleanup.status == "success"
    assert report.status == "failure"


def test_job_timeout_minutes_cancels_the_rest_of_the_job(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        """
        on: push
        jobs:
          slow:
            runs-on: ubuntu-latest
            timeout-minutes: 0.02
            steps:
              - run: sleep 30
              - if: always()
                run: echo later
        """,
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
        """
        on: push
        jobs:
          lenient:
            runs-on: ubuntu-latest
            steps:
              - id: flaky
                run: exit 2
                continue-on-error: true
              - run: echo "${{ steps.flaky.outcome }} ${{ steps.flaky.conclusion }}"
        """,
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
        """
        on: push
        defaults:
          run:
            working-directory: src
        jobs:
          wd:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - run: ls
              - run: cat README.md
                working-directory: .
              - run: echo never
                working-directory: missing
        """,
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
        """
        on: push
        jobs:
          default:
            runs-on: ubuntu-latest
            steps:
              - run: |
                  false | true
                  echo reached
              - run: |
                  false
                  echo unreachable
          explicit:
            runs-on: ubuntu-latest
            defaults:
              run:
                shell: bash
            steps:
              - run: |
                  false | true
                  echo unreachable
              - if: always()
                shell: python
                run: print("from python")
        """,
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
        """
        on: push
        jobs:
          empty:
            runs-on: ubuntu-latest
            steps:
              - run: ls -A | wc -l
          cells:
            runs-on: ubuntu-latest
            strategy:
              matrix:
                n: [1, 2]
            steps:
              - uses: actions/checkout@v4
              - run: |
                  ls leftover-* 2>/dev/null || echo "no leftovers"
                  touch leftover-${{ matrix.n }}
                  cat src/app.py
        """,
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
        """
        on: push
        jobs:
          py:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/setup-python@v5
                with:
                  python-version: "2.7"
              - uses: actions/setup-python@v5
                if: always()
                with:
                  python-version: 3.10
        """,
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
        """
        on: push
        jobs:
          build:
            runs-on: ubuntu-latest
            steps:
              - run: |
                  mkdir -p dist/sub
                  echo wheel > dist/pkg.whl
                  echo sdist > dist/sub/pkg.tar.gz
                  echo secret > dist/.hidden
                  echo report > report.txt
              - uses: actions/upload-artifact@v4
                with:
                  name: dist
                  path: dist/
              - uses: actions/upload-artifact@v4
                with:
                  name: wheels
                  path: |
                    dist/*.whl
                    report.txt
              - uses: actions/upload-artifact@v4
                with:
                  name: nothing
                  path: missing/*.txt
                  if-no-files-found: error
              - uses: actions/upload-artifact@v4
                if: always()
                with:
                  name: nothing-warned
                  path: missing/*.txt
          use:
            needs: build
            if: always()
            runs-on: ubuntu-latest
            steps:
              - uses: actions/download-artifact@v4
                with:
                  name: dist
                  path: got
              - run: find got -type f | sort
        """,
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
        """
        on: push
        jobs:
          build:
            runs-on: ubuntu-latest
            strategy:
              matrix:
                n: [1, 2]
            steps:
              - run: echo ${{ matrix.n }} > out.txt
              - uses: actions/upload-artifact@v4
                with:
                  name: out
                  path: out.txt
        """,
    )
    second = steps(report, "build", 1)[1]
    assert second.status == "failure" and "already uploaded" in second.message


def test_an_unknown_action_is_not_available_offline(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        """
        on: push
        jobs:
          other:
            runs-on: ubuntu-latest
            steps:
              - uses: x/y@v1
        """,
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
        """
        on: push
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - run: echo [unclosed
                name: x: y
        """,
    )
    assert error.path == str(tmp_path / "ci.yml")
    assert error.line == 7
    assert str(error).startswith(f"{tmp_path / 'ci.yml'}:7: error: YAML syntax error")


def test_an_unknown_need_is_reported_at_the_line_of_that_entry(tmp_path):
    error = load_error(
        tmp_path,
        """
        on: push
        jobs:
          build:
            runs-on: ubuntu-latest
            steps: [{run: echo}]
          test:
            runs-on: ubuntu-latest
            needs:
              - build
              - lint
            steps: [{run: echo}]
        """,
    )
    assert error.line == 10
    assert "needs 'lint'" in error.message and "build, test" in error.message


def test_a_cycle_in_needs_is_named(tmp_path):
    error = load_error(
        tmp_path,
        """
        on: push
        jobs:
          a:
            needs: c
            runs-on: ubuntu-latest
            steps: [{run: echo}]
          b:
            needs: a
            runs-on: ubuntu-latest
            steps: [{run: echo}]
          c:
            needs: [b]
            runs-on: ubuntu-latest
            steps: [{run: echo}]
        """,
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
            """
            name: Checks
            on:
              push:
                branches: [main]
            jobs:
              a:
                runs-on: ubuntu-latest
                steps: [{run: echo}]
            """,
        )
    )
    assert workflow.name == "Checks" and workflow.order == ["a"]


# -- reports and events -------------------------------------------------------------------------


def test_the_json_report_has_jobs_cells_steps_and_artifacts(tmp_path, seed):
    report = run(
        tmp_path,
        seed,
        """
        name: Shape
        on: push
        jobs:
          build:
            runs-on: ubuntu-latest
            strategy:
              matrix:
                n: [1]
            outputs:
              n: ${{ steps.s.outputs.n }}
            steps:
              - id: s
                name: Make
                run: |
                  echo "n=${{ matrix.n }}" >> "$GITHUB_OUTPUT"
                  echo hi > a.txt
              - uses: actions/upload-artifact@v4
                with:
                  name: a
                  path: a.txt
        """,
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
        """
        on: push
        jobs:
          noisy:
            runs-on: ubuntu-latest
            steps:
              - run: seq 1 40000
        """,
    )
    log = steps(report, "noisy")[0].log
    assert len(log) < 70_000 and "omitted" in log
    assert log.startswith("1\n2\n") and log.endswith("39999\n40000")


def test_events_stream_the_run_and_format_as_lines(tmp_path, seed):
    events: list[Event] = []
    run(
        tmp_path,
        seed,
        """
        on: push
        jobs:
          hello:
            runs-on: ubuntu-latest
            steps:
              - name: Greet
                run: echo hello
        """,
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


def test_a_supplied_workspace_factory_owns_the_job_directories(tmp_path, seed):
    made: list[Path] = []

    def factory(_seed):
        path = tmp_path / f"work{len(made)}"
        path.mkdir()
        made.append(path)
        return path

    workflow = load_workflow(
        write_workflow(
            tmp_path,
            """
            on: push
            jobs:
              a:
                runs-on: ubuntu-latest
                steps:
                  - uses: actions/checkout@v4
                  - run: touch made-here
            """,
        )
    )
    prepared: list[Path] = []
    released: list[Path] = []
    report = run_workflow(
        workflow,
        runner=LocalRunner(),
        workspace_seed=seed,
        workspace_factory=factory,
        prepare_workdir=prepared.append,
        release_workdir=released.append,
    )
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
