"""Readiness: each profile's ability per domain, the probability of passing each exam profile,
and what to study next, from every graded answer on this installation.

**Evidence.** Every graded answer counts: practice, submitted exams (answered questions only: a
blank is no evidence) and the placement test. For a profile's ability, each question counts
once, with its latest answer; an answer given within SPACING (a day) of the previous answer to
the same question is a retry (the learner has just seen the explanation) and does not replace
it. For item calibration, each profile's first answer to each question counts (later answers
are coloured by the feedback the first one got).

**Item parameters** (triops.quiz.irt): calibrated from those first answers with priors from
the authored difficulty, stored in the database (`item_parameters`) and recalibrated when the
installation has RECALIBRATE_SHARE (10 %) more graded answers than at the last calibration,
and at least RECALIBRATE_MIN (50) more. A question nobody has answered uses the prior for its
authored difficulty (a = 1); a question added since the last calibration likewise.

**Ability.** Per track, the posterior of the profile's abilities in the track's course domains
(irt.posterior: correlated domains, normal approximation); each domain's ability is shown with
its 90 % interval once the profile has MINIMUM_DOMAIN answers in it, and otherwise says how many
more it needs.

**Pass probability** of an exam profile: the probability that the scored result of a fresh
attempt reaches the pass mark, averaged over the ability's posterior (DRAWS fixed draws,
balanced: `fixed_normals`) and over the attempt's random draw. For one ability, each
blueprint domain draws n of the N questions in its pool at random, so its score has mean n p
and variance
n p (1 - p) - n (n - 1) / (N - 1) v, where p is the mean and v the variance of the pool's
probabilities of a right answer; the total, summed over the blueprint's domains, is taken as
normal (with a continuity correction) against the number of right answers the pass mark
needs, with the Edgeworth term for its skewness (its third cumulant: n times the pool's mean of
p (1 - p) (1 - 2 p) per domain), since a score near the top of the scale is skewed down. Against
the exact pass rate of each simulated learner (300 simulated sittings of the mock each, known
parameters), the worst tenth of the normal alone was off by 0.010 (quick DevOps mock, seed 0) and
0.007 (full format), with the skewness term 0.004 and 0.003 (2026-12-07).

The interval is the 5th to 95th percentile of that probability over the ability's
posterior: where it would move as the evidence firms up. Below MINIMUM_ANSWERS answers in the
exam's domains no probability is given (the profile is told how many more it needs), unless
the profile has finished a placement test of every track the exam covers: the placement stops
once its standard error is 0.35, which 20 answers picked at random seldom reach.

**Ready** means a pass probability of at least READY and every lab the blueprint lists under
`labs:` passed (a passed check of that lab).

**What to study next**: the exam's course domains ranked by how much the pass probability
would rise if the ability in that domain alone rose by STEP (half a standard deviation of
learners' abilities), with the lessons its questions link to and its reviews due.

The settings (SPACING, the minimums, READY, STEP, DRAWS) are Triops's choices; the calibration
simulation (tests/test_readiness.py, bench/readiness_bench.py) checks the probabilities they
give against simulated outcomes and against the simulated learners' true pass probabilities;
what its per-decile target can and cannot show at 1,000 learners, and the figures measured,
are in triops.quiz.simulate_readiness.
"""

from __future__ import annotations

import functools
import hashlib
import math
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from triops.quiz import irt
from triops.quiz.bank import Bank
from triops.quiz.blueprint import Exams
from triops.store import readiness as store

SPACING = timedelta(days=1)
MINIMUM_ANSWERS = 20
MINIMUM_DOMAIN = 5
READY = 0.80
STEP = 0.5
DRAWS = 400
DRAW_SEED = 17
RECALIBRATE_SHARE = 0.10
RECALIBRATE_MIN = 50
STUDY_NEXT = 3
MIN_GAIN = 0.005
TRACK_TITLES = {"triad": "The Ops triad", "devops": "DevOps", "mlops": "MLOps", "llmops": "LLMOps"}


# --- evidence ------------------------------------------------------------------------------


def ability_evidence(answers: pd.DataFrame) -> pd.DataFrame:
    """One row per (profile, question): its latest answer that is not a retry (see above)."""
    if answers.empty:
        return answers
    users = pd.factorize(answers["user_id"])[0]
    questions = pd.factorize(answers["question_id"])[0]
    at = answers["answered_at"].to_numpy("datetime64[us]").astype(np.int64)
    order = np.lexsort((at, questions, users))
    key = users[order].astype(np.int64) * (questions.max() + 1) + questions[order]
    same = key[1:] == key[:-1]
    spacing = SPACING // timedelta(microseconds=1)
    counted = order[np.r_[True, ~same | (at[order][1:] - at[order][:-1] >= spacing)]]
    ckey = users[counted].astype(np.int64) * (questions.max() + 1) + questions[counted]
    last = counted[np.r_[ckey[1:] != ckey[:-1], True]]
    return answers.iloc[np.sort(last)]


def calibration_evidence(answers: pd.DataFrame) -> pd.DataFrame:
    """One row per (profile, question): the first answer."""
    if answers.empty:
        return answers
    frame = answers.sort_values(["answered_at"], kind="stable")
    return frame.drop_duplicates(["user_id", "question_id"], keep="first")


# --- the item table ------------------------------------------------------------------------


@dataclass(frozen=True)
class Items:
    """Every bank question with a domain, its course domain and its parameters."""

    ids: np.ndarray
    index: dict[str, int]
    id_index: pd.Index
    track: np.ndarray
    domain: np.ndarray  # index into `domains`
    difficulty: list[str | None]
    a: np.ndarray
    b: np.ndarray
    model: np.ndarray  # irt.TWO_PL, irt.RASCH or irt.PRIOR
    answers: np.ndarray
    domains: list[str]  # "track/domain"


def bank_items(bank: Bank) -> Items:
    """The bank's questions (those with a domain of their track) with prior parameters."""
    domains: list[str] = []
    for track, entries in bank.vocabulary.domains.items():
        domains += [f"{track}/{d.id}" for d in entries]
    where = {d: i for i, d in enumerate(domains)}
    rows = [
        (q.id, q.track, where[f"{q.track}/{q.question.domain}"], q.question.difficulty)
        for q in bank.questions
        if f"{q.track}/{q.question.domain}" in where
    ]
    ids = np.array([r[0] for r in rows], dtype=object)
    difficulty = [r[3] for r in rows]
    b_mean = irt.difficulty_prior(difficulty)
    n = len(rows)
    return Items(
        ids=ids,
        index={q: i for i, q in enumerate(ids)},
        id_index=pd.Index(ids.astype(str)),
        track=np.array([r[1] for r in rows], dtype=object),
        domain=np.array([r[2] for r in rows], dtype=np.int64),
        difficulty=difficulty,
        a=np.ones(n),
        b=b_mean,
        model=np.full(n, irt.PRIOR, dtype=object),
        answers=np.zeros(n, dtype=np.int64),
        domains=domains,
    )


def with_parameters(
    items: Items, parameters: pd.DataFrame, level_means: list[float] | None = None
) -> Items:
    """The items with a calibration's parameters: fitted ones where it has them; the level's
    mean difficulty (and a = 1) for a question nobody answered or added since."""
    b = irt.difficulty_prior(items.difficulty, level_means)
    a = np.ones(len(b))
    model = np.full(len(b), irt.PRIOR, dtype=object)
    answers = np.zeros(len(b), dtype=np.int64)
    fitted = parameters[parameters["model"] != irt.PRIOR]
    idx = items.id_index.get_indexer(fitted["question_id"].astype(str))
    known = idx >= 0
    idx = idx[known]
    a[idx] = fitted["a"].to_numpy(float)[known]
    b[idx] = fitted["b"].to_numpy(float)[known]
    model[idx] = fitted["model"].to_numpy(object)[known]
    answers[idx] = fitted["answers"].to_numpy(np.int64)[known]
    return Items(
        items.ids,
        items.index,
        items.id_index,
        items.track,
        items.domain,
        items.difficulty,
        a,
        b,
        model,
        answers,
        items.domains,
    )


# --- calibration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Calibrated:
    """A fresh calibration: the stored row and the parameters of every question."""

    row: store.CalibrationRow
    parameters: pd.DataFrame


def calibrate(items: Items, answers: pd.DataFrame, evidence: int, now: datetime) -> Calibrated:
    """Fit item parameters from everyone's first answers (questions of `items` only)."""
    first = calibration_evidence(answers)
    first = first[first["question_id"].isin(items.index)]
    item = first["question_id"].map(items.index).to_numpy(np.int64)
    users = first["user_id"].astype(str).to_numpy()
    # One examinee per profile and course domain (see triops.quiz.irt).
    person_key = pd.Series(users) + "\x00" + pd.Series(items.domain[item]).astype(str)
    person = pd.factorize(person_key)[0]
    data = irt.Answers.of(person, item, first["score"].to_numpy(float), len(items.ids))
    fit = irt.calibrate(data, irt.levels(items.difficulty))
    parameters = pd.DataFrame(
        {
            "question_id": items.ids.astype(str),
            "a": fit.a,
            "b": fit.b,
            "model": fit.model.astype(str),
            "answers": fit.answers.astype(np.int64),
        }
    )
    row = store.CalibrationRow(
        id=secrets.token_hex(8),
        created_at=now,
        answers=len(first),
        learners=int(pd.Series(users).nunique()),
        evidence=evidence,
        seconds=fit.seconds,
        level_means=[float(m) for m in fit.level_means],
    )
    return Calibrated(row, parameters)


def stale(row: store.CalibrationRow | None, evidence: int) -> bool:
    """Whether the installation's answers have grown enough since the last calibration."""
    if row is None:
        return evidence > 0
    grown = evidence - row.evidence
    return grown >= max(RECALIBRATE_MIN, RECALIBRATE_SHARE * row.evidence)


def ensure_calibration(
    db, bank: Bank, now: datetime
) -> tuple[store.CalibrationRow | None, pd.DataFrame]:
    """The stored calibration, recalibrated first when it is stale (None before any answer)."""
    row, parameters = store.latest_calibration(db)
    evidence = store.evidence_count(db)
    if not stale(row, evidence):
        return row, parameters
    fresh = calibrate(bank_items(bank), store.answers(db), evidence, now)
    store.save_calibration(db, fresh.row, fresh.parameters)
    return fresh.row, fresh.parameters


def item_table(items: Items, level_means: list[float] | None = None) -> pd.DataFrame:
    """The parameters per question for people to read: an item nobody answered shows no
    estimate, only what readiness assumes for it until someone does."""
    assumed = irt.difficulty_prior(items.difficulty, level_means)
    fitted = items.model != irt.PRIOR
    notes = [
        (
            f"{int(n)} answers: {'two-parameter' if m == irt.TWO_PL else 'Rasch (a = 1)'} fit"
            if f
            else "nobody has answered it yet: no estimate of its own; readiness assumes the "
            f"mean difficulty of '{d or 'unlevelled'}' questions (b = {bm:+.2f}) and a = 1 "
            "until someone does"
        )
        for f, m, n, d, bm in zip(
            fitted, items.model, items.answers, items.difficulty, assumed, strict=True
        )
    ]
    return pd.DataFrame(
        {
            "question_id": items.ids.astype(str),
            "domain": [items.domains[d] for d in items.domain],
            "difficulty": [d or "" for d in items.difficulty],
            "answers": items.answers,
            "model": items.model.astype(str),
            "a": np.where(fitted, items.a, np.nan),
            "b": np.where(fitted, items.b, np.nan),
            "note": notes,
        }
    )


# --- exam shapes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One blueprint domain as the pass probability needs it."""

    key: str
    count: int  # scored questions drawn
    pool: int  # questions in its pool (known to the model)
    domains: np.ndarray  # model domain indices found in the pool
    weights: np.ndarray  # each domain's share of the pool
    mean_p: np.ndarray  # (domains, GRID): the mean probability of a right answer in the pool
    mean_p2: np.ndarray  # the mean of its square
    mean_p3: np.ndarray  # the mean of its cube (for the score's skewness)


@dataclass(frozen=True)
class ExamShape:
    exam_id: str
    title: str
    tracks: tuple[str, ...]
    total: int
    needed: int  # right answers the pass mark needs
    pass_mark: float
    parts: tuple[Part, ...]
    domains: tuple[int, ...]  # every model domain the exam draws from
    labs: tuple[str, ...]


def needed_right(total: int, pass_mark: float) -> int:
    """The fewest right answers whose percent reaches the pass mark (exam.meets's tolerance)."""
    k = math.ceil(total * pass_mark / 100.0 - 1e-9)
    while k > 0 and 100.0 * (k - 1) / total + 1e-9 >= pass_mark:
        k -= 1
    return max(0, k)


def predictive_grid(items: Items) -> np.ndarray:
    """P(right) of each item over irt.GRID, as a prediction: for a question nobody has answered
    its difficulty is only known to lie around its level's mean (sd irt.B_SD), so its curve is
    averaged over that spread (the logistic-normal approximation: the slope shrinks by
    sqrt(1 + pi a^2 s^2 / 8)); fitted items use their estimates."""
    sd = np.where(
        items.model == irt.PRIOR,
        np.where(irt.levels(items.difficulty) == len(irt.LEVELS), irt.UNKNOWN_B_SD, irt.B_SD),
        0.0,
    )
    slope = items.a / np.sqrt(1.0 + np.pi * items.a**2 * sd**2 / 8.0)
    return irt.prob(irt.GRID[None, :], slope[:, None], items.b[:, None])


def exam_shapes(items: Items, bank: Bank, exams: Exams) -> list[ExamShape]:
    """Every startable exam profile, reduced to pools of known parameters."""
    grid_p = predictive_grid(items)
    shapes = []
    for exam in exams.exams:
        if not exam.startable:
            continue
        bp = exam.blueprint
        counts = bp.counts()
        parts = []
        for key, pool in bp.pools(bank).items():
            idx = np.array([items.index[q.id] for q in pool if q.id in items.index], np.int64)
            if counts.get(key, 0) == 0 or len(idx) == 0:
                continue
            doms, inverse = np.unique(items.domain[idx], return_inverse=True)
            size = np.bincount(inverse, minlength=len(doms))
            mean_p, mean_p2, mean_p3 = (
                np.stack([(grid_p[idx[inverse == k]] ** j).mean(0) for k in range(len(doms))])
                for j in (1, 2, 3)
            )
            parts.append(
                Part(key, counts[key], len(idx), doms, size / len(idx), mean_p, mean_p2, mean_p3)
            )
        if not parts:
            continue
        total = sum(p.count for p in parts)
        shapes.append(
            ExamShape(
                exam_id=exam.id,
                title=bp.title,
                tracks=tuple(bp.tracks),
                total=total,
                needed=needed_right(total, bp.pass_mark),
                pass_mark=bp.pass_mark,
                parts=tuple(parts),
                domains=tuple(sorted({int(d) for p in parts for d in p.domains})),
                labs=tuple(getattr(bp, "labs", ()) or ()),
            )
        )
    return shapes


_STEP = irt.GRID[1] - irt.GRID[0]


def locate(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where values fall on irt.GRID: the cell's left index and the fraction into it (linear
    interpolation, clamped at the ends as np.interp does)."""
    x = (np.clip(values, irt.GRID[0], irt.GRID[-1]) - irt.GRID[0]) / _STEP
    left = np.minimum(x.astype(np.int64), len(irt.GRID) - 2)
    return left, x - left


def _at(table: np.ndarray, where: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    left, frac = where
    return table[left] * (1.0 - frac) + table[left + 1] * frac


def part_moments(part: Part, where: dict[int, tuple[np.ndarray, np.ndarray]]):
    """Mean, variance and third cumulant of one blueprint domain's score, per draw (see the
    module docstring)."""
    pbar = 0.0
    p2 = 0.0
    p3 = 0.0
    for k, d in enumerate(part.domains):
        at = where[int(d)]
        pbar = pbar + part.weights[k] * _at(part.mean_p[k], at)
        p2 = p2 + part.weights[k] * _at(part.mean_p2[k], at)
        p3 = p3 + part.weights[k] * _at(part.mean_p3[k], at)
    n, pool = part.count, part.pool
    spread = np.maximum(p2 - pbar**2, 0.0)
    finite = n * (n - 1) / (pool - 1) * spread if pool > 1 else 0.0
    # Each drawn question is right or wrong: its third cumulant is p (1 - p) (1 - 2 p), whose
    # pool mean is pbar - 3 p2 + 2 p3.
    third = n * (pbar - 3.0 * p2 + 2.0 * p3)
    return n * pbar, np.maximum(n * pbar * (1 - pbar) - finite, 0.0), third


def _probability(shape: ExamShape, mu: np.ndarray, var: np.ndarray, third=None) -> np.ndarray:
    """P(score >= needed) from the score's mean, variance and third cumulant: the normal with a
    continuity correction, and the Edgeworth term for the skewness (a score near the top or the
    bottom of the scale is skewed away from it)."""
    from scipy.special import ndtr  # on first use: see triops.quiz.irt

    sd = np.sqrt(np.maximum(var, 1e-12))
    z = (mu - (shape.needed - 0.5)) / sd
    p = ndtr(z)
    if third is None:
        return p
    z2 = z * z
    p += np.exp(-0.5 * z2) * (z2 - 1.0) * third / (sd * sd * sd) * _EDGEWORTH
    return np.minimum(np.maximum(p, 0.0), 1.0)


_EDGEWORTH = 1.0 / (6.0 * math.sqrt(2.0 * math.pi))  # phi(z)'s constant over 3!


def pass_probability(shape: ExamShape, theta: np.ndarray) -> np.ndarray:
    """P(scored result reaches the pass mark | abilities), per row of `theta` (draws x model
    domains), over the attempt's random draw."""
    where = {d: locate(theta[:, d]) for d in shape.domains}
    mu = np.zeros(len(theta))
    var = np.zeros(len(theta))
    third = np.zeros(len(theta))
    for part in shape.parts:
        m, v, k3 = part_moments(part, where)
        mu += m
        var += v
        third += k3
    return _probability(shape, mu, var, third)


# --- the model -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Model:
    """Everything readiness needs that does not depend on the profile."""

    items: Items
    exams: list[ExamShape]
    calibration: store.CalibrationRow | None
    titles: dict[int, str]  # model domain index -> title
    track_domains: dict[str, list[int]]
    lessons: dict[int, list[str]]  # model domain index -> lesson ids, most questions first
    draws: np.ndarray  # (DRAWS, domains) fixed standard normals
    typical_p: np.ndarray  # (domains, GRID): mean P over the domain's questions

    def domain_id(self, index: int) -> str:
        return self.items.domains[index]


def fixed_normals(n: int, dimensions: int, seed: int = DRAW_SEED) -> np.ndarray:
    """n standard normal draws in `dimensions`, balanced: half of them drawn, the other half
    their mirror images (antithetic), then linearly transformed so that their mean is exactly 0
    and their covariance exactly the identity. Every profile's probabilities are averaged over
    these same draws, so their Monte Carlo error is shared by all profiles with similar
    posteriors, which a calibration check by tenths sees as a bias: with 400 plain draws the
    pass probabilities of the full-format mock's upper tenths were 0.016-0.017 too high against
    8,000 draws; with these 400 draws, within 0.002 (2026-12-07)."""
    half = np.random.default_rng(seed).standard_normal((n // 2, dimensions))
    z = np.vstack([half, -half])
    if len(z) > 2 * dimensions:
        lower = np.linalg.cholesky(z.T @ z / len(z))
        z = np.linalg.solve(lower, z.T).T
    return z


def build_model(
    bank: Bank,
    exams: Exams,
    calibration: store.CalibrationRow | None = None,
    parameters: pd.DataFrame | None = None,
) -> Model:
    """The readiness model for a bank, its exam profiles and a stored calibration."""
    items = bank_items(bank)
    if calibration is not None and parameters is not None:
        items = with_parameters(items, parameters, calibration.level_means)
    vocab = bank.vocabulary
    titles, track_domains = {}, {}
    for i, d in enumerate(items.domains):
        track, name = d.split("/")
        titles[i] = vocab.domain_title(track, name)
        track_domains.setdefault(track, []).append(i)
    lesson_counts: dict[int, Counter] = {}
    for q in bank.questions:
        i = items.index.get(q.id)
        if i is not None and q.question.lesson:
            lesson_counts.setdefault(int(items.domain[i]), Counter())[q.question.lesson] += 1
    lessons = {
        d: [lesson for lesson, _ in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))]
        for d, c in lesson_counts.items()
    }
    grid_p = predictive_grid(items)
    typical = np.full((len(items.domains), len(irt.GRID)), np.nan)
    for d in range(len(items.domains)):
        mine = items.domain == d
        if mine.any():
            typical[d] = grid_p[mine].mean(0)
    return Model(
        items=items,
        exams=exam_shapes(items, bank, exams),
        calibration=calibration,
        titles=titles,
        track_domains=track_domains,
        lessons=lessons,
        draws=fixed_normals(DRAWS, len(items.domains)),
        typical_p=typical,
    )


def model_key(bank: Bank, exams: Exams, calibration: store.CalibrationRow | None) -> str:
    """Changes when the bank's questions, the exam profiles or the calibration change."""
    h = hashlib.sha256()
    for q in bank.questions:
        qq = q.question
        h.update(
            f"{q.id}|{q.track}|{qq.domain}|{qq.difficulty}|{qq.exam_only}|"
            f"{getattr(qq, 'practice_only', False)}|{qq.type}\n".encode()
        )
    for e in exams.exams:
        h.update(f"{e.id}|{e.startable}|{e.blueprint.model_dump_json()}\n".encode())
    h.update((calibration.id if calibration else "-").encode())
    return h.hexdigest()


# --- one profile ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DomainAbility:
    domain: str  # track/domain
    title: str
    answers: int
    needed: int  # more answers before the domain's own estimate is shown (0: shown)
    mean: float | None
    low: float | None
    high: float | None
    typical: tuple[float, float, float] | None  # P(right) on the domain's questions: mean,
    # and at the interval's ends


@dataclass(frozen=True)
class StudyNext:
    domain: str
    title: str
    gain: float  # rise of the pass probability if this domain's ability rose by STEP
    lessons: tuple[str, ...]
    due: int | None  # reviews due in this domain now (None: the review service is not there)


@dataclass(frozen=True)
class LabStatus:
    lab_id: str
    title: str
    passed_at: datetime | None  # the latest passed check
    first_passed_at: datetime | None


@dataclass(frozen=True)
class ExamReadiness:
    exam_id: str
    title: str
    track: str  # where it is listed: its track, or the triad for an exam over several
    answers: int  # counted answers in the exam's domains
    needed: int  # more answers before a probability is given (0: given)
    probability: float | None
    low: float | None
    high: float | None
    labs: tuple[LabStatus, ...]  # the labs the blueprint lists as prerequisites
    study_next: tuple[StudyNext, ...] = ()

    @property
    def labs_missing(self) -> list[LabStatus]:
        return [lab for lab in self.labs if lab.passed_at is None]

    @property
    def verdict(self) -> str:
        """needs evidence, not yet, labs missing or ready."""
        if self.probability is None:
            return "needs evidence"
        if self.probability < READY:
            return "not yet"
        return "labs missing" if self.labs_missing else "ready"


@dataclass(frozen=True)
class TrackReadiness:
    track: str
    title: str
    answers: int
    domains: tuple[DomainAbility, ...]
    labs: tuple[LabStatus, ...]  # every lab of the track, passed or not
    exam_date: date | None = None
    exam_date_note: str = ""


@dataclass(frozen=True)
class Readiness:
    answers: int  # the profile's counted answers, all tracks
    tracks: tuple[TrackReadiness, ...]
    exams: tuple[ExamReadiness, ...] = ()
    message: str = ""  # set when there is nothing to show yet
    calibration: store.CalibrationRow | None = None
    posteriors: dict[str, irt.Posterior] = field(default_factory=dict)

    def track(self, track: str) -> TrackReadiness | None:
        return next((t for t in self.tracks if t.track == track), None)

    def exam(self, exam_id: str) -> ExamReadiness | None:
        return next((e for e in self.exams if e.exam_id == exam_id), None)

    def track_exams(self, track: str) -> list[ExamReadiness]:
        return [e for e in self.exams if e.track == track]


NO_ANSWERS = (
    "No graded answers yet for this profile, so there is nothing to estimate: answer questions "
    f"in Practice, sit a mock exam or take the placement test. A pass probability appears once "
    f"an exam's domains have {MINIMUM_ANSWERS} answers."
)


@dataclass(frozen=True)
class Counted:
    """A profile's counted answers to questions the model knows, as arrays."""

    item: np.ndarray
    domain: np.ndarray
    score: np.ndarray

    def __len__(self) -> int:
        return len(self.item)


def profile_answers(model: Model, answers: pd.DataFrame) -> Counted:
    """The profile's counted answers (ability_evidence) to questions the model knows."""
    counted = ability_evidence(answers)
    if counted.empty:
        empty = np.array([], np.int64)
        return Counted(empty, empty, np.array([], float))
    item = model.items.id_index.get_indexer(counted["question_id"].astype(str))
    known = item >= 0
    item = item[known].astype(np.int64)
    return Counted(item, model.items.domain[item], counted["score"].to_numpy(float)[known])


def track_posteriors(model: Model, counted: Counted) -> dict[str, irt.Posterior]:
    """Per track with answers: the posterior of the profile's domain abilities."""
    out = {}
    items = model.items
    local = np.full(len(items.domains), -1, np.int64)
    for track, domains in model.track_domains.items():
        local[domains] = np.arange(len(domains))
        mine = np.isin(counted.domain, domains)
        if not mine.any():
            continue
        item = counted.item[mine]
        out[track] = irt.posterior(
            local[counted.domain[mine]],
            items.a[item],
            items.b[item],
            counted.score[mine],
            len(domains),
        )
    return out


@dataclass(frozen=True)
class Draws:
    """Abilities drawn for one profile, DRAWS x model domains, with importance weights per
    track: the draws come from the normal approximation (widened by WIDEN) and are weighted by
    the exact posterior over it, so a skewed posterior (a learner who got nearly everything
    right) is not forced into a symmetric shape."""

    theta: np.ndarray
    log_weights: dict[str, np.ndarray]  # tracks with answers; the others are prior draws

    def weights(self, tracks) -> np.ndarray:
        """Normalised weights for statements about these tracks' domains."""
        total = np.zeros(len(self.theta))
        for track in tracks:
            if track in self.log_weights:
                total = total + self.log_weights[track]
        w = np.exp(total - total.max())
        return w / w.sum()

    def effective(self, tracks) -> float:
        """Kish's effective number of draws behind the weights."""
        w = self.weights(tracks)
        return float(1.0 / (w**2).sum())


WIDEN = 1.2


@functools.cache
def _prior_factors(dimensions: int) -> tuple[np.ndarray, np.ndarray]:
    """The Cholesky factor and the inverse of a track's prior covariance (the same for every
    profile: computed once per size)."""
    prior = irt.prior_covariance(dimensions)
    chol, inverse = np.linalg.cholesky(prior), np.linalg.inv(prior)
    chol.flags.writeable = inverse.flags.writeable = False
    return chol, inverse


def theta_draws(model: Model, counted: Counted, posteriors: dict[str, irt.Posterior]) -> Draws:
    """The same fixed normals shaped by each track's posterior (tracks without answers: the
    prior, unweighted)."""
    theta = np.zeros_like(model.draws)
    log_weights = {}
    items = model.items
    for track, domains in model.track_domains.items():
        z = model.draws[:, domains]
        prior_chol, prior_inverse = _prior_factors(len(domains))
        post = posteriors.get(track)
        if post is None:
            theta[:, domains] = z @ prior_chol.T
            continue
        local = theta[:, domains] = post.mean + WIDEN * z @ np.linalg.cholesky(post.cov).T
        mine = np.isin(counted.domain, domains)
        item = counted.item[mine]
        column = np.searchsorted(domains, counted.domain[mine])
        logit = items.a[item][None, :] * (local[:, column] - items.b[item][None, :])
        y = counted.score[mine][None, :]
        loglik = (y * logit + irt.log_expit(-logit)).sum(axis=1)
        log_prior = -0.5 * np.einsum("si,ij,sj->s", local, prior_inverse, local)
        log_proposal = -0.5 * (z**2).sum(axis=1)
        log_weights[track] = loglik + log_prior - log_proposal
    return Draws(theta, log_weights)


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The q-quantile of weighted values (weights summing to 1)."""
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    return float(values[order][min(np.searchsorted(cumulative, q), len(values) - 1)])


def exam_probability(model: Model, shape: ExamShape, draws: Draws):
    """(mean, 5th percentile, 95th percentile) of the pass probability over the posterior,
    and the weights used."""
    p = pass_probability(shape, draws.theta)
    w = draws.weights(shape.tracks)
    mean = float((w * p).sum())
    return mean, weighted_quantile(p, w, 0.05), weighted_quantile(p, w, 0.95), w


def study_next(
    model: Model,
    shape: ExamShape,
    draws: Draws,
    base: float,
    due: dict[int, int] | None,
) -> tuple[StudyNext, ...]:
    """The exam's domains whose improvement by STEP raises the pass probability most (only the
    blueprint domains that draw from a lifted domain are recomputed)."""
    w = draws.weights(shape.tracks)
    where = {d: locate(draws.theta[:, d]) for d in shape.domains}
    moments = [part_moments(part, where) for part in shape.parts]
    mu = sum(m for m, _, _ in moments)
    var = sum(v for _, v, _ in moments)
    third = sum(k for _, _, k in moments)
    gains = []
    for d in shape.domains:
        lifted = {**where, d: locate(draws.theta[:, d] + STEP)}
        mu_d, var_d, third_d = mu, var, third
        for part, (m, v, k3) in zip(shape.parts, moments, strict=True):
            if d in part.domains:
                m2, v2, k2 = part_moments(part, lifted)
                mu_d = mu_d - m + m2
                var_d = var_d - v + v2
                third_d = third_d - k3 + k2
        gain = float((w * _probability(shape, mu_d, var_d, third_d)).sum()) - base
        gains.append((gain, d))
    gains.sort(key=lambda g: (-g[0], model.domain_id(g[1])))
    return tuple(
        StudyNext(
            domain=model.domain_id(d),
            title=model.titles[d],
            gain=gain,
            lessons=tuple(model.lessons.get(d, ())),
            due=None if due is None else due.get(d, 0),
        )
        for gain, d in gains[:STUDY_NEXT]
        if gain >= MIN_GAIN
    )


def exam_date_note(track: str, day: date | None, now: datetime) -> str:
    """What the panel says about a track's exam date."""
    if day is None:
        return ""
    days = (day - now.date()).days
    title = TRACK_TITLES.get(track, track)
    if days < 0:
        return (
            f"The exam date set for {title}, {day.isoformat()}, has passed: set the date of your "
            "next sitting on the Review page."
        )
    if days == 0:
        return f"{title} exam: today."
    return f"{title} exam: {day.isoformat()}, in {days} day{'s' if days != 1 else ''}."


def assess(
    model: Model,
    answers: pd.DataFrame,
    now: datetime,
    *,
    labs: list[tuple[str, str, str]] | None = None,
    passes: dict[str, tuple[datetime, datetime, int]] | None = None,
    due: dict[str, int] | None = None,
    exam_dates: dict[str, date] | None = None,
    placed: set[str] | frozenset[str] = frozenset(),
) -> Readiness:
    """A profile's readiness from its graded answers (`store.readiness.answers` of the
    profile). `labs` lists (lab id, title, track); `passes` are the profile's lab passes;
    `due` counts reviews due now per track/domain (None without a review service);
    `exam_dates` are the profile's exam dates per track; `placed` the tracks where the
    profile has finished a placement test (which meets the minimum of evidence)."""
    counted = profile_answers(model, answers)
    dates = exam_dates or {}
    if not len(counted):
        return Readiness(0, (), (), NO_ANSWERS, model.calibration)
    passes = passes or {}
    lab_rows = labs or []
    posteriors = track_posteriors(model, counted)
    draws = theta_draws(model, counted, posteriors)
    per_domain = np.bincount(counted.domain, minlength=len(model.titles))
    due_by_index = (
        None
        if due is None
        else {i: due.get(d, 0) for i, d in enumerate(model.items.domains) if due.get(d)}
    )

    def lab_status(lab_id: str, title: str) -> LabStatus:
        found = passes.get(lab_id)
        return LabStatus(lab_id, title, found[1] if found else None, found[0] if found else None)

    lab_titles = {lab_id: title for lab_id, title, _ in lab_rows}
    tracks = []
    for track, domains in model.track_domains.items():
        post = posteriors.get(track)
        answered = int(per_domain[domains].sum())
        if post is None:
            continue
        rows = []
        w = draws.weights([track])
        for d in domains:
            n = int(per_domain[d])
            shown = n >= MINIMUM_DOMAIN
            values = draws.theta[:, d]
            mean = float((w * values).sum())
            low = weighted_quantile(values, w, 0.05)
            high = weighted_quantile(values, w, 0.95)
            typical = None
            if shown and np.isfinite(model.typical_p[d]).all():
                typical = tuple(
                    float(np.interp(x, irt.GRID, model.typical_p[d])) for x in (mean, low, high)
                )
            rows.append(
                DomainAbility(
                    domain=model.domain_id(d),
                    title=model.titles[d],
                    answers=n,
                    needed=max(0, MINIMUM_DOMAIN - n),
                    mean=mean if shown else None,
                    low=low if shown else None,
                    high=high if shown else None,
                    typical=typical,  # type: ignore[arg-type]
                )
            )
        day = dates.get(track)
        tracks.append(
            TrackReadiness(
                track=track,
                title=TRACK_TITLES.get(track, track),
                answers=answered,
                domains=tuple(rows),
                labs=tuple(lab_status(i, t) for i, t, tr in lab_rows if tr == track),
                exam_date=day,
                exam_date_note=exam_date_note(track, day, now),
            )
        )
    exams = []
    for shape in model.exams:
        n = int(per_domain[list(shape.domains)].sum())
        home = shape.tracks[0] if len(shape.tracks) == 1 else "triad"
        statuses = tuple(lab_status(lab, lab_titles.get(lab, lab)) for lab in shape.labs)
        if n < MINIMUM_ANSWERS and not (n and set(shape.tracks) <= set(placed)):
            exams.append(
                ExamReadiness(
                    shape.exam_id,
                    shape.title,
                    home,
                    n,
                    MINIMUM_ANSWERS - n,
                    None,
                    None,
                    None,
                    statuses,
                )
            )
            continue
        mean, p_low, p_high, _ = exam_probability(model, shape, draws)
        exams.append(
            ExamReadiness(
                shape.exam_id,
                shape.title,
                home,
                n,
                0,
                mean,
                p_low,
                p_high,
                statuses,
                study_next(model, shape, draws, mean, due_by_index),
            )
        )
    return Readiness(len(counted), tuple(tracks), tuple(exams), "", model.calibration, posteriors)


def format_probability(p: float, low: float, high: float) -> str:
    """A pass probability as a probability with its interval, never a bare percentage."""
    return f"{p:.2f} (90 % interval {low:.2f}–{high:.2f})"
