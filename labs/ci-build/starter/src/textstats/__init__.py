"""textstats: word counts, reading-time estimates and top words for plain text."""

from .core import (
    STOPWORDS,
    WORDS_PER_MINUTE,
    reading_time,
    sentence_count,
    summarize,
    top_words,
    word_count,
    words,
)

__all__ = [
    "STOPWORDS",
    "WORDS_PER_MINUTE",
    "reading_time",
    "sentence_count",
    "summarize",
    "top_words",
    "word_count",
    "words",
]
