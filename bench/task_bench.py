"""Task figures (issue 20 item 5): opening a task inside an exam against a plain lab start of
the same files, and grading the hands-on exam's tasks at submit against the same checks run
directly, each pair measured in the same run."""

from __future__ import annotations

import random
import tempfile
import time
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from bench.report import Figure, median
from triops import jobs
from triops.config import get_settings
from triops.labs import service as lab_service
from triops.quiz import exam as engine
from triops.quiz.bank import load_bank
from triops.quiz.blueprint import load_exams
from triops.store import users
from triops.store.connection import open_state
from triops.tasks import service
from triops.tasks.grader import grade_files, solution_files

REPO = Path(__file__).resolve().parents[1]
EXAM = "triops-hands-on"  # every task of the course, after twelve questions
T0 = datetime(2026, 12, 6, 9, 0, 0)


def _attempt(db, exam, bank, name: str, seed: int):
    user = users.create_user(db, name, T0).id
    row = engine.start(db, exam, bank, user, T0, random.Random(seed))
    return user, row


def open_task(runs: int = 20) -> Figure:
    """The data work of the exam page opening a task (load the attempt, find the task folder,
    fill each editor from the saved answer or the starter, look up the profile's running and
    latest run) against that of the lab page opening the same files as a lab the first time
    (copy the starter, read each editable file, look up the running and latest job, the run
    history and the hints it unlocked). Widgets are left out on both sides."""
    bank = load_bank(REPO)
    exam = load_exams(REPO, bank).get(EXAM)
    in_exam, as_lab = [], []
    with tempfile.TemporaryDirectory() as home:
        db = open_state(Path(home) / "state.duckdb")
        user, row = _attempt(db, exam, bank, "Bench", 1)
        view = engine.load(db, row.token, user, T0)
        tasks = [d for d in view.questions if engine.is_task(d.question)]
        for i in range(runs):
            d = tasks[i % len(tasks)]
            task = service.task_by_key(REPO, d.question.task)
            lab = task.as_lab()

            start = time.perf_counter()
            loaded = engine.load(db, row.token, user, T0 + timedelta(seconds=i))
            item = loaded.questions[d.position].question
            folder = service.task_by_key(REPO, item.task)
            saved = (loaded.responses.get(d.position) or {}).get("files") or {}
            texts = {rel: saved.get(rel, folder.starter_text(rel)) for rel in item.editable}
            service.current_job(db, user)
            service.latest_run(db, user, folder)
            in_exam.append(time.perf_counter() - start)

            start = time.perf_counter()
            files = lab_service.files_dir(Path(home), f"bench-{i}", lab)
            same = {rel: lab_service.read_file(files, lab, rel) for rel in lab.spec.editable}
            lab_service.current_job(db, f"bench-{i}")
            lab_service.latest_job(db, f"bench-{i}", lab)
            lab_service.history(db, f"bench-{i}", lab)
            lab_service.unlocked_hints(db, f"bench-{i}", lab)
            as_lab.append(time.perf_counter() - start)
            assert same == texts, "the exam and the lab must open the same files"
        db.close()
    value, base = median(in_exam) * 1000, median(as_lab) * 1000
    return Figure(
        "open a task inside an exam vs a lab start (median)",
        value,
        "ms",
        base,
        "ratio <= 1.5",
        f"{len(tasks)} tasks, {runs} opens each way",
    )


def grade_at_submit(runs: int = 1) -> Figure:
    """Submitting the hands-on exam with every task solved (its tasks graded by their checks,
    then the attempt) against grading the same saved files with the same checks directly."""
    settings = get_settings()
    bank = load_bank(REPO)
    exam = load_exams(REPO, bank).get(EXAM)
    submit_times, direct_times = [], []
    n = 0
    with tempfile.TemporaryDirectory() as home:
        db = open_state(Path(home) / "state.duckdb")
        for i in range(runs):
            user, row = _attempt(db, exam, bank, f"Bench {i}", i)
            view = engine.load(db, row.token, user, T0)
            answers = {}
            for d in view.questions:
                if engine.is_task(d.question):
                    task = service.task_by_key(REPO, d.question.task)
                    answers[d.position] = (task, {"files": solution_files(task)})
                    engine.save_answer(
                        db, row.token, user, d.position, answers[d.position][1], T0, d.question
                    )
            n = len(answers)

            # The baseline grades the same files with the same checks, as many at a time as
            # submit does, so the ratio is what submit adds (loading, saving, scoring). The
            # first round is a warm-up for both (the checks' first runs fill caches that the
            # sandbox and Ask keep), so neither side pays it.
            direct = [
                partial(
                    grade_files,
                    task,
                    answer["files"],
                    sandbox_root=settings.sandbox_root,
                    labs_venv=settings.labs_venv,
                )
                for task, answer in answers.values()
            ]
            if i == 0:
                jobs.side_by_side(direct, engine.GRADING_THREADS)
            start = time.perf_counter()
            jobs.side_by_side(direct, engine.GRADING_THREADS)
            direct_times.append(time.perf_counter() - start)

            start = time.perf_counter()
            engine.submit(db, row.token, user, T0 + timedelta(minutes=30))
            submit_times.append(time.perf_counter() - start)
            result = engine.result(engine.load(db, row.token, user, T0 + timedelta(minutes=31)))
            graded = [result.scores[p] for p in answers]
            assert graded == [1.0] * n, f"every solved task scores 100: {graded}"
        db.close()
    return Figure(
        f"grade a {n}-task exam at submit vs its checks run directly (median)",
        median(submit_times),
        "s",
        median(direct_times),
        "ratio <= 1.2",
        f"{runs} submit(s) after a warm-up round, solutions saved for every task; submit "
        f"and the baseline both grade {engine.GRADING_THREADS} tasks at a time",
    )
