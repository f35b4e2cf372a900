"""Spaced review with FSRS: every graded answer updates the profile's card for that question.

The scheduling itself is py-fsrs's (`fsrs`: Scheduler, Card, Rating, ReviewLog, Optimizer). This
module decides what to feed it, and keeps cards and logs through `triops.store.reviews`.

**From an answer to a rating** (`rate`): the score as graded (0 to 1) and, where it was measured,
the time taken.

- score below 0.5: Again (not recalled);
- score from 0.5 up to 1 (partly right): Hard, whatever the time;
- fully right: Good, or Easy when answered in at most FAST (half) of the typical time for the
  question's type, or Hard when it took at least SLOW (twice) the typical time.

The typical time is the median time to answer a question of that type: the profile's own once
it has MIN_TIMED timed answers of the type, else everyone's on this installation once there are
MIN_TIMED, else there is none and time does not move the rating. Exam answers carry no time (a
candidate moves freely between questions), so a right exam answer is Good. The factors and the
minimum are Triops's choices, not research findings: twice or half the usual time is far
outside a learner's ordinary spread, and ten answers keep one odd answer from setting the
median. The learner may change the rating after seeing the feedback (`change_rating`).

**An exam date per track** changes two things, both from FSRS's own model of recall:

- The target retention (py-fsrs's `desired_retention`, the predicted recall at which a card
  falls due) is BASE_RETENTION (0.90, py-fsrs's default) until RAMP_DAYS (14) days before the
  exam, then rises in a straight line to EXAM_RETENTION (0.95) on the exam day. A higher target
  gives shorter intervals: more reviews for better recall, a trade worth making only when the
  exam is close. 0.95 is the top of the range FSRS4Anki recommends ("0.75 ~ 0.95", its scheduler
  v6.1.1, 2024) and of the range py-fsrs's optimizer searches for an optimal retention (0.70 to
  0.95, py-fsrs 6.3.2); above it the number of reviews grows steeply. The 14 days are Triops's
  choice: long enough that cards with intervals up to two weeks come up once more.
- A card that FSRS would next schedule after the exam, and whose predicted recall at the start
  of the exam day is below EXAM_RETENTION, is pulled forward: it falls due when its predicted
  recall reaches EXAM_RETENTION (at the latest), so it is reviewed once more before the exam.

An exam date in the past is refused; one that has passed stops acting (cards fall due when FSRS
says). Exam-only questions never get a card: they never appear outside exams.

**Fitting a profile's parameters** (`optimize`) uses py-fsrs's Optimizer. It only learns from
reviews that come a day or more after the same question's previous review (among each
question's first 64), and with fewer than MINIMUM_REVIEWS (512, its mini-batch size) of those it
returns the default parameters unchanged; Triops refuses below that number and says how many
more are needed. A fit is kept only when it predicts the profile's own recalls better (lower log
loss) than the defaults.

Times are naive UTC, as everywhere in Triops; py-fsrs wants aware UTC, converted at the edge.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

from fsrs import Card, Rating, Scheduler, State
from fsrs.scheduler import DEFAULT_PARAMETERS

from triops.errors import InvalidInputError
from triops.quiz.bank import Bank, BankQuestion
from triops.quiz.grading import describe, grade, right_answer
from triops.store import reviews as store
from triops.store.reviews import CardRow, LogRow, Params

PARTIAL = 0.5  # a score from here up to 1 is partly right: Hard
FAST = 0.5  # right in at most this share of the typical time: Easy
SLOW = 2.0  # right but taking at least this multiple of the typical time: Hard
MIN_TIMED = 10  # timed answers of a question type before their median is the typical time

BASE_RETENTION = 0.90
EXAM_RETENTION = 0.95
RAMP_DAYS = 14

# py-fsrs's Optimizer counts only reviews a day or more after the card's previous one, within
# each card's first 64 reviews, and below its mini-batch size of 512 returns the defaults.
MINIMUM_REVIEWS = 512
MAX_SEQUENCE = 64

LEARNING_STEPS: tuple[timedelta, ...] = ()

FORECAST_DAYS = 30
SOURCES = ("practice", "exam", "review")
RATING_NAMES = {r: r.name for r in Rating}


# --------------------------------------------------------------------------- ratings


def rate(score: float, seconds: float | None = None, typical: float | None = None) -> Rating:
    """The rating an answer earns: see the module's docstring for the rule."""
    if score < PARTIAL:
        return Rating.Again
    if score < 1:
        return Rating.Hard
    if seconds is None or typical is None or typical <= 0:
        return Rating.Good
    if seconds <= FAST * typical:
        return Rating.Easy
    if seconds >= SLOW * typical:
        return Rating.Hard
    return Rating.Good


def explain(rating: Rating, score: float, seconds: float | None, typical: float | None) -> str:
    """Why an answer earned its rating, in words."""
    if score < PARTIAL:
        return f"{score:.0%} right: not recalled"
    if score < 1:
        return f"{score:.0%} right: partly recalled"
    if seconds is None:
        return "right (time not measured)"
    if typical is None:
        return (
            f"right in {seconds:.0f} s (time counts once {MIN_TIMED} timed answers of this "
            "type give a typical time)"
        )
    pace = {Rating.Easy: "fast", Rating.Hard: "slow"}.get(rating, "usual pace")
    return f"right in {seconds:.0f} s against a typical {typical:.0f} s: {pace}"


def typical_seconds(db, user_id: str, question_type: str) -> float | None:
    """The median time to answer this type of question: the profile's own, else everyone's,
    each only once there are MIN_TIMED timed answers; None when neither has enough."""
    for who in (user_id, None):
        median, count = store.median_seconds(db, question_type, who)
        if count >= MIN_TIMED and median is not None:
            return float(median)
    return None


# --------------------------------------------------------------------------- the exam rule


def exam_start(day: date) -> datetime:
    """The moment an exam day begins (UTC): "before the exam" means before this."""
    return datetime.combine(day, time())


def target_retention(exam_day: date | None, now: datetime) -> float:
    """The desired retention for a review at `now`: BASE_RETENTION, rising in a straight line
    to EXAM_RETENTION over the RAMP_DAYS before the exam day."""
    if exam_day is None or exam_start(exam_day) + timedelta(days=1) <= now:
        return BASE_RETENTION
    days = (exam_start(exam_day) - now).total_seconds() / 86400
    if days >= RAMP_DAYS:
        return BASE_RETENTION
    share = 1 - max(0.0, days) / RAMP_DAYS
    return BASE_RETENTION + (EXAM_RETENTION - BASE_RETENTION) * share


def days_to_retention(stability: float, parameters, retention: float) -> float:
    """Days after a review at which FSRS's predicted recall falls to `retention`.

    FSRS-6's forgetting curve R(t) = (1 + FACTOR * t / S) ** DECAY, with DECAY = -w20 and FACTOR
    = 0.9 ** (1 / DECAY) - 1 (so that R(S) = 0.9), solved for t."""
    decay = -parameters[20]
    factor = 0.9 ** (1 / decay) - 1
    return stability / factor * (retention ** (1 / decay) - 1)


def pulled_due(row: CardRow, exam_day: date | None, parameters) -> datetime:
    """When the card falls due given the track's exam date: FSRS's due, or earlier when that
    is after the exam and the predicted recall on the exam day is below EXAM_RETENTION."""
    if exam_day is None:
        return row.fsrs_due
    start = exam_start(exam_day)
    if row.fsrs_due <= start or row.last_review >= start:
        return row.fsrs_due
    recall = _scheduler(parameters, BASE_RETENTION).get_card_retrievability(
        _to_fsrs(row), _aware(start)
    )
    if recall >= EXAM_RETENTION:
        return row.fsrs_due
    # Whole days, as py-fsrs counts elapsed time: on that day the recall is still the target.
    days = math.floor(days_to_retention(row.stability, parameters, EXAM_RETENTION))
    return min(row.fsrs_due, row.last_review + timedelta(days=days))


# --------------------------------------------------------------------------- cards


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _scheduler(parameters, retention: float, fuzz: bool = True) -> Scheduler:
    # No learning steps: a question is first met in Practice or an exam, where a miss already
    # comes back within the session, so a new card goes straight to intervals of days. A card
    # forgotten later keeps py-fsrs's 10-minute relearning step and returns in the same sitting.
    return Scheduler(
        parameters=parameters,
        desired_retention=retention,
        learning_steps=LEARNING_STEPS,
        enable_fuzzing=fuzz,
    )


def _to_fsrs(row: CardRow) -> Card:
    # Triops keys cards by (profile, question); py-fsrs's card_id only groups an optimizer's
    # logs, which `optimize` numbers itself.
    return Card(
        card_id=0,
        state=State(row.state),
        step=row.step,
        stability=row.stability,
        difficulty=row.difficulty,
        due=_aware(row.fsrs_due),
        last_review=_aware(row.last_review),
    )


def _from_fsrs(
    card: Card, question_id: str, track: str, log_id: str, exam_day: date | None, parameters
) -> CardRow:
    row = CardRow(
        question_id=question_id,
        track=track,
        state=int(card.state),
        step=card.step,
        stability=float(card.stability),
        difficulty=float(card.difficulty),
        last_review=_naive(card.last_review),
        fsrs_due=_naive(card.due),
        due=_naive(card.due),
        last_log_id=log_id,
    )
    return row.model_copy(update={"due": pulled_due(row, exam_day, parameters)})


def parameters(db, user_id: str) -> list[float]:
    """The profile's fitted FSRS parameters, else py-fsrs's defaults."""
    fitted = store.get_params(db, user_id)
    return list(fitted.parameters) if fitted else list(DEFAULT_PARAMETERS)


@dataclass(frozen=True)
class Answer:
    """A graded answer to one question, as the hooks hand it over."""

    question: Any  # a Question model (bank question or an exam's snapshot)
    track: str
    score: float
    seconds: float | None = None


@dataclass(frozen=True)
class Reviewed:
    """What an answer did to its card: the rating suggested and applied, and the next due."""

    log_id: str
    question_id: str
    suggested: Rating
    rating: Rating
    due: datetime  # when the card falls due now (pulled forward by an exam date, if so)
    fsrs_due: datetime
    pulled: bool
    reason: str = ""  # why the answer earned the suggested rating


def _review(
    previous: CardRow | None,
    answer: Answer,
    rating: Rating,
    at: datetime,
    exam_day: date | None,
    params,
    log_id: str,
) -> CardRow:
    card = _to_fsrs(previous) if previous else Card(card_id=0, due=_aware(at))
    # An answer can be older than the card's last review (an exam finalized after the deadline
    # by a later sweep): it is applied as of the last review, never back in time.
    when = max(at, previous.last_review) if previous else at
    scheduler = _scheduler(params, target_retention(exam_day, when))
    duration = None if answer.seconds is None else round(answer.seconds * 1000)
    updated, _ = scheduler.review_card(card, rating, _aware(when), duration)
    return _from_fsrs(updated, answer.question.id, answer.track, log_id, exam_day, params)


def record(
    db, user_id: str, answers: Iterable[Answer], at: datetime, source: str
) -> list[Reviewed]:
    """Update the profile's cards from graded answers (exam-only questions are left out)."""
    if source not in SOURCES:
        raise ValueError(f"unknown review source '{source}'")
    answers = [a for a in answers if not getattr(a.question, "exam_only", False)]
    if not answers:
        return []
    existing = store.get_cards(db, user_id, [a.question.id for a in answers])
    params = parameters(db, user_id)
    exams = store.exam_dates(db, user_id)
    typical: dict[str, float | None] = {}
    rows: dict[str, CardRow] = {}
    logs, done = [], []
    for answer in answers:
        kind = answer.question.type
        if answer.seconds is not None and kind not in typical:
            typical[kind] = typical_seconds(db, user_id, kind)
        rating = rate(answer.score, answer.seconds, typical.get(kind))
        previous = existing.get(answer.question.id)
        log_id = secrets.token_hex(8)
        row = _review(previous, answer, rating, at, exams.get(answer.track), params, log_id)
        rows[row.question_id] = existing[row.question_id] = row
        logs.append(
            LogRow(
                id=log_id,
                question_id=answer.question.id,
                question_type=kind,
                source=source,
                score=answer.score,
                seconds=answer.seconds,
                suggested=int(rating),
                rating=int(rating),
                reviewed_at=row.last_review,
                card_before=_to_fsrs(previous).to_json() if previous else None,
            )
        )
        reason = explain(rating, answer.score, answer.seconds, typical.get(kind))
        done.append(
            Reviewed(
                log_id, row.question_id, rating, rating, row.due, row.fsrs_due, _pulled(row), reason
            )
        )
    store.save_reviews(db, user_id, list(rows.values()), logs)
    return done


def _pulled(row: CardRow) -> bool:
    return row.due < row.fsrs_due


def record_answer(
    db,
    user_id: str,
    question,
    track: str,
    score: float,
    at: datetime,
    *,
    seconds: float | None = None,
    source: str = "practice",
) -> Reviewed | None:
    """Update the profile's card for one graded answer; None for an exam-only question."""
    done = record(db, user_id, [Answer(question, track, score, seconds)], at, source)
    return done[0] if done else None


def record_attempt(db, user_id: str, view, result: dict[str, Any], at: datetime) -> list[Reviewed]:
    """Update the profile's cards from a graded exam attempt: `view` holds the questions as
    drawn and the responses, `result` the grade (`triops.quiz.exam.grade_attempt`). Unanswered
    questions are left out: a blank is no evidence of what was recalled."""
    scores = {q["position"]: q["score"] for q in result["questions"]}
    answers = [
        Answer(d.question, d.track, scores[d.position])
        for d in view.questions
        if view.responses.get(d.position) is not None and d.position in scores
    ]
    return record(db, user_id, answers, at, "exam")


def change_rating(db, user_id: str, log_id: str, rating: Rating) -> Reviewed:
    """Replace the rating of a card's latest review (the learner overrides the suggestion)."""
    log = store.get_log(db, user_id, log_id)
    if log is None:
        raise InvalidInputError("This review does not exist for this profile.")
    current = store.get_card(db, user_id, log.question_id)
    if current is None or current.last_log_id != log_id:
        raise InvalidInputError(
            "This question has been reviewed again since; only its latest rating can change."
        )
    params = parameters(db, user_id)
    exam_day = store.exam_dates(db, user_id).get(current.track)
    card = Card.from_json(log.card_before) if log.card_before else None
    scheduler = _scheduler(params, target_retention(exam_day, log.reviewed_at))
    start = card or Card(card_id=0, due=_aware(log.reviewed_at))
    duration = None if log.seconds is None else round(log.seconds * 1000)
    updated, _ = scheduler.review_card(start, Rating(rating), _aware(log.reviewed_at), duration)
    row = _from_fsrs(updated, log.question_id, current.track, log_id, exam_day, params)
    if not store.override(db, user_id, log_id, int(rating), row):
        raise InvalidInputError(
            "This question has been reviewed again since; only its latest rating can change."
        )
    return Reviewed(
        log_id,
        row.question_id,
        Rating(log.suggested),
        Rating(rating),
        row.due,
        row.fsrs_due,
        _pulled(row),
        "changed by you",
    )


@dataclass(frozen=True)
class Graded:
    """An answer as graded for the review session: the same feedback practice gives."""

    response: Any
    score: float
    feedback: tuple[str, ...]
    detail: str
    right_answer: str  # empty when the answer was fully right

    @property
    def verdict(self) -> str:
        """correct, partial or wrong."""
        if self.score >= 1:
            return "correct"
        return "partial" if self.score > 0 else "wrong"


def grade_answer(question, response: Any, embedder=None) -> Graded:
    """Grade a response as practice does (`embedder` for short answers graded by meaning)."""
    result = grade(question, response, embedder)
    right = "" if result.score >= 1 else describe(question, right_answer(question))
    return Graded(response, result.score, tuple(result.feedback), result.detail, right)


def answer_and_review(
    db, user_id: str, bq: BankQuestion, response: Any, at: datetime, seconds: float, embedder=None
) -> tuple[Graded, Reviewed]:
    """Grade an answer given on the Review page and update its card."""
    graded = grade_answer(bq.question, response, embedder)
    done = record_answer(
        db, user_id, bq.question, bq.track, graded.score, at, seconds=seconds, source="review"
    )
    assert done is not None  # the queue never holds exam-only questions
    return graded, done


# --------------------------------------------------------------------------- exam dates


def set_exam_date(
    db, user_id: str, track: str, day: date | None, now: datetime, tracks: Iterable[str]
) -> int:
    """Set (or with None, clear) the exam date of a track and reschedule its cards; returns how
    many cards the date pulls forward."""
    known = list(tracks)
    if track not in known:
        raise InvalidInputError(f"Unknown track '{track}' (tracks: {', '.join(known)}).")
    if day is not None and day < now.date():
        raise InvalidInputError(
            f"{day.isoformat()} is in the past: set the day of your exam, today or later."
        )
    store.set_exam_date(db, user_id, track, day, now)
    params = parameters(db, user_id)
    rows = store.cards(db, user_id, track)
    changed = []
    for row in rows:
        due = pulled_due(row, day, params)
        if due != row.due:
            changed.append(row.model_copy(update={"due": due}))
    store.save_cards(db, user_id, changed)
    return sum(1 for row in rows if pulled_due(row, day, params) < row.fsrs_due)


def exam_dates(db, user_id: str) -> dict[str, date]:
    """Track -> the profile's exam date (passed ones included)."""
    return store.exam_dates(db, user_id)


# --------------------------------------------------------------------------- what is due


class DueCard(NamedTuple):
    """A card due for review (a tuple: a queue may hold thousands)."""

    question: BankQuestion
    due: datetime
    pulled: bool  # due earlier than FSRS alone would have it, because of an exam date


@dataclass(frozen=True)
class TrackDue:
    track: str
    due_now: int
    later_today: int
    pulled: int  # of those due today, how many an exam date pulled forward
    exam_day: date | None
    retention: float  # the target retention a review in this track uses now


@dataclass(frozen=True)
class Overview:
    """What the Review page shows: the queue due now, today per track, the days ahead."""

    queue: DueQueue
    tracks: list[TrackDue]
    forecast: list[tuple[date, str, int]]  # (day, track, cards due); overdue ones on today
    next_due: datetime | None  # the next card to fall due after now
    cards: int  # the profile's cards

    @property
    def due_today(self) -> int:
        return sum(t.due_now + t.later_today for t in self.tracks)


def _eligible(bank: Bank) -> dict[str, BankQuestion]:
    return {q.question.id: q for q in bank.questions if not q.question.exam_only}


def _ahead(exams: dict[str, date], now: datetime) -> list[str]:
    """The tracks whose exam day has not begun: a pull-forward stops acting once it has (the
    card falls due when FSRS says again)."""
    return sorted(track for track, day in exams.items() if exam_start(day) > now)


EPOCH = datetime(1970, 1, 1)
_US_PER_DAY = 86_400_000_000


def _us(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


class DueQueue(Sequence[DueCard]):
    """The cards due now, soonest first: kept as the store's columns, each card built when it
    is asked for (a queue may hold thousands; the page shows one at a time)."""

    def __init__(self, cols: store.DueColumns, keep: list[int], eligible):
        self._cols, self._keep, self._eligible = cols, keep, eligible

    def __len__(self) -> int:
        return len(self._keep)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        j = self._keep[index]
        c = self._cols
        due = EPOCH + timedelta(microseconds=c.due_us[j])
        return DueCard(self._eligible[c.question_id[j]], due, c.pulled[j])

    def ids(self) -> list[str]:
        """The question ids in queue order."""
        return [self._cols.question_id[j] for j in self._keep]


def due_queue(db, user_id: str, bank: Bank, now: datetime) -> DueQueue:
    """Cards due at `now` whose question review may show, the longest overdue first (ties by
    question id)."""
    ahead = _ahead(store.exam_dates(db, user_id), now)
    cols = store.due_before(db, user_id, now + timedelta(microseconds=1), ahead)
    return _queue(cols, _eligible(bank), _us(now))


def _queue(cols: store.DueColumns, eligible: dict[str, BankQuestion], now_us: int) -> DueQueue:
    ids, due = cols.question_id, cols.due_us
    keep = [j for j in range(len(ids)) if due[j] <= now_us and ids[j] in eligible]
    return DueQueue(cols, keep, eligible)


def overview(
    db, user_id: str, bank: Bank, now: datetime, tracks: Iterable[str], days: int = FORECAST_DAYS
) -> Overview:
    """The due queue, what falls due today per track, and cards due per day for `days` days
    (today first, with everything overdue)."""
    eligible = _eligible(bank)
    exams = store.exam_dates(db, user_id)
    today = now.date()
    start = _us(exam_start(today))
    now_us, tomorrow = _us(now), start + _US_PER_DAY
    cols = store.due_before(
        db, user_id, exam_start(today) + timedelta(days=days), _ahead(exams, now)
    )
    per_track: dict[str, list[int]] = {t: [0, 0, 0] for t in tracks}
    per_day: dict[tuple[int, str], int] = {}
    for qid, track, due, pulled in zip(
        cols.question_id, cols.track, cols.due_us, cols.pulled, strict=True
    ):
        if qid not in eligible:
            continue
        counts = per_track.setdefault(track, [0, 0, 0])
        if due <= now_us:
            counts[0] += 1
        elif due < tomorrow:
            counts[1] += 1
        if due < tomorrow and pulled:
            counts[2] += 1
        key = (max(0, (due - start) // _US_PER_DAY), track)
        per_day[key] = per_day.get(key, 0) + 1
    return Overview(
        queue=_queue(cols, eligible, now_us),
        tracks=[
            TrackDue(track, *counts, exams.get(track), target_retention(exams.get(track), now))
            for track, counts in per_track.items()
        ],
        forecast=sorted(
            (today + timedelta(days=day), track, n) for (day, track), n in per_day.items()
        ),
        next_due=store.next_due(db, user_id, now + timedelta(microseconds=1)),
        cards=store.count_cards(db, user_id),
    )


# --------------------------------------------------------------------------- fitting


@dataclass(frozen=True)
class Fit:
    """The outcome of fitting a profile's FSRS parameters to its reviews."""

    reviews: int  # reviews the optimizer learns from (a day or more after the previous one)
    loss_default: float  # log loss of the default parameters on those reviews
    loss_fitted: float  # and of the fitted ones
    kept: bool  # whether the fitted parameters are now the profile's
    parameters: list[float]  # the parameters now in use
    cards: int  # cards rescheduled with them


def _histories(logs: list[LogRow]) -> dict[str, list[tuple[datetime, Rating]]]:
    out: dict[str, list[tuple[datetime, Rating]]] = {}
    for log in sorted(logs, key=lambda g: (g.reviewed_at, g.id)):
        out.setdefault(log.question_id, []).append((_aware(log.reviewed_at), Rating(log.rating)))
    return out


def counted_reviews(logs: list[LogRow]) -> int:
    """Reviews py-fsrs's Optimizer learns from: among each question's first 64 reviews, those
    a day or more after the previous one."""
    count = 0
    for history in _histories(logs).values():
        history = history[:MAX_SEQUENCE]
        count += sum(
            1 for a, b in zip(history, history[1:], strict=False) if (b[0] - a[0]).days > 0
        )
    return count


def log_loss(histories: dict[str, list[tuple[datetime, Rating]]], params) -> float:
    """Mean binary cross-entropy of FSRS's predicted recall against what happened (Again = not
    recalled), over the reviews the optimizer learns from: how well `params` fit."""
    scheduler = _scheduler(params, BASE_RETENTION, fuzz=False)
    total, count = 0.0, 0
    for history in histories.values():
        card = None
        for when, rating in history[:MAX_SEQUENCE]:
            if card is None:
                card = Card(card_id=0, due=when)
            elif (when - card.last_review).days > 0:
                recall = min(max(scheduler.get_card_retrievability(card, when), 1e-9), 1 - 1e-9)
                total -= math.log(recall if rating != Rating.Again else 1 - recall)
                count += 1
            card, _ = scheduler.review_card(card, rating, when)
    return total / count if count else float("nan")


def optimize(db, user_id: str, now: datetime) -> Fit:
    """Fit the profile's FSRS parameters to its review logs with py-fsrs's Optimizer, keep them
    if they fit better than the defaults, and reschedule the profile's cards with them."""
    logs = store.logs(db, user_id)
    if not logs:
        raise InvalidInputError(
            "This profile has no answers yet: answer questions in Practice, Review or an exam "
            "first. Each graded answer is a review the fit can learn from."
        )
    counted = counted_reviews(logs)
    if counted < MINIMUM_REVIEWS:
        raise InvalidInputError(
            f"Not enough reviews to fit: the optimizer needs {MINIMUM_REVIEWS} reviews made a "
            f"day or more after the same question's previous review, and this profile has "
            f"{counted} ({MINIMUM_REVIEWS - counted} more needed). The default parameters stay."
        )
    from fsrs import Optimizer, ReviewLog  # torch: imported only when fitting

    histories = _histories(logs)
    numbers = {qid: n for n, qid in enumerate(sorted(histories))}
    review_logs = [
        ReviewLog(numbers[qid], rating, when, None)
        for qid, history in histories.items()
        for when, rating in history
    ]
    fitted = list(Optimizer(review_logs).compute_optimal_parameters())
    loss_default = log_loss(histories, DEFAULT_PARAMETERS)
    loss_fitted = log_loss(histories, fitted)
    kept = loss_fitted < loss_default
    store.save_params(
        db, user_id, Params(parameters=fitted, reviews=counted, fitted_at=now) if kept else None
    )
    chosen = fitted if kept else list(DEFAULT_PARAMETERS)
    cards = _reschedule(db, user_id, logs, chosen)
    return Fit(counted, loss_default, loss_fitted, kept, chosen, cards)


def _reschedule(db, user_id: str, logs: list[LogRow], params) -> int:
    """Replay every card's reviews with `params`, as py-fsrs's reschedule_card does, with the
    target retention each review had under the exam rule."""
    exams = store.exam_dates(db, user_id)
    current = {row.question_id: row for row in store.cards(db, user_id)}
    by_question: dict[str, list[LogRow]] = {}
    for log in sorted(logs, key=lambda g: (g.reviewed_at, g.id)):
        by_question.setdefault(log.question_id, []).append(log)
    rows = []
    for qid, history in by_question.items():
        row = current.get(qid)
        if row is None:
            continue
        exam_day = exams.get(row.track)
        card = Card(card_id=0, due=_aware(history[0].reviewed_at))
        for log in history:
            scheduler = _scheduler(params, target_retention(exam_day, log.reviewed_at))
            card, _ = scheduler.review_card(card, Rating(log.rating), _aware(log.reviewed_at))
        rows.append(_from_fsrs(card, qid, row.track, history[-1].id, exam_day, params))
    store.save_cards(db, user_id, rows)
    return len(rows)


def fitted(db, user_id: str) -> Params | None:
    """The profile's fitted parameters, with when and from how many reviews; None: defaults."""
    return store.get_params(db, user_id)


def evidence(db, user_id: str) -> tuple[int, int]:
    """(reviews the optimizer would learn from, how many it needs) for this profile."""
    return counted_reviews(store.logs(db, user_id)), MINIMUM_REVIEWS
