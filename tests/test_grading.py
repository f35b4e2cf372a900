"""Grading of every question type, with properties that must hold for any response."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from triops.quiz.grading import InvalidResponse, describe, grade, normalize_text, right_answer
from triops.quiz.models import Question
from triops.quiz.presentation import labels, to_authored, to_screen

Q = TypeAdapter(Question)


def q(**kw):
    base = {"id": "t-q", "stem": "Stem", "domain": "d", "difficulty": "foundation"}
    return Q.validate_python({**base, **kw})


SINGLE = q(
    type="single",
    options=[
        {"text": "A", "correct": True},
        {"text": "B", "weight": 50, "feedback": "half"},
        {"text": "C", "weight": -100},
    ],
)
MULTIPLE = q(
    type="multiple",
    options=[
        {"text": "A", "correct": True},
        {"text": "B", "correct": True},
        {"text": "C"},
        {"text": "D"},
    ],
)
WEIGHTED = q(
    type="multiple",
    options=[
        {"text": "A", "weight": 50},
        {"text": "B", "weight": 50},
        {"text": "C", "weight": -100},
    ],
)
TF = q(type="true_false", answer=False, feedback_right="yes", feedback_wrong="no")
NUMERIC = q(
    type="numeric",
    answers=[
        {"value": 0.5, "tolerance": 0.05},
        {"min": 0.4, "max": 0.6, "weight": 50, "feedback": "near"},
    ],
)
SHORT = q(type="short_text", answers=[{"text": "Champion"}, {"text": "prod*model", "weight": 50}])
ORDERING = q(type="ordering", items=["a", "b", "c", "d", "e"])
MATCHING = q(
    type="matching",
    pairs=[{"left": "x", "right": "1"}, {"left": "y", "right": "2"}, {"left": "z", "right": "3"}],
    distractors=["4"],
)
ALL = [SINGLE, MULTIPLE, WEIGHTED, TF, NUMERIC, SHORT, ORDERING, MATCHING]


@pytest.mark.parametrize(
    ("response", "score", "feedback"), [(0, 1.0, []), (1, 0.5, ["half"]), (2, 0.0, [])]
)
def test_single_scores_the_chosen_weight_floored_at_zero(response, score, feedback):
    g = grade(SINGLE, response)
    assert (g.score, g.feedback) == (score, feedback)


@pytest.mark.parametrize(
    ("response", "score"),
    [
        ([0, 1], 1.0),
        ([0], 0.5),
        ([0, 2], 0.0),
        ([0, 1, 2], 0.5),
        ([2, 3], 0.0),
        ([], 0.0),
        ([0, 1, 2, 3], 0.0),
    ],
)
def test_multiple_gives_partial_credit_with_implicit_negative_weights(response, score):
    assert grade(MULTIPLE, response).score == pytest.approx(score)


def test_multiple_with_explicit_weights_floors_at_zero():
    assert grade(WEIGHTED, [0]).score == 0.5
    assert grade(WEIGHTED, [0, 2]).score == 0.0
    assert grade(WEIGHTED, [0, 1]).score == 1.0


CHOOSE_TWO = q(
    type="multiple",
    choose=2,
    options=[
        {"text": "A", "correct": True},
        {"text": "B", "correct": True},
        {"text": "C"},
        {"text": "D"},
        {"text": "E"},
    ],
)


@pytest.mark.parametrize(
    ("response", "partial", "strict"),
    [
        ([0, 1], 1.0, 1.0),
        ([1, 0], 1.0, 1.0),
        ([0], 0.5, 0.0),
        ([0, 1, 2], 0.5, 0.0),
        ([0, 2], 0.0, 0.0),
        ([], 0.0, 0.0),
    ],
)
def test_all_or_nothing_gives_credit_only_for_exactly_the_keyed_set(response, partial, strict):
    for question in (MULTIPLE, CHOOSE_TWO):
        assert grade(question, response).score == pytest.approx(partial)
        assert grade(question, response, multiple_response="all-or-nothing").score == strict


def test_all_or_nothing_says_why_too_many_choices_score_nothing():
    g = grade(CHOOSE_TWO, [0, 1, 2], multiple_response="all-or-nothing")
    assert (g.score, g.detail) == (0.0, "3 options chosen where the item asks for 2: no credit")
    assert grade(WEIGHTED, [0, 1], multiple_response="all-or-nothing").score == 1.0
    assert grade(WEIGHTED, [0], multiple_response="all-or-nothing").score == 0.0


def test_all_or_nothing_changes_only_multiple_response():
    for question in (SINGLE, TF, NUMERIC, SHORT, ORDERING, MATCHING):
        for response in (right_answer(question), None):
            assert grade(question, response, multiple_response="all-or-nothing") == grade(
                question, response
            )
    assert grade(ORDERING, [0, 1, 2, 4, 3], multiple_response="all-or-nothing").score == 0.5
    with pytest.raises(ValueError, match="unknown multiple_response mode"):
        grade(MULTIPLE, [0], multiple_response="some")


def test_true_false_and_its_feedback():
    assert grade(TF, False).score == 1.0 and grade(TF, False).feedback == ["yes"]
    assert grade(TF, True).score == 0.0 and grade(TF, True).feedback == ["no"]


@pytest.mark.parametrize(
    ("response", "score"),
    [(0.5, 1.0), (0.55, 1.0), (0.449, 0.5), (0.6, 0.5), (0.61, 0.0), (-0.5, 0.0)],
)
def test_numeric_tolerance_range_and_best_weight(response, score):
    assert grade(NUMERIC, response).score == score


def test_numeric_tolerates_binary_floating_point():
    question = q(type="numeric", answers=[{"value": 0.3}])
    assert grade(question, 0.1 + 0.2).score == 1.0


@pytest.mark.parametrize(
    ("response", "score"),
    [
        ("champion", 1.0),
        ("  CHAMPION ", 1.0),
        ("production model", 0.5),
        ("prod   model", 0.5),
        ("challenger", 0.0),
        ("", 0.0),
    ],
)
def test_short_text_normalizes_and_supports_wildcards(response, score):
    assert grade(SHORT, response).score == score


def test_short_text_case_sensitive_when_asked():
    question = q(type="short_text", answers=["GitOps"], case_sensitive=True)
    assert grade(question, "GitOps").score == 1.0
    assert grade(question, "gitops").score == 0.0


def test_short_text_lone_star_accepts_anything():
    question = q(type="short_text", answers=["*"])
    assert grade(question, "whatever").score == 1.0


@pytest.mark.parametrize(
    ("response", "score"),
    [
        ([0, 1, 2, 3, 4], 1.0),
        ([1, 0, 2, 3, 4], 0.5),
        ([4, 3, 2, 1, 0], 0.0),
        ([0, 1, 2, 4, 3], 0.5),
        ([1, 2, 3, 4, 0], 0.75),
    ],
)
def test_ordering_scores_neighbouring_pairs(response, score):
    assert grade(ORDERING, response).score == score


def test_matching_scores_share_matched_and_distractors_score_nothing():
    assert grade(MATCHING, [0, 1, 2]).score == 1.0
    assert grade(MATCHING, [0, 3, None]).score == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("question", "bad"),
    [
        (SINGLE, 7),
        (SINGLE, "A"),
        (MULTIPLE, [9]),
        (TF, "yes"),
        (NUMERIC, "1"),
        (NUMERIC, float("nan")),
        (SHORT, 3),
        (ORDERING, [0, 1]),
        (ORDERING, [0, 0, 1, 2, 3]),
        (MATCHING, [0, 1]),
        (MATCHING, [0, 1, 9]),
    ],
)
def test_a_response_of_the_wrong_shape_is_rejected(question, bad):
    with pytest.raises(InvalidResponse):
        grade(question, bad)


@pytest.mark.parametrize("question", ALL, ids=lambda x: x.type)
def test_the_right_answer_scores_full_marks_and_none_scores_zero(question):
    assert grade(question, right_answer(question)).score == 1.0
    assert grade(question, None).score == 0.0
    assert describe(question, right_answer(question))


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"type": "single", "options": ["a", "b"]}, "missing answer"),
        ({"type": "single", "options": ["a", "b"], "answer": "c"}, "answer 'c' is not among"),
        (
            {
                "type": "single",
                "options": [{"text": "a", "correct": True}, {"text": "b", "correct": True}],
            },
            "exactly one correct",
        ),
        ({"type": "multiple", "options": [{"text": "a", "correct": True}, "b"]}, "at least two"),
        (
            {
                "type": "multiple",
                "options": [{"text": "a", "weight": 60}, {"text": "b", "weight": 20}],
            },
            "add up to 80",
        ),
        ({"type": "numeric", "answers": [{"min": 3, "max": 1}]}, "greater than max"),
        (
            {
                "type": "matching",
                "pairs": [{"left": "a", "right": "1"}, {"left": "b", "right": "2"}],
            },
            "at least 3",
        ),
        ({"type": "ordering", "items": ["a", "a", "b"]}, "distinct"),
    ],
)
def test_malformed_questions_are_rejected_with_a_reason(kw, message):
    with pytest.raises(ValidationError, match=message):
        q(**kw)


def test_normalize_text_folds_unicode_case_and_space():
    assert normalize_text("  Ｃhampion\tMODEL ") == "champion model"


# --- properties ---------------------------------------------------------------------------


def _response(question, draw):
    t = question.type
    if t == "single":
        return draw(st.integers(0, len(question.options) - 1))
    if t == "multiple":
        return draw(st.lists(st.integers(0, len(question.options) - 1), unique=True))
    if t == "true_false":
        return draw(st.booleans())
    if t == "numeric":
        return draw(st.floats(-10, 10, allow_nan=False))
    if t == "short_text":
        return draw(st.text(max_size=20))
    if t == "ordering":
        return draw(st.permutations(list(range(len(question.items)))))
    return draw(
        st.lists(
            st.one_of(st.none(), st.integers(0, len(question.choices()) - 1)),
            min_size=len(question.pairs),
            max_size=len(question.pairs),
        )
    )


@st.composite
def weighted_multiple(draw):
    n = draw(st.integers(2, 6))
    positive = draw(st.integers(1, n))
    cuts = sorted(draw(st.lists(st.integers(1, 99), min_size=positive - 1, max_size=positive - 1)))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
    weights = [float(p) for p in parts] + [
        float(draw(st.integers(-100, 0))) for _ in range(n - positive)
    ]
    return q(
        type="multiple", options=[{"text": f"o{i}", "weight": w} for i, w in enumerate(weights)]
    )


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_partial_credit_always_stays_between_0_and_1(data):
    question = data.draw(st.sampled_from(ALL) | weighted_multiple())
    score = grade(question, _response(question, data.draw)).score
    assert 0.0 <= score <= 1.0


@settings(max_examples=200, deadline=None)
@given(st.data(), st.randoms(use_true_random=False))
def test_shuffling_options_never_changes_a_score(data, rnd: random.Random):
    """The page maps what was chosen on a shuffled screen back to authored indices."""
    question = data.draw(st.sampled_from([SINGLE, MULTIPLE, WEIGHTED, MATCHING, ORDERING]))
    response = _response(question, data.draw)
    n = len(
        labels(
            question,
            list(
                range(
                    len(question.choices())
                    if question.type == "matching"
                    else len(getattr(question, "items", None) or []) or len(question.options)
                )
            ),
        )
    )
    order = list(range(n))
    rnd.shuffle(order)
    screen = to_screen(question, order, response)
    shown = labels(question, order)
    # What the learner saw at each chosen screen position is what was meant.
    if question.type == "single":
        assert shown[screen] == question.options[response].text
    stored = to_authored(question, order, screen)
    assert stored == response
    assert grade(question, stored).score == grade(question, response).score
