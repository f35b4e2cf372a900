"""Unit tests: one function at a time, no files, no processes."""

import pytest

from textstats import reading_time, sentence_count, summarize, top_words, word_count, words


def test_words_lowercases_and_drops_punctuation():
    assert words("Build, test -- and SHIP!") == ["build", "test", "and", "ship"]


def test_words_keep_apostrophes_inside_words():
    assert words("Don't break 'main'.") == ["don't", "break", "main"]


def test_words_accept_non_ascii_letters():
    assert words("Café naïve Ångström") == ["café", "naïve", "ångström"]


def test_word_count_of_blank_text_is_zero():
    assert word_count("  \n\t ... ") == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("One sentence.", 1),
        ("Trailing text counts too", 1),
        ("Wait... what?! Really.", 3),
        ("First line.\nSecond line!\nThird?", 3),
    ],
)
def test_sentence_count(text, expected):
    assert sentence_count(text) == expected


@pytest.mark.parametrize(
    ("n_words", "minutes"),
    [(0, 0), (1, 1), (199, 1), (200, 1), (201, 2), (400, 2), (500, 3)],
)
def test_reading_time_rounds_up_to_whole_minutes(n_words, minutes):
    assert reading_time("word " * n_words) == minutes


def test_reading_time_uses_the_given_speed():
    assert reading_time("word " * 300, wpm=100) == 3


@pytest.mark.parametrize("wpm", [0, -200])
def test_reading_time_rejects_a_speed_that_is_not_positive(wpm):
    with pytest.raises(ValueError, match="wpm"):
        reading_time("some words", wpm=wpm)


def test_top_words_orders_by_count_then_alphabetically():
    text = "deploy test build test deploy test"
    assert top_words(text, 3) == [("test", 3), ("deploy", 2), ("build", 1)]
    assert top_words("zeta alpha mu", 2) == [("alpha", 1), ("mu", 1)]


def test_top_words_skip_stopwords_unless_told_otherwise():
    text = "the pipeline and the gate and the artifact"
    assert [word for word, _ in top_words(text, 10)] == ["artifact", "gate", "pipeline"]
    assert top_words(text, 1, ignore=frozenset()) == [("the", 3)]


def test_top_words_rejects_a_negative_n():
    with pytest.raises(ValueError):
        top_words("a b c", -1)


def test_summarize_counts_words_and_unique_words():
    stats = summarize("Green main. Green build!", top=1)
    assert stats["words"] == 4
    assert stats["unique_words"] == 3
    assert stats["sentences"] == 2
    assert stats["top_words"] == [["green", 2]]
