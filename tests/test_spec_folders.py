"""The folder checks labs and tasks share (triops.labs.spec.folder_problems): the same defect in a
lab folder and in a task folder is reported in the same words, each at its own spec file."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import REPO
from triops.labs.spec import load_labs
from triops.tasks.spec import load_tasks

LAB = "ci-build"
TASK = "devops/gate-build-on-tests"
WORKFLOW = ".github/workflows/ci.yml"


def copies(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A root holding one real workflow lab and one real workflow task."""
    lab = tmp_path / "labs" / LAB
    task = tmp_path / "quizzes" / "tasks" / TASK
    shutil.copytree(REPO / "labs" / LAB, lab)
    shutil.copytree(REPO / "quizzes" / "tasks" / TASK, task)
    return tmp_path, lab, task


def messages(problems, prefix: str) -> list[str]:
    """The messages of the problems in files under `prefix`, without file and line."""
    return sorted(p.message for p in problems if p.path.startswith(prefix))


def test_both_copies_load_without_problems(tmp_path):
    root, _, _ = copies(tmp_path)
    labs, tasks = load_labs(root), load_tasks(root)
    assert (labs.problems, tasks.problems) == ([], [])
    assert [lab.id for lab in labs.labs] == [LAB]
    assert [t.key for t in tasks.tasks] == [TASK]
    lab, task = labs.labs[0], tasks.tasks[0]
    assert lab.starter == root / "labs" / LAB / "starter"
    assert task.solution == root / "quizzes" / "tasks" / TASK / "solution"
    assert lab.instructions == (REPO / "labs" / LAB / "instructions.md").read_text()
    assert task.starter_text(WORKFLOW) == (task.starter / WORKFLOW).read_text()
    assert task.starter_text("no/such/file") == ""


def test_a_missing_solution_and_run_file_read_the_same_in_a_lab_and_a_task(tmp_path):
    root, lab, task = copies(tmp_path)
    for folder in (lab, task):
        shutil.rmtree(folder / "solution")
        (folder / "starter" / WORKFLOW).unlink()
    labs, tasks = load_labs(root), load_tasks(root)
    assert (labs.labs, tasks.tasks) == ([], [])
    expected = [
        f"editable file '{WORKFLOW}' is not in starter/",
        "missing folder",
        f"workflow '{WORKFLOW}' is not in starter/",
    ]
    assert messages(labs.problems, f"labs/{LAB}") == expected
    assert messages(tasks.problems, f"quizzes/tasks/{TASK}/task.yaml") == expected[::2]
    assert [p.path for p in tasks.problems if p.message == "missing folder"] == [
        f"quizzes/tasks/{TASK}/solution"
    ]
    # A task's problems point at the key's line in task.yaml; a lab's at line 1 of lab.yaml.
    lines = (task / "task.yaml").read_text().splitlines()
    run_line = lines.index("run:") + 1
    assert any(p.line == run_line and "workflow" in p.message for p in tasks.problems)
    assert {p.line for p in labs.problems} == {1}


def test_an_event_the_workflow_does_not_list_reads_the_same_in_a_lab_and_a_task(tmp_path):
    root, lab, task = copies(tmp_path)
    for spec in (lab / "lab.yaml", task / "task.yaml"):
        text = spec.read_text()
        if "event: push" in text:
            text = text.replace("event: push", "event: release")
        else:
            text = text.replace(f"workflow: {WORKFLOW}", f"workflow: {WORKFLOW}\n  event: release")
        spec.write_text(text)
    labs, tasks = load_labs(root), load_tasks(root)
    # The reason between the two parts names the workflow's own events, which differ.
    for said in (
        messages(labs.problems, f"labs/{LAB}"),
        messages(tasks.problems, f"quizzes/tasks/{TASK}"),
    ):
        assert [m.split(":")[0] for m in said] == [
            f"run.event 'release' does not trigger solution/{WORKFLOW}",
            f"run.event 'release' does not trigger starter/{WORKFLOW}",
        ]
        assert all("release is not among them" in m for m in said)
        assert all(m.endswith("; set run.event to an event its on: lists") for m in said)
