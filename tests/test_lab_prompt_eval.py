"""The prompt-eval lab: its spec and files, lab mode's limits on providers and file:// paths, the
child process (config errors, the wall-clock limit, exit codes), and with the real model: every
case behaves as the lab says, the starter fails its check for the intended reasons, the solution
passes, the run leaves the documented artifacts, and the check catches a number that was changed.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import REPO, copy_derived
from triops.config import Settings, get_settings
from triops.content.frontmatter import split_front_matter
from triops.evals import EvalConfigError, EvalRun, load_config
from triops.labs import runs
from triops.labs.sandbox import Sandbox
from triops.labs.spec import RunSpec, load_labs
from triops.search.ask import ABSTAIN_MESSAGE

LAB_DIR = REPO / "labs" / "prompt-eval"
ALLOWED = ("triops:extractive", "echo")
CONFIG = "promptfooconfig.yaml"


def lab():
    return load_labs(REPO).get("prompt-eval")


def triops(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "triops.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def write(folder: Path, text: str, name: str = CONFIG) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def execute(lab_, folder: Path, tmp_path: Path):
    box = Sandbox(root=tmp_path / "sandbox")
    try:
        return runs.execute(lab_, folder, sandbox=box, labs_venv=get_settings().labs_venv)
    finally:
        box.close()


ECHO = """
prompts:
  - {id: v1, raw: "Q: {{q}}"}
  - {id: v2, raw: "Q: {{q}}"}
providers: [echo]
prices: {providers: {echo: {prompt: 1, completion: 1}}}
tests:
  - {description: a, vars: {q: alpha}, assert: [{type: contains, value: alpha}]}
gate:
  baseline: v1
  candidate: v2
  pass_rate: {min_delta: 0}
"""


# --- the spec and its files -----------------------------------------------------------------------


def test_lab_loads_as_an_eval_run_linked_to_its_lessons():
    from triops.content.loader import load_course

    lesson_ids = {lesson.id for lesson in load_course(REPO).lessons()}
    labs = load_labs(REPO, lesson_ids)
    assert labs.problems == []
    spec = labs.get("prompt-eval").spec
    assert (spec.track, spec.run.kind, spec.run.config) == ("llmops", "eval", CONFIG)
    assert spec.editable == [CONFIG, "tests.yaml"]
    assert {"llmops-evaluation", "llmops-serving-and-cost"} <= set(spec.lessons)
    assert spec.limits.memory_mb >= 4096  # a first index build peaks at 3.2 GB of address space


def test_an_eval_run_must_name_its_config():
    with pytest.raises(ValueError, match="an eval run names its config file"):
        RunSpec(kind="eval")


@pytest.mark.parametrize(
    "path",
    [
        "content/llmops/lifecycle/03-evaluation.md",
        "content/llmops/foundations/02-key-characteristics.md",
        "content/llmops/lifecycle/04-serving-and-cost.md",
    ],
)
def test_the_llmops_lessons_on_evaluation_hallucination_and_cost_link_the_lab(path):
    split = split_front_matter((REPO / path).read_text(encoding="utf-8"))
    assert "labs: [prompt-eval]" in split.meta
    assert "](/labs?lab=prompt-eval)" in split.body


def test_reset_writes_the_starter_and_solve_the_finished_v2_and_gate(tmp_path):
    runs.reset(lab(), tmp_path / "starter")
    assert sorted(p.name for p in (tmp_path / "starter").iterdir()) == [
        "CALIBRATION.md",
        CONFIG,
        "tests.yaml",
    ]
    starter = load_config(tmp_path / "starter" / CONFIG)
    assert len(starter.tests) >= 20
    assert starter.prompt("v2").config == starter.prompt("v1").config  # v2 is left to finish
    assert set(starter.gate.rules) == {"pass_rate"}
    runs.solve(lab(), tmp_path / "solution")
    solution = load_config(tmp_path / "solution" / CONFIG)
    assert solution.prompt("v2").config["abstain_threshold"] == 0.5
    assert set(solution.gate.rules) == {"pass_rate", "cost", "latency_p95_ms", "groundedness"}
    assert [t.key for t in solution.tests] == [t.key for t in starter.tests]


def test_the_eval_set_has_each_kind_and_refusals_expect_asks_own_message():
    config = load_config(LAB_DIR / "starter" / CONFIG)
    kinds = [t.description.split(":")[0] for t in config.tests]
    assert (kinds.count("answerable"), kinds.count("off-topic"), kinds.count("tempting")) == (
        14,
        5,
        7,
    )
    for test in config.tests:
        if not test.description.startswith("answerable"):
            refusal = next(a for a in test.assertions if a.type in ("starts-with", "icontains"))
            assert ABSTAIN_MESSAGE.startswith(refusal.value)


def test_the_config_documents_its_calibration_beside_it():
    text = (LAB_DIR / "starter" / CONFIG).read_text(encoding="utf-8")
    assert "CALIBRATION.md, beside this file" in text
    note = (LAB_DIR / "starter" / "CALIBRATION.md").read_text(encoding="utf-8")
    for value in ("0.49", "0.31", "0.37", "src/triops/evals/CALIBRATION.md"):
        assert value in note


# --- lab mode: providers and file:// paths -------------------------------------------------------


def test_lab_mode_refuses_a_provider_other_than_extractive_and_echo(tmp_path):
    path = write(
        tmp_path,
        """
        prompts: ["{{q}}"]
        providers:
          - echo
          - id: openai-compatible:llama3
            config: {base_url: "http://localhost:8080/v1"}
        tests: [{vars: {q: hi}}]
        """,
    )
    assert len(load_config(path).providers) == 2  # outside a lab it is a valid config
    with pytest.raises(EvalConfigError) as err:
        load_config(path, root=tmp_path, providers=ALLOWED)
    assert (err.value.line, err.value.key) == (4, "providers[1].id")
    assert "'openai-compatible:llama3' is not allowed here" in err.value.user_message


def test_lab_mode_refuses_a_judge_model_for_llm_rubric(tmp_path):
    path = write(
        tmp_path,
        """
        prompts: ["{{q}}"]
        providers: [echo]
        tests:
          - vars: {q: hi}
            assert: [{type: llm-rubric, value: polite, provider: "openai:gpt-4o-mini"}]
        """,
    )
    with pytest.raises(EvalConfigError, match="'openai:gpt-4o-mini' is not allowed here"):
        load_config(path, root=tmp_path, providers=ALLOWED)


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("file:///etc/hostname", "an absolute path"),
        ("file://../outside.yaml", "'..' is not allowed"),
        ("file://sub/../../outside.yaml", "'..' is not allowed"),
        ("file://link.yaml", "link.yaml is a link that leads out of the work folder"),
        ("file://*.yaml", "link.yaml is a link that leads out of the work folder"),
    ],
)
def test_lab_mode_keeps_file_references_inside_the_work_folder(tmp_path, reference, message):
    work = tmp_path / "work"
    write(tmp_path, "- {vars: {q: secret}}\n", "outside.yaml")
    (work / "sub").mkdir(parents=True)
    (work / "link.yaml").symlink_to(tmp_path / "outside.yaml")
    path = write(work, f'prompts: ["{{{{q}}}}"]\nproviders: [echo]\ntests: "{reference}"\n')
    with pytest.raises(EvalConfigError) as err:
        load_config(path, root=work, providers=ALLOWED)
    assert err.value.key == "tests" and message in err.value.user_message


def test_lab_mode_reads_files_inside_the_work_folder_and_refuses_a_config_linked_from_outside(
    tmp_path,
):
    work = tmp_path / "work"
    write(work, "- {vars: {q: fine}}\n", "cases/tests.yaml")
    path = write(work, 'prompts: ["{{q}}"]\nproviders: [echo]\ntests: file://cases/*.yaml\n')
    assert [t.vars for t in load_config(path, root=work, providers=ALLOWED).tests] == [
        {"q": "fine"}
    ]
    elsewhere = write(tmp_path, 'prompts: ["{{q}}"]\nproviders: [echo]\ntests: []\n', "x.yaml")
    (work / "linked.yaml").symlink_to(elsewhere)
    with pytest.raises(EvalConfigError, match="the config must be a file in the work folder"):
        load_config(work / "linked.yaml", root=work, providers=ALLOWED)


# --- the child process ----------------------------------------------------------------------------


def test_a_refused_config_fails_the_run_with_its_problems_and_no_model_load(tmp_path):
    work = tmp_path / "work"
    write(work, ECHO.replace("providers: [echo]", "providers: [openai:gpt-4o]"))
    run = execute(lab(), work, tmp_path)
    assert run.status == "failure"
    assert (run.report["status"], run.report["exit_code"], run.report["outcome"]) == (
        "config-error",
        2,
        "config-error",
    )
    [problem] = run.report["problems"]
    assert problem["key"] == "providers[0]" and "is not allowed here" in problem["message"]
    assert f"{CONFIG}:4: error: providers[0]: provider 'openai:gpt-4o'" in run.log
    assert "rlimits" in run.protections and "uid" in run.missing
    assert run.seconds < 20
    shutil.rmtree(run.artifacts)


def test_a_run_over_its_wall_clock_limit_is_killed_and_reported(tmp_path):
    slow = lab()
    limits = slow.spec.limits.model_copy(update={"wall_seconds": 1.0})
    slow = dataclasses.replace(slow, spec=slow.spec.model_copy(update={"limits": limits}))
    runs.reset(slow, tmp_path / "work")
    started = time.monotonic()
    run = execute(slow, tmp_path / "work", tmp_path)
    assert time.monotonic() - started < 15
    assert run.status == "failure"
    assert (run.report["status"], run.report["stopped"]) == ("timeout", "timeout")
    assert run.report["reasons"] == ["the run took longer than the lab's 1 s and was stopped"]
    assert "eval: stopped (timeout)" in run.log
    summary = json.loads((run.artifacts / "eval" / "summary.json").read_text())
    assert summary["verdict"] == "fail"
    left = [
        p
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and str(run.artifacts).encode() in _cmdline(p)
    ]
    assert left == []  # the process group is gone
    shutil.rmtree(run.artifacts)


def _cmdline(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""


def test_cli_lab_run_exits_0_when_the_candidate_passes_and_the_gate_holds_else_1(tmp_path):
    # echo and text assertions need neither the model nor the index: a fast, real child run.
    work = tmp_path / "work"
    write(work, ECHO)
    passed = triops("lab", "run", "prompt-eval", "--dir", str(work))
    assert passed.returncode == 0, passed.stdout[-2000:]
    assert "v2 · a: PASS 1.00" in passed.stdout and "gate passed" in passed.stdout
    assert passed.stdout.rstrip().splitlines()[-1].startswith("lab run: success in ")
    write(work, ECHO.replace("value: alpha", "value: gamma"))
    failed = triops("lab", "run", "prompt-eval", "--dir", str(work))
    assert failed.returncode == 1
    assert "not yet: v2 fails 1 of 1 tests" in failed.stdout
    assert "lab run: failure" in failed.stdout
    write(work, ECHO.replace("gate:", "unknown_key: 1\ngate:"))
    refused = triops("lab", "run", "prompt-eval", "--dir", str(work))
    assert refused.returncode == 1 and "unknown_key: unknown key" in refused.stdout


# --- with the real model and the course's index --------------------------------------------------


@pytest.fixture(scope="module")
def shared_home(course_derived, tmp_path_factory):
    """One TRIOPS_HOME for every run of this module, holding a copy of the session's course index
    and saved query encoder (tests/conftest.py), brought up to date (nothing to encode unless
    the course changed since): the eval child finds them current."""
    from triops.labs.spec import load_labs
    from triops.search.service import course_index

    home = tmp_path_factory.mktemp("prompt-eval-home")
    copy_derived(course_derived.derived, home / "derived")
    course_index(Settings(home=home), load_labs)
    return home


def checked(shared_home, folder: Path, tmp: Path):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRIOPS_HOME", str(shared_home))
        get_settings.cache_clear()
        box = Sandbox(root=tmp / "sandbox")
        try:
            return runs.check(lab(), folder, sandbox=box, labs_venv=get_settings().labs_venv)
        finally:
            box.close()
            get_settings.cache_clear()


@pytest.fixture(scope="module")
def starter_check(shared_home, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("starter")
    runs.reset(lab(), tmp / "work")
    result = checked(shared_home, tmp / "work", tmp)
    yield result
    shutil.rmtree(result.run.artifacts, ignore_errors=True)


@pytest.fixture(scope="module")
def solution_check(shared_home, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("solution")
    runs.solve(lab(), tmp / "work")
    result = checked(shared_home, tmp / "work", tmp)
    yield result, tmp / "work"
    shutil.rmtree(result.run.artifacts, ignore_errors=True)


def results(lab_run) -> EvalRun:
    return EvalRun.from_dict(json.loads((lab_run.artifacts / "eval" / "results.json").read_text()))


def statuses(run: EvalRun, prompt: str) -> dict[str, str]:
    return {r.description: r.status for r in run.results if r.prompt_id == prompt}


def reason(result, start: str) -> str:
    return next(c.reason for c in result.criteria if c.name.startswith(start))


@pytest.mark.slow
def test_the_starter_fails_only_because_v2_is_unfinished_and_the_gate_is_weak(starter_check):
    assert starter_check.run.status == "failure", starter_check.run.log[-3000:]
    assert [c.passed for c in starter_check.criteria] == [True, True] + [False] * 5
    assert reason(starter_check, "v2 passes").startswith("v2 fails 13 of 26 tests")
    gate = reason(starter_check, "The gate")
    for rule in ("pass_rate: {min_delta: 0}", "cost: {max_increase_pct: 10}"):
        assert f"missing {rule}" in gate
    assert reason(starter_check, "Your gate stops a v3 that answers").startswith("not tested yet")


@pytest.mark.slow
def test_v1_fails_every_off_topic_and_tempting_case_and_v2_passes_them_all(solution_check):
    result, _ = solution_check
    run = results(result.run)
    v1, v2 = statuses(run, "v1"), statuses(run, "v2")
    assert set(v2.values()) == {"pass"}
    assert {d for d, s in v1.items() if s == "fail" and not d.startswith("answerable")} == {
        d for d in v1 if not d.startswith("answerable")
    }
    # v1 answers what the course answers; where it fails, it is only because its six sentences
    # wander from the question (answer-relevance), never a wrong or ungrounded fact.
    for r in run.results:
        if r.prompt_id == "v1" and r.description.startswith("answerable") and r.status == "fail":
            failed = {a.type for a in r.assertions if a.status != "pass"}
            assert failed == {"answer-relevance"}, (r.description, failed)
    assert sum(s == "pass" for d, s in v1.items() if d.startswith("answerable")) >= 12
    costs = {t.prompt_id: t for t in run.totals}
    assert costs["v1"].cost > 1.5 * costs["v2"].cost  # v1's long answers to everything cost more
    # The confidences leave v2's threshold (0.5) a margin on both sides.
    rows = [r for r in run.results if r.prompt_id == "v2"]
    answered = [r.confidence for r in rows if r.description.startswith("answerable")]
    refused = [r.confidence for r in rows if not r.description.startswith("answerable")]
    assert max(refused) <= 0.47 and min(answered) >= 0.53
    assert sum(0.415 <= c < 0.5 for c in refused) >= 3  # Ask's default threshold is not enough


@pytest.mark.slow
def test_the_solution_passes_and_its_gate_stops_both_v3_candidates(solution_check):
    result, _ = solution_check
    assert result.run.status == "success"
    assert result.passed, [(c.name, c.reason) for c in result.criteria]
    assert reason(result, "On the check's hidden").startswith("v2 passes all 18 hidden tests")
    assert "pass_rate min_delta 0" in reason(result, "Your gate stops a v3 that answers")
    verbose = reason(result, "Your gate stops a v3 whose answers cost")
    assert "pass rate 1.00 -> 1.00" in verbose and "cost max_increase_pct 10" in verbose
    assert "pass_rate" not in verbose.split("your gate stops it:")[1]


@pytest.mark.slow
def test_the_run_leaves_the_documented_artifacts(solution_check):
    result, _ = solution_check
    folder = result.run.artifacts / "eval"
    summary = json.loads((folder / "summary.json").read_text())
    assert (summary["status"], summary["verdict"], summary["reasons"]) == ("complete", "pass", [])
    assert (summary["baseline"], summary["candidate"]) == ("v1", "v2")
    assert summary["column_order"] == ["v1 / triops:extractive", "v2 / triops:extractive"]
    assert [c["column"] for c in summary["columns"]] == summary["column_order"]
    assert summary["gates"][0]["passed"] is True
    assert [r["metric"] for r in summary["gates"][0]["rows"]] == [
        "pass_rate",
        "cost",
        "latency_p95_ms",
        "groundedness",
    ]
    cell = summary["matrix"][0]["cells"]["v2 / triops:extractive"]
    assert set(cell) == {
        "status",
        "score",
        "reason",
        "output",
        "abstained",
        "confidence",
        "tokens",
        "cost",
        "latency_ms",
        "assertions",
    }
    assert len(summary["matrix"]) == 26
    assert results(result.run).config_path == CONFIG
    protections = json.loads((folder / "protections.json").read_text())
    assert {"rlimits", "seccomp", "network-off"} <= set(protections["protections"])
    assert (result.run.report["exit_code"], result.run.report["outcome"]) == (0, "pass")
    readme = (LAB_DIR / "README.md").read_text(encoding="utf-8")
    for key in [*summary, *summary["columns"][0], *cell, *result.run.report]:
        assert f'"{key}"' in readme, key


def test_the_runs_keep_asks_sentence_vectors_for_the_next_run(
    starter_check, solution_check, shared_home
):
    """The check's eval children share a TRIOPS_HOME: the sentences Ask encoded are stored in
    its derived folder (triops.search.ask.persisted_sentences), so a later run reads them
    instead of loading the whole model to encode them again."""
    from triops.search.ask import _SentenceCache, sentence_file
    from triops.search.embedder import default_embedder

    embedder = default_embedder(None, shared_home / "derived", save=False)
    path = sentence_file(embedder)
    assert path is not None and path.is_file()
    stored = _SentenceCache(100_000)
    assert stored.load(path, embedder.model_id) > 0
    assert {v.shape for v in stored._vectors.values()} == {(384,)}  # all-MiniLM-L6-v2


@pytest.mark.slow
def test_the_check_catches_a_reported_number_that_does_not_add_up(solution_check, tmp_path):
    result, work = solution_check
    artifacts = tmp_path / "artifacts"
    shutil.copytree(result.run.artifacts, artifacts)
    path = artifacts / "eval" / "results.json"
    data = json.loads(path.read_text())
    data["totals"][1]["cost"] *= 2
    data["results"][30]["tokens_completion"] += 5
    path.write_text(json.dumps(data))
    check = runs.load_lab_module(lab(), "check.py")
    empty = tmp_path / "empty"
    empty.mkdir()
    ctx = runs.CheckContext(
        workdir=work,
        report=result.run.report,
        artifacts=artifacts,
        rerun=lambda change: runs.LabRun("failure", {}, empty, 0.0, ""),
    )
    criteria = {name: (ok, why) for name, ok, why in check.check(ctx)}
    ok, why = criteria["Every reported number equals the check's recomputation"]
    assert not ok
    assert "v2 / triops:extractive: cost reported" in why
    assert "tokens_completion reported" in why
