"""Small, dependency-free statistics about a piece of English text."""

from __future__ import annotations

import re
from collections import Counter

WORDS_PER_MINUTE = 200
"""A typical silent reading speed for adults reading non-fiction."""

STOPWORDS = frozenset(
    """
    a an and are as at be but by for from has have he her his i in is it its of on or our she
    so that the their them they this to was we were what which who will with you your
    """.split()
)
"""Common English words that carry little meaning on their own; `top_words` skips them."""

# A word is a run of letters or digits, optionally joined by apostrophes ("don't", "o'clock").
_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
_SENTENCE_END = re.compile(r"[.!?]+")


def words(text: str) -> list[str]:
    """Split `text` into lowercase words, dropping punctuation.

    >>> words("Don't panic: it's only CI.")
    ["don't", 'panic', "it's", 'only', 'ci']
    """
    return _WORD.findall(text.lower())


def word_count(text: str) -> int:
    """Number of words in `text`, as split by `words`."""
    return len(words(text))


def sentence_count(text: str) -> int:
    """Number of sentences: pieces of text with at least one word, ended by ".", "!" or "?".

    Trailing text without end punctuation counts as a sentence too. Abbreviations such as
    "e.g." are counted as sentence ends; this is an estimate, not a parser.
    """
    return sum(1 for piece in _SENTENCE_END.split(text) if _WORD.search(piece))


def reading_time(text: str, wpm: int = WORDS_PER_MINUTE) -> int:
    """Estimated reading time in whole minutes, rounded up.

    Any text with at least one word takes at least one minute; text without words takes 0.

    >>> reading_time("word " * 201)
    2
    """
    if wpm <= 0:
        raise ValueError(f"wpm must be positive, got {wpm}")
    return round(word_count(text) / wpm)


def top_words(
    text: str, n: int = 5, *, ignore: frozenset[str] = STOPWORDS
) -> list[tuple[str, int]]:
    """The `n` most frequent words with their counts, most frequent first.

    Words in `ignore` (by default `STOPWORDS`) are skipped. Ties are broken alphabetically, so
    the result does not depend on the order in which words appear.
    """
    if n < 0:
        raise ValueError(f"n must not be negative, got {n}")
    counts = Counter(word for word in words(text) if word not in ignore)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:n]


def summarize(text: str, *, top: int = 5, wpm: int = WORDS_PER_MINUTE) -> dict[str, object]:
    """All statistics for `text` in one JSON-ready dictionary."""
    all_words = words(text)
    return {
        "words": len(all_words),
        "unique_words": len(set(all_words)),
        "sentences": sentence_count(text),
        "reading_minutes": reading_time(text, wpm),
        "top_words": [[word, count] for word, count in top_words(text, top)],
    }
