"""Semantic short answers with the real model (the session's `embedder`, tests/conftest.py): the
similarity that decided is shown."""

import pytest

from conftest import REPO
from triops.quiz.bank import load_bank
from triops.quiz.grading import grade


@pytest.fixture(scope="module")
def question():
    return load_bank(REPO).by_id()["devops-canary-promotion-check"].question


def test_a_paraphrase_is_accepted_and_the_similarity_is_shown(question, embedder):
    g = grade(
        question, "no increase in errors or latency compared to the previous version", embedder
    )
    assert g.score == 1.0
    assert g.detail.startswith("meaning similarity 0.") and "accepted" in g.detail


def test_a_different_strategy_is_refused_with_its_similarity(question, embedder):
    g = grade(question, "switch all traffic at once to a second environment", embedder)
    assert g.score == 0.0
    assert "not close enough" in g.detail and "(threshold 0.55)" in g.detail


def test_the_all_traffic_misconception_is_refused(question, embedder):
    # Review 2.2 #38: at threshold 0.45 a canary question accepted "all traffic goes first".
    g = grade(question, "the whole of the traffic moves to the new version first", embedder)
    assert g.score == 0.0 and "not close enough" in g.detail
    exact = grade(question, "all traffic goes to the new version first", embedder)
    assert exact.score == 0.0 and "blue-green" in exact.feedback[0]


def test_an_exact_accepted_answer_needs_no_model(question):
    assert grade(question, "The new version is at least as healthy as the old one").score == 1.0


def test_without_an_embedder_semantic_questions_fall_back_to_exact_match(question):
    g = grade(question, "no increase in errors or latency compared to the previous version")
    assert g.score == 0.0 and g.detail == ""
