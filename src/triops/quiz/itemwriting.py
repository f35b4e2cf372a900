"""Item-writing checks and blind-strategy scores over the question bank.

Each check turns one guideline of Haladyna, Downing and Rodriguez (2002), "A review of
multiple-choice item-writing guidelines for classroom assessment" (Applied Measurement in
Education 15(3)), into a measurable rule; quizzes/README.md ("Item-writing checks") gives each
rule, its threshold and its reason. The blind strategies are what a candidate who never reads a
stem can score on each exam profile's pool, computed with the bank's own grading rules.

Pure functions of a loaded Bank and Exams: no files, no database, no Streamlit.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import combinations
from typing import NamedTuple

from triops.content.problems import Problem, warning
from triops.quiz.bank import Bank, BankQuestion

# code -> what it flags, in the order the README and the Content health page list them.
CHECKS: dict[str, str] = {
    "key-longest": "the key is the longest option by a clear margin",
    "key-longest-share": "too many keys are the longest option (per file, per track)",
    "tf-balance": "true/false keys are unbalanced (per track)",
    "key-first": "the key is written first more often than chance (per file)",
    "absolute-words": "an absolute word in a distractor but not in the key",
    "stem-echo": "a distinctive stem word repeated in the key only",
    "all-none-above": '"all of the above" or "none of the above"',
    "near-identical-options": "two options are the same or nearly the same",
    "course-recall": "an exam item asks what the course itself says",
    "choose-missing": "an all-or-nothing multiple-response item does not say how many to choose",
    "blind-strategy": "a blind strategy beats guessing on an exam profile",
}

KEY_LENGTH_RATIO = 1.2  # the key at least 20 % longer than the longest distractor
LONGEST_SHARE_MAX = 0.35  # chance is 1/n: 25 % with four options
LONGEST_SHARE_MIN_ITEMS = 5  # fewer single-choice items in a file say little on their own
TF_TRUE_RANGE = (0.35, 0.65)
KEY_FIRST_P = 0.05  # one-sided chance of so many first-position keys in an honest file
STRATEGY_MARGIN = 10.0  # points above guessing that a blind strategy may reach
DISTINCTIVE_SHARE = 0.03  # a word in at most 3 % of the choice items stands out
NEAR_IDENTICAL_RATIO = 0.9
NEAR_IDENTICAL_MIN_WORDS = 5  # in shorter options one word is a real difference

ABSOLUTES = frozenset(
    {"always", "never", "only", "every", "all", "none", "nothing", "everything", "everyone"}
)

# After "every", these make a schedule rather than a claim about every case (stemmed).
_SCHEDULE = frozenset(
    """
    second minut hour day night week month quarter year morn even sprint time few other
    build run commit push merg chang deploy releas request call
    """.split()
)

# Function words and words every stem uses; they say nothing about which option is keyed.
STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are aren as at be because been
    before being below between both but by can cannot could did do does doing don down during
    each either else few for from further had has have having he her here hers him his how i if
    in into is isn it its itself just least less let like may me might more most much must my
    neither no nor not now of off on once one only or other our ours out over own per rather
    same shall she should so some such than that the their theirs them then there these they
    this those through thus to too under until up upon us very via was we were what when where
    whether which while who whom whose why will with within without would yet you your
    answer best choose correct describe describes explain following given option options
    question select statement true false two three four five way ways using used use uses
    allow allows allowed cause causes caused get gets got give gives given happen happens
    happened keep keeps kept make makes made need needs needed take takes taken
    """.split()
)

_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKS = re.compile(r"\*\*|__|~~|`|\*")
_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_WORD = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*", re.ASCII)
_DIGIT = re.compile(r"\d")
# Everything but letters, digits, "." and "'" separates words (curly quotes become "'").
_ABSOLUTE = re.compile(r"(?<![\w-])(" + "|".join(sorted(ABSOLUTES)) + r")(?![\w-])")
_ABOVE = re.compile(
    r"\b(all|none|both|neither)\s+of\s+the\s+(above|preceding|options|answers|these)\b"
    r"|\b(all|none)\s+of\s+these\b|\bboth\s+[a-d]\s+and\s+[a-d]\b",
    re.IGNORECASE,
)
_RECALL = re.compile(
    r"\b(?:the|this|that|our)\s+(?:lessons?|course(?!\s+of\b)|module|seed\s+article)(?:'s|’s)?\b"
    r"|\btriops\b"
    r"|\baccording\s+to\s+(?:the\s+)?(?-i:[A-Z])[\w-]*",  # a named source
    re.IGNORECASE,
)
_ABOVE_HINTS = frozenset({"above", "preceding", "these", "both"})
_RECALL_HINTS = frozenset({"lesson", "lessons", "course", "module", "seed", "triops", "according"})
_SELECT_ALL = re.compile(r"\b(select|choose|pick|mark)\s+all\s+that\s+apply\b", re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    """One item-writing warning, located at the item (or, bank-wide, at its file or track)."""

    code: str
    path: str
    line: int
    track: str
    question: str  # the item's id; "" for a finding about a file, a track or an exam
    message: str

    def problem(self) -> Problem:
        return warning(self.path, self.line, f"[{self.code}] {self.message}")


# ---------------------------------------------------------------------------------- text


@lru_cache(maxsize=16384)
def plain(text: str) -> str:
    """Markdown text as a reader sees it: no links' targets, backticks or emphasis markers."""
    if "[" in text:
        text = _LINK.sub(r"\1", text)
    if "*" in text or "`" in text or "~" in text or "_" in text:
        text = _MARKS.sub("", text)
        text = _UNDERSCORE.sub("", text)
    return " ".join(text.split())


def length(text: str) -> int:
    """Characters a reader sees."""
    return len(plain(text))


_SUFFIXES = ("ations", "ation", "ments", "ment", "ings", "ing", "ies", "ied", "ed", "es")
# The suffixes by their last two letters, in the order above, so a word is tried only against
# the suffixes it can end with.
_BY_ENDING: dict[str, tuple[str, ...]] = {}
for _suffix in _SUFFIXES:
    _BY_ENDING[_suffix[-2:]] = (*_BY_ENDING.get(_suffix[-2:], ()), _suffix)


@lru_cache(maxsize=16384)
def _root(word: str) -> str:
    """A crude stem, enough to match deploy/deploys/deployed/deployment and cache/caching."""
    if len(word) <= 4 or not word.isalpha():
        return word
    for suffix in _BY_ENDING.get(word[-2:], ()):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
            break
    else:
        if word.endswith("s") and not word.endswith(("ss", "us", "is")):
            word = word[:-1]
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


@lru_cache(maxsize=16384)
def _tokens(text: str) -> tuple[str, ...]:
    """Lower-case words as written (numbers keep their decimal point), without a possessive 's."""
    if "](" in text:
        text = plain(text)
    low = text.lower()
    if "’" in low:
        low = low.replace("’", "'")
    found = _WORD.findall(low)
    if "'" in low:
        found = [w[:-2] if w.endswith("'s") else w for w in found]
    return tuple(found)


@lru_cache(maxsize=16384)
def _content(word: str) -> str:
    """The stem of a content word, or "" for a function word or a one- or two-letter word."""
    if word in STOPWORDS or (len(word) < 3 and not _DIGIT.search(word)):
        return ""
    return _root(word)


@lru_cache(maxsize=16384)
def words(text: str) -> frozenset[str]:
    """Content words (stemmed): no function words, no one- or two-letter words except numbers."""
    return frozenset(filter(None, map(_content, _tokens(text))))


@lru_cache(maxsize=16384)
def _shape(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """An option's stemmed words, and the same with every figure replaced by '#'."""
    roots = tuple(_root(w) for w in _tokens(text))
    return roots, tuple("#" if _DIGIT.search(w) else w for w in roots)


@lru_cache(maxsize=16384)
def absolutes(text: str) -> frozenset[str]:
    """The absolute words of a text. Not counted: "every" that sets a schedule ("every night",
    "on every push"), "not only", "nearly all", and compounds such as "North-only"."""
    if ABSOLUTES.isdisjoint(_tokens(text)):
        return frozenset()
    t = plain(text).casefold()
    found = set()
    for m in _ABSOLUTE.finditer(t):
        word = m.group(1)
        before = t[: m.start()].split()[-1:]
        after = _WORD.findall(t[m.end() : m.end() + 40])[:1]
        if word == "every" and after and _root(after[0]) in _SCHEDULE:
            continue
        if before and before[0] in ("not", "nearly", "almost"):
            continue
        found.add(word)
    return frozenset(found)


# ---------------------------------------------------------------------------------- items


def _full_keys(q) -> list[bool]:
    """Options worth full credit in a single item, or any credit in a multiple one."""
    if q.type == "single":
        return [w >= 100 for w in q.weights()]
    return [w > 0 for w in q.weights()]


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def _prob(p: float) -> str:
    return "below 0.001" if p < 0.001 else f"{p:.3f}"


class _Choice:
    """What the item-local checks read from a single or multiple question, worked out once."""

    __slots__ = ("keys", "lengths", "option_words", "q", "stem_words", "strictly_longest_key")

    def __init__(self, q) -> None:
        texts = [o.text for o in q.options]
        keys = tuple(_full_keys(q))
        lengths = tuple(length(t) for t in texts)
        longest_key = max(n for n, k in zip(lengths, keys, strict=True) if k)
        self.q = q
        self.keys = keys
        self.lengths = lengths
        self.option_words = tuple(words(t) for t in texts)
        self.stem_words = words(q.stem)
        # a key is longer than every distractor
        self.strictly_longest_key = all(
            n < longest_key for n, k in zip(lengths, keys, strict=True) if not k
        )

    def split(self, values):
        """`values` (one per option) as (the keys' ones, the distractors' ones)."""
        keyed = [v for v, k in zip(values, self.keys, strict=True) if k]
        wrong = [v for v, k in zip(values, self.keys, strict=True) if not k]
        return keyed, wrong


# An item-local finding before it is placed at an item: (code, message without the item's id).
_Local = tuple[str, str]


def _key_longest(c: _Choice) -> list[_Local]:
    key_lens, wrong_lens = c.split(c.lengths)
    if not wrong_lens or not key_lens:
        return []
    if c.q.type == "single":
        key, longest = key_lens[0], max(wrong_lens)
        if longest and key >= KEY_LENGTH_RATIO * longest:
            return [
                (
                    "key-longest",
                    f"the key is {key / longest:.2f}× as long as the longest distractor "
                    f"({key} vs {longest} characters): make the distractors as specific and "
                    "qualified as the key, or trim the key",
                )
            ]
        return []
    mean_key = sum(key_lens) / len(key_lens)
    mean_wrong = sum(wrong_lens) / len(wrong_lens)
    if mean_wrong and mean_key >= KEY_LENGTH_RATIO * mean_wrong:
        return [
            (
                "key-longest",
                f"the correct options average {mean_key:.0f} characters against "
                f"{mean_wrong:.0f} for the wrong ones ({mean_key / mean_wrong:.2f}×): make "
                "the wrong options as specific as the correct ones, or trim the correct ones",
            )
        ]
    return []


def _absolute_words(c: _Choice) -> list[_Local]:
    q = c.q
    found = [absolutes(o.text) for o in q.options]
    keyed, wrong = c.split(found)
    if any(keyed) or not any(wrong):
        return []
    _, texts = c.split([o.text for o in q.options])
    hits = [
        f'"{plain(t)}" ({", ".join(sorted(a))})' for t, a in zip(texts, wrong, strict=True) if a
    ]
    which = "key" if q.type == "single" else "correct options"
    return [
        (
            "absolute-words",
            f"absolute words in distractors but not in the {which}: {'; '.join(hits)}: a "
            "test-wise candidate strikes these; make the distractor wrong for a substantive "
            "reason, or qualify the key as well",
        )
    ]


def _echoes(c: _Choice) -> frozenset[str]:
    """Stem words that the key (every correct option) repeats and no distractor does."""
    keyed, wrong = c.split(c.option_words)
    if not keyed:
        return frozenset()
    echoed = c.stem_words.intersection(*keyed)
    for w in wrong:
        if not echoed:
            break
        echoed = echoed - w
    return echoed


def _stem_echo(bq: BankQuestion, surfaces: dict[str, tuple[str, ...]], echoed) -> Finding:
    # The stem's words as written whose stems were echoed (their stems if none, as a fallback).
    shown = sorted(set().union(*(surfaces[r] for r in echoed)) or set(echoed))
    which = "the key" if bq.question.type == "single" else "every correct option"
    return _at(
        bq,
        "stem-echo",
        f"{which} repeats the stem's word{'s' if len(shown) > 1 else ''} "
        f"{', '.join(repr(w) for w in shown)} and no distractor does: reword the key, or "
        "use the word in a distractor too",
    )


def _surfaces(text: str, roots: frozenset[str]) -> dict[str, tuple[str, ...]]:
    """For each stem in `roots`, the words of `text` as written that have it."""
    out: dict[str, set[str]] = {r: set() for r in roots}
    for w in _tokens(text):
        r = _root(w)
        if r in out:
            out[r].add(w)
    return {r: tuple(sorted(ws)) for r, ws in out.items()}


def _all_none_above(q) -> list[_Local]:
    hits = [
        plain(o.text)
        for o in q.options
        if not _ABOVE_HINTS.isdisjoint(_tokens(o.text)) and _ABOVE.search(plain(o.text))
    ]
    if not hits:
        return []
    return [
        (
            "all-none-above",
            f'option "{hits[0]}": replace it with a plausible, specific option ("all of the '
            'above" is found by spotting two right options; "none of the above" tests only '
            "that a candidate can reject)",
        )
    ]


def _near_identical(c: _Choice) -> list[_Local]:
    texts = [o.text for o in c.q.options]
    content = c.option_words
    for i, j in combinations(range(len(texts)), 2):
        wa, wb = content[i], content[j]
        shared = len(wa & wb)
        if 3 * shared < len(wa) + len(wb) and (wa or wb):
            continue  # fewer than half their content words in common: clearly different
        (a, masked_a), (b, masked_b) = _shape(texts[i]), _shape(texts[j])
        if masked_a == masked_b and a != b:
            continue  # parallel options that differ only in their figures
        same = len(a) == len(b) and set(a) == set(b) and sorted(a) == sorted(b)
        if not same and min(len(a), len(b)) >= NEAR_IDENTICAL_MIN_WORDS:
            sa, sb = set(a), set(b)
            if len(sa & sb) >= NEAR_IDENTICAL_RATIO * len(sa | sb) - 1:
                from difflib import SequenceMatcher  # rarely needed: imported on first use

                ratio = SequenceMatcher(None, a, b, autojunk=False).ratio()
                same = ratio >= NEAR_IDENTICAL_RATIO
        if same:
            return [
                (
                    "near-identical-options",
                    f'options {i + 1} and {j + 1} say nearly the same thing ("{plain(texts[i])}" '
                    f'/ "{plain(texts[j])}"): make each option a distinct, plausible answer',
                )
            ]
    return []


def _recall(stem: str) -> str | None:
    """The words of a stem that refer to the course itself or a named source, if any."""
    if _RECALL_HINTS.isdisjoint(_tokens(stem)):
        return None
    m = _RECALL.search(plain(stem))
    return None if m is None else m.group(0)


def _course_recall(bq: BankQuestion, phrase: str) -> Finding:
    return _at(
        bq,
        "course-recall",
        f'the stem asks about "{phrase}": in an exam pool, test understanding with '
        "a scenario instead of recall of this course or one author, or mark the item "
        "`practice_only: true`",
    )


# ---------------------------------------------------------------------------------- facts


class ItemFacts(NamedTuple):
    """What the checks and the strategies need from one question, worked out from its text and
    key alone (never from its id, file, line or track), so a question whose signature is
    unchanged can reuse the facts of an earlier run: `triops validate` keeps them on disk
    (triops.quiz.itemcache). Plain values only (tuples, dicts, str, int, float, bool, None),
    which `marshal` can store."""

    recall: str | None  # the stem's words that refer to the course or a named source
    # The rest is for single and multiple questions; empty for the other types.
    keys: tuple[bool, ...] = ()
    lengths: tuple[int, ...] = ()
    strictly_longest_key: bool = False  # a key is longer than every distractor
    before_echo: tuple[_Local, ...] = ()  # key-longest, absolute-words
    after_echo: tuple[_Local, ...] = ()  # all-none-above, near-identical-options
    echoes: dict[str, tuple[str, ...]] = {}  # echoed stem -> the stem's words as written
    # The stems of four letters or more in the stem or any option (a tuple: quicker to load).
    vocab: tuple[str, ...] = ()
    select_all: bool = False  # the stem says "select all that apply"
    expected: tuple[float, ...] = ()  # expected_scores(q) in _NAMES' order
    expected_aon: tuple[float, ...] = ()  # the same scored all-or-nothing (multiple only)


def signature(q) -> tuple:
    """Everything of a question that its facts depend on: the cache key of its facts."""
    t = q.type
    if t == "single":
        return (t, q.stem, tuple(o.text for o in q.options), tuple(q.weights()))
    if t == "multiple":
        return (t, q.stem, tuple(o.text for o in q.options), tuple(q.weights()), q.choose)
    return (t, q.stem)


def item_facts(q) -> ItemFacts:
    """The facts of one question, computed (see ItemFacts)."""
    recall = _recall(q.stem)
    if q.type not in ("single", "multiple"):
        return ItemFacts(recall)
    c = _Choice(q)
    echoes = _echoes(c)
    vocab = c.stem_words.union(*c.option_words)
    return ItemFacts(
        recall,
        c.keys,
        c.lengths,
        c.strictly_longest_key,
        (*_key_longest(c), *_absolute_words(c)),
        (*_all_none_above(q), *_near_identical(c)),
        _surfaces(q.stem, echoes) if echoes else {},
        tuple(sorted(w for w in vocab if len(w) >= 4 and w.isalpha())),
        q.type == "multiple" and _SELECT_ALL.search(plain(q.stem)) is not None,
        tuple(expected_scores(q, False).values()),
        tuple(expected_scores(q, True).values()) if q.type == "multiple" else (),
    )


class FactMemo:
    """Item facts by signature: those known before this run (read from disk by
    triops.quiz.itemcache, as plain tuples) and those this run used, computed or reused."""

    def __init__(self, known: dict | None = None) -> None:
        self.known = known or {}
        self.used: dict[tuple, ItemFacts] = {}
        self.computed = 0

    def get(self, q) -> ItemFacts:
        sig = signature(q)
        facts = self.used.get(sig)
        if facts is None:
            try:
                facts = ItemFacts._make(self.known[sig])
            except (KeyError, TypeError):  # not known, or not in this code's shape
                facts = item_facts(q)
                self.computed += 1
            self.used[sig] = facts
        return facts

    @property
    def changed(self) -> bool:
        """Whether what this run used differs from what was known (so is worth writing)."""
        return bool(self.computed) or len(self.used) != len(self.known)


def bank_facts(bank: Bank, memo: FactMemo | None = None) -> dict[str, ItemFacts]:
    """Each question's facts by id, from `memo` where it has them."""
    get = (memo or FactMemo()).get
    return {bq.id: get(bq.question) for bq in bank.questions}


def _at(bq: BankQuestion, code: str, message: str) -> Finding:
    return Finding(code, bq.path, bq.line, bq.track, bq.id, f"question '{bq.id}': {message}")


# ---------------------------------------------------------------------------------- bank-wide


def _tail(probabilities: list[float], observed: int) -> float:
    """P(X >= observed) for a sum of independent Bernoulli variables (Poisson binomial)."""
    dist = [1.0]
    for p in probabilities:
        nxt = [0.0] * (len(dist) + 1)
        for k, mass in enumerate(dist):
            nxt[k] += mass * (1 - p)
            nxt[k + 1] += mass * p
        dist = nxt
    return sum(dist[observed:])


def _longest_share(
    items: list[BankQuestion],
    choices: dict[str, ItemFacts],
    where: tuple[str, int],
    scope: str,
    track: str,
) -> list[Finding]:
    singles = [bq for bq in items if bq.question.type == "single"]
    longest = [bq for bq in singles if choices[bq.id].strictly_longest_key]
    if not singles or len(longest) / len(singles) <= LONGEST_SHARE_MAX:
        return []
    need = len(longest) - math.floor(LONGEST_SHARE_MAX * len(singles))
    return [
        Finding(
            "key-longest-share",
            where[0],
            where[1],
            track,
            "",
            f"{scope}: the key is strictly the longest option in {len(longest)} of "
            f"{len(singles)} single-choice items ({_pct(len(longest) / len(singles))}, limit "
            f"{_pct(LONGEST_SHARE_MAX)}, chance about 25 %): make the key the shortest or a "
            f"middle option in at least {need} of them "
            f"({', '.join(bq.id for bq in longest[:4])}{', ...' if len(longest) > 4 else ''})",
        )
    ]


def _key_first(
    items: list[BankQuestion], choices: dict[str, ItemFacts], where: tuple[str, int], track: str
) -> list[Finding]:
    choice = [bq for bq in items if bq.question.type in ("single", "multiple")]
    if len(choice) < 2:
        return []
    expected = []
    first = []
    for bq in choice:
        keyed = choices[bq.id].keys
        expected.append(sum(keyed) / len(keyed))
        if keyed[0]:
            first.append(bq)
    n, k = len(choice), len(first)
    mean = sum(expected)
    if k <= mean:
        return []
    p = _tail(expected, k)
    if not (n >= 3 and k > n / 2) and p > KEY_FIRST_P:
        return []
    return [
        Finding(
            "key-first",
            where[0],
            where[1],
            track,
            "",
            f"{where[0]}: a key is written first in {k} of {n} choice items, where chance gives "
            f"{mean:.1f} (so many by chance: probability {_prob(p)}): exams shuffle options, but "
            "GIFT exports and printed copies keep this order; move keys to other positions",
        )
    ]


def _tf_balance(items: list[BankQuestion], track: str) -> list[Finding]:
    tf = [bq for bq in items if bq.question.type == "true_false"]
    if not tf:
        return []
    n = len(tf)
    true = sum(1 for bq in tf if bq.question.answer)
    lo, hi = TF_TRUE_RANGE
    # Half an item of slack, so that a small track always has a count that passes.
    if lo * n - 0.5 <= true <= hi * n + 0.5:
        return []
    keyed = "true" if true > n / 2 else "false"
    other = "false" if keyed == "true" else "true"
    target = math.ceil(lo * n - 0.5)
    move = max(true, n - true) - (n - target)
    first = tf[0]
    return [
        Finding(
            "tf-balance",
            first.path,
            first.line,
            track,
            "",
            f"track {track}: {true} of {n} true/false items are keyed true ({_pct(true / n)}, "
            f"allowed {_pct(lo)}–{_pct(hi)}): a candidate who always answers {keyed} gains; "
            f"rewrite at least {move} {keyed} statement{'s' if move > 1 else ''} as "
            f"{other + ' ones' if move > 1 else 'a ' + other + ' one'}",
        )
    ]


# ---------------------------------------------------------------------------------- exams


def _exam_pool_ids(bank: Bank) -> set[str]:
    return {bq.id for pool in bank.exam_pools().values() for bq in pool}


def _exams(exams) -> list:
    return list(exams.exams) if exams is not None else []


def _choose_missing(bank: Bank, exams, choices: dict[str, ItemFacts]) -> list[Finding]:
    strict: dict[str, list[str]] = defaultdict(list)  # question id -> exam ids
    for exam in _exams(exams):
        if exam.blueprint.multiple_response != "all-or-nothing":
            continue
        for pool in exam.blueprint.pools(bank).values():
            for bq in pool:
                strict[bq.id].append(exam.id)
    out = []
    for bq in bank.questions:
        q = bq.question
        if q.type != "multiple" or bq.id not in strict:
            continue
        names = ", ".join(sorted(set(strict[bq.id])))
        k = sum(choices[bq.id].keys)
        if q.choose is None:
            out.append(
                _at(
                    bq,
                    "choose-missing",
                    f"exam {names} scores multiple response all-or-nothing, and this item does "
                    f"not say how many to choose: add `choose: {k}` and ask for {k} in the stem",
                )
            )
        elif choices[bq.id].select_all:
            out.append(
                _at(
                    bq,
                    "choose-missing",
                    f'the item has `choose: {q.choose}` but the stem says "select all that '
                    f'apply": ask for {q.choose} ("Which {q.choose} ...?")',
                )
            )
    return out


# ---------------------------------------------------------------------------------- checks


def distinctive_words(vocabs: list[tuple[str, ...]], candidates: frozenset[str]) -> set[str]:
    """Of `candidates`, the word stems rare enough among the choice items to stand out: in at
    most 3 % of them (at least three), with at least four letters and no digits. `vocabs` holds
    each choice item's stems (ItemFacts.vocab)."""
    candidates = frozenset(w for w in candidates if len(w) >= 4 and w.isalpha())
    if not candidates:
        return set()
    df: Counter[str] = Counter()
    for vocab in vocabs:
        df.update(candidates.intersection(vocab))
    limit = max(3, DISTINCTIVE_SHARE * len(vocabs))
    return {w for w in candidates if df[w] <= limit}


def _is_choice(bq: BankQuestion) -> bool:
    return bq.question.type in ("single", "multiple")


def check_bank(bank: Bank, exams=None, memo: FactMemo | None = None) -> list[Finding]:
    """Every item-writing finding over the bank; `exams` decides choose-missing; `memo` holds
    item facts from an earlier run."""
    return _check(bank, exams, bank_facts(bank, memo))


def _check(bank: Bank, exams, facts: dict[str, ItemFacts]) -> list[Finding]:
    findings: list[Finding] = []
    pool_ids = _exam_pool_ids(bank)
    by_file: dict[str, list[BankQuestion]] = defaultdict(list)
    by_track: dict[str, list[BankQuestion]] = defaultdict(list)
    vocabs = []
    candidates: set[str] = set()
    placed = []  # (question, its facts, whether it is a choice item)
    for bq in bank.questions:
        by_file[bq.path].append(bq)
        by_track[bq.track].append(bq)
        f = facts[bq.id]
        choice = _is_choice(bq)
        if choice:
            vocabs.append(f.vocab)
            candidates.update(f.echoes)
        placed.append((bq, f, choice))
    distinctive = distinctive_words(vocabs, frozenset(candidates))
    for bq, f, choice in placed:
        if choice:
            findings += [_at(bq, code, message) for code, message in f.before_echo]
            echoed = distinctive.intersection(f.echoes) if f.echoes else None
            if echoed:
                findings.append(_stem_echo(bq, f.echoes, echoed))
            findings += [_at(bq, code, message) for code, message in f.after_echo]
        if f.recall is not None and bq.id in pool_ids:
            findings.append(_course_recall(bq, f.recall))
    for path, items in by_file.items():
        where = (path, min(bq.line for bq in items))
        track = items[0].track
        if sum(1 for bq in items if bq.question.type == "single") >= LONGEST_SHARE_MIN_ITEMS:
            findings += _longest_share(items, facts, where, path, track)
        findings += _key_first(items, facts, where, track)
    for track, items in by_track.items():
        first = min(items, key=lambda bq: (bq.path, bq.line))
        findings += _longest_share(items, facts, (first.path, first.line), f"track {track}", track)
        findings += _tf_balance(items, track)
    findings += _choose_missing(bank, exams, facts)
    return sorted(findings, key=lambda f: (f.path, f.line, f.code, f.message))


# ---------------------------------------------------------------------------------- strategies

STRATEGIES: dict[str, str] = {
    "longest": "pick the longest option",
    "first": "pick the first option as authored",
    "false": "always answer false",
    "overlap": "pick the option sharing most words with the stem",
}
_NAMES = ("guessing", *STRATEGIES)  # expected_scores' keys, in its order


def _top(values: list[float], n: int) -> list[tuple[int, ...]]:
    """Every n-subset a candidate picking the n highest values may take (ties broken at random)."""
    order = sorted(values, reverse=True)
    cut = order[n - 1]
    above = [i for i, v in enumerate(values) if v > cut]
    tied = [i for i, v in enumerate(values) if v == cut]
    return [tuple(sorted(above + list(rest))) for rest in combinations(tied, n - len(above))]


def _choice_score(q, chosen: tuple[int, ...], all_or_nothing: bool) -> float:
    # The type's own scorer, as grade() calls it; the response is built here from the options'
    # indexes, so grade()'s shape check has nothing to catch.
    if q.type == "single":
        return q.score(chosen[0]).score
    mode = "all-or-nothing" if all_or_nothing else "partial"
    return q.score(list(chosen), multiple_response=mode).score


# A choice item's score for a set of chosen options depends on its type, its option weights and
# the scoring mode, never on the options' text: items that share those share one table, so the
# type's own scorer runs once per shape rather than once per item (the bank has a handful of
# shapes among hundreds of items).
_TABLES: dict[tuple, dict[tuple[int, ...], float]] = {}


def _score_table(q, pick: int, all_or_nothing: bool) -> dict[tuple[int, ...], float]:
    """The score of every `pick`-subset of the options, computed by the type's own scorer."""
    shape = (q.type, tuple(q.weights()), pick, all_or_nothing, getattr(q, "choose", None))
    table = _TABLES.get(shape)
    if table is None:
        subsets = combinations(range(len(q.options)), pick)
        table = {s: _choice_score(q, s, all_or_nothing) for s in subsets}
        if len(_TABLES) >= 4096:  # authored weights vary without bound in a long-lived process
            _TABLES.clear()
        _TABLES[shape] = table
    return table


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def expected_scores(q, all_or_nothing: bool = False) -> dict[str, float]:
    """Expected score (0..1) of guessing and each blind strategy on one item.

    Types no strategy applies to score what guessing scores: numeric and short text 0, an
    ordering of n items 1/n (the expected share of neighbouring pairs in order under a random
    permutation), matching 1/m per left item with m right-hand choices."""
    t = q.type
    if t in ("single", "multiple"):
        n = len(q.options)
        pick = 1 if t == "single" else (q.choose or len(q.key()))
        pick = min(pick, n)
        score = _score_table(q, pick, all_or_nothing)

        def over(subsets) -> float:
            return _mean([score[s] for s in subsets])

        lengths = [float(length(o.text)) for o in q.options]
        stem = words(q.stem)
        overlap = [float(len(words(o.text) & stem)) for o in q.options]
        guess = _mean(list(score.values()))
        return {
            "guessing": guess,
            "longest": over(_top(lengths, pick)),
            "first": score[tuple(range(pick))],
            "false": guess,
            "overlap": over(_top(overlap, pick)),
        }
    if t == "true_false":
        return {
            "guessing": 0.5,
            "longest": 0.5,
            "first": 0.5,
            "false": 0.0 if q.answer else 1.0,
            "overlap": 0.5,
        }
    if t == "ordering":
        value = 1 / len(q.items)
    elif t == "matching":
        value = 1 / len(q.choices())
    else:
        value = 0.0
    return dict.fromkeys(("guessing", *STRATEGIES), value)


@dataclass(frozen=True)
class ExamStrategies:
    """Blind-strategy scores (percent) over one exam profile's pool, weighted as it draws."""

    exam_id: str
    title: str
    path: str
    pass_mark: float
    scoring: str
    questions: int
    pool: int
    guessing: float
    strategies: dict[str, float] = field(default_factory=dict)
    shuffled: bool = True  # options shown shuffled: "first as authored" only counts in exports
    startable: bool = True  # False while the bank cannot fill the profile

    def gains(self) -> dict[str, float]:
        return {name: score - self.guessing for name, score in self.strategies.items()}


def blind_strategies(bank: Bank, exams, memo: FactMemo | None = None) -> list[ExamStrategies]:
    """Per exam profile, the expected score of guessing and of each blind strategy; `memo`
    holds item facts from an earlier run."""
    return _strategies(bank, exams, bank_facts(bank, memo))


def _expected(bq: BankQuestion, aon: bool, facts: dict[str, ItemFacts]) -> tuple[float, ...]:
    if _is_choice(bq):
        f = facts[bq.id]
        return f.expected_aon if aon and bq.question.type == "multiple" else f.expected
    return tuple(expected_scores(bq.question, aon).values())


def _strategies(bank: Bank, exams, facts: dict[str, ItemFacts]) -> list[ExamStrategies]:
    # Each question's id and expected scores under both scoring modes, looked up by the
    # question's identity as the pools hold it.
    by_question = {
        id(bq): (bq.id, _expected(bq, False, facts), _expected(bq, True, facts))
        for bq in bank.questions
    }
    out = []
    for exam in _exams(exams):
        bp = exam.blueprint
        aon = bp.multiple_response == "all-or-nothing"
        pools = bp.pools(bank)
        totals = dict.fromkeys(_NAMES, 0.0)
        drawn = 0
        seen = set()
        for domain, count in bp.counts().items():
            pool = pools.get(domain, [])
            if not pool:
                continue
            sums = [0.0] * len(_NAMES)
            for bq in pool:
                qid, partial, strict = by_question[id(bq)]
                seen.add(qid)
                sums = [a + b for a, b in zip(sums, strict if aon else partial, strict=True)]
            for name, value in zip(_NAMES, sums, strict=True):
                totals[name] += count * value / len(pool)
            drawn += count
        if not drawn:
            continue
        pct = {name: 100 * value / drawn for name, value in totals.items()}
        out.append(
            ExamStrategies(
                exam_id=exam.id,
                title=bp.title,
                path=exam.path,
                pass_mark=float(bp.pass_mark),
                scoring="all-or-nothing" if aon else "partial",
                questions=drawn,
                pool=len(seen),
                guessing=pct.pop("guessing"),
                strategies=pct,
                shuffled=bp.shuffle_options,
                startable=exam.startable,
            )
        )
    return out


def strategy_findings(results: list[ExamStrategies]) -> list[Finding]:
    """A warning per exam and strategy that beats guessing by more than STRATEGY_MARGIN."""
    out = []
    for r in results:
        for name, score in r.strategies.items():
            if score - r.guessing > STRATEGY_MARGIN:
                out.append(
                    Finding(
                        "blind-strategy",
                        r.path,
                        1,
                        "",
                        "",
                        f"exam '{r.exam_id}': a candidate who never reads a stem and "
                        f'follows "{STRATEGIES[name]}" expects {score:.1f} % against '
                        f"{r.guessing:.1f} % for pure guessing (+{score - r.guessing:.1f} "
                        f"points, limit +{STRATEGY_MARGIN:g}; pass mark {r.pass_mark:g} %): "
                        "remove that cue from the items of the exam's pool",
                    )
                )
    return out


def format_strategies(results: list[ExamStrategies]) -> str:
    """A plain-text table per exam: guessing, each strategy, the pass mark."""
    lines = []
    for r in results:
        notes = "" if r.startable else "; cannot be started yet: the bank is short"
        lines.append(
            f"{r.exam_id} ({r.questions} questions drawn from {r.pool}, multiple response "
            f"{r.scoring}, options {'shuffled' if r.shuffled else 'as authored'}, "
            f"pass mark {r.pass_mark:g} %{notes})"
        )
        lines.append(f"  {'strategy':<52}{'expected':>9}{'vs guessing':>13}")
        lines.append(f"  {'pure guessing':<52}{r.guessing:>8.1f}%{'':>13}")
        for name, score in r.strategies.items():
            gain = score - r.guessing
            flag = "  over limit" if gain > STRATEGY_MARGIN else ""
            lines.append(f"  {STRATEGIES[name]:<52}{score:>8.1f}%{gain:>+12.1f}{flag}")
    return "\n".join(lines)


def is_item_writing(problem: Problem) -> bool:
    """Whether a problem is one of this module's warnings."""
    code = problem.message[1 : problem.message.find("]")] if problem.message[:1] == "[" else ""
    return problem.severity == "warning" and code in CHECKS


def release_caches() -> None:
    """Drop the text caches (about 10 MB on the course's bank). They serve one pass over a bank,
    where the checks and the strategies read the same texts; a server keeps no bank's words
    between passes (Content health runs one per view)."""
    for cached in (plain, _root, _tokens, _content, words, _shape, absolutes):
        cached.cache_clear()
    _TABLES.clear()


def _one_pass(
    bank: Bank, exams, memo: FactMemo | None = None
) -> tuple[list[Finding], list[ExamStrategies]]:
    if not bank.questions:
        return [], []
    facts = bank_facts(bank, memo)
    strategies = _strategies(bank, exams, facts)
    return _check(bank, exams, facts) + strategy_findings(strategies), strategies


def findings_and_strategies(bank: Bank, exams) -> tuple[list[Finding], list[ExamStrategies]]:
    """Every item-writing finding (blind-strategy ones included) and the strategy scores, in one
    pass whose text caches are released at its end (a server's page)."""
    try:
        return _one_pass(bank, exams)
    finally:
        release_caches()


def item_writing_problems(
    bank: Bank, exams, memo: FactMemo | None = None
) -> tuple[list[Problem], list[ExamStrategies]]:
    """Every item-writing warning as a Problem, and the strategy scores behind the exam ones.
    For `triops validate`, a command that ends after one pass: the caches are left to the
    process's exit rather than freed one by one. `memo` holds item facts from an earlier run
    (see triops.quiz.itemcache) and gains this run's."""
    findings, strategies = _one_pass(bank, exams, memo)
    return [f.problem() for f in findings], strategies
