"""Ask the course with the real packaged model over the real course (index built once)."""

from __future__ import annotations

import pytest

from conftest import FIXTURES, REPO
from triops.content.loader import load_course
from triops.errors import InvalidInputError
from triops.search.ask import (
    ABSTAIN_MESSAGE,
    ABSTAIN_THRESHOLD,
    CONFIDENCE_SIGNAL,
    MAX_QUESTION_CHARS,
    PER_CHUNK,
    calibrate,
    lesson_of,
    load_pairs,
    metrics,
    run_pairs,
    split_sentences,
)
from triops.search.ask import ask as ask_course
from triops.search.chunks import collect
from triops.search.embedder import SentenceTransformerEmbedder
from triops.search.index import build_index

PAIRS = FIXTURES / "ask_pairs.yaml"


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def embedder():
    return SentenceTransformerEmbedder().load()


@pytest.fixture(scope="module")
def index(embedder, tmp_path_factory):
    chunks = collect(load_course(REPO))
    built, _ = build_index(chunks, embedder, tmp_path_factory.mktemp("derived"))
    return built


@pytest.fixture(scope="module")
def pairs():
    return load_pairs(PAIRS)


@pytest.fixture(scope="module")
def results(pairs, index, embedder):
    """Every labelled question asked once, with no threshold."""
    return run_pairs(pairs, index, embedder)


@pytest.fixture(scope="module")
def calibration(pairs, index, embedder, results):
    return calibrate(pairs, index, embedder, results=results)


# --------------------------------------------------------------------------- the labelled set


def test_the_labelled_set_is_balanced_and_names_real_lessons(pairs):
    lessons = {lesson.id for lesson in load_course(REPO).lessons()}
    assert len(pairs) >= 60
    assert len({p.question for p in pairs}) == len(pairs), "a question is listed twice"
    for split in ("calibration", "holdout"):
        on = [p for p in pairs if p.split == split and p.expect_lesson]
        off = [p for p in pairs if p.split == split and not p.expect_lesson]
        assert len(on) >= 18 and len(off) >= 12, (split, len(on), len(off))
    assert {p.split for p in pairs} == {"calibration", "holdout"}
    unknown = {p.expect_lesson for p in pairs if p.expect_lesson} - lessons
    assert not unknown


# --------------------------------------------------------------------------- answers


def test_abstains_on_an_off_topic_question(index, embedder):
    answer = ask_course("What is a good recipe for banana bread?", index, embedder)
    assert answer.abstained
    assert answer.sentences == [] and answer.citations == []
    assert answer.reason == ABSTAIN_MESSAGE
    assert answer.confidence < ABSTAIN_THRESHOLD


@pytest.mark.parametrize(
    ("question", "lesson"),
    [
        ("How is the population stability index computed?", "mlops-monitoring-and-retraining"),
        ("What does expand and contract mean for database changes?", "devops-continuous-delivery"),
        ("How do I compute deployment frequency?", "devops-dora-metrics"),
    ],
)
def test_answers_an_on_topic_question_citing_the_right_lesson(index, embedder, question, lesson):
    answer = ask_course(question, index, embedder)
    assert not answer.abstained, answer.confidence
    assert answer.confidence >= ABSTAIN_THRESHOLD
    assert answer.reason == ""
    assert 1 <= len(answer.sentences) <= 3
    top = answer.citations[0]
    assert lesson_of(top) == lesson
    assert top.kind == "lesson" and top.title and top.section and top.url.startswith("/learn?")
    assert lesson in top.url


def test_every_sentence_is_quoted_from_the_chunk_it_cites(results):
    """Every labelled question, answered with no threshold so that off-topic ones count too."""
    for result in results:
        answer, question = result.answer, result.pair.question
        assert not answer.abstained and 1 <= len(answer.sentences) <= 3, question
        for sentence in answer.sentences:
            assert flat(sentence.text) in flat(sentence.chunk.text), question
            assert sentence.chunk in answer.citations
            assert sentence.chunk.kind == "lesson"
            assert not sentence.text.lstrip().startswith(("#", "|", ":::", "```"))
        cited = [s.chunk.id for s in answer.sentences]
        assert [c.id for c in answer.citations] == list(dict.fromkeys(cited))
        for chunk in answer.citations:
            mine = [s.text for s in answer.sentences if s.chunk.id == chunk.id]
            assert len(mine) <= PER_CHUNK
            places = [flat(chunk.text).index(flat(t)) for t in mine]
            assert places == sorted(places), "sentences of one chunk keep the lesson's order"


def test_max_sentences_and_the_cap_per_chunk(index, embedder):
    question = "What is a canary release?"
    assert len(ask_course(question, index, embedder, max_sentences=1).sentences) == 1
    answer = ask_course(question, index, embedder, max_sentences=6)
    assert 1 <= len(answer.sentences) <= 6
    per_chunk = [sum(s.chunk.id == c.id for s in answer.sentences) for c in answer.citations]
    assert max(per_chunk) <= PER_CHUNK


@pytest.mark.parametrize("question", ["", "   ", "\n\t", "?!", None])
def test_an_empty_question_raises_a_clear_error(index, embedder, question):
    with pytest.raises(InvalidInputError) as caught:
        ask_course(question, index, embedder)
    assert "Type a question" in caught.value.user_message


def test_an_overlong_question_raises_a_clear_error(index, embedder):
    with pytest.raises(InvalidInputError) as caught:
        ask_course("why " * MAX_QUESTION_CHARS, index, embedder)
    assert f"{MAX_QUESTION_CHARS:,}" in caught.value.user_message


# --------------------------------------------------------------------------- calibration


def test_the_calibrated_threshold_holds_on_the_holdout_split(calibration):
    hold = calibration["holdout"]
    report = (
        f"threshold {calibration['threshold']} on {calibration['signal']}: "
        f"holdout precision {hold['precision']:.2f}, recall {hold['recall']:.2f}, "
        f"answer accuracy {hold['answer_accuracy']:.2f}; "
        f"answered off-topic {hold['missed_off_topic']}; "
        f"abstained in-topic {hold['abstained_in_topic']}"
    )
    print(report)
    assert hold["precision"] >= 0.8, report
    assert hold["recall"] >= 0.8, report


def test_the_shipped_threshold_still_holds(pairs, results):
    """ABSTAIN_THRESHOLD is a constant: when the index's scoring changes, re-run calibrate."""
    holdout = [r for r in results if r.pair.split == "holdout"]
    shipped = metrics(holdout, ABSTAIN_THRESHOLD, CONFIDENCE_SIGNAL)
    report = (
        f"ABSTAIN_THRESHOLD {ABSTAIN_THRESHOLD}: holdout precision {shipped['precision']:.2f}, "
        f"recall {shipped['recall']:.2f}; re-run triops.search.ask.calibrate and update it"
    )
    assert shipped["precision"] >= 0.8, report
    assert shipped["recall"] >= 0.8, report


def test_answers_cite_the_expected_lesson_on_the_holdout_split(calibration):
    # A regression floor, not a goal: 0.77 when the threshold was set (2026-11-28).
    hold = calibration["holdout"]
    assert hold["answer_accuracy"] >= 0.65, hold["wrong_lesson"]


# --------------------------------------------------------------------------- sentences


def test_sentences_skip_headings_code_tables_and_admonition_markers():
    text = "\n".join(
        [
            "# A lesson",
            "## A section",
            "",
            "Continuous delivery keeps every change releasable. A person decides when to",
            "release it, e.g. after a review.",
            "",
            "| column | value |",
            "|---|---|",
            "| a table row that is long enough | yes |",
            "",
            "```yaml",
            "name: a code line that must never be quoted as prose",
            "```",
            "",
            ":::tip A tip title",
            "- **Feature flags** wrap the new code path in a runtime switch.",
            "- Short one.",
            ":::",
            "",
            "Is this a question that should be skipped?",
            "Ways to stay under it:",
        ]
    )
    assert split_sentences(text) == [
        "Continuous delivery keeps every change releasable.",
        "A person decides when to release it, e.g. after a review.",
        "**Feature flags** wrap the new code path in a runtime switch.",
    ]


def test_a_check_yourself_section_is_quoted_for_its_answers_only():
    text = "\n".join(
        [
            "# A lesson",
            "## Check yourself",
            "",
            "1. Name the phases of the lifecycle in the right order.",
            "",
            ":::tip Answers",
            "1. Plan, code, build, test, release, deploy, operate and monitor.",
            ":::",
        ]
    )
    assert split_sentences(text, admonitions_only=True) == [
        "Plan, code, build, test, release, deploy, operate and monitor."
    ]
    # A long section is cut into parts, so a part can start inside the answers.
    rest = "2. Continuous delivery needs a person to decide on each release.\n:::"
    assert split_sentences(rest, admonitions_only=True) == [
        "Continuous delivery needs a person to decide on each release."
    ]
