"""`triops eval run`: exit codes 0, 1 and 2, the run file, and --compare."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from triops.cli import app
from triops.evals import EvalRun

PASSING = """
prompts:
  - {id: v1, raw: "Q: {{q}}"}
  - {id: v2, raw: "Q: {{q}}"}
providers: [echo]
prices: {providers: {echo: {prompt: 1, completion: 1}}}
tests:
  - {description: a, vars: {q: alpha}, assert: [{type: contains, value: alpha}]}
  - {description: b, vars: {q: beta}, assert: [{type: starts-with, value: "Q:"}]}
gate:
  baseline: v1
  candidate: v2
  pass_rate: {min_delta: 0}
  tokens: {max_increase_pct: 10}
"""


def write(folder: Path, text: str, name: str = "eval.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def triops(*args):
    return CliRunner().invoke(app, ["eval", "run", *map(str, args)])


def test_exit_0_when_every_test_passes_and_the_gate_holds(tmp_path):
    result = triops(write(tmp_path, PASSING))
    assert result.exit_code == 0, result.output
    assert "v1 / echo" in result.stdout and "PASS 1.00" in result.stdout
    assert "gate passed" in result.stdout
    assert result.stdout.rstrip().endswith("4 of 4 cases passed; OK")


def test_exit_1_when_a_test_fails(tmp_path):
    result = triops(write(tmp_path, PASSING.replace("value: alpha", "value: gamma")))
    assert result.exit_code == 1, result.output
    assert "FAIL 0.00" in result.stdout and "contains: 'gamma' not found" in result.stdout


def test_exit_1_when_the_tests_pass_but_the_gate_fails(tmp_path):
    result = triops(
        write(
            tmp_path,
            PASSING.replace(
                '"Q: {{q}}"}\n  - {id: v2, raw: "Q: {{q}}"',
                '"Q: {{q}}"}\n  - {id: v2, raw: "Q: {{q}} please, with details"',
            ),
        )
    )
    assert result.exit_code == 1, result.output
    assert "4 of 4 cases passed; FAILED" in result.stdout
    assert "gate FAILED" in result.stdout and "max_increase_pct 10" in result.stdout


def test_exit_2_for_a_config_error_naming_file_line_and_key(tmp_path):
    path = write(tmp_path, PASSING.replace("type: contains", "type: containz"))
    result = triops(path)
    assert result.exit_code == 2
    assert f"{path}:7: error: tests[0].assert[0].type: unknown assertion type" in result.stderr
    assert result.stdout == ""


def test_json_writes_the_run_and_compare_prints_the_regression_table(tmp_path):
    saved = tmp_path / "baseline.json"
    assert triops(write(tmp_path, PASSING), "--json", saved).exit_code == 0
    baseline = EvalRun.from_dict(json.loads(saved.read_text()))
    assert len(baseline.results) == 4 and baseline.gates[0].passed

    same = triops(write(tmp_path, PASSING, "same.yaml"), "--compare", saved)
    assert same.exit_code == 0, same.output
    assert "compared: v2 / echo" in same.stdout and "newly failing" not in same.stdout

    worse = write(tmp_path, PASSING.replace('value: "Q:"', 'value: "A:"'), "worse.yaml")
    result = triops(worse, "--compare", saved)
    assert result.exit_code == 1
    table = result.stdout.split("compared: v2 / echo")[1]
    assert "newly failing:\n  b (pass -> fail)" in table
    pass_rate = next(line for line in table.splitlines() if line.startswith("pass_rate"))
    assert pass_rate.split() == ["pass_rate", "1", "0.5000", "-0.5000", "min_delta", "0", "FAIL"]


@pytest.mark.parametrize("content", ["not json", '{"schema_name": "other"}'])
def test_exit_2_for_a_baseline_that_is_not_a_run_file(tmp_path, content):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    result = triops(write(tmp_path, PASSING), "--compare", bad)
    assert result.exit_code == 2
    assert str(bad) in result.stderr


@pytest.mark.slow
def test_the_extractive_provider_through_the_cli_uses_the_course_index(
    tmp_path, mini_root, use_root
):
    use_root(mini_root)
    path = write(
        tmp_path,
        """
        prompts: ["{{question}}"]
        providers: [triops:extractive]
        tests:
          - vars: {question: "What does continuous integration build?"}
            assert:
              - {type: icontains, value: main line}
              - {type: groundedness}
        """,
    )
    result = triops(path)
    assert result.exit_code == 0, result.output
    assert "indexing" in result.stderr  # the index was built as `triops ask` builds it


def test_a_run_that_evaluates_no_assertion_exits_1_and_says_why(tmp_path):
    path = write(
        tmp_path,
        """
        prompts: ["Q: {{q}}"]
        providers: [echo]
        tests:
          - {vars: {q: a}, assert: [{type: javascript, value: "output.length > 1"}]}
          - {vars: {q: b}, assert: [{type: python, value: "len(output) > 1"}]}
        """,
    )
    result = triops(path)
    assert result.exit_code == 1, result.output
    lines = result.stdout.rstrip().splitlines()
    assert lines[-3:] == [
        "not checked: no assertion was evaluated: every one was skipped (javascript: runs code "
        "from the config; Triops runs none; python: runs code from the config; Triops runs none)",
        "",
        "0 of 0 cases passed; FAILED",
    ]


def test_a_defaulttest_provider_error_is_printed_once_however_many_tests(tmp_path):
    tests = "\n".join(f"  - vars: {{q: q{n}}}" for n in range(9))
    path = write(
        tmp_path,
        'prompts: ["Q: {{q}}"]\nproviders: [echo]\ndefaultTest:\n  options:\n'
        "    provider: anthropic:messages:claude-sonnet-4\n"
        "  assert:\n    - {type: llm-rubric, value: is polite}\n"
        "    - {type: llm-rubric, value: is short}\n"
        f"tests:\n{tests}\n",
    )
    result = triops(path)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{path}:5: error: defaultTest.options.provider: unknown provider "
        "'anthropic:messages:claude-sonnet-4' (Triops runs: triops:extractive, echo, "
        "openai-compatible[:model], openai:<model>)"
    ]


def test_a_chat_provider_without_a_url_exits_2_before_any_case_runs(tmp_path, monkeypatch):
    for name in ("TRIOPS_EVAL_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    path = write(tmp_path, 'prompts: ["Q"]\nproviders: [openai:gpt-4o-mini]\ntests: [{}, {}]\n')
    result = triops(path)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{path}:2: error: providers[0].config.base_url: no server URL for 'openai:gpt-4o-mini': "
        "set config.base_url (or apiBaseUrl), or TRIOPS_EVAL_BASE_URL or OPENAI_BASE_URL in "
        "the environment"
    ]
