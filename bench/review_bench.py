"""Spaced review figures (issue 17 item 7): the due queue of a profile with 10,000 cards.

The profile's cards are made by the review service itself: 10,000 practice questions (the real
bank's, repeated with fresh ids), each answered one to four times over the 90 days before the
measurement, three answers in four right (synthetic, drawn at random with a fixed seed), and one
track with an exam date 10 days ahead so that the pull-forward path is live. The baseline is
the bare DuckDB query of the same profile's due rows, measured in the same run: what the queue
costs beyond reading them."""

from __future__ import annotations

import random
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from bench.report import Figure, percentile
from triops.quiz import review
from triops.quiz.bank import Bank, BankQuestion, load_bank
from triops.store import users
from triops.store.connection import open_state

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 12, 6, 9, 0)
CARDS = 10_000
TRACKS = ("triad", "devops", "mlops", "llmops")


def practice_bank(size: int = CARDS) -> Bank:
    """The real bank's practice questions repeated with fresh ids up to `size` questions."""
    real = load_bank(REPO)
    source = real.practice()
    questions = []
    for n in range(size):
        q = source[n % len(source)]
        copy = q.question.model_copy(update={"id": f"{q.id}-r{n // len(source)}"})
        questions.append(BankQuestion(copy, q.track, q.path, q.line))
    return Bank(questions=questions, vocabulary=real.vocabulary)


def seed_profile(db, user_id: str, bank: Bank, rng: random.Random) -> None:
    """Answer every question one to four times over the last 90 days, oldest day first."""
    by_day: dict[int, list[review.Answer]] = {}
    for bq in bank.questions:
        for day in sorted(rng.sample(range(1, 91), rng.randint(1, 4)), reverse=True):
            score = 1.0 if rng.random() < 0.75 else 0.0
            by_day.setdefault(day, []).append(review.Answer(bq.question, bq.track, score))
    for day in sorted(by_day, reverse=True):
        review.record(db, user_id, by_day[day], NOW - timedelta(days=day), "practice")


def due_queue(runs: int = 200) -> list[Figure]:
    bank = practice_bank()
    rng = random.Random(17)
    with tempfile.TemporaryDirectory() as home:
        db = open_state(Path(home) / "state.duckdb")
        user = users.create_user(db, "Bench", NOW).id
        seed_profile(db, user, bank, rng)
        review.set_exam_date(db, user, "devops", (NOW + timedelta(days=10)).date(), NOW, TRACKS)
        cards = db.execute("SELECT count(*) FROM review_cards WHERE user_id = ?", [user])
        count = cards.fetchone()[0]
        if count != CARDS:
            raise RuntimeError(f"expected {CARDS} cards, made {count}")
        queue, page, bare = [], [], []
        size = 0
        for _ in range(runs):
            start = time.perf_counter()
            size = len(review.due_queue(db, user, bank, NOW))
            queue.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            review.overview(db, user, bank, NOW, TRACKS)
            page.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            db.execute(
                "SELECT question_id, due FROM review_cards WHERE user_id = ? AND due <= ? "
                "ORDER BY due",
                [user, NOW],
            ).fetchall()
            bare.append((time.perf_counter() - start) * 1000)
        db.close()
    bare_p95 = percentile(bare, 95)
    return [
        Figure(
            f"due queue, {CARDS:,} cards (p95)",
            percentile(queue, 95),
            "ms",
            bare_p95,
            "p95 <= 50 ms",
            f"{size:,} cards due; baseline: the bare DuckDB query of the due rows",
        ),
        Figure(
            "Review page summary: queue, today per track, 30 days ahead (p95)",
            percentile(page, 95),
            "ms",
            bare_p95,
            "",
            "what the Review page reads per view; baseline as above",
        ),
    ]
