"""Simulated candidates with known truth, to check that item analysis finds bad items.

Candidates have abilities theta ~ N(0, 1). Each item of one fixed form has two-parameter logistic
(2PL) parameters: discrimination `a` and difficulty `b`, and a candidate answers it right with
probability P(theta) = 1 / (1 + exp(-a (theta - b))) (Birnbaum 1968). A wrong answer to a
single-choice item is one of its distractors, drawn with unequal rates (some distractors are more
plausible than others). Three items are planted:
- miskeyed: strong candidates pick a distractor (the option that is "really" right), so the
  stored key is not what the best candidates choose;
- zero discrimination: a = 0, so every candidate has the same chance whatever their ability;
- dead distractor: one distractor is almost never chosen (1 % of wrong answers).
Good items draw a from 1.0..2.2 and b from -0.5..0.8, which keeps their facility between about
0.25 and 0.75, and distractor plausibility from 0.7..1.3 (relative), so a good distractor is
chosen by well over 5 % of candidates.

Other question types on a real form: true/false answers right with P(theta), else the other
value; multiple response ticks exactly the key with P(theta), else one key option and one
distractor; numeric, short text, ordering and matching give the right answer with P(theta) and
are otherwise left unanswered. About 2 % of answers are omitted at random. Time on an item is
log-normal around a per-item median of 30-90 seconds.

`write` puts a cohort into a separate demo database through the normal schema: profiles named
"Simulated candidate 001"..., finished attempts with snapshots, answers with their save times,
graded results, and a marker row (`triops.store.items.SIMULATED_KEY`) with the truth.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from triops.errors import InvalidInputError
from triops.quiz import analysis
from triops.quiz.grading import grade, right_answer
from triops.quiz.models import Option, Single
from triops.store import items as store
from triops.store.attempts import AttemptRow

GOOD = "good"
MISKEYED = "miskeyed"
FLAT = "zero discrimination"
DEAD = "dead distractor"
EXPECTED_FLAG = {MISKEYED: "likely miskey", FLAT: "low discrimination", DEAD: "dead distractor"}
OMIT = 0.02
CHOICE_COUNT = 4


@dataclass(frozen=True)
class SimItem:
    """One item of the simulated form and the truth about it."""

    question: Any
    track: str
    a: float
    b: float
    role: str = GOOD
    # Relative plausibility of each option as a wrong answer (0 for the key); for a miskeyed
    # item, `truth` is the option that strong candidates pick.
    plausibility: tuple[float, ...] = ()
    truth: int | None = None
    pilot: bool = False  # an unscored pilot item of the form


@dataclass(frozen=True)
class Simulation:
    items: list[SimItem]
    theta: np.ndarray  # (N,)
    codes: np.ndarray  # (N, k): index into `values[j]`, -1 when omitted
    values: list[list[Any]]  # per item: the distinct responses (authored indices, bool...)
    scores: np.ndarray  # (N, k), 0..1 as graded
    seconds: np.ndarray  # (N, k): time spent on each item
    seed: int
    multiple_response: str = "partial"

    @property
    def candidates(self) -> int:
        return len(self.theta)


def synthetic_questions(count: int = 65) -> list[tuple[Single, str]]:
    """A form of single-choice items with neutral text, for simulations without a bank."""
    out = []
    for n in range(1, count + 1):
        options = [Option(text=f"Option {c} of item {n}", correct=c == "A") for c in "ABCD"]
        q = Single(
            id=f"simulated-item-{n:03d}",
            type="single",
            domain="simulated",
            stem=f"Simulated item {n}: which option is keyed?",
            options=options,
        )
        out.append((q, "simulated"))
    return out


def _key(question) -> int:
    return question.weights().index(100.0)


def plan_form(
    questions: list[tuple[Any, str]] | list[tuple[Any, str, bool]],
    seed: int = 0,
    *,
    plant: bool = True,
) -> list[SimItem]:
    """2PL parameters for each (question, track[, pilot]); with `plant`, three scored
    single-choice items of at least four options become the miskeyed, zero-discrimination and
    dead-distractor items."""
    rng = np.random.default_rng(seed)
    entries = [(q, track, bool(rest[0]) if rest else False) for q, track, *rest in questions]
    singles = [
        i
        for i, (q, _, pilot) in enumerate(entries)
        if q.type == "single" and len(q.options) >= CHOICE_COUNT and not pilot
    ]
    roles = {}
    if plant:
        if len(singles) < 3:
            raise InvalidInputError(
                "The form needs at least three single-choice questions with four or more "
                f"options to plant bad items; it has {len(singles)}."
            )
        picked = rng.choice(singles, size=3, replace=False)
        roles = {int(picked[0]): MISKEYED, int(picked[1]): FLAT, int(picked[2]): DEAD}
    plan = []
    for i, (q, track, pilot) in enumerate(entries):
        a, b = float(rng.uniform(1.0, 2.2)), float(rng.uniform(-0.5, 0.8))
        role = roles.get(i, GOOD)
        plausibility: tuple[float, ...] = ()
        truth = None
        if q.type == "single":
            key = _key(q)
            weights = rng.uniform(0.7, 1.3, size=len(q.options))
            weights[key] = 0.0
            if role == DEAD:
                dead = int(rng.choice([j for j in range(len(q.options)) if j != key]))
                others = weights.sum() - weights[dead]
                weights[dead] = 0.01 / 0.99 * others
            if role == MISKEYED:
                truth = int(rng.choice([j for j in range(len(q.options)) if j != key]))
                # Weak candidates spread over the other options, the stored key included.
                weights[key] = float(rng.uniform(0.7, 1.3))
                weights[truth] = 0.0
                a, b = float(rng.uniform(1.5, 2.2)), float(rng.uniform(-0.5, 0.0))
            plausibility = tuple(float(w) for w in weights / weights.sum())
        if role == FLAT:
            a = 0.0
        plan.append(SimItem(q, track, a, b, role, plausibility, truth, pilot))
    return plan


def _responses(item: SimItem, right: np.ndarray, rng: np.random.Generator):
    """Response codes (into the returned values) for each candidate, from who is right."""
    q = item.question
    n = len(right)
    if q.type == "single":
        values: list[Any] = list(range(len(q.options)))
        correct = item.truth if item.truth is not None else _key(q)
        wrong = rng.choice(len(q.options), size=n, p=np.asarray(item.plausibility))
        return np.where(right, correct, wrong), values
    if q.type == "true_false":
        return np.where(right, 0, 1), [q.answer, not q.answer]
    if q.type == "multiple":
        key = q.key()
        distractors = [i for i in range(len(q.options)) if i not in key] or key
        values = [sorted(key)] + [sorted({k, d}) for k in key for d in distractors]
        wrong = rng.integers(1, len(values), size=n) if len(values) > 1 else np.zeros(n, int)
        return np.where(right, 0, wrong), values
    return np.where(right, 0, -1), [right_answer(q)]


def simulate(
    items: list[SimItem], candidates: int, seed: int = 0, *, multiple_response: str = "partial"
) -> Simulation:
    """Draw `candidates` abilities and every candidate's responses, scores (graded by the
    exam's rule for multiple response) and times."""
    if candidates < 1:
        raise InvalidInputError("Simulate at least one candidate.")
    rng = np.random.default_rng(seed)
    theta = rng.standard_normal(candidates)
    k = len(items)
    codes = np.full((candidates, k), -1, dtype=np.int64)
    scores = np.zeros((candidates, k))
    values = []
    for j, item in enumerate(items):
        p = 1.0 / (1.0 + np.exp(-item.a * (theta - item.b)))
        right = rng.random(candidates) < p
        c, vals = _responses(item, right, rng)
        c = np.where(rng.random(candidates) < OMIT, -1, c)
        codes[:, j] = c
        values.append(vals)
        graded = np.array(
            [grade(item.question, v, multiple_response=multiple_response).score for v in vals]
        )
        scores[:, j] = np.where(c >= 0, graded[np.maximum(c, 0)], 0.0)
    medians = rng.uniform(30, 90, size=k)
    seconds = np.exp(np.log(medians) + 0.5 * rng.standard_normal((candidates, k)))
    return Simulation(items, theta, codes, values, scores, seconds, seed, multiple_response)


def item_data(sim: Simulation, exam_id: str = "simulated") -> analysis.ItemData:
    """The analysis input straight from a simulation (no database), as `analysis.load` gives it."""
    n, k = sim.codes.shape
    qids = np.array([it.question.id for it in sim.items])
    kinds = np.array([it.question.type for it in sim.items])
    answered = sim.codes >= 0
    items = pd.DataFrame(
        {
            "exam_id": np.full(n * k, exam_id),
            "attempt_id": np.repeat(np.array([f"sim-{i:06d}" for i in range(n)]), k),
            "question_id": np.tile(qids, n),
            "type": np.tile(kinds, n),
            "score": sim.scores.ravel(),
            "scored": np.tile([not it.pilot for it in sim.items], n),
            "seconds": np.where(answered, _credited_seconds(sim), np.nan).ravel(),
        }
    )
    option_rows, first_option = [], []
    for it in sim.items:
        first_option.append(len(option_rows))
        for index, label, key in analysis.labelled_options(it.question):
            option_rows.append((it.question.id, label, key, index))
    options = pd.DataFrame(option_rows, columns=["question_id", "option", "key", "order"])
    rows, opts = [], []
    for j, it in enumerate(sim.items):
        if it.question.type not in analysis.CHOICE_TYPES:
            continue
        who = np.flatnonzero(answered[:, j])
        code = sim.codes[who, j]
        if it.question.type == "multiple":
            for c, value in enumerate(sim.values[j]):
                picked = who[code == c]
                for index in value:
                    rows.append(picked * k + j)
                    opts.append(np.full(len(picked), first_option[j] + index))
        else:
            rows.append(who * k + j)
            opts.append(first_option[j] + code)  # single: index; true/false: 0 True, 1 False
    choices = pd.DataFrame(
        {
            "row": np.concatenate(rows) if rows else np.array([], np.int64),
            "option": np.concatenate(opts) if opts else np.array([], np.int64),
        }
    )
    questions = pd.DataFrame(
        {
            "question_id": qids,
            "type": kinds,
            "stem": [it.question.stem for it in sim.items],
            "versions": 1,
        }
    )
    return analysis.ItemData(items, options, choices, questions)


def _credited_seconds(sim: Simulation) -> np.ndarray:
    """Time as the store measures it: each saved answer gets the time since the previous save
    (or the start), so an omitted item's time goes to the next answered one."""
    elapsed = np.cumsum(sim.seconds, axis=1)
    answered = sim.codes >= 0
    previous = np.where(answered, elapsed, np.nan)
    last = pd.DataFrame(previous).shift(1, axis=1).ffill(axis=1).fillna(0.0).to_numpy()
    return elapsed - last


def truth(sim: Simulation) -> list[dict[str, Any]]:
    """The known truth per item, as stored in the marker row."""
    return [
        {
            "question_id": it.question.id,
            "role": it.role,
            "a": round(it.a, 3),
            "b": round(it.b, 3),
            "expected_flag": EXPECTED_FLAG.get(it.role),
        }
        for it in sim.items
    ]


def write(
    db,
    sim: Simulation,
    exam_id: str,
    blueprint,
    now: datetime,
    *,
    chunk: int = 500,
) -> dict[str, Any]:
    """Write the cohort as submitted attempts of `exam_id` into a demo database, graded by the
    exam engine's own `grade_attempt`; return the marker row stored with it. Refuses a database
    that already holds profiles or attempts."""
    from triops.quiz.exam import AttemptView, DrawnQuestion, grade_attempt
    from triops.quiz.presentation import option_count

    if store.has_rows(db):
        raise InvalidInputError(
            "This database already holds profiles or attempts: simulated candidates go into a "
            "separate, new demo database."
        )
    n, k = sim.codes.shape
    width = max(3, len(str(n)))
    marker = {
        "generator": "triops.quiz.simulate (2PL)",
        "exam_id": exam_id,
        "candidates": n,
        "seed": sim.seed,
        "created": now.isoformat(timespec="seconds"),
        "items": truth(sim),
    }
    drawn = [
        DrawnQuestion(j, it.question, it.track, list(range(option_count(it.question))), it.pilot)
        for j, it in enumerate(sim.items)
    ]
    snapshots = [json.dumps(it.question.model_dump(mode="json")) for it in sim.items]
    orders = [json.dumps(d.option_order) for d in drawn]
    columns = list(AttemptRow.model_fields)
    for lo in range(0, n, chunk):
        people = range(lo, min(n, lo + chunk))
        ids = [f"simulated-{sim.seed}-{i + 1:0{width}d}" for i in people]
        names = [f"Simulated candidate {i + 1:0{width}d}" for i in people]
        starts = [now + timedelta(minutes=i) for i in people]
        elapsed = np.cumsum(sim.seconds[lo : lo + len(ids)], axis=1)
        attempts = []
        for row, i in enumerate(people):
            answers = {j: _plain(sim.values[j][c]) for j, c in enumerate(sim.codes[i]) if c >= 0}
            attempt = AttemptRow(
                id=ids[row],
                token=ids[row],
                user_id=ids[row],
                exam_id=exam_id,
                blueprint_json=blueprint.model_dump_json(),
                question_count=k,
                state="finished",
                accommodation="1",
                started_at=starts[row],
                deadline=starts[row] + timedelta(minutes=blueprint.time_limit_minutes),
                grace_until=None,
                finished_at=starts[row] + timedelta(seconds=float(elapsed[row, -1])),
                score=None,
                passed=None,
                result_json=None,
            )
            result = grade_attempt(AttemptView(attempt, blueprint, drawn, answers))
            attempt = attempt.model_copy(
                update={
                    "score": result["percent"],
                    "passed": result["passed"],
                    "result_json": json.dumps(result),
                }
            )
            attempts.append(attempt.model_dump())
        attempt_frame = pd.DataFrame(attempts, columns=columns)
        attempt_frame["grace_until"] = pd.Series(
            pd.NaT, index=attempt_frame.index, dtype="datetime64[us]"
        )
        users = pd.DataFrame(
            {
                "id": ids,
                "name": names,
                "name_key": [name.casefold() for name in names],
                "role": "learner",
                "created_at": now,
            }
        )
        questions = pd.DataFrame(
            {
                "attempt_id": np.repeat(ids, k),
                "position": np.tile(np.arange(k, dtype=np.int32), len(ids)),
                "question_id": np.tile([it.question.id for it in sim.items], len(ids)),
                "track": np.tile([it.track for it in sim.items], len(ids)),
                "snapshot_json": np.tile(snapshots, len(ids)),
                "option_order": np.tile(orders, len(ids)),
                "pilot": np.tile([it.pilot for it in sim.items], len(ids)),
            }
        )
        who, pos = np.nonzero(sim.codes[lo : lo + len(ids)] >= 0)
        responses = pd.DataFrame(
            {
                "attempt_id": np.asarray(ids)[who],
                "position": pos.astype(np.int32),
                "response_json": [
                    json.dumps(_plain(sim.values[p][sim.codes[lo + w, p]]))
                    for w, p in zip(who, pos, strict=True)
                ],
                "saved_at": pd.to_datetime(
                    [
                        starts[w] + timedelta(seconds=float(elapsed[w, p]))
                        for w, p in zip(who, pos, strict=True)
                    ]
                ),
            }
        )
        store.write_simulated(
            db, marker if lo == 0 else None, users, attempt_frame, questions, responses
        )
    return marker


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def check(report_items: pd.DataFrame, sim: Simulation) -> dict[str, Any]:
    """How the report's flags compare with the truth: planted items found, good items flagged."""
    flags = dict(zip(report_items["question_id"], report_items["flags"], strict=True))
    planted = {it.question.id: EXPECTED_FLAG[it.role] for it in sim.items if it.role != GOOD}
    good = [it.question.id for it in sim.items if it.role == GOOD]
    found = {q: flag in flags.get(q, ()) for q, flag in planted.items()}
    false_alarms = [q for q in good if flags.get(q)]
    return {
        "planted_found": found,
        "good_flagged": false_alarms,
        "good_flagged_share": len(false_alarms) / len(good) if good else 0.0,
    }
