"""Ask the course with the real packaged model over the real course (the model and the index are
the session's)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ASK_PAIRS, FIXTURES, REPO
from triops.content.loader import load_course
from triops.errors import InvalidInputError
from triops.search.ask import (
    ABSTAIN_MESSAGE,
    ABSTAIN_THRESHOLD,
    CHECK_YOURSELF,
    CONFIDENCE_SIGNAL,
    MAX_QUESTION_CHARS,
    PER_CHUNK,
    answer_quality,
    calibrate,
    lesson_of,
    load_pairs,
    metrics,
    run_pairs,
    split_sentences,
)
from triops.search.ask import ask as ask_course

PAIRS = FIXTURES / "ask_pairs.yaml"

pytestmark = pytest.mark.xdist_group(ASK_PAIRS)  # one process asks the labelled questions once
LEARNER = FIXTURES / "ask_learner_questions.yaml"


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def index(lesson_index):
    """The course's lessons (the session's, tests/conftest.py), with the session's `embedder`."""
    return lesson_index


@pytest.fixture(scope="module")
def pairs():
    return load_pairs(PAIRS)


@pytest.fixture(scope="module")
def results(ask_pairs_results):
    """Every labelled question asked once, with no threshold (tests/conftest.py: shared with
    test_evals_calibration, which scores the same run)."""
    return ask_pairs_results


@pytest.fixture(scope="module")
def calibration(pairs, index, stored_embedder, results):
    return calibrate(pairs, index, stored_embedder, results=results)


@pytest.fixture(scope="module")
def learner():
    return load_pairs(LEARNER)


@pytest.fixture(scope="module")
def learner_results(learner, index, stored_embedder):
    return run_pairs(learner, index, stored_embedder)


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
            assert sentence.chunk.anchor != CHECK_YOURSELF, "a self-check is never quoted"
        cited = [s.chunk.id for s in answer.sentences]
        assert [c.id for c in answer.citations] == list(dict.fromkeys(cited))
        best = max(answer.sentences, key=lambda s: s.score)
        assert answer.sentences[0] is best, "the answer opens with its best sentence"
        for chunk in answer.citations:
            mine = [s.text for s in answer.sentences[1:] if s.chunk.id == chunk.id]
            assert len(mine) <= PER_CHUNK
            places = [flat(chunk.text).index(flat(t)) for t in mine]
            assert places == sorted(places), "after the opener, a chunk's sentences keep its order"


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


def test_a_sentence_that_opens_with_bold_is_its_own_sentence():
    """A defined term in bold after a full stop starts a new sentence (it was glued to the one
    before it, so "what is concept drift" opened with a sentence about label shift)."""
    text = (
        "A related case, **label shift**, is a change in the class balance, such as a fraud "
        "wave. **Concept drift** is a change in the relationship between inputs and target."
    )
    assert split_sentences(text) == [
        "A related case, **label shift**, is a change in the class balance, such as a fraud wave.",
        "**Concept drift** is a change in the relationship between inputs and target.",
    ]


# --------------------------------------------------------------------------- answer quality


def test_the_learner_questions_are_labelled_and_apart_from_the_calibration_set(
    pairs, learner, index
):
    lessons = {lesson.id for lesson in load_course(REPO).lessons()}
    assert len(learner) >= 40
    assert len({p.question for p in learner}) == len(learner), "a question is listed twice"
    calibration_questions = {p.question.lower() for p in pairs}
    assert not {p.question.lower() for p in learner} & calibration_questions
    for split in ("dev", "test"):
        on = [p for p in learner if p.split == split and p.expect_lesson]
        off = [p for p in learner if p.split == split and not p.expect_lesson]
        assert len(on) >= 20 and len(off) >= 6, (split, len(on), len(off))
    text: dict[str, str] = {}
    for chunk in index.chunks:  # lesson text as indexed: self-check answers left out
        text[lesson_of(chunk)] = text.get(lesson_of(chunk), "") + " " + chunk.text.lower()
    for p in learner:
        assert p.lessons <= lessons, (p.question, p.lessons - lessons)
        for term in p.expect_terms:
            assert any(term.lower() in text[lesson] for lesson in p.lessons), (p.question, term)


# Answer quality on the learner questions with Ask as shipped, measured on 2026-12-06 over the
# 88-lesson course (51 in-topic and 15 off-topic questions, ABSTAIN_THRESHOLD 0.415):
#                      before   after
#   lesson_accuracy     0.706   0.824   (the right lesson cited first)
#   terms_found         0.706   0.745
#   opening             0.451   0.510   (the first sentence holds an expected term)
#   fully_right         0.510   0.667   (right lesson and every expected term)
#   precision           0.846   0.846   (of abstention)
#   recall              0.733   0.733
#   accuracy            0.561   0.682
# "Before" is the code of that morning: self-check answers indexed and quoted first, sentences
# in the passage's order, no heading, one part of a long section. On the test split alone,
# which no change was judged on: fully right 0.417 -> 0.583, accuracy 0.438 -> 0.562. On the
# holdout split of ask_pairs.yaml abstention keeps precision 1.00 and recall 0.93 (the first
# citation's lesson 0.615 -> 0.692). The floors sit about two questions below the figures,
# because the course is being extended: when a new lesson answers a question better, add it
# to that question's `also_lessons`.
LEARNER_FLOORS = {
    "lesson_accuracy": 0.78,
    "terms_found": 0.70,
    "opening": 0.45,
    "fully_right": 0.62,
    "precision": 0.75,
    "recall": 0.66,
    "accuracy": 0.64,
}


def test_answer_quality_on_learner_questions_stays_above_its_floor(learner_results):
    quality = answer_quality(learner_results)
    report = {k: round(v, 3) for k, v in quality.items() if isinstance(v, float)}
    print(report)
    for key, floor in LEARNER_FLOORS.items():
        assert quality[key] >= floor, (
            key,
            report,
            quality["not_fully_right"],
            quality["answered_off_topic"],
        )


def test_the_walk_questions_get_the_answers_the_course_teaches(index, embedder):
    """The questions of the browser walk of 2026-12-06 that went wrong."""
    rag = ask_course("how to evaluate a RAG app", index, embedder)
    assert not rag.abstained, rag.confidence
    assert lesson_of(rag.citations[0]) in {
        "llmops-evaluation",
        "llmops-measuring-retrieval-and-chunking",
    }
    drift = ask_course("what is concept drift", index, embedder)
    assert "concept drift" in drift.sentences[0].text.lower(), drift.sentences[0].text
    assert not drift.sentences[0].text.lower().startswith("a related case")
    assert ask_course("capital of France", index, embedder).abstained


def test_the_ask_command_quotes_the_course_and_keeps_its_sentences_for_the_next_ask(indexed_home):
    """`triops ask` answers with numbered citations; the sentence vectors it encoded are kept in
    TRIOPS_HOME's derived folder (persisted_sentences), and asking again reads them and gives
    the same answer."""
    command = [sys.executable, "-m", "triops.cli", "ask", "What is a canary release?"]
    first = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0].endswith("[1]"), first.stdout
    assert any(line.startswith("[1] ") and "/learn?lesson=" in line for line in lines)
    assert lines[-1].startswith("(confidence ")
    kept = list((indexed_home / "derived").glob("sentence-vectors-*.npz"))
    assert len(kept) == 1
    written = kept[0].stat().st_mtime_ns
    again = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    assert kept[0].stat().st_mtime_ns == written  # nothing new to store: every vector was there
