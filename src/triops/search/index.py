"""The search index: chunk vectors and a keyword index in memory, hybrid ranking, snippets.

Building is incremental: a chunk whose (hash, model_id) already has a vector in the previous
artifact is not encoded again. Reading loads the artifact into numpy and closes the file, so
the app and the CLI never hold it open. Ranking blends the cosine of the query with each chunk
(a brute-force matrix-vector product) with a BM25 keyword score from an inverted index built
at load time; a query encodes once and touches nothing on disk.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from triops.errors import InvalidInputError
from triops.search.chunks import EMBED_FORMAT, KINDS, Chunk, embed_text, group_of, plain_text
from triops.store import vectors as store

MAX_QUERY_CHARS = 1000
EMPTY_QUERY = "Type a question or some words to search for."
# score = cosine + KEYWORD_WEIGHT * keyword, keyword in [0, 1] (see KeywordIndex.relevance).
# Measured on 2026-11-28 with all-MiniLM-L6-v2 over the real course, lesson hits only: on the
# 52 in-topic questions of tests/fixtures/ask_pairs.yaml the expected lesson ranked first for
# 39 with cosine alone, 43 at 0.15 and 0.25, 44 at 0.3 (MRR 0.82, 0.87, 0.88, 0.90); on 16
# paraphrases written for search, 9, 12, 13 and 13 of 16 (0.2 gave 14). Weights from 0.2 to
# 0.4 are all close; 0.25 sits between the two sets' best. Re-measure when the model changes.
KEYWORD_WEIGHT = 0.25
BM25_K1, BM25_B = 1.2, 0.75
SNIPPET_CHARS = 200
# Chunks whose snippet sentences an index keeps (a chunk's sentences take about 1 ms to work
# out, and a query needs ten snippets); the cache is emptied when full.
SENTENCE_CACHE_CHUNKS = 4096
# From this many chunks on, ranking starts with a rough cosine in bfloat16 (see _Coarse). The
# real course has about 600; below a few thousand the exact pass takes well under a millisecond.
COARSE_MIN = 4096

ProgressFn = Callable[[int, int], None]


@dataclass
class BuildStats:
    """What a build did: chunks indexed, texts encoded, vectors reused, wall time."""

    chunks: int
    encoded: int
    reused: int
    seconds: float


@dataclass
class Hit:
    """One result: `score` ranks (cosine plus keyword bonus); `snippet` is markdown, the
    chunk's best 1-2 sentences with the query's words in bold, everything else escaped."""

    chunk: Chunk
    score: float
    cosine: float
    keyword: float
    snippet: str


class Hits(list):
    """The hits of one search, best first; `note` says what was done to the query, if anything
    (e.g. that it was shortened), and `query` is the text that was searched."""

    def __init__(self, hits: Iterable[Hit] = (), *, query: str = "", note: str = ""):
        super().__init__(hits)
        self.query = query
        self.note = note


# --------------------------------------------------------------------------- words

_WORD = re.compile(r"\w+")
_STOP = frozenset(
    """a about after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    out over own same she should so some such than that the their theirs them themselves then
    there these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours yourself""".split()
)
_SYLLABLE = re.compile(r"[aeiouy][^aeiouy]")  # a stem needs a vowel then a consonant


@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A light English stemmer: plurals, -ing, -ed and a final e (ship, ships, shipping,
    shipped -> ship; change, changes, changed -> chang). Other words pass unchanged."""
    w = word
    if len(w) <= 3 or not w.isalpha():
        return w
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix in ("ing", "ed"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3 and _SYLLABLE.search(w[: -len(suffix)]):
            w = w[: -len(suffix)]
            if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
                w = w[:-1]
            break
    if w.endswith("e") and len(w) > 3:
        w = w[:-1]
    return w


def terms(text: str) -> list[str]:
    """The stemmed content words of a text, in order (stop words and single letters left out)."""
    return [
        stem(word)
        for word in _WORD.findall(text.lower())
        if word not in _STOP and (len(word) > 1 or word.isdigit())
    ]


@dataclass
class Postings:
    """A keyword index's counts, as stored in the index artifact: the vocabulary (term i is
    `vocab[i]`) and one (term, chunk, count) row per term a chunk holds, sorted by term."""

    size: int  # chunks
    vocab: list[str]
    term_ids: np.ndarray  # int32
    doc_ids: np.ndarray  # int32
    tfs: np.ndarray  # int32


def count_terms(texts: Sequence[str]) -> Postings:
    """Count every chunk's terms (the slow part of opening an index: about 0.2 ms a chunk)."""
    vocab: dict[str, int] = {}
    term_of: dict[str, int] = {}  # word -> term id; -1 for a stop word
    doc_ids: list[int] = []
    term_ids: list[int] = []
    tfs: list[int] = []
    for d, text in enumerate(texts):
        counts: dict[int, int] = {}
        for word, n in Counter(_WORD.findall(text.lower())).items():
            tid = term_of.get(word)
            if tid is None:
                if word in _STOP or (len(word) == 1 and not word.isdigit()):
                    tid = -1
                else:
                    tid = vocab.setdefault(stem(word), len(vocab))
                term_of[word] = tid
            if tid >= 0:
                counts[tid] = counts.get(tid, 0) + n
        doc_ids.extend([d] * len(counts))
        term_ids.extend(counts)
        tfs.extend(counts.values())
    tids = np.asarray(term_ids, dtype=np.int32)
    order = np.argsort(tids, kind="stable")
    return Postings(
        size=len(texts),
        vocab=list(vocab),
        term_ids=tids[order],
        doc_ids=np.asarray(doc_ids, dtype=np.int32)[order],
        tfs=np.asarray(tfs, dtype=np.int32)[order],
    )


class KeywordIndex:
    """BM25 over chunk terms: per term, the chunks holding it and their precomputed weights.

    Built from chunk texts, or from stored `Postings` (what an index artifact keeps, so that
    opening a large index does not count every chunk's words again)."""

    def __init__(self, texts: Sequence[str] | None = None, *, postings: Postings | None = None):
        if postings is None:
            postings = count_terms(texts if texts is not None else [])
        self.postings = postings
        self.vocab = {t: i for i, t in enumerate(postings.vocab)}
        self.size = postings.size
        tids, docs = postings.term_ids, postings.doc_ids
        tf = postings.tfs.astype(np.float32)
        if len(tids) > 1 and np.any(tids[1:] < tids[:-1]):
            raise ValueError("postings must be sorted by term")
        if len(tids) and (tids.min() < 0 or tids.max() >= len(self.vocab)):
            raise ValueError("a posting names a term outside the vocabulary")
        if len(docs) and (docs.min() < 0 or docs.max() >= self.size):
            raise ValueError("a posting names a chunk outside the index")
        lengths = np.bincount(docs, weights=tf, minlength=self.size).astype(np.float32)
        self.docs = docs
        df = np.bincount(tids, minlength=len(self.vocab)).astype(np.float32)
        self.indptr = np.concatenate([[0], np.cumsum(df)]).astype(np.int64)
        n = float(max(self.size, 1))
        self.idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        self.max_idf = float(np.log1p((n + 0.5) / 0.5))
        avg = float(lengths.mean()) if self.size and lengths.mean() > 0 else 1.0
        norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths[docs] / avg)
        self.weights = (self.idf[tids] * tf * (BM25_K1 + 1) / (tf + norm)).astype(np.float32)

    def query_terms(self, query: str) -> list[int]:
        """Ids of the query's distinct terms that occur in some chunk."""
        seen = dict.fromkeys(terms(query))
        return [self.vocab[t] for t in seen if t in self.vocab]

    def scores(self, term_ids: Iterable[int]) -> np.ndarray:
        out = np.zeros(self.size, dtype=np.float32)
        for t in term_ids:
            lo, hi = self.indptr[t], self.indptr[t + 1]
            out[self.docs[lo:hi]] += self.weights[lo:hi]  # a term lists each chunk once
        return out

    def relevance(self, query: str) -> np.ndarray:
        """BM25 of every chunk over the BM25 of an average-length chunk that holds each query
        term once, capped at 1. A term no chunk has counts at full (highest) idf, so a query in
        another language, with one word that happens to match, scores low."""
        wanted = list(dict.fromkeys(terms(query)))
        known = [self.vocab[t] for t in wanted if t in self.vocab]
        if not known:
            return np.zeros(self.size, dtype=np.float32)
        unseen = len(wanted) - len(known)
        ideal = float(self.idf[known].sum()) + unseen * self.max_idf
        return np.minimum(self.scores(known) / ideal, 1.0)

    def idf_of(self, term: str) -> float:
        tid = self.vocab.get(term)
        return float(self.idf[tid]) if tid is not None else 0.0


# --------------------------------------------------------------------------- snippets

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=\S)")
_LIST_MARK = re.compile(r"^(?:[-*+]|\d+[.)])[ \t]+", re.MULTILINE)


def escape_markdown(text: str) -> str:
    """Text that renders literally inside markdown (st.markdown included)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def unescape_snippet(snippet: str) -> str:
    """A snippet as plain text, for a terminal: no bold markers, no escapes."""
    return re.sub(r"\\(.)", r"\1", snippet.replace("**", ""))


_NEW_UNIT = re.compile(r"^\s*(?:[-*+]\s|\d+[.)]\s|\||:::|#|```|~~~)")


def _sentences(chunk: Chunk) -> list[tuple[int, str]]:
    """The chunk's prose as (paragraph number, sentence), its own headings left out. A wrapped
    paragraph or list item is one unit; table rows, headings and code lines stand alone."""
    text = chunk.text
    while chunk.kind != "question" and text.startswith("#"):  # "# title" and "## section"
        text = text.partition("\n")[2]
    units: list[str] = []
    joining = False
    for line in text.split("\n"):
        if not line.strip():
            joining = False
            continue
        if joining and not _NEW_UNIT.match(line):
            units[-1] += " " + line.strip()
            continue
        units.append(line)
        joining = not line.lstrip().startswith(("|", "#", ":::", "```", "~~~"))
    out = []
    for n, unit in enumerate(_LIST_MARK.sub("", plain_text("\n".join(units))).split("\n")):
        for piece in _SENTENCE.split(unit):
            if "  " in piece or "\t" in piece:
                piece = " ".join(piece.split())
            if piece:
                out.append((n, piece))
    return out


def _highlight(text: str, wanted: set[str]) -> str:
    """Escape `text` for markdown and bold each run of words whose stem the query has."""
    runs: list[list[int]] = []  # [start, end] of runs of wanted words, apart by spaces only
    for m in _WORD.finditer(text):
        word = m.group(0).lower()
        if word in _STOP or stem(word) not in wanted:
            continue
        if runs and text[runs[-1][1] : m.start()].isspace():
            runs[-1][1] = m.end()
        else:
            runs.append([m.start(), m.end()])
    out: list[str] = []
    pos = 0
    for start, end in runs:
        out.append(escape_markdown(text[pos:start]))
        out.append("**" + escape_markdown(text[start:end]) + "**")
        pos = end
    out.append(escape_markdown(text[pos:]))
    return "".join(out)


def _clip(text: str, wanted: set[str], limit: int) -> str:
    """At most about `limit` characters of `text`, around its first wanted word."""
    if len(text) <= limit:
        return text
    first = next((m.start() for m in _WORD.finditer(text) if stem(m.group(0).lower()) in wanted), 0)
    start = max(0, first - limit // 4)
    if start:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < first else start
    end = start + limit
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    return ("…" if start else "") + text[start:end].strip() + ("…" if end < len(text) else "")


def snippet(
    chunk: Chunk,
    wanted: set[str],
    weight: Callable[[str], float],
    *,
    sentences: list[tuple[int, str]] | None = None,
) -> str:
    """The 1-2 sentences of `chunk` that best match the query terms `wanted`, as markdown
    (`sentences`: the chunk's `_sentences`, when the caller keeps them)."""
    sentences = _sentences(chunk) if sentences is None else sentences
    if not sentences:
        return ""

    def score(s: str) -> float:
        lowered = s.lower()
        if not any(w in lowered for w in wanted):  # a quick test before stemming every word
            return 0.0
        return sum(weight(t) for t in set(terms(lowered)) if t in wanted)

    scores = [score(s) for _, s in sentences]
    best = max(range(len(sentences)), key=lambda i: (scores[i], -i)) if wanted else 0
    unit, text = sentences[best]
    longest = int(SNIPPET_CHARS * 1.2)
    if len(text) < SNIPPET_CHARS * 0.6 and best + 1 < len(sentences):
        next_unit, following = sentences[best + 1]
        joined = next_unit == unit or len(text) < 60  # a short label reads with what follows
        if joined and len(text) + 1 + len(following) <= longest:
            text = f"{text} {following}"
    return _highlight(_clip(text, wanted, longest), wanted)


# --------------------------------------------------------------------------- the index


class VectorIndex:
    """Chunks, their vectors (row i is chunk i) and a keyword index, all in memory."""

    def __init__(
        self,
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        model_id: str,
        *,
        postings: Postings | None = None,
        coarse_min: int = COARSE_MIN,
    ):
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(chunks):
            raise ValueError(f"{len(chunks)} chunks but vectors of shape {vectors.shape}")
        self.chunks = list(chunks)
        self.vectors = vectors
        self.model_id = model_id
        if postings is not None and postings.size != len(self.chunks):
            raise ValueError(f"postings for {postings.size} chunks, not {len(self.chunks)}")
        self.keywords = (
            KeywordIndex(postings=postings)
            if postings is not None
            else KeywordIndex([embed_text(c) for c in self.chunks])
        )
        self._sentences: dict[int, list[tuple[int, str]]] = {}  # snippet sentences by position
        self._kinds = {k: i for i, k in enumerate(KINDS)}
        self._kind = np.array([self._kinds.get(c.kind, -1) for c in self.chunks], dtype=np.int8)
        tracks = sorted({c.track for c in self.chunks})
        self._tracks = {t: i for i, t in enumerate(tracks)}
        self._track = np.array([self._tracks[c.track] for c in self.chunks], dtype=np.int16)
        self._group = [group_of(c.id) for c in self.chunks]
        self.coarse_min = coarse_min  # from this many chunks on, ranking starts with _Coarse
        self._coarse: _Coarse | None = None

    def __len__(self) -> int:
        return len(self.chunks)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def _mask(self, track: str | None, kinds: Iterable[str] | None) -> np.ndarray | None:
        mask = None
        if track:
            code = self._tracks.get(track)
            mask = self._track == (code if code is not None else -1)
        if kinds is not None:
            codes = [self._kinds[k] for k in kinds if k in self._kinds]
            by_kind = np.isin(self._kind, codes)
            mask = by_kind if mask is None else mask & by_kind
        return mask

    def search(
        self,
        query: str,
        embedder,
        *,
        k: int = 10,
        track: str | None = None,
        kinds: Iterable[str] | None = None,
    ) -> Hits:
        """The k best chunks for `query`, at most one per section, best first.

        `track` keeps one track; `kinds` keeps those kinds (lesson, question, lab). An empty
        query raises InvalidInputError; one over MAX_QUERY_CHARS is shortened (see `Hits.note`).
        """
        if not isinstance(query, str) or not query.strip():
            raise InvalidInputError(EMPTY_QUERY)
        query = query.strip()
        note = ""
        if len(query) > MAX_QUERY_CHARS:
            note = (
                f"Your search was {len(query):,} characters long; "
                f"only the first {MAX_QUERY_CHARS:,} were used."
            )
            query = query[:MAX_QUERY_CHARS]
        if embedder.model_id != self.model_id:
            raise ValueError(f"index built with {self.model_id}, not {embedder.model_id}")
        if isinstance(kinds, str):
            kinds = [kinds]
        kinds = list(kinds) if kinds is not None else None
        mask = self._mask(track, kinds)
        if k < 1 or not self.chunks or (mask is not None and not mask.any()):
            return Hits(query=query, note=note)  # nothing can match: skip the encode
        qvec = np.asarray(embedder.encode([query]), dtype=np.float32)[0]
        ranked = self.rank(qvec, query, k=k, track=track, kinds=kinds)
        wanted = set(terms(query))
        return Hits(
            (
                Hit(self.chunks[i], score, cosine, keyword, self.snippet(i, wanted))
                for i, score, cosine, keyword in ranked
            ),
            query=query,
            note=note,
        )

    def snippet(self, i: int, wanted: set[str]) -> str:
        """Chunk i's best sentences for the query terms `wanted` (see `terms`), as markdown."""
        sentences = self._sentences.get(i)
        if sentences is None:
            if len(self._sentences) >= SENTENCE_CACHE_CHUNKS:
                self._sentences.clear()
            sentences = self._sentences[i] = _sentences(self.chunks[i])
        return snippet(self.chunks[i], wanted, self.keywords.idf_of, sentences=sentences)

    def rank(
        self,
        qvec: np.ndarray,
        query: str,
        *,
        k: int = 10,
        track: str | None = None,
        kinds: Iterable[str] | None = None,
    ) -> list[tuple[int, float, float, float]]:
        """(chunk position, score, cosine, keyword) of the k best chunks for an encoded query,
        at most one per section, best first: the part of `search` after the encode."""
        if isinstance(kinds, str):
            kinds = [kinds]
        mask = self._mask(track, list(kinds) if kinds is not None else None)
        if k < 1 or not self.chunks or (mask is not None and not mask.any()):
            return []
        keyword = self.keywords.relevance(query)
        qvec = np.asarray(qvec, dtype=np.float32)
        if self._coarse is None and len(self.chunks) >= self.coarse_min:
            self._coarse = _Coarse(self.vectors)
        if self._coarse is None:
            rows = None  # every row, scored exactly
            cosine = _cosine(self.vectors, qvec)
        else:
            # A rough pass in bfloat16 over every row, then exact cosines for the rows that
            # could still be among the k best (see _Coarse): the same hits as an exact pass.
            rough = self._coarse.cosine(qvec) + KEYWORD_WEIGHT * keyword
            if mask is not None:
                rough = np.where(mask, rough, -np.inf)
            best = self._pick(rough, k, self._group)
            allowed = np.isfinite(rough)
            if len(best) == k:
                allowed &= rough >= rough[best[-1]] - 2 * _Coarse.ERROR
            rows = np.flatnonzero(allowed)
            cosine = _cosine(self.vectors[rows], qvec)
            keyword = keyword[rows]
            mask = None  # rows are allowed rows only
        score = cosine + KEYWORD_WEIGHT * keyword
        if mask is not None:
            score = np.where(mask, score, -np.inf)
        if rows is None:
            return [
                (i, float(score[i]), float(cosine[i]), float(keyword[i]))
                for i in self._pick(score, k, self._group)
            ]
        at = rows.tolist()
        picked = self._pick(score, k, [self._group[i] for i in at])
        return [(at[i], float(score[i]), float(cosine[i]), float(keyword[i])) for i in picked]

    @staticmethod
    def _pick(score: np.ndarray, k: int, group: Sequence[str]) -> list[int]:
        """Positions of the k best finite scores, at most one per section (`group[i]` names
        position i's), best first; equal scores keep the lower position first."""
        valid = int(np.isfinite(score).sum())
        picked: list[int] = []
        groups: set[str] = set()
        width = min(valid, k * 4)  # enough, unless many parts of one section crowd the top
        while width > 0:
            if width >= len(score):
                order = np.argsort(-score, kind="stable")[:valid]
            else:
                part = np.argpartition(-score, width - 1)[:width]
                order = part[np.lexsort((part, -score[part]))]
            for i in order.tolist():
                if group[i] in groups:
                    continue
                picked.append(i)
                groups.add(group[i])
                if len(picked) == k:
                    break
            if len(picked) == k or width >= valid:
                break
            picked.clear()
            groups.clear()
            width = min(valid, width * 4)
        return picked


def _cosine(vectors: np.ndarray, qvec: np.ndarray) -> np.ndarray:
    # einsum runs on this thread; BLAS (`@`) splits a matrix-vector product over 2 threads,
    # which on 2 cores took 8 ms instead of 0.7 ms whenever another process kept a core
    # busy (einsum: 1.5 ms either way, 20,000 x 384).
    return np.einsum("ij,j->i", vectors, qvec)


class _Coarse:
    """The vectors in bfloat16, for a first, rough cosine over a large index.

    Measured on 2 cores with 20,000 x 384 vectors: the exact float32 pass reads 30 MB per
    query and takes 2 ms alone, but 5-7 ms when it runs between two query encodes, because it
    pushes the model's weights out of the shared cache and the next encode reads them from
    memory again. In bfloat16 the pass reads half as much and adds 2.5 ms. A rough cosine is
    within ERROR of the exact one: each vector element is rounded to 8 significant bits
    (relative error <= 2**-9), so for unit vectors the rounding of the chunk vector, of the
    query and of the result each moves the dot product by at most 2**-9, 0.006 in all. Every
    row whose rough score is within 2 * ERROR of the k-th best rough score is then scored
    exactly, so the hits are the exact pass's hits."""

    ERROR = 0.008  # > 3 * 2**-9, with room for float32 accumulation over 384 terms

    def __init__(self, vectors: np.ndarray):
        import torch  # already loaded with the model that encodes the queries

        self._torch = torch
        self._vectors = torch.from_numpy(vectors).to(torch.bfloat16)

    def cosine(self, qvec: np.ndarray) -> np.ndarray:
        torch = self._torch
        query = torch.from_numpy(qvec).to(torch.bfloat16)
        return torch.mv(self._vectors, query).float().numpy()


# --------------------------------------------------------------------------- build and open


def _rows(chunks: Sequence[Chunk]) -> list[tuple]:
    return [tuple(getattr(c, col) for col in store.CHUNK_COLUMNS) for c in chunks]


def build_index(
    chunks: Sequence[Chunk],
    embedder,
    derived_dir: Path,
    on_progress: ProgressFn | None = None,
    batch: int = 64,
) -> tuple[VectorIndex, BuildStats]:
    """Encode what the previous artifact lacks, write a new artifact, return the index.

    `on_progress(done, total)` is called in chunks as vectors become ready."""
    start = time.perf_counter()
    chunks = list(chunks)
    total = len(chunks)
    path = store.artifact_path(derived_dir, embedder.model_id)
    old_hashes, old_vectors = store.read_vectors(path, embedder.model_id, EMBED_FORMAT)
    old = {h: i for i, h in enumerate(old_hashes)}

    per_hash = Counter(c.hash for c in chunks)
    first: dict[str, Chunk] = {}
    for c in chunks:
        first.setdefault(c.hash, c)
    reuse = [h for h in first if h in old]
    need = [h for h in first if h not in old]
    progress = _Progress(on_progress, total, per_hash)
    progress.add(reuse)

    found: dict[str, np.ndarray] = {h: old_vectors[old[h]] for h in reuse}
    found.update(_encode(need, first, embedder, batch, progress))
    if need and reuse and len(found[need[0]]) != old_vectors.shape[1]:
        # The model behind this id now returns another size: nothing stored can be reused.
        found.update(_encode(reuse, first, embedder, batch, progress))
        need, reuse = need + reuse, []
    dim = len(next(iter(found.values()))) if found else int(embedder.dim)
    hashes = list(first)
    unique = np.stack([found[h] for h in hashes]) if hashes else np.zeros((0, dim), np.float32)
    row = {h: i for i, h in enumerate(hashes)}
    matrix = unique[[row[c.hash] for c in chunks]] if chunks else unique
    index = VectorIndex(chunks, matrix, embedder.model_id)
    write_artifact(derived_dir, index)
    stats = BuildStats(total, len(need), len(reuse), time.perf_counter() - start)
    return index, stats


class _Progress:
    """Reports progress in chunks (a hash may stand for several identical chunks)."""

    def __init__(self, fn: ProgressFn | None, total: int, per_hash: Counter):
        self.fn, self.total, self.per_hash, self.done = fn, total, per_hash, 0

    def add(self, hashes: Iterable[str]) -> None:
        self.done = min(self.total, self.done + sum(self.per_hash[h] for h in hashes))
        if self.fn is not None:
            self.fn(self.done, self.total)


def _encode(
    hashes: list[str], first: dict[str, Chunk], embedder, batch: int, progress: _Progress
) -> dict[str, np.ndarray]:
    texts = {h: embed_text(first[h]) for h in hashes}
    # Longest first: texts of a size share a batch (less padding), and the slowest batches come
    # first, so a time estimate made from the first batches errs long, never short.
    ordered = sorted(hashes, key=lambda h: -len(texts[h]))
    size = max(1, batch)
    out: dict[str, np.ndarray] = {}
    for lo in range(0, len(ordered), size):
        part = ordered[lo : lo + size]
        got = np.asarray(embedder.encode([texts[h] for h in part]), dtype=np.float32)
        if got.ndim != 2 or got.shape[0] != len(part):
            raise ValueError(f"the embedder returned shape {got.shape} for {len(part)} texts")
        out.update(zip(part, got, strict=True))
        progress.add(part)
    return out


def write_artifact(derived_dir: Path, index: VectorIndex) -> Path:
    """Save `index` as its model's artifact: chunks, one vector per distinct chunk hash, and the
    keyword counts (so that opening it skips counting words again)."""
    first: dict[str, int] = {}
    for i, c in enumerate(index.chunks):
        first.setdefault(c.hash, i)
    hashes = list(first)
    unique = index.vectors[list(first.values())] if hashes else index.vectors
    p = index.keywords.postings
    return store.write_index(
        store.artifact_path(derived_dir, index.model_id),
        model_id=index.model_id,
        embed_format=EMBED_FORMAT,
        chunks=_rows(index.chunks),
        hashes=hashes,
        vectors=unique,
        keywords=store.StoredKeywords(p.vocab, p.term_ids, p.doc_ids, p.tfs),
    )


def open_index(derived_dir: Path, model_id: str) -> VectorIndex | None:
    """The last built index for `model_id`, loaded into memory (the file is closed again);
    None when there is none, it is unreadable, or it was built with an older text format."""
    stored = store.read_index(store.artifact_path(derived_dir, model_id))
    if stored is None or stored.model_id != model_id or stored.embed_format != EMBED_FORMAT:
        return None
    row = {h: i for i, h in enumerate(stored.hashes)}
    chunks = [Chunk(*r) for r in stored.chunks]
    if any(c.hash not in row for c in chunks):
        return None
    matrix = stored.vectors[[row[c.hash] for c in chunks]] if chunks else stored.vectors
    postings = None
    if stored.keywords is not None:
        k = stored.keywords
        postings = Postings(len(chunks), k.vocab, k.term_ids, k.doc_ids, k.tfs)
    try:
        return VectorIndex(chunks, matrix, model_id, postings=postings)
    except ValueError:  # counts that do not fit the chunks: derived data, count again
        return VectorIndex(chunks, matrix, model_id)


def index_is_current(index: VectorIndex | None, chunks: Sequence[Chunk]) -> bool:
    """Whether `index` holds exactly these chunks (so no build is needed)."""
    return (
        index is not None
        and [c.hash for c in index.chunks] == [c.hash for c in chunks]
        and [c.id for c in index.chunks] == [c.id for c in chunks]
    )


__all__ = [
    "BuildStats",
    "Hit",
    "Hits",
    "KeywordIndex",
    "VectorIndex",
    "build_index",
    "escape_markdown",
    "index_is_current",
    "Postings",
    "count_terms",
    "open_index",
    "snippet",
    "unescape_snippet",
    "write_artifact",
]
