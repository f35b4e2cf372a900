"""The adaptive placement test: one track's ability in as few questions as the precision allows.

**Items.** The track's practice questions (exam-only questions never appear outside exams; a
question graded by meaning is left out, since grading it would load the language model), with
the parameters readiness uses (triops.quiz.readiness: calibrated, or the authored level's prior).

**Ability.** One ability per track, its posterior over a grid with a standard normal prior
(irt.grid_posterior): the estimate is the posterior mean (EAP), its standard error the posterior
standard deviation. Scores are graded as in practice (partial credit counts as a fraction).

**Choosing the next question** (Kingsbury and Zara 1989, content balancing, with maximum
information selection): the next domain is the one furthest below an equal share of the
questions asked so far (among the track's domains that have questions), ties to the domain
whose best question is most informative; within it, the question with the most Fisher
information a^2 P (1 - P) at the current estimate (ties by id).

**Stopping**: when the standard error reaches TARGET_SE (0.35), after MAX_ITEMS (20) questions,
or when the pool runs out, whichever comes first.

**What it leaves behind.** Every answer is stored (placement_responses), so readiness counts it
like any graded answer; a finished placement of a track also meets readiness's minimum of
evidence for that track's exams. Each answer also updates the profile's review card for the
question when the review service (triops.quiz.review) is installed.

**Against a fixed form** (issue 17 item 4; `against_fixed`, tests/test_placement.py,
bench/readiness_bench.py). Simulated learners of known ability answer a fixed 40-question form
drawn from the same pool (balanced over the domains like the adaptive test, the same form for
everyone), scored the same way (EAP, the same prior and grid); its root-mean-square standard
error is the target, and the same learners take the adaptive test until their standard error
reaches it. The figure is the mean number of questions, averaged over five forms (one random
form can be easy or hard to beat). Questions have parameters drawn like the readiness
simulation's bank (simulate_readiness.item_truth). Measured on 2026-12-06 with 300 learners:
DevOps (real pool 212) 0.42 of the form's length, MLOps (174) 0.43, LLMOps (272) 0.36, the
triad (186) 0.41. The pool, not the rule, was the limit: with the triad's first 84 questions a
40-question form was half the pool, the adaptive test needed 0.59, and even the twenty most
informative questions at each learner's true ability (domains ignored) left a standard error
(0.312) above the form's (0.301-0.311); a simulated 200-question pool with the same mix gave
0.42, so the triad bank grew to 186 questions (quizzes/triad/bridges.yaml, careers-paths.yaml)
rather than the rule changing. Looked at and ruled out as causes then: the balancing (on one
triad form, 23.5 questions with equal shares, 23.5 with shares in proportion to the domains'
pools, 22.6 with none), the scale (both are posterior standard deviations on the same ability
scale under the same prior), and the estimate (EAP with a prior, so the first answers move it
by steps, not to plus or minus infinity).

catsim (a well-kept CAT library) was considered and not used: its estimators are maximum
likelihood only (no prior, so no standard error after one right answer and no posterior to
seed readiness with), it takes right/wrong answers only (no partial credit), and it has no
content balancing; what would be left of it is the one-line information function.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from triops.errors import InvalidInputError, NotFoundError
from triops.quiz import irt
from triops.quiz.bank import Bank, BankQuestion
from triops.quiz.grading import grade
from triops.quiz.presentation import option_count
from triops.quiz.readiness import Model
from triops.store import readiness as store

TARGET_SE = 0.35
MAX_ITEMS = 20
DONE_SE, DONE_MAX, DONE_POOL = "standard error reached", "question limit", "pool exhausted"


@dataclass(frozen=True)
class Candidate:
    question: BankQuestion
    item: int  # index into the model's items
    domain: int  # model domain index


@dataclass(frozen=True)
class Pool:
    """A track's placement questions as arrays (the order of `candidates`)."""

    track: str
    candidates: tuple[Candidate, ...]
    a: np.ndarray
    b: np.ndarray
    domain: np.ndarray
    ids: tuple[str, ...]

    def position(self, question_id: str) -> int | None:
        return next((i for i, q in enumerate(self.ids) if q == question_id), None)


def pool(bank: Bank, model: Model, track: str) -> Pool:
    """The track's placement questions with the model's parameters, sorted by id."""
    items = model.items
    found = []
    for q in sorted(bank.practice(), key=lambda q: q.id):
        if q.track != track or getattr(q.question, "semantic", None) is not None:
            continue
        i = items.index.get(q.id)
        if i is not None:
            found.append(Candidate(q, i, int(items.domain[i])))
    idx = np.array([c.item for c in found], np.int64)
    return Pool(
        track=track,
        candidates=tuple(found),
        a=items.a[idx] if len(idx) else np.array([]),
        b=items.b[idx] if len(idx) else np.array([]),
        domain=np.array([c.domain for c in found], np.int64),
        ids=tuple(c.question.id for c in found),
    )


@dataclass(frozen=True)
class Progress:
    """Where a placement stands after its answers."""

    asked: int
    theta: float
    se: float
    next: int | None  # position in the pool of the next question, None when done
    reason: str  # why it stopped ("" while it goes on)

    @property
    def done(self) -> bool:
        return self.next is None

    def interval(self) -> tuple[float, float]:
        return self.theta - irt.Z90 * self.se, self.theta + irt.Z90 * self.se


def estimate(p: Pool, asked: list[int], scores: list[float]) -> tuple[float, float]:
    """EAP ability and its standard error after the answers (positions in the pool)."""
    idx = np.asarray(asked, np.int64)
    weights = irt.grid_posterior(p.a[idx], p.b[idx], np.asarray(scores, float))
    return irt.eap(weights)


def choose(p: Pool, asked: list[int], theta: float) -> int | None:
    """The next question: the domain furthest below its equal share, then the most
    informative question in it at `theta` (see the module docstring)."""
    left = np.ones(len(p.ids), bool)
    left[np.asarray(asked, np.int64)] = False
    if not left.any():
        return None
    info = irt.information(theta, p.a, p.b)
    domains = np.unique(p.domain)
    counts = {int(d): 0 for d in domains}
    for i in asked:
        counts[int(p.domain[i])] += 1
    best = None
    for d in domains:
        mine = np.flatnonzero(left & (p.domain == d))
        if not len(mine):
            continue
        # Most information first, then the id (positions follow the ids' order).
        top = int(mine[np.lexsort((mine, -info[mine]))[0]])
        key = (counts[int(d)], -float(info[top]), p.ids[top])
        if best is None or key < best[0]:
            best = (key, top)
    return None if best is None else best[1]


def progress(p: Pool, asked: list[int], scores: list[float]) -> Progress:
    """The estimate so far, and the next question or why the test stops."""
    theta, se = estimate(p, asked, scores)
    if asked and se <= TARGET_SE:
        return Progress(len(asked), theta, se, None, DONE_SE)
    if len(asked) >= MAX_ITEMS:
        return Progress(len(asked), theta, se, None, DONE_MAX)
    nxt = choose(p, asked, theta)
    if nxt is None:
        return Progress(len(asked), theta, se, None, DONE_POOL)
    return Progress(len(asked), theta, se, nxt, "")


# --- a placement session in the database -----------------------------------------------------


def require_pool(p: Pool) -> None:
    if not p.candidates:
        raise InvalidInputError(
            f"The {p.track} track has no practice questions to place you with yet."
        )


def start(db, user_id: str, p: Pool, now: datetime) -> store.PlacementRow:
    """Open a placement of the pool's track (or return the one already open)."""
    require_pool(p)
    row = store.PlacementRow(
        id=secrets.token_hex(8), user_id=user_id, track=p.track, state="open", started_at=now
    )
    return store.start_placement(db, row)


def open_session(db, user_id: str, track: str) -> store.PlacementRow | None:
    return store.open_placement(db, user_id, track)


def answered(p: Pool, answers: list[store.PlacementAnswer]) -> tuple[list[int], list[float]]:
    """Pool positions and scores of a session's answers (questions since removed are left
    out)."""
    asked, scores = [], []
    for a in answers:
        at = p.position(a.question_id)
        if at is not None:
            asked.append(at)
            scores.append(a.score)
    return asked, scores


def state(db, session: store.PlacementRow, p: Pool) -> tuple[Progress, list]:
    """A session's progress and its stored answers."""
    answers = store.placement_answers(db, session.id)
    asked, scores = answered(p, answers)
    return progress(p, asked, scores), answers


def option_order(session_id: str, question) -> list[int]:
    """The order a question's options are shown in, the same on every rerun of a session."""
    order = list(range(option_count(question)))
    seed = int.from_bytes(hashlib.sha256(f"{session_id}:{question.id}".encode()).digest()[:8])
    random.Random(seed).shuffle(order)
    return order


def submit(
    db,
    session: store.PlacementRow,
    p: Pool,
    question_id: str,
    response: Any,
    now: datetime,
) -> Progress:
    """Grade and record the answer to the question the session asks now; finish the session
    when the test stops. A stale answer (another question is due) is refused."""
    if session.state != "open":
        raise InvalidInputError("This placement test is finished: start a new one.")
    current, answers = state(db, session, p)
    if current.done or p.ids[current.next] != question_id:  # type: ignore[index]
        raise InvalidInputError(
            "This question is no longer the one the placement test asks: the page shows the "
            "current one."
        )
    candidate = p.candidates[current.next]  # type: ignore[index]
    question = candidate.question.question
    result = grade(question, response)
    recorded = store.add_placement_answer(
        db,
        session.id,
        store.PlacementAnswer(
            position=len(answers),
            question_id=question_id,
            domain=f"{candidate.question.track}/{question.domain}",
            response=response,
            score=result.score,
            answered_at=now,
        ),
    )
    if not recorded:
        raise InvalidInputError("This answer was already recorded.")
    _review(db, session.user_id, candidate, result.score, now)
    after, _ = state(db, session, p)
    if after.done:
        finish(db, session, after, now)
    return after


def finish(db, session: store.PlacementRow, current: Progress, now: datetime) -> None:
    """Close a session with its estimate (when the pool ran out under it, for one)."""
    store.finish_placement(
        db, session.id, current.theta, current.se, current.reason or DONE_POOL, now
    )


def _review(db, user_id: str, candidate: Candidate, score: float, now: datetime) -> None:
    """Hand the answer to the review service's hook, where it is installed."""
    try:
        from triops.quiz import review
    except ImportError:
        return
    source = "placement" if "placement" in getattr(review, "SOURCES", ()) else "practice"
    review.record_answer(
        db,
        user_id,
        candidate.question.question,
        candidate.question.track,
        score,
        now,
        source=source,
    )


def result(db, user_id: str, session_id: str, p: Pool) -> tuple[store.PlacementRow, list]:
    """A finished (or open) session of the profile with its answers."""
    session = store.get_placement(db, session_id, user_id)
    if session is None:
        raise NotFoundError("No such placement test for this profile.")
    return session, store.placement_answers(db, session_id)


def history(db, user_id: str, track: str | None = None) -> list[store.PlacementRow]:
    return store.placements(db, user_id, track)


# --- simulation (the bench and the tests) ----------------------------------------------------


def simulate(
    p: Pool,
    theta: np.ndarray,
    rng: np.random.Generator,
    *,
    target_se: float = TARGET_SE,
    max_items: int = MAX_ITEMS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simulated learners of known ability answer the adaptive test (right with the 2PL
    probability of the pool's parameters): items used, final estimate and standard error."""
    used = np.zeros(len(theta), np.int64)
    est = np.zeros(len(theta))
    ses = np.zeros(len(theta))
    for k, t in enumerate(theta):
        asked: list[int] = []
        scores: list[float] = []
        while True:
            th, se = estimate(p, asked, scores)
            if (asked and se <= target_se) or len(asked) >= max_items:
                break
            nxt = choose(p, asked, th)
            if nxt is None:
                break
            asked.append(nxt)
            scores.append(float(rng.random() < irt.prob(t, p.a[nxt], p.b[nxt])))
        used[k], est[k], ses[k] = len(asked), th, se
    return used, est, ses


def fixed_form(p: Pool, size: int, rng: np.random.Generator) -> list[int]:
    """A fixed form of `size` questions, balanced over the domains like the adaptive test (an
    equal share each, the rest at random), drawn once at random within each domain."""
    domains = np.unique(p.domain)
    per = {int(d): list(rng.permutation(np.flatnonzero(p.domain == d))) for d in domains}
    form: list[int] = []
    while len(form) < size and any(per.values()):
        for d in domains:
            if per[int(d)] and len(form) < size:
                form.append(int(per[int(d)].pop()))
    return form


def simulate_form(
    p: Pool, form: list[int], theta: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Simulated learners answer every question of a fixed form: estimate and standard error."""
    idx = np.asarray(form, np.int64)
    est = np.zeros(len(theta))
    ses = np.zeros(len(theta))
    for k, t in enumerate(theta):
        scores = (rng.random(len(idx)) < irt.prob(t, p.a[idx], p.b[idx])).astype(float)
        est[k], ses[k] = irt.eap(irt.grid_posterior(p.a[idx], p.b[idx], scores))
    return est, ses


@dataclass(frozen=True)
class Comparison:
    """The adaptive test against fixed forms of the same pool (`against_fixed`)."""

    form_size: int
    form_se: tuple[float, ...]  # each form's root-mean-square standard error
    used: tuple[float, ...]  # mean questions the adaptive test took to reach it, per form

    @property
    def mean_used(self) -> float:
        return float(np.mean(self.used))

    @property
    def ratio(self) -> float:
        return self.mean_used / self.form_size


def against_fixed(
    p: Pool, theta: np.ndarray, rng: np.random.Generator, *, size: int = 40, forms: int = 5
) -> Comparison:
    """For each of `forms` fixed forms drawn from the pool (`fixed_form`): the learners
    answer it and its root-mean-square standard error is the target; the same learners
    then take the adaptive test until their standard error reaches that target (at most
    `size` questions). One form drawn at random can be an easy or a hard one to beat (its
    standard error moved from 0.30 to 0.34 between draws of the same pool), so the figure
    is the mean over several."""
    targets, used = [], []
    for _ in range(forms):
        form = fixed_form(p, size, rng)
        _, ses = simulate_form(p, form, theta, rng)
        target = float(np.sqrt(np.mean(ses**2)))
        n, _, _ = simulate(p, theta, rng, target_se=target, max_items=size)
        targets.append(target)
        used.append(float(n.mean()))
    return Comparison(size, tuple(targets), tuple(used))
