"""Readiness figures (issue 17 items 3, 4 and 7).

- Readiness recomputed after an answer, with a 5,000-question bank (the real bank repeated with
  fresh ids): one practice answer logged, then the profile's answers read and its readiness
  assessed (abilities, every exam profile's pass probability, what to study next) with the
  stored calibration and the model built once, as the app keeps it. The profile has 600
  answers; the installation 200 other learners with 60 each. Baseline: the bare read of the
  profile's answers, in the same run.
- Item calibration over 100,000 answers (1,667 synthetic learners x 60 answers to the real bank,
  drawn from known parameters): Triops's fit (EM cycles, then L-BFGS-B) against the same
  objective fitted by scipy's L-BFGS-B alone from the day-one values; the two must reach the
  same optimum before a ratio is reported.
- The calibration simulation: 1,000 learners, 60 practice answers each, the predicted pass
  probability of a full mock against the simulated outcome, seeds 0-11 of both DevOps mocks:
  Brier score against the naive "percent right so far" (as pass when it reaches the pass mark),
  and the worst decile, beside the worst decile of the learners' true pass probabilities on
  the same outcomes (the outcome noise alone) and the gap between predicted and true
  probability per decile (the model's error alone), and how many of the seeds a perfectly
  calibrated predictor as sharp as the model (and as the truth) would be expected to miss
  (simulate_readiness.Outcome.miss_chance).
- The placement test against a fixed 40-question form (simulated learners of known ability,
  questions with known parameters drawn like the simulation's bank): mean questions to reach
  the form's standard error, per track on its real pool, and on a simulated 200-question pool
  with the triad's mix (kept beside the real one: with its first 84 questions the triad's
  pool could not meet the target, and this shows what a pool of that size gives); baseline 40.
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from bench.report import Figure, median, percentile
from triops.quiz import irt, placement, readiness
from triops.quiz import simulate_readiness as sim
from triops.quiz.bank import Bank, BankQuestion, load_bank
from triops.quiz.blueprint import load_exams
from triops.store import practice, users
from triops.store import readiness as store
from triops.store.connection import open_state

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 12, 6, 9, 0)
SIZE = 5_000
SIM_POOL = 200


def big_bank(size: int = SIZE) -> Bank:
    """The real bank repeated with fresh ids up to `size` questions (exam pools grow too)."""
    real = load_bank(REPO)
    questions = []
    for n in range(size):
        q = real.questions[n % len(real.questions)]
        copy = q.question.model_copy(update={"id": f"{q.id}-r{n // len(real.questions)}"})
        questions.append(BankQuestion(copy, q.track, q.path, q.line))
    return Bank(questions=questions, vocabulary=real.vocabulary)


def after_answer(runs: int = 200) -> list[Figure]:
    bank = big_bank()
    exams = load_exams(REPO, bank)
    rng = np.random.default_rng(11)
    items = readiness.bank_items(bank)
    practice_ids = np.array(
        [items.index[q.id] for q in bank.practice() if q.id in items.index], np.int64
    )
    world = sim.truth(items, 201, rng)
    with tempfile.TemporaryDirectory() as home:
        db = open_state(Path(home) / "state.duckdb")
        ids = [users.create_user(db, f"Learner {k}", NOW).id for k in range(201)]
        rows = []
        for k, user in enumerate(ids):
            picks = rng.choice(practice_ids, 600 if k == 0 else 60, replace=False)
            p = irt.prob(world.theta[k, items.domain[picks]], world.a[picks], world.b[picks])
            right = (rng.random(len(picks)) < p).astype(float)
            for m, (i, r) in enumerate(zip(picks, right, strict=True)):
                rows.append((user, str(items.ids[i]), float(r), NOW - timedelta(minutes=m + 1)))
        frame = pd.DataFrame(rows, columns=["user_id", "question_id", "score", "answered_at"])
        db.register("_answers", frame)
        db.execute("INSERT INTO practice_log SELECT * FROM _answers")
        db.unregister("_answers")
        row, parameters = readiness.ensure_calibration(db, bank, NOW)
        model = readiness.build_model(bank, exams, row, parameters)
        user = ids[0]
        assess, bare = [], []
        questions = items.ids[practice_ids]
        for n in range(runs):
            at = NOW + timedelta(seconds=n)
            start = time.perf_counter()
            practice.log_answer(db, user, str(questions[n % len(questions)]), 1.0, at)
            result = readiness.assess(model, store.answers(db, user), at)
            assess.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            store.answers(db, user)
            bare.append((time.perf_counter() - start) * 1000)
        db.close()
    given = sum(e.probability is not None for e in result.exams)
    return [
        Figure(
            "readiness after an answer, 5,000-question bank (p95)",
            percentile(assess, 95),
            "ms",
            baseline=percentile(bare, 95),
            target="<= 100 ms",
            note=f"profile with {600 + runs} answers, {len(model.exams)} exam profiles "
            f"({given} with a probability); baseline: reading the profile's answers",
        )
    ]


def calibration(answers: int = 100_000) -> list[Figure]:
    bank = load_bank(REPO)
    items = readiness.bank_items(bank)
    rng = np.random.default_rng(23)
    learners = answers // 60
    world = sim.truth(items, learners, rng)
    pool = np.array([items.index[q.id] for q in bank.practice() if q.id in items.index])
    frame = sim.practice_answers(items, pool, world, 60, rng)
    first = readiness.calibration_evidence(frame)
    item = first["question_id"].map(items.index).to_numpy(np.int64)
    person = pd.factorize(first["user_id"] + "/" + pd.Series(items.domain[item]).astype(str))[0]
    data = irt.Answers.of(person, item, first["score"], len(items.ids))
    level = irt.levels(items.difficulty)
    ours, alone = [], []
    fit = base = None
    for _ in range(3):
        fit = irt.calibrate(data, level)
        ours.append(fit.seconds * 1000)
        base = irt.calibrate_scipy_only(data, level)
        alone.append(base.seconds * 1000)
    gap = max(np.abs(fit.b - base.b).max(), np.abs(fit.a - base.a).max())
    if gap > 0.02 or abs(fit.log_posterior - base.log_posterior) > 1e-3 * abs(base.log_posterior):
        raise RuntimeError(f"the two fits disagree (largest parameter gap {gap:.3f})")
    return [
        Figure(
            f"item calibration, {len(first):,} answers (median of 3)",
            median(ours),
            "ms",
            baseline=median(alone),
            target="ratio < 1",
            note=f"{len(items.ids)} questions; EM + L-BFGS-B ({fit.evaluations} evaluations) "
            f"against L-BFGS-B alone ({base.evaluations}); same optimum, largest parameter gap "
            f"{gap:.4f}",
        )
    ]


def simulation(seeds: int = 12) -> list[Figure]:
    bank = load_bank(REPO)
    exams = load_exams(REPO, bank)
    figures = []
    mocks = ("devops-practitioner", "devops-aws-dop-c02")
    # One simulation per seed for both mocks (the same learners, answers and calibration; each
    # mock's outcome is the one sim.run gives it alone with that seed).
    by_seed = [
        sim.run_many(bank, exams, mocks, learners=1000, answers_each=60, seed=seed)
        for seed in range(seeds)
    ]
    for exam_id in mocks:
        runs = [outcomes[exam_id] for outcomes in by_seed]
        brier = np.array([r.brier for r in runs])
        naive = np.array([r.naive_verdict_brier for r in runs])
        worst = np.array([r.worst_decile for r in runs])
        truth = np.array([r.truth_worst_decile for r in runs])
        gap = np.array([r.worst_truth_gap for r in runs])
        # How many of these runs a perfectly calibrated predictor of the model's sharpness
        # (and of the truth's) would be expected to miss, from the outcomes' coin flips alone.
        chance = np.array([r.miss_chance() for r in runs])
        truth_chance = np.array([r.miss_chance(truth=True) for r in runs])
        figures.append(
            Figure(
                f"calibration simulation, {exam_id}: Brier, worst of seeds 0-{seeds - 1}",
                float(brier.max()),
                "",
                baseline=float(naive.min()),
                target="<= 0.15, below the naive",
                note=f"mean {brier.mean():.3f}; below the naive verdict in "
                f"{int((brier < naive).sum())}/{seeds} seeds (naive mean {naive.mean():.3f}, "
                f"as a probability {np.mean([r.naive_brier for r in runs]):.3f}); baseline: "
                "the naive verdict's best seed",
            )
        )
        figures.append(
            Figure(
                f"calibration simulation, {exam_id}: worst decile, worst of seeds 0-{seeds - 1}",
                float(worst.max()),
                "",
                target="<= 0.08",
                note=f"over 0.08 in {int((worst > 0.08).sum())}/{seeds} seeds (median "
                f"{np.median(worst):.3f}; a calibrated predictor this sharp would miss "
                f"{chance.sum():.1f} of {seeds} on average); the learners' true pass "
                f"probabilities on the same outcomes: over 0.08 in {int((truth > 0.08).sum())}/"
                f"{seeds} (worst {truth.max():.3f}; expected {truth_chance.sum():.1f}); "
                f"predicted against true probability per decile: worst {gap.max():.3f}, median "
                f"{np.median(gap):.3f}; per seed (worst, truth's worst, gap): "
                + ", ".join(
                    f"{w:.3f}/{t:.3f}/{g:.3f}" for w, t, g in zip(worst, truth, gap, strict=True)
                ),
            )
        )
    return figures


def placement_vs_fixed(learners: int = 300) -> list[Figure]:
    """Per track, its real placement pool with parameters drawn like the simulation's bank
    (simulate_readiness.item_truth); for the triad also a simulated pool of SIM_POOL questions
    with its mix of domains and levels, the size its real pool had to grow to. Each figure is
    the mean over five fixed forms (placement.against_fixed)."""
    bank = load_bank(REPO)
    model = readiness.build_model(bank, load_exams(REPO, bank))
    figures = []
    runs = [(t, 0) for t in ("triad", "devops", "mlops", "llmops")] + [("triad", SIM_POOL)]
    for track, size in runs:
        rng = np.random.default_rng(31)
        p = sim.placement_pool(bank, model, track, rng, size)
        theta = rng.standard_normal(learners)
        c = placement.against_fixed(p, theta, rng)
        # The bound no choice rule can beat: the true ability known, domains ignored, the
        # 20 most informative questions of the pool for each learner.
        info = irt.information(theta[:, None], p.a[None, :], p.b[None, :])
        best20 = 1.0 + np.sort(info, axis=1)[:, ::-1][:, :20].sum(axis=1)
        bound = float(np.sqrt(np.mean(1.0 / best20)))
        kind = f"simulated {len(p.ids)}-question pool" if size else f"real pool of {len(p.ids)}"
        figures.append(
            Figure(
                f"placement test, {track} ({kind}): questions to a fixed 40-form's SE",
                c.mean_used,
                "questions",
                baseline=40.0,
                target="ratio <= 0.5",
                note=f"ratio {c.ratio:.2f}; forms' RMS SE {min(c.form_se):.3f}-"
                f"{max(c.form_se):.3f}; the best 20 questions at the true ability give "
                f"{bound:.3f} (the bound on any rule)",
            )
        )
    return figures
