"""Exam figures: answer save latency, exam start on a 10,000-question bank, grading."""

from __future__ import annotations

import random
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from bench.report import Figure, percentile
from triops.quiz import exam as engine
from triops.quiz.bank import Bank, BankQuestion, load_bank
from triops.quiz.blueprint import load_exams
from triops.quiz.grading import right_answer
from triops.store import users
from triops.store.connection import open_state

REPO = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 11, 28, 9, 0)


def big_bank(size: int = 10_000) -> Bank:
    """The real bank repeated with fresh ids up to `size` questions."""
    real = load_bank(REPO)
    questions = []
    n = 0
    while len(questions) < size:
        for q in real.questions:
            if len(questions) >= size:
                break
            copy = q.question.model_copy(update={"id": f"{q.id}-g{n}"})
            questions.append(BankQuestion(copy, q.track, q.path, q.line))
        n += 1
    return Bank(questions=questions, vocabulary=real.vocabulary)


def save_latency(runs: int = 2000) -> list[Figure]:
    bank = load_bank(REPO)
    exam = load_exams(REPO, bank).get("triad-mock-certification")
    with tempfile.TemporaryDirectory() as home:
        db = open_state(Path(home) / "state.duckdb")
        user = users.create_user(db, "Bench", T0)
        row = engine.start(db, exam, bank, user.id, T0, random.Random(1))
        view = engine.load(db, row.token, user.id, T0)
        db.execute("CREATE TABLE bare (a VARCHAR, p INTEGER, r VARCHAR, t TIMESTAMP)")
        service, bare = [], []
        for i in range(runs):
            d = view.questions[i % len(view.questions)]
            answer = right_answer(d.question)
            now = T0 + timedelta(milliseconds=i)
            start = time.perf_counter()
            engine.save_answer(db, row.token, user.id, d.position, answer, now, d.question)
            service.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            db.execute("INSERT INTO bare VALUES (?, ?, ?, ?)", [row.id, d.position, "0", now])
            bare.append((time.perf_counter() - start) * 1000)
        db.close()
    return [
        Figure(
            "answer save p50 (service: token, deadline guard, commit)",
            percentile(service, 50),
            "ms",
            percentile(bare, 50),
            "ratio <= 1.5",
            "baseline: bare one-row insert",
        ),
        Figure(
            "answer save p99",
            percentile(service, 99),
            "ms",
            percentile(bare, 99),
            "ratio <= 1.5",
            "baseline: bare one-row insert p99",
        ),
    ]


def start_exam(runs: int = 60) -> Figure:
    bank = big_bank()
    exam = load_exams(REPO, load_bank(REPO)).get("triad-mock-certification")
    times = []
    with tempfile.TemporaryDirectory() as home:
        db = open_state(Path(home) / "state.duckdb")
        for i in range(runs):
            user = users.create_user(db, f"Bench {i}", T0)
            start = time.perf_counter()
            engine.start(db, exam, bank, user.id, T0, random.Random(i))
            times.append((time.perf_counter() - start) * 1000)
        db.close()
    return Figure(
        f"start exam: draw {exam.blueprint.total} of {len(bank.questions)} (p95)",
        percentile(times, 95),
        "ms",
        None,
        "p95 <= 50 ms",
    )


def grading(runs: int = 200) -> Figure:
    bank = load_bank(REPO)
    exam = load_exams(REPO, bank).get("triad-mock-certification")
    with tempfile.TemporaryDirectory() as home:
        db = open_state(Path(home) / "state.duckdb")
        user = users.create_user(db, "Bench", T0)
        row = engine.start(db, exam, bank, user.id, T0, random.Random(2))
        view = engine.load(db, row.token, user.id, T0)
        rng = random.Random(3)
        for d in view.questions:
            if rng.random() < 0.8:
                view.responses[d.position] = right_answer(d.question)
        db.close()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        engine.grade_attempt(view)
        times.append((time.perf_counter() - start) * 1000)
    return Figure(
        f"grade a {len(view.questions)}-question attempt (p95)",
        percentile(times, 95),
        "ms",
        None,
        "p95 <= 10 ms",
        "no semantic grading",
    )


def idle_exam_cpu(n: int = 100, seconds: float = 60, warmup: float = 10) -> Figure:
    """Server CPU while n candidates sit on a running exam (countdown resync every 15 s),
    against the same n sessions idle on the Home page, each in its own server."""
    from bench.ws_sessions import idle_sessions_cpu
    from triops.testing import streamlit_server

    bank = load_bank(REPO)
    exam = load_exams(REPO, bank).get("triad-mock-certification")
    with tempfile.TemporaryDirectory() as home:
        now = datetime.utcnow()
        db = open_state(Path(home) / "state.duckdb")
        queries = []
        for i in range(n):
            user = users.create_user(db, f"Candidate {i}", now)
            row = engine.start(db, exam, bank, user.id, now, random.Random(i))
            queries.append(f"profile={user.id}&attempt={row.token}&q=1")
        db.execute("CHECKPOINT")
        db.close()
        # Sessions only: no search index building in the background (a fresh home starts one
        # at the first page view, which would take a core in both runs).
        env = {"TRIOPS_HOME": home, "TRIOPS_SEARCH_WARMUP": "0"}
        with streamlit_server(REPO / "app.py", env=env) as server:
            exam_run = idle_sessions_cpu(
                server.url,
                server.process.pid,
                n=n,
                seconds=seconds,
                page="exam",
                query=queries,
                warmup=warmup,
            )
        with streamlit_server(REPO / "app.py", env=env) as server:
            home_run = idle_sessions_cpu(
                server.url,
                server.process.pid,
                n=n,
                seconds=seconds,
                page="",
                query=queries,
                warmup=warmup,
            )
    if exam_run["errors"] or exam_run["sessions_ready"] < n:
        raise RuntimeError(f"idle exam sessions failed: {exam_run['errors']}")
    return Figure(
        f"server CPU, {n} idle exam sessions (% of one core)",
        exam_run["cpu_percent_of_one_core"],
        "%",
        home_run["cpu_percent_of_one_core"],
        "<= 10 %",
        f"{exam_run['reruns_sent']} countdown resyncs in {exam_run['seconds']:.0f} s; "
        "baseline: the same sessions on Home",
    )


def semantic_grading(runs: int = 100) -> Figure:
    """Grading one short answer by meaning (one encode), apart from the exam grading figure."""
    from triops.quiz.grading import grade
    from triops.search.embedder import default_embedder

    # The bank's semantic short-answer item (practice only; the one the semantic tests use).
    question = load_bank(REPO).by_id()["devops-canary-promotion-check"].question
    embedder = default_embedder(None)
    grade(question, "warm up the model", embedder)
    times = []
    for i in range(runs):
        start = time.perf_counter()
        grade(question, f"version 2.4 errs no more than 2.3 over the last {i} minutes", embedder)
        times.append((time.perf_counter() - start) * 1000)
    return Figure(
        "grade a short answer by meaning (p95)",
        percentile(times, 95),
        "ms",
        None,
        "",
        "one encode of the answer and the accepted answers",
    )
