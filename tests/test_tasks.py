"""Tasks (issue 20 items 1 and 2): every real task folder graded end to end, the located
problems of `triops validate`, tampering that must fail, and tasks inside a timed exam on a
real learner-state file (graded at submit and at expiry, saved durably, weighted)."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import subprocess
import sys
import tempfile
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from attacklib import sandbox_required  # noqa: F401  (the fixture)

from conftest import REPO
from triops.config import get_settings
from triops.errors import InvalidInputError
from triops.labs.sandbox import Sandbox
from triops.quiz import exam as engine
from triops.quiz.blueprint import Blueprint, Exam, TaskDraw, load_exams
from triops.quiz.exam import AttemptClosedError
from triops.quiz.grading import InvalidResponse
from triops.store import users
from triops.store.connection import open_state
from triops.tasks.grader import (
    build_folder,
    editable_files,
    grade_files,
    grade_folder,
    sandbox_runner,
    solution_files,
)
from triops.tasks.selfcheck import self_check
from triops.tasks.spec import course_domains, load_tasks

needs_sandbox = pytest.mark.usefixtures("sandbox_required")
ALL = load_tasks(REPO, course_domains(REPO))
T0 = datetime(2026, 12, 6, 9, 0, 0)
GATE = "devops/gate-build-on-tests"


def settings():
    s = get_settings()
    return {"sandbox_root": s.sandbox_root, "labs_venv": s.labs_venv}


def folder_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if "__pycache__" not in p.parts):
        digest.update(path.relative_to(folder).as_posix().encode())
        if path.is_file() and not path.is_symlink():
            digest.update(path.read_bytes())
    return digest.hexdigest()


# --- the real tasks ---------------------------------------------------------------------------


def test_every_task_folder_loads_without_problems():
    assert [str(p) for p in ALL.problems] == []
    keys = {t.key for t in ALL.tasks}
    assert {k for k in keys if k.startswith("devops/")} == {
        "devops/gate-build-on-tests",
        "devops/deploy-after-build",
        "devops/matrix-test-groups",
        "devops/token-out-of-the-workflow",
    }
    for task in ALL.tasks:
        assert sum(c.weight for c in task.spec.criteria) == 100


def _asks_the_course(task) -> bool:
    run = task.spec.run
    return run.kind == "eval" and "triops:extractive" in task.starter_text(run.config)


def _self_checked(task) -> None:
    before = folder_digest(task.folder)
    result = self_check(task, **settings())
    assert result.problems == []
    assert result.starter.points < 100
    assert result.solution.points == 100
    # Grading reads the task folder and never writes to it.
    assert folder_digest(task.folder) == before


@needs_sandbox
@pytest.mark.parametrize(
    "task", [t for t in ALL.tasks if not _asks_the_course(t)], ids=lambda t: t.key
)
def test_starter_scores_below_100_the_solution_100_and_twice_the_same(task, request):
    if task.spec.run.kind == "eval":
        # TRIOPS_HOME holds the saved query encoder, as an installation whose search has been
        # built does: each grading's eval child encodes with it instead of loading the model.
        request.getfixturevalue("encoder_home")
    _self_checked(task)


@needs_sandbox
@pytest.mark.parametrize("task", [t for t in ALL.tasks if _asks_the_course(t)], ids=lambda t: t.key)
def test_a_task_asking_the_course_scores_starter_below_100_solution_100_twice_alike(
    task, indexed_home
):
    """The same check for a task whose eval asks the course (Ask's engine): TRIOPS_HOME holds the
    run's course index, as an installation that has built it does, instead of each grading's
    eval child building one from nothing (about 6 minutes of this test on a busy machine)."""
    _self_checked(task)


@needs_sandbox
def test_tasks_check_cli_prints_each_verdict_and_exits_0():
    done = subprocess.run(
        [sys.executable, "-m", "triops.cli", "tasks", "check", f"quizzes/tasks/{GATE}", "--once"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "starter: 0/100"
    assert "  passed  package-needs-test (30): package needs test" in lines
    assert lines[-1] == "ok: starter 0 < 100, solution 100"


def test_tasks_check_cli_exits_2_on_a_folder_that_is_no_task(tmp_path):
    folder = tmp_path / "not-a-task"
    folder.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "triops.cli", "tasks", "check", str(folder)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr == f"{folder}/task.yaml:1: error: missing task.yaml\n"
    assert "Traceback" not in done.stderr


# --- triops validate: located problems --------------------------------------------------------


def course_with_task(tmp_path: Path, key: str = GATE) -> tuple[Path, Path]:
    """A root with the vocabulary and one real task copied in; (root, task folder)."""
    root = tmp_path / "root"
    (root / "quizzes").mkdir(parents=True)
    shutil.copy2(REPO / "quizzes" / "vocabulary.yaml", root / "quizzes" / "vocabulary.yaml")
    folder = root / "quizzes" / "tasks" / key
    shutil.copytree(REPO / "quizzes" / "tasks" / key, folder)
    return root, folder


def problems_of(root: Path) -> list[str]:
    return [str(p) for p in load_tasks(root, course_domains(root)).problems]


def test_weights_that_do_not_add_up_to_100_are_an_error_at_the_criteria_line(tmp_path):
    root, folder = course_with_task(tmp_path)
    spec = folder / "task.yaml"
    spec.write_text(spec.read_text().replace("weight: 40", "weight: 45"))
    line = spec.read_text().splitlines().index("criteria:") + 1
    assert problems_of(root) == [
        f"quizzes/tasks/{GATE}/task.yaml:{line}: error: criteria weights are percents and must "
        "add up to 100, not 105"
    ]


def test_a_check_that_reads_a_file_the_starter_lacks_is_an_error_at_its_line(tmp_path):
    root, folder = course_with_task(tmp_path)
    check = folder / "check.py"
    text = check.read_text().replace(
        "    workflow = ctx.yaml(WORKFLOW)\n",
        "    workflow = ctx.yaml(WORKFLOW)\n    ctx.text('deploy/settings.toml')\n",
    )
    check.write_text(text)
    line = text.splitlines().index("    ctx.text('deploy/settings.toml')") + 1
    assert problems_of(root) == [
        f"quizzes/tasks/{GATE}/check.py:{line}: error: ctx.text('deploy/settings.toml') reads a "
        "file that starter/ does not have"
    ]
    # A constant naming the file is followed too.
    (folder / "starter" / ".github" / "workflows" / "ci.yml").unlink()
    found = problems_of(root)
    assert any("check.py:" in p and "ctx.yaml('.github/workflows/ci.yml')" in p for p in found)
    assert any("editable file '.github/workflows/ci.yml' is not in starter/" in p for p in found)


def test_a_criterion_without_its_function_and_a_wrong_domain_are_errors(tmp_path):
    root, folder = course_with_task(tmp_path)
    spec = folder / "task.yaml"
    text = spec.read_text().replace("id: red-test-skips-package", "id: package-is-signed")
    text = text.replace("domain: integration-and-testing", "domain: integration")
    spec.write_text(text)
    lines = text.splitlines()
    found = problems_of(root)
    assert (
        f"quizzes/tasks/{GATE}/task.yaml:{lines.index('domain: integration') + 1}: error: "
        "domain 'integration' is not a devops domain of quizzes/vocabulary.yaml"
    ) in found
    assert (
        f"quizzes/tasks/{GATE}/task.yaml:{lines.index('  - id: package-is-signed') + 1}: error: "
        "criterion 'package-is-signed' has no function package_is_signed(ctx) in check.py"
    ) in found


def test_validate_reports_a_broken_task_at_its_line(tmp_path):
    root, folder = course_with_task(tmp_path)
    (folder / "task.yaml").write_text(
        (folder / "task.yaml").read_text().replace("minutes: 12", "minutes: twelve")
    )
    from triops.validate import validate

    report = validate(root)
    assert any(
        p.path == f"quizzes/tasks/{GATE}/task.yaml" and p.line == 5 and "minutes" in p.message
        for p in report.problems
    )


# --- trustworthy grading: tampering fails -----------------------------------------------------

TAMPERING_WORKFLOW = """\
name: ci

on:
  push:
    branches: [main]

jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Rewrite the check and the starter so that everything passes
        run: |
          printf 'def package_needs_test(ctx):\n    return True, "tampered"\n' > {check} || true
          cp {solution} {starter} || true
          ln -sf {solution} .github/workflows/ci.yml || true
      - name: Run the tests
        run: pytest -q || true

  package:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Package a link to the solution instead of the source
        run: mkdir -p dist && ln -s {solution} dist/shipping.zip
      - uses: actions/upload-artifact@v4
        with:
          name: package
          path: dist/shipping.zip
"""


@needs_sandbox
def test_a_solution_that_tampers_with_its_check_files_fails_and_changes_nothing():
    task = ALL.get(GATE)
    workflow = ".github/workflows/ci.yml"
    planted = TAMPERING_WORKFLOW.format(
        check=task.check_file,
        solution=task.solution / workflow,
        starter=task.starter / workflow,
    )
    before = folder_digest(task.folder)
    grade = grade_files(task, {workflow: planted}, **settings())
    assert folder_digest(task.folder) == before
    verdicts = {v.id: v for v in grade.verdicts}
    assert not any("tampered" in v.reason for v in grade.verdicts)
    assert grade.points == 0, grade.outcome()
    assert not verdicts["red-test-skips-package"].passed


@needs_sandbox
def test_the_grader_follows_no_link_in_the_folder_it_grades(tmp_path):
    """Even a folder that holds links (not one the grader built) is read without following
    them: the workflow linked to the solution reads as missing."""
    task = ALL.get(GATE)
    folder = build_folder(task, None, tmp_path / "files")
    target = folder / ".github" / "workflows" / "ci.yml"
    target.unlink()
    target.symlink_to(task.solution / ".github" / "workflows" / "ci.yml")
    box = Sandbox(root=get_settings().sandbox_root)
    try:
        runner = sandbox_runner(task, sandbox=box, labs_venv=get_settings().labs_venv)
        grade = grade_folder(task, folder, runner)
    finally:
        box.close()
    verdicts = {v.id: v for v in grade.verdicts}
    assert verdicts["package-needs-test"].passed is False
    assert verdicts["package-needs-test"].reason == ".github/workflows/ci.yml has no package job"


def test_an_answer_may_only_hold_the_editable_files():
    task = ALL.get(GATE)
    for path in ("check.py", "../check.py", "solution/.github/workflows/ci.yml", "tests/x.py"):
        with pytest.raises(InvalidInputError, match="not an editable file"):
            editable_files(task, {path: "x"})
    with pytest.raises(InvalidInputError, match="is text"):
        editable_files(task, {".github/workflows/ci.yml": ["not", "text"]})
    assert editable_files(task, None) == {
        ".github/workflows/ci.yml": task.starter_text(".github/workflows/ci.yml")
    }


# --- tasks inside a timed exam ----------------------------------------------------------------


@pytest.fixture
def db(tmp_path):
    conn = open_state(tmp_path / "state.duckdb")
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def bank():
    from triops.quiz.bank import load_bank

    return load_bank(REPO)


def task_exam(bank, weight: float = 40, count: int = 2) -> Exam:
    """The DevOps quick mock with `count` of the DevOps tasks carrying `weight` % of the score."""
    quick = load_exams(REPO, bank).get("devops-practitioner")
    bp = quick.blueprint.model_copy(
        update={
            "tasks": TaskDraw(weight=weight, count=count, ids=[GATE, "devops/matrix-test-groups"])
        }
    )
    pool = tuple(ALL.get(k) for k in bp.tasks.ids)
    return replace(quick, blueprint=bp, task_pool=pool)


def test_tasks_are_drawn_after_the_questions_as_snapshots(db, bank):
    ada = users.create_user(db, "Ada", T0).id
    row = engine.start(db, task_exam(bank), bank, ada, T0, random.Random(3))
    view = engine.load(db, row.token, ada, T0)
    assert len(view.questions) == 32 and row.question_count == 32
    tasks = [d for d in view.questions if engine.is_task(d.question)]
    assert [d.position for d in tasks] == [30, 31]
    assert {d.question.task for d in tasks} == {GATE, "devops/matrix-test-groups"}
    gate = next(d.question for d in tasks if d.question.task == GATE)
    assert gate.editable == [".github/workflows/ci.yml"]
    assert [c.weight for c in gate.criteria] == [30, 40, 30]
    assert len(gate.fingerprint) == 16


def test_a_task_answer_is_saved_durably_and_refused_after_the_deadline(tmp_path, bank):
    path = tmp_path / "state.duckdb"
    conn = open_state(path)
    ada = users.create_user(conn, "Ada", T0).id
    row = engine.start(conn, task_exam(bank), bank, ada, T0, random.Random(3))
    view = engine.load(conn, row.token, ada, T0)
    position = next(d.position for d in view.questions if engine.is_task(d.question))
    item = view.questions[position].question
    answer = {"files": {item.editable[0]: "name: work in progress\n"}}
    engine.save_answer(conn, row.token, ada, position, answer, T0 + timedelta(minutes=5), item)
    with pytest.raises(InvalidResponse):
        engine.save_answer(conn, row.token, ada, position, {"files": {"check.py": "x"}}, T0, item)
    conn.close()  # a server restart: the answer is in the file
    conn = open_state(path)
    try:
        again = engine.load(conn, row.token, ada, T0 + timedelta(minutes=6))
        assert again.responses[position] == answer
        late = T0 + timedelta(minutes=46)
        engine.TASK_GRADER = lambda item, response: {"points": 0, "criteria": []}
        try:
            with pytest.raises(AttemptClosedError):
                engine.save_answer(conn, row.token, ada, position, {"files": {}}, late, item)
        finally:
            engine.TASK_GRADER = None
    finally:
        conn.close()


@needs_sandbox
def test_submit_grades_each_task_on_its_saved_files_with_partial_credit(db, bank):
    ada = users.create_user(db, "Ada", T0).id
    row = engine.start(db, task_exam(bank, weight=40), bank, ada, T0, random.Random(3))
    view = engine.load(db, row.token, ada, T0)
    by_task = {d.question.task: d for d in view.questions if engine.is_task(d.question)}
    gate = by_task[GATE]
    solved = solution_files(ALL.get(GATE))
    engine.save_answer(db, row.token, ada, gate.position, {"files": solved}, T0, gate.question)
    # Every question answered right: the questions' part is 100 %.
    from triops.quiz.grading import right_answer

    for d in view.questions:
        if not engine.is_task(d.question):
            engine.save_answer(db, row.token, ada, d.position, right_answer(d.question), T0)
    engine.submit(db, row.token, ada, T0 + timedelta(minutes=20))
    done = engine.load(db, row.token, ada, T0 + timedelta(minutes=21))
    r = engine.result(done)
    assert r.scores[gate.position] == 1.0
    assert [c["passed"] for c in r.criteria[gate.position]] == [True, True, True]
    matrix = by_task["devops/matrix-test-groups"].position
    assert r.scores[matrix] == 0.0  # the starter, untouched
    assert [c["id"] for c in r.criteria[matrix]] == [
        "two-green-cells",
        "cells-run-their-own-group",
        "no-cell-cancelled",
    ]
    assert all(c["reason"] for c in r.criteria[matrix])
    # 60 % of 100 (questions) + 40 % of the tasks' mean (50 %).
    assert r.percent == pytest.approx(80.0)
    tasks = next(d for d in r.domains if d.key == engine.TASKS_DOMAIN)
    assert (tasks.earned, tasks.possible) == (1.0, 2)
    # A regrade of the stored attempt reuses the verdicts given at submit.
    assert engine.grade_attempt(done)["percent"] == pytest.approx(80.0)


def test_an_expired_attempt_grades_its_tasks_on_what_was_saved_by_the_deadline(db, bank):
    seen = []

    def grader(item, response):
        seen.append((item.task, response))
        return {"points": 30, "criteria": [{"id": "a", "weight": 30, "passed": True}]}

    ada = users.create_user(db, "Ada", T0).id
    row = engine.start(db, task_exam(bank, weight=50, count=1), bank, ada, T0, random.Random(3))
    view = engine.load(db, row.token, ada, T0)
    d = next(d for d in view.questions if engine.is_task(d.question))
    rel = d.question.editable[0]
    engine.save_answer(
        db, row.token, ada, d.position, {"files": {rel: "in time\n"}}, T0, d.question
    )
    engine.TASK_GRADER = grader
    try:
        with pytest.raises(AttemptClosedError):
            engine.save_answer(
                db,
                row.token,
                ada,
                d.position,
                {"files": {rel: "too late\n"}},
                T0 + timedelta(minutes=50),
                d.question,
            )
        finished = engine.load(db, row.token, ada, T0 + timedelta(minutes=50))
    finally:
        engine.TASK_GRADER = None
    assert finished.state == "finished"
    assert seen == [(d.question.task, {"files": {rel: "in time\n"}})]
    r = engine.result(finished)
    assert r.scores[d.position] == pytest.approx(0.3)


def test_a_profile_that_draws_more_tasks_than_its_pool_is_an_error_at_its_line(tmp_path):
    root, _ = course_with_task(tmp_path)
    (root / "quizzes" / "exams").mkdir()
    profile = root / "quizzes" / "exams" / "hands-on.yaml"
    profile.write_text(
        "title: Hands-on\ntracks: [devops]\ntime_limit_minutes: 30\npass_mark: 70\n"
        "questions: 1\ndomains:\n  - {domain: devops/integration-and-testing, count: 1}\n"
        "tasks:\n  weight: 50\n  count: 2\n  ids:\n    - devops/gate-build-on-tests\n"
        "    - devops/no-such-task\n"
    )
    found = [str(p) for p in load_exams(root).problems]
    assert found == [
        "quizzes/exams/hands-on.yaml:13: error: task 'devops/no-such-task' is not a task of "
        "quizzes/tasks/ (track/id)"
    ]
    profile.write_text(profile.read_text().replace("    - devops/no-such-task\n", ""))
    assert [str(p) for p in load_exams(root).problems] == [
        "quizzes/exams/hands-on.yaml:8: error: tasks.count is 2 but the pool holds 1 task"
    ]


def test_a_blueprint_stored_before_tasks_existed_still_loads():
    stored = load_exams(REPO).get("devops-practitioner").blueprint.model_dump_json()
    data = json.loads(stored)
    data.pop("tasks")
    assert Blueprint.model_validate(data).tasks is None


def test_a_regrade_for_a_miskeyed_question_keeps_the_tasks_verdicts(db, bank):
    """Issue 20 item 3's regrade on an attempt that holds tasks: the question's remedy applies
    and each task keeps the verdicts its check gave at submit (nothing is run again)."""
    from triops.quiz import reports
    from triops.quiz.grading import right_answer

    ada = users.create_user(db, "Ada", T0).id
    row = engine.start(db, task_exam(bank, weight=40), bank, ada, T0, random.Random(3))
    view = engine.load(db, row.token, ada, T0)
    questions = [d for d in view.questions if not engine.is_task(d.question)]
    wrong = next(d for d in questions if d.question.type == "single")
    for d in questions:
        response = right_answer(d.question)
        if d is wrong:
            response = next(i for i in range(len(d.question.options)) if i != response)
        engine.save_answer(db, row.token, ada, d.position, response, T0)
    criteria = [{"id": "a", "weight": 50, "passed": True}, {"id": "b", "weight": 50}]
    engine.TASK_GRADER = lambda item, response: {"points": 50, "criteria": criteria}
    try:
        engine.submit(db, row.token, ada, T0 + timedelta(minutes=10))
    finally:
        engine.TASK_GRADER = None
    before = engine.load(db, row.token, ada, T0 + timedelta(minutes=11)).row.score
    # Questions 29 of 30 right (60 %) and the tasks half right (40 %).
    assert before == pytest.approx(0.6 * 100 * 29 / 30 + 0.4 * 50)
    made, _ = reports.submit(
        db,
        ada,
        wrong.question,
        wrong.track,
        source="exam",
        category="wrong-key",
        comment="Two options are defensible here.",
        now=T0 + timedelta(hours=1),
        attempt_id=row.id,
    )

    def no_grading(item, response):
        raise AssertionError("a regrade must not run a task's check again")

    engine.TASK_GRADER = no_grading
    try:
        outcome = reports.resolve(
            db,
            made.id,
            "upheld-miskeyed",
            "Both readings are defensible; every answer is credited.",
            T0 + timedelta(hours=2),
            remedy="credit-all",
        )
    finally:
        engine.TASK_GRADER = None
    (regrade,) = outcome.regrades
    assert regrade.after == pytest.approx(0.6 * 100 + 0.4 * 50)
    after = json.loads(engine.load(db, row.token, ada, T0 + timedelta(hours=3)).row.result_json)
    tasks = [q for q in after["questions"] if q.get("task")]
    assert [(q["points"], q["criteria"]) for q in tasks] == [(50, criteria), (50, criteria)]


def test_a_machine_that_cannot_run_the_tasks_still_finishes_the_attempt(
    db, bank, monkeypatch, tmp_path
):
    monkeypatch.setenv("TRIOPS_LABS_VENV", str(tmp_path / "no-venv"))
    get_settings.cache_clear()
    ada = users.create_user(db, "Ada", T0).id
    row = engine.start(db, task_exam(bank, weight=40), bank, ada, T0, random.Random(3))
    engine.submit(db, row.token, ada, T0 + timedelta(minutes=5))
    done = engine.load(db, row.token, ada, T0 + timedelta(minutes=6))
    assert done.state == "finished"
    tasks = [q for q in json.loads(done.row.result_json)["questions"] if q.get("task")]
    assert len(tasks) == 2 and all(q["ungraded"] and q["points"] == 0 for q in tasks)
    reasons = {c["reason"] for q in tasks for c in q["criteria"]}
    assert reasons == {
        "not graded: the machine could not run the task (The labs' tool environment is missing "
        f"at {tmp_path / 'no-venv'}: run `make install`.)"
    }


@needs_sandbox
def test_run_in_an_exam_runs_the_saved_files_in_the_background_and_logs_them(db, tmp_path):
    from triops import jobs
    from triops.labs import service as lab_service
    from triops.tasks import service

    task = ALL.get(GATE)
    runner = jobs.Jobs(db.cursor, lambda: T0, log_dir=tmp_path / "jobs")
    try:
        solved = solution_files(task)
        job = service.start_run(runner, user_id="ada", task=task, files=solved, **settings())
        with pytest.raises(InvalidInputError, match="still going"):
            service.start_run(runner, user_id="ada", task=task, files=None, **settings())
        assert job.wait(300)
        assert (job.state, job.result) == ("succeeded", {"status": "success"})
        latest = service.latest_run(db.cursor(), "ada", task)
        assert latest.id == job.id
        log = lab_service.read_log(latest)
        assert "package" in log and log.rstrip().splitlines()[-1].startswith("run: success in ")
        # The starter's run succeeds too (its gate is the flaw): Run never grades.
        again = service.start_run(runner, user_id="ada", task=task, files=None, **settings())
        assert again.wait(300) and again.result == {"status": "success"}
    finally:
        runner.close()


PY_TASKS = [t for t in ALL.tasks if any(rel.endswith(".py") for rel in t.spec.editable)]


@needs_sandbox
@pytest.mark.parametrize("task", PY_TASKS[:1], ids=lambda t: t.key)
def test_a_candidates_python_runs_in_the_sandbox_never_in_the_graders_process(task, tmp_path):
    """The candidate's Python, solved, with first lines that leave a mark named after the uid
    that ran them: the check still passes (the code ran, in the sandbox), and no mark was left
    by root (the grader's process), nor was the module imported into it."""
    rel = next(rel for rel in task.spec.editable if rel.endswith(".py"))
    # Under the system temp dir: pytest's own is 0700, which no pool UID can traverse.
    marks = Path(tempfile.mkdtemp(prefix="triops-marks-"))
    marks.chmod(0o777)
    probe = (
        "import os as _os\n"
        f"_p = {str(marks)!r} + '/uid-' + str(_os.getuid())\n"
        "try:\n    open(_p, 'w').close()\nexcept OSError:\n    pass\n"
    )
    files = solution_files(task)
    solved = files[rel]
    # After a module docstring and `from __future__` lines, which must stay first.
    lines = solved.splitlines(keepends=True)
    cut = 0
    for i, line in enumerate(lines):
        if line.startswith("from __future__"):
            cut = i + 1
    files[rel] = "".join(lines[:cut]) + probe + "".join(lines[cut:])
    module = Path(rel).stem
    before = set(sys.modules)
    grade = grade_files(task, files, **settings())
    assert grade.points == 100, grade.outcome()
    left = sorted(p.name for p in marks.iterdir())
    shutil.rmtree(marks, ignore_errors=True)
    # (The sandbox lets the run write only in its own work folder, so no mark is expected at
    # all; one by root would mean the grader ran the file itself.)
    assert "uid-0" not in left
    assert module not in set(sys.modules) - before
