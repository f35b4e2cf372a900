"""Semantic short answers with the real model: the similarity that decided is shown."""

import pytest

from conftest import REPO
from triops.quiz.bank import load_bank
from triops.quiz.grading import grade
from triops.search.embedder import default_embedder


@pytest.fixture(scope="module")
def question():
    return load_bank(REPO).by_id()["devops-canary-in-your-own-words"].question


@pytest.fixture(scope="module")
def embedder():
    return default_embedder(None)


def test_a_paraphrase_is_accepted_and_the_similarity_is_shown(question, embedder):
    g = grade(question, "route a few percent of users to the new release before everyone", embedder)
    assert g.score == 1.0
    assert g.detail.startswith("meaning similarity 0.") and "accepted" in g.detail


def test_a_different_strategy_is_refused_with_its_similarity(question, embedder):
    g = grade(question, "switch all traffic at once to a second environment", embedder)
    assert g.score == 0.0
    assert "not close enough" in g.detail and "(threshold 0.45)" in g.detail


def test_an_exact_accepted_answer_needs_no_model(question):
    assert (
        grade(question, "A small share of real traffic goes to the new version first").score == 1.0
    )


def test_without_an_embedder_semantic_questions_fall_back_to_exact_match(question):
    g = grade(question, "route a few percent of users to the new release before everyone")
    assert g.score == 0.0 and g.detail == ""
