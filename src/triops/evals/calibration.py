"""Thresholds of the semantic assertions, calibrated on Ask's labelled questions.

tests/fixtures/ask_pairs.yaml labels each question with the lesson that answers it (or none:
off-topic) and, for most in-topic ones, words a good answer contains (`expect_terms`). From
them `labelled_scores` builds three sets of cosines, each with positives and negatives:

- answer-relevance: cosine of a question and Ask's answer to it (asked with no abstention).
  Positive: an in-topic question answered from its expected lesson. Negative: an off-topic
  question, whose forced answer quotes whatever lesson is nearest.
- similar: cosine of Ask's answer and a reference answer, the first sentence of the expected
  lesson that holds an expected term (the *gold* sentence). Positive: the question's own gold,
  when Ask answered from the expected lesson. Negative: the gold of a question about another
  lesson (the next such question in the same split).
- support (groundedness and context-recall): the best cosine of a claim with the sentences of a
  context, the passages Ask cited for a question. Positive: a gold sentence of that question
  that the context does not hold verbatim (so it is matched by meaning), when Ask answered from
  the expected lesson. Negative: the gold sentence of a question about another lesson.

`calibrate` picks, on the calibration split, the threshold that maximises balanced accuracy
(triops.search.ask.best_threshold: the middle of the widest gap among equally good cuts) and
reports AUC and balanced accuracy on both splits. CALIBRATION.md has the method and figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

# Calibrated on 2026-12-06 with `calibrate` over tests/fixtures/ask_pairs.yaml (calibration
# split; holdout reported), all-MiniLM-L6-v2 (packaged) over the 88-lesson course, Ask as
# shipped that day (ABSTAIN_THRESHOLD 0.415, k 5, 3 sentences), the lessons' self-check
# answers read from the course as gold (the index no longer holds them). Values rounded to two
# decimals; the figures are in CALIBRATION.md. tests/test_evals_calibration.py re-runs the
# calibration and fails when a value moves by more than CALIBRATION_TOLERANCE or no longer
# separates the holdout split: re-run it whenever the model, Ask or the course changes.
SIMILAR_THRESHOLD = 0.31
SUPPORT_THRESHOLD = 0.37
RELEVANCE_THRESHOLD = 0.49
CALIBRATION_TOLERANCE = 0.05

SHIPPED = {
    "similar": SIMILAR_THRESHOLD,
    "support": SUPPORT_THRESHOLD,
    "answer-relevance": RELEVANCE_THRESHOLD,
}


@dataclass(frozen=True)
class Scored:
    """One labelled cosine."""

    split: str
    positive: bool
    value: float
    question: str


@dataclass
class Separation:
    """How well a threshold separates positives from negatives, per split."""

    name: str
    threshold: float
    splits: dict[str, dict[str, float]] = field(default_factory=dict)


def _gold(index, lesson: str, terms: Sequence[str], answers: Sequence[str] = ()) -> list[str]:
    """Sentences of a lesson (as Ask quotes them) that hold one of the expected terms, then
    those of its self-check `answers` (the course's own reference answers, which the index no
    longer holds)."""
    from triops.search.ask import CHECK_YOURSELF, lesson_of, plain_markdown, split_sentences

    texts = [
        chunk.text
        for chunk in index.chunks
        if chunk.kind == "lesson" and lesson_of(chunk) == lesson and chunk.anchor != CHECK_YOURSELF
    ]
    out = []
    for text in [*texts, *answers]:
        for sentence in split_sentences(text):
            shown = plain_markdown(sentence)
            if any(t.lower() in shown.lower() for t in terms):
                out.append(shown)
    return out


def labelled_scores(
    pairs, index, embedder, *, results=None, course=None
) -> dict[str, list[Scored]]:
    """The labelled cosines of each calibrated quantity (see the module docstring).
    `results` reuses a triops.search.ask.run_pairs run of the same pairs; `course` (the course
    the index was built from) adds the lessons' self-check answers to the gold sentences."""
    from triops.content.markdown import self_check_answers
    from triops.evals.providers import format_answer
    from triops.evals.text import claims, flat, sentences
    from triops.search.ask import run_pairs

    if results is None:
        results = run_pairs(pairs, index, embedder)
    answers = (
        {lesson.id: self_check_answers(lesson.blocks) for lesson in course.lessons()}
        if course is not None
        else {}
    )

    def vectors(texts: list[str]):
        return embedder.encode(texts)

    rows = []
    for r in results:
        p = r.pair
        answer = " ".join(claims(format_answer(r.answer, "none")))
        gold = (
            _gold(index, p.expect_lesson, p.expect_terms, answers.get(p.expect_lesson, ()))
            if p.expect_lesson
            else []
        )
        context = [s for c in r.answer.citations for s in sentences(c.text)]
        rows.append((r, answer, gold, context, r.top_lesson == p.expect_lesson))

    out: dict[str, list[Scored]] = {"answer-relevance": [], "similar": [], "support": []}
    for r, answer, _, _, right in rows:
        if r.pair.expect_lesson is None or right:
            v = vectors([r.pair.question, answer])
            out["answer-relevance"].append(
                Scored(r.pair.split, r.pair.expect_lesson is not None, float(v[0] @ v[1]), "")
            )
    with_gold = [row for row in rows if row[2]]
    for i, (r, answer, gold, context, right) in enumerate(with_gold):
        others = [
            row
            for row in with_gold
            if row[0].pair.expect_lesson != r.pair.expect_lesson
            and row[0].pair.split == r.pair.split
        ]
        other_gold = others[i % len(others)][2][0]
        q = r.pair.question
        if right:
            v = vectors([answer, gold[0]])
            out["similar"].append(Scored(r.pair.split, True, float(v[0] @ v[1]), q))
        v = vectors([answer, other_gold])
        out["similar"].append(Scored(r.pair.split, False, float(v[0] @ v[1]), q))
        if not context:
            continue
        held = {flat(s) for s in context}
        fresh = [s for s in gold if flat(s) not in held]
        if right and fresh:
            m = vectors(fresh) @ vectors(context).T
            out["support"].append(Scored(r.pair.split, True, float(m.max()), q))
        m = vectors([other_gold]) @ vectors(context).T
        out["support"].append(Scored(r.pair.split, False, float(m.max()), q))
    return out


def separation(scores: list[Scored], threshold: float, split: str) -> dict[str, float]:
    """Counts, AUC and balanced accuracy (positive when value >= threshold) on one split."""
    from triops.search.ask import _auc

    pos = [s.value for s in scores if s.split == split and s.positive]
    neg = [s.value for s in scores if s.split == split and not s.positive]
    tpr = sum(v >= threshold for v in pos) / len(pos) if pos else 0.0
    tnr = sum(v < threshold for v in neg) / len(neg) if neg else 0.0
    return {
        "positives": len(pos),
        "negatives": len(neg),
        "auc": _auc(pos, neg),
        "balanced_accuracy": (tpr + tnr) / 2,
        "true_positive_rate": tpr,
        "true_negative_rate": tnr,
    }


def calibrate(
    pairs,
    index,
    embedder,
    *,
    results=None,
    scores: dict[str, list[Scored]] | None = None,
    course=None,
) -> dict[str, Separation]:
    """Each quantity's threshold chosen on the calibration split, with its separation on the
    calibration and holdout splits. `scores` reuses a `labelled_scores` result."""
    from triops.search.ask import best_threshold

    if scores is None:
        scores = labelled_scores(pairs, index, embedder, results=results, course=course)
    out = {}
    for name, scored in scores.items():
        cal = [s for s in scored if s.split == "calibration"]
        cut = best_threshold(
            [s.value for s in cal if s.positive], [s.value for s in cal if not s.positive]
        )
        splits = {split: separation(scored, cut, split) for split in ("calibration", "holdout")}
        out[name] = Separation(name, cut, splits)
    return out
