"""Search over the real course with the real packaged model: the model and the course index are
the session's (tests/conftest.py `embedder`, `course_derived`)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import replace

import duckdb
import numpy as np
import pytest

from conftest import REPO
from triops.content.loader import load_course
from triops.errors import InvalidInputError
from triops.labs.spec import load_labs
from triops.quiz.bank import load_bank
from triops.search import embedder as embedder_module
from triops.search import index as index_module
from triops.search.chunks import KINDS, collect, group_of
from triops.search.embedder import (
    PACKAGED_ID,
    HashingEmbedder,
    ModelIntegrityError,
    SentenceTransformerEmbedder,
    packaged_model_path,
)
from triops.search.index import (
    EMPTY_QUERY,
    KEYWORD_WEIGHT,
    MAX_QUERY_CHARS,
    KeywordIndex,
    Postings,
    VectorIndex,
    build_index,
    open_index,
    unescape_snippet,
)
from triops.store.vectors import artifact_path

pytestmark = pytest.mark.slow


def lesson_of(chunk) -> str:
    return chunk.id.split("#", 1)[0].removeprefix("lesson:")


@pytest.fixture(scope="module")
def course():
    return load_course(REPO)


@pytest.fixture(scope="module")
def bank(course):
    return load_bank(REPO, {lesson.id for lesson in course.lessons()})


@pytest.fixture(scope="module")
def labs(course):
    return load_labs(REPO, {lesson.id for lesson in course.lessons()})


@pytest.fixture(scope="module")
def chunks(course, bank, labs):
    return collect(course, bank, labs)


@pytest.fixture(scope="module")
def built(course_derived):
    """The real course indexed once per run: (index, stats, derived_dir, encodes it took)."""
    c = course_derived
    return c.index, c.stats, c.derived, c.encodes


@pytest.fixture(scope="module")
def index(built):
    return built[0]


# --------------------------------------------------------------------------- finding things

PARAPHRASES = [
    (
        "my model got worse when the data changed",
        {"mlops-monitoring-and-retraining", "mlops-why-mlops"},
    ),
    ("how often do we ship to production", {"devops-dora-metrics"}),
    ("why do we get so many false drift alerts", {"mlops-monitoring-and-retraining"}),
    (
        "send a small share of users to the new version first",
        {"devops-continuous-delivery", "mlops-deployment-and-serving"},
    ),
    (
        "reuse answers to identical requests to save money on the language model",
        {"llmops-serving-and-cost"},
    ),
    ("a big model grades the answers of another model", {"llmops-evaluation"}),
    ("merge small changes to main every day instead of long branches", {"devops-plan-and-code"}),
    ("is the model treating some groups unfairly", {"mlops-evaluation-and-validation"}),
]


@pytest.mark.parametrize(("query", "lessons"), PARAPHRASES, ids=[q for q, _ in PARAPHRASES])
def test_paraphrased_question_finds_the_right_lesson_section(index, embedder, query, lessons):
    hits = index.search(query, embedder, k=3, kinds=["lesson"])
    found = [lesson_of(h.chunk) for h in hits]
    assert lessons & set(found), f"{query!r} found {[h.chunk.id for h in hits]}"
    hit = next(h for h in hits if lesson_of(h.chunk) in lessons)
    assert hit.chunk.url.startswith(f"/learn?lesson={lesson_of(hit.chunk)}")
    if hit.chunk.anchor:
        assert hit.chunk.url.endswith(f"#{hit.chunk.anchor}")


def test_the_section_is_the_one_that_answers(index, embedder):
    hits = index.search("why do we get so many false drift alerts", embedder, k=3)
    assert "lesson:mlops-monitoring-and-retraining#many-tests-many-false-alarms" in [
        group_of(h.chunk.id) for h in hits
    ]


def test_hits_are_ranked_with_scores_and_one_per_section(index, embedder):
    hits = index.search("canary release with guardrails", embedder, k=10)
    assert len(hits) == 10
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    for h in hits:
        assert -1.0 <= h.cosine <= 1.0 and 0.0 <= h.keyword <= 1.0
        assert h.score == pytest.approx(h.cosine + KEYWORD_WEIGHT * h.keyword, abs=1e-5)
    groups = [group_of(h.chunk.id) for h in hits]
    assert len(groups) == len(set(groups))


def test_snippet_bolds_query_words_and_escapes_markdown(index, embedder):
    hits = index.search("canary release", embedder, k=5)
    assert any(re.search(r"\*\*canary", h.snippet, re.IGNORECASE) for h in hits)
    for h in hits:
        assert 0 < len(unescape_snippet(h.snippet)) <= 320
        bare = re.sub(r"\\.", "", h.snippet.replace("**", ""))
        assert not re.search(r"[*_`\[\]<>#|$]", bare), h.snippet


def test_labs_are_searchable_and_link_to_the_lab(index, embedder):
    hits = index.search("why must the build wait for lint and tests", embedder, k=3, kinds=["lab"])
    assert hits and all(h.chunk.kind == "lab" for h in hits)
    assert hits[0].chunk.url == "/labs?lab=ci-build"


# --------------------------------------------------------------------------- what is indexed


def test_exam_only_questions_are_never_indexed(bank, chunks, index, embedder):
    exam_only = [q for q in bank.questions if q.question.exam_only]
    assert exam_only, "the real bank has exam-only questions"
    secret = {f"question:{q.id}" for q in exam_only}
    assert not secret & {c.id for c in chunks}
    assert not secret & {c.id for c in index.chunks}
    practice = {f"question:{q.id}" for q in bank.practice()}
    assert practice <= {c.id for c in chunks if c.kind == "question"}
    for q in exam_only[:5]:
        hits = index.search(q.question.stem, embedder, k=10, kinds=["question"])
        assert f"question:{q.id}" not in {h.chunk.id for h in hits}


def test_chunks_follow_the_lesson_structure(course, chunks):
    lesson = course.lesson("mlops-monitoring-and-retraining")
    mine = [c for c in chunks if c.kind == "lesson" and lesson_of(c) == lesson.id]
    assert mine[0].anchor == "" and mine[0].url == f"/learn?lesson={lesson.id}"
    assert "data drifts, models degrade" in mine[0].text  # the intro before the first ##
    sections = {c.anchor for c in mine}
    assert {h.anchor for h in lesson.headings if h.level == 2} <= sections
    psi = next(c for c in mine if c.anchor == "psi-step-by-step")
    assert ":::example PSI for transaction amount" in psi.text  # admonitions kept as text
    assert all(c.text.startswith(f"# {lesson.title}\n") for c in mine)
    assert len({c.id for c in chunks}) == len(chunks)
    assert {c.kind for c in chunks} == set(KINDS)


def self_check_answers(course) -> list[tuple[str, str]]:
    """(lesson id, answer text) of every lesson's "Check yourself" answers, leaving out an
    answer the lesson also states in its body (a slogan quoted back, say)."""
    from triops.content.markdown import render_plan

    out = []
    for lesson in course.lessons():
        plan = render_plan(lesson.blocks)
        body = " ".join(" ".join(map(str, item[1:])) for item in plan if item[0] != "answers")
        body = " ".join(body.split())
        for item in plan:
            if item[0] == "answers":
                answers = [" ".join(text.split()) for _, text in item[2]]
                out += [(lesson.id, a) for a in answers if a not in body]
    return out


def test_self_check_answers_are_never_indexed(course, chunks):
    answers = self_check_answers(course)
    assert len(answers) >= 3 * len(course.lessons()), "every lesson has its answers"
    text = {lesson: [] for lesson, _ in answers}
    for c in chunks:
        if c.kind == "lesson":
            text.setdefault(lesson_of(c), []).append(" ".join(c.text.split()))
    for lesson, answer in answers:
        assert not any(answer in t for t in text[lesson]), (lesson, answer)
    quiz = [c for c in chunks if c.anchor == "check-yourself"]
    assert len(quiz) == len(course.lessons()), "the questions themselves stay searchable"
    assert not any(":::tip Answers" in c.text for c in quiz)


def test_a_search_for_a_self_check_answer_finds_the_lesson_not_the_answer(course, index, embedder):
    lesson, answer = next(a for a in self_check_answers(course) if a[0] == "llmops-evaluation")
    hits = index.search(answer, embedder, k=10)
    assert hits, "the topic is still found"
    for hit in hits:
        assert answer not in " ".join(hit.chunk.text.split())


# --------------------------------------------------------------------------- building


def test_first_build_encodes_every_chunk(built, chunks):
    index, stats, derived, encodes = built
    distinct = len({c.hash for c in chunks})
    assert stats.chunks == len(chunks) and stats.encoded == distinct == encodes
    assert stats.reused == 0
    assert index.vectors.shape == (len(chunks), 384)
    assert np.allclose(np.linalg.norm(index.vectors, axis=1), 1.0, atol=1e-3)
    assert artifact_path(derived, PACKAGED_ID).is_file()
    assert not [p for p in derived.iterdir() if ".tmp" in p.name]


def test_edit_one_lesson_re_encodes_only_its_changed_chunks(
    built, bank, labs, chunks, embedder, course_copy
):
    _, _, derived, _ = built
    work = course_copy.parent / "derived"
    shutil.copytree(derived, work)

    before = embedder.encoded
    _, again = build_index(chunks, embedder, work)
    assert (again.encoded, embedder.encoded - before) == (0, 0)
    assert again.reused == len({c.hash for c in chunks})

    path = course_copy / "content/mlops/lifecycle/05-monitoring-and-retraining.md"
    text = path.read_text()
    assert "long used in credit scoring" in text
    path.write_text(text.replace("long used in credit scoring", "long used in zyxtrombic scoring"))
    edited = collect(load_course(course_copy), bank, labs)
    old = {c.hash for c in chunks}
    changed = [c for c in edited if c.hash not in old]
    assert changed and {lesson_of(c) for c in changed} == {"mlops-monitoring-and-retraining"}
    assert [c.anchor for c in changed] == ["psi-step-by-step"]

    before = embedder.encoded
    progress = []
    index, stats = build_index(edited, embedder, work, on_progress=lambda *a: progress.append(a))
    assert stats.encoded == embedder.encoded - before == len(changed)
    assert stats.reused == len({c.hash for c in edited}) - len(changed)
    assert progress[-1] == (len(edited), len(edited))
    hits = index.search("zyxtrombic", embedder, k=1)
    assert hits[0].chunk.id == changed[0].id
    assert "**zyxtrombic**" in hits[0].snippet


def test_open_index_loads_into_memory_and_closes_the_file(built, embedder):
    index, _, derived, _ = built
    opened = open_index(derived, embedder.model_id)
    assert [c.id for c in opened.chunks] == [c.id for c in index.chunks]
    assert np.allclose(opened.vectors, index.vectors)
    # Nothing in this process still holds the file: a writable connection opens.
    duckdb.connect(str(artifact_path(derived, embedder.model_id))).close()
    query = "what is concept drift"
    assert [h.chunk.id for h in opened.search(query, embedder)] == [
        h.chunk.id for h in index.search(query, embedder)
    ]


def test_open_index_reads_the_stored_keyword_counts(built, embedder, monkeypatch):
    index, _, derived, _ = built
    counted = []
    monkeypatch.setattr(index_module, "count_terms", lambda texts: counted.append(1))
    opened = open_index(derived, embedder.model_id)
    assert counted == []  # nothing counted again: the artifact's postings were used
    assert opened.keywords.postings.vocab == index.keywords.postings.vocab
    for query in ("concept drift retraining", "canary release rollback", "zzzz unknown"):
        assert np.array_equal(opened.keywords.relevance(query), index.keywords.relevance(query)), (
            query
        )


def test_postings_that_do_not_fit_the_chunks_are_refused(index):
    p = index.keywords.postings
    bad = Postings(p.size - 1, p.vocab, p.term_ids, p.doc_ids, p.tfs)
    with pytest.raises(ValueError, match="outside the index"):
        KeywordIndex(postings=bad)
    with pytest.raises(ValueError, match="for .* chunks"):
        VectorIndex(index.chunks[:-1], index.vectors[:-1], index.model_id, postings=p)


def test_open_index_is_none_without_an_artifact_for_the_model(built, tmp_path):
    _, _, derived, _ = built
    assert open_index(tmp_path / "empty", PACKAGED_ID) is None
    assert open_index(derived, "some-other-model") is None


def test_a_hashing_embedder_builds_its_own_artifact(chunks, tmp_path):
    small = HashingEmbedder()
    index, stats = build_index(chunks[:40], small, tmp_path)
    assert stats.encoded == small.encoded == len({c.hash for c in chunks[:40]})
    assert index.vectors.shape == (40, 64)
    assert artifact_path(tmp_path, small.model_id) != artifact_path(tmp_path, PACKAGED_ID)
    assert open_index(tmp_path, small.model_id) is not None


# --------------------------------------------------------------------------- the model


def test_a_tampered_model_copy_is_refused(tmp_path, monkeypatch):
    copy = tmp_path / "model"
    shutil.copytree(packaged_model_path(), copy)
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    monkeypatch.setattr(embedder_module, "packaged_model_path", lambda: copy)
    tampered = SentenceTransformerEmbedder()
    with pytest.raises(ModelIntegrityError) as caught:
        tampered.encode(["anything"])
    assert str(weights) in caught.value.user_message
    assert not tampered.loaded and tampered.encoded == 0


def test_the_model_loads_lazily(embedder):
    fresh = SentenceTransformerEmbedder()
    assert not fresh.loaded and fresh.model_id == "all-MiniLM-L6-v2@gt-0.1.0"
    assert fresh.dim == 384 and not fresh.loaded  # known without loading
    vectors = embedder.encode(["first", "second"])
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_a_query_takes_the_traced_path_and_gets_the_batch_vector(embedder):
    texts = [f"{word} in a continuous delivery pipeline" for word in ("canary", "drift", "cost")]
    texts += ["a much longer text about blue-green deployments " * 80, "ok", "six"]
    batch = embedder.encode(texts)  # more than DIRECT_MAX texts: SentenceTransformer.encode
    assert len(texts) > embedder_module.DIRECT_MAX and embedder.fast_path == "traced"
    for text, row in zip(texts, batch, strict=True):
        assert np.allclose(embedder.encode([text])[0], row, atol=1e-5), text
    # a few texts of different lengths at once are padded: the traced graph applies the mask
    few = embedder.encode(texts[2:6])
    assert np.allclose(few, batch[2:6], atol=1e-5)


def test_a_traced_model_that_disagrees_with_encode_is_not_used(monkeypatch):
    def skewed(st):
        def run(texts):
            vectors = embedder_module._forward(st, texts)
            vectors[:, 0] += 1e-3  # a small error, as a mistraced branch would give
            return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

        return run

    monkeypatch.setattr(embedder_module, "_traced", skewed)
    emb = SentenceTransformerEmbedder().load()
    assert emb.fast_path == "direct"
    text = "what is a canary release"
    reference = emb._st.encode([text], normalize_embeddings=True)
    assert np.allclose(emb.encode([text]), reference, atol=1e-6)


def test_a_model_that_cannot_be_traced_keeps_the_eager_pass(monkeypatch):
    def broken(st):
        raise RuntimeError("tracing is not supported for this model")

    monkeypatch.setattr(embedder_module, "_traced", broken)
    emb = SentenceTransformerEmbedder().load()
    assert emb.fast_path == "direct"
    untraced = SentenceTransformerEmbedder(trace=False).load()
    assert untraced.fast_path == "direct"
    assert np.allclose(emb.encode(["drift"]), untraced.encode(["drift"]), atol=1e-6)


class _FakeModel:
    def encode(self, texts, **_):
        return np.full((len(texts), 384), 1 / np.sqrt(384), dtype=np.float32)


def test_concurrent_first_encodes_load_the_model_once():
    loads = []

    class Counting(SentenceTransformerEmbedder):
        def _load(self):
            loads.append(1)
            time.sleep(0.2)
            return _FakeModel()

    emb = Counting()
    threads = [threading.Thread(target=emb.encode, args=([f"text {i}"],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(loads) == 1 and emb.encoded == 8


# --------------------------------------------------------------------------- queries


@pytest.mark.parametrize("query", ["", "   ", "\n\t "])
def test_an_empty_query_is_refused_with_a_message(index, embedder, query):
    with pytest.raises(InvalidInputError) as caught:
        index.search(query, embedder)
    assert (
        caught.value.user_message == EMPTY_QUERY == "Type a question or some words to search for."
    )


def test_a_10000_character_query_is_shortened_not_refused(index, embedder):
    query = ("model drift and retraining triggers " * 300)[:10_000]
    hits = index.search(query, embedder, k=5)
    assert len(hits) == 5
    assert len(hits.query) == MAX_QUERY_CHARS
    assert "10,000" in hits.note and "1,000" in hits.note
    assert index.search("model drift", embedder).note == ""


@pytest.mark.parametrize(
    "query",
    [
        "Wie oft liefern wir Software in die Produktion aus?",
        "¿Por qué empeoró mi modelo cuando cambiaron los datos?",
        "モデルの精度が下がったのはなぜですか",
        "Почему модель стала хуже?",
        "🙂🚀",
    ],
)
def test_a_query_in_another_language_returns_results(index, embedder, query):
    hits = index.search(query, embedder, k=5)
    assert len(hits) == 5
    assert all(np.isfinite(h.score) for h in hits)


# --------------------------------------------------------------------------- filters


@pytest.mark.parametrize("track", ["devops", "mlops", "llmops", "triad"])
def test_track_filter_keeps_one_track(index, embedder, track):
    hits = index.search("monitoring in production", embedder, k=10, track=track)
    assert hits and {h.chunk.track for h in hits} == {track}


@pytest.mark.parametrize("kinds", [["lesson"], ["question"], ["lab"], ["lesson", "lab"]])
def test_kind_filter_keeps_those_kinds(index, embedder, kinds):
    hits = index.search("continuous integration pipeline", embedder, k=8, kinds=kinds)
    assert hits and {h.chunk.kind for h in hits} <= set(kinds)


def test_filters_combine_and_an_unknown_track_finds_nothing(index, embedder):
    hits = index.search("drift", embedder, k=5, track="mlops", kinds=["question"])
    assert hits and all(h.chunk.track == "mlops" and h.chunk.kind == "question" for h in hits)
    assert index.search("drift", embedder, track="no-such-track") == []
    assert index.search("drift", embedder, kinds=[]) == []


# --------------------------------------------------------------------------- the rough pass

RANK_QUERIES = [query for query, _ in PARAPHRASES] + ["kubernetes", "PSI", "token cost"]


@pytest.mark.parametrize(
    "options",
    [{}, {"k": 1}, {"k": 40}, {"track": "mlops"}, {"kinds": ["question", "lab"]}],
    ids=["k10", "k1", "k40", "track", "kinds"],
)
def test_the_rough_bfloat16_pass_gives_the_exact_pass_hits(index, embedder, options):
    rough = VectorIndex(index.chunks, index.vectors, index.model_id, coarse_min=0)
    exact = VectorIndex(index.chunks, index.vectors, index.model_id, coarse_min=10**9)
    for query in RANK_QUERIES:
        qvec = embedder.encode([query])[0]
        got, want = rough.rank(qvec, query, **options), exact.rank(qvec, query, **options)
        assert [hit[0] for hit in got] == [hit[0] for hit in want], query
        assert np.allclose([hit[1:] for hit in got], [hit[1:] for hit in want], atol=1e-6)
    assert rough._coarse is not None and exact._coarse is None


def test_the_rough_pass_stays_within_its_error_bound(index, embedder):
    coarse = index_module._Coarse(index.vectors)
    for query in RANK_QUERIES:
        qvec = embedder.encode([query])[0]
        error = np.abs(coarse.cosine(qvec) - index.vectors @ qvec).max()
        assert error < index_module._Coarse.ERROR / 2, query


def test_near_ties_the_rough_pass_cannot_order_are_ordered_exactly(index):
    # 3000 chunks whose cosines with the query lie within 0.004: bfloat16 (8 significant bits)
    # rounds them to a handful of values, so only the exact rescoring orders them.
    rng = np.random.default_rng(3)
    query = rng.normal(size=384).astype(np.float32)
    query /= np.linalg.norm(query)
    other = rng.normal(size=(3000, 384)).astype(np.float32)
    other -= np.outer(other @ query, query)
    other /= np.linalg.norm(other, axis=1, keepdims=True)
    target = 0.6 + rng.uniform(0, 4e-3, size=3000).astype(np.float32)
    vectors = target[:, None] * query + np.sqrt(1 - target**2)[:, None] * other
    chunks = [index.chunks[i % len(index.chunks)] for i in range(3000)]
    chunks = [replace(c, id=f"gen:{n}") for n, c in enumerate(chunks)]
    rough = VectorIndex(chunks, vectors, "m", coarse_min=0)
    exact = VectorIndex(chunks, vectors, "m", coarse_min=10**9)
    got, want = rough.rank(query, "", k=25), exact.rank(query, "", k=25)
    assert [hit[0] for hit in got] == [hit[0] for hit in want]
    exact_cosine = np.einsum("ij,j->i", vectors, query)
    assert [hit[0] for hit in want] == list(np.argsort(-exact_cosine, kind="stable")[:25])
    assert len({round(float(c), 3) for c in rough._coarse.cosine(query)}) < 10  # ties, roughly


# --------------------------------------------------------------------------- the saved encoder

_NEXT_PROCESS = """
import json, sys
from triops.search.embedder import SentenceTransformerEmbedder
emb = SentenceTransformerEmbedder(cache_dir=sys.argv[1])
vectors = emb.encode(["my model got worse when the data changed", "drift"])
print(json.dumps({"imported": "sentence_transformers" in sys.modules,
                  "path": emb.fast_path, "vectors": vectors.tolist()}))
"""


def test_the_next_process_encodes_queries_with_the_saved_encoder(embedder, derived_copy):
    # derived_copy holds what the session's embedder (a process that may save) saved on load.
    assert sorted(p.suffix for p in derived_copy.glob("query-encoder-*")) == [".json", ".pt"]
    result = subprocess.run(
        [sys.executable, "-c", _NEXT_PROCESS, str(derived_copy)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["path"] == "saved" and not out["imported"]  # no sentence-transformers import
    want = embedder.encode(["my model got worse when the data changed", "drift"])
    assert np.allclose(out["vectors"], want, atol=1e-5)


def test_a_saved_encoder_that_disagrees_or_is_damaged_is_not_used(tmp_path):
    SentenceTransformerEmbedder(cache_dir=tmp_path).load()
    (meta,) = tmp_path.glob("query-encoder-*.json")
    (module,) = tmp_path.glob("query-encoder-*.pt")
    saved = json.loads(meta.read_text())
    wrong = json.loads(meta.read_text())
    wrong["vectors"][0][0][0] += 1e-3
    meta.write_text(json.dumps(wrong))
    emb = SentenceTransformerEmbedder(cache_dir=tmp_path)
    emb.encode(["drift"])
    assert emb.fast_path == "traced" and emb._st is not None  # the model itself was loaded
    assert json.loads(meta.read_text())["vectors"] == saved["vectors"]  # and saved again

    module.write_bytes(module.read_bytes()[: module.stat().st_size // 2])
    emb = SentenceTransformerEmbedder(cache_dir=tmp_path)
    emb.encode(["drift"])
    assert emb.fast_path == "traced" and emb._st is not None


def test_an_embedder_that_may_not_save_only_reads(tmp_path, embedder, course_derived):
    reader = SentenceTransformerEmbedder(cache_dir=tmp_path, save=False).load()
    assert reader.fast_path == "traced" and not list(tmp_path.iterdir())
    # What a process that may save leaves: the session's embedder saved it on load.
    for saved in course_derived.derived.glob("query-encoder-*"):
        shutil.copy2(saved, tmp_path / saved.name)
    reader = SentenceTransformerEmbedder(cache_dir=tmp_path, save=False)
    texts = [f"passage {i} about canary releases" for i in range(6)]
    assert np.allclose(reader.encode(texts[:1]), embedder.encode(texts[:1]), atol=1e-5)
    assert reader.fast_path == "saved" and reader._st is None
    # More texts than DIRECT_MAX go through the saved encoder too, in batches of similar
    # length, and give the model's vectors in the order asked, the padding masked.
    many = texts + [
        f"{'a much longer passage about blue-green deployments ' * n}{i}"
        for i, n in enumerate([1, 60, 3, 9, 0, 25] * 7)
    ]
    reader.batch = 8  # several batches, each padded to its longest text
    assert len(many) > 5 * reader.batch
    assert np.allclose(reader.encode(many), embedder.encode(many), atol=1e-5)
    assert reader._st is None and reader.encoded == 1 + len(many)
