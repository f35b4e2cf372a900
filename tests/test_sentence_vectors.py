"""Ask's sentence vectors kept between processes (triops.search.ask `persisted_sentences`): an
eval lab's child or a task's grading starts from the vectors earlier runs encoded, so it does not
load the whole model to encode them again."""

from __future__ import annotations

import numpy as np

from triops.search.ask import _SentenceCache, persisted_sentences, sentence_cache, sentence_file
from triops.search.embedder import HashingEmbedder, SentenceTransformerEmbedder, _saved_files

TEXTS = ["A canary release sends a small share of traffic first.", "Drift: PSI ≥ 0.25 — act.", ""]


def filled(model: str = "m", texts=TEXTS, size: int = 16) -> _SentenceCache:
    cache = _SentenceCache(size)
    rng = np.random.default_rng(0)
    for text in texts:
        cache.put((model, text), rng.standard_normal(8).astype(np.float32))
    return cache


def test_what_one_process_saves_the_next_reads_exactly(tmp_path):
    path = tmp_path / "derived" / "sentence-vectors-k.npz"
    first = filled()
    first.put(("other-model", "not this model's"), np.ones(8, np.float32))
    assert first.save(path, "m")
    later = _SentenceCache(16)
    assert later.load(path, "m") == len(TEXTS)  # the other model's vector stays behind
    for text in TEXTS:
        assert np.array_equal(later.get(("m", text)), first.get(("m", text)))
    assert later.get(("other-model", "not this model's")) is None
    assert later.get(("m2", TEXTS[0])) is None  # read for the model named, not any model
    assert not later.save(path, "m")  # nothing added since: the file is not rewritten


def test_a_save_adds_to_what_was_read_and_stays_within_the_bound(tmp_path):
    path = tmp_path / "v.npz"
    filled(texts=["a", "b", "c"]).save(path, "m")
    cache = _SentenceCache(3)
    cache.load(path, "m")
    cache.put(("m", "d"), np.zeros(8, np.float32))
    assert cache.save(path, "m")
    again = _SentenceCache(8)
    assert again.load(path, "m") == 3
    assert again.get(("m", "a")) is None and again.get(("m", "d")) is not None


def test_a_damaged_or_foreign_file_is_ignored(tmp_path):
    path = tmp_path / "v.npz"
    filled().save(path, "m")
    data = path.read_bytes()
    cases = {
        "truncated": data[: len(data) // 2],
        "not a zip": b"not vectors",
        "empty": b"",
    }
    for name, content in cases.items():
        path.write_bytes(content)
        cache = _SentenceCache(8)
        assert cache.load(path, "m") == 0, name
        assert len(cache) == 0, name
    np.savez(
        path,
        texts=np.zeros(3, np.uint8),
        ends=np.array([5], np.int64),
        vectors=np.zeros((1, 8), np.float32),
    )
    assert _SentenceCache(8).load(path, "m") == 0  # offsets past the text
    np.savez(
        path,
        texts=np.frombuffer(b"\xff\xfe", np.uint8),
        ends=np.array([2], np.int64),
        vectors=np.zeros((1, 8), np.float32),
    )
    assert _SentenceCache(8).load(path, "m") == 0  # not UTF-8
    assert _SentenceCache(8).load(tmp_path / "missing.npz", "m") == 0


def test_only_the_packaged_model_keeps_vectors_and_under_a_key_of_its_weights(tmp_path):
    assert sentence_file(HashingEmbedder()) is None
    assert sentence_file(SentenceTransformerEmbedder(str(tmp_path), cache_dir=tmp_path)) is None
    assert sentence_file(SentenceTransformerEmbedder(cache_dir=None)) is None
    packaged = SentenceTransformerEmbedder(cache_dir=tmp_path)  # not loaded: the key needs no model
    path = sentence_file(packaged)
    assert path is not None and path.parent == tmp_path
    assert path.name == f"sentence-vectors-{packaged.vectors_key()}.npz"
    # The same key as the saved query encoder's: the weights' sha256 and the libraries' versions.
    assert _saved_files(tmp_path)[0].name == f"query-encoder-{packaged.vectors_key()}.pt"


def test_persisted_sentences_reads_before_and_stores_after_the_block(tmp_path):
    class Packaged:
        model_id = "packaged-test"
        cache_dir = tmp_path

        def vectors_key(self):
            return "k1"

    embedder = Packaged()
    path = tmp_path / "sentence-vectors-k1.npz"
    filled(model="packaged-test").save(path, "packaged-test")
    sentence_cache.clear()
    try:
        with persisted_sentences(embedder):
            assert sentence_cache.get(("packaged-test", TEXTS[0])) is not None
            sentence_cache.put(("packaged-test", "new in this run"), np.ones(8, np.float32))
        later = _SentenceCache(16)
        assert later.load(path, "packaged-test") == len(TEXTS) + 1
        assert np.array_equal(later.get(("packaged-test", "new in this run")), np.ones(8))
    finally:
        sentence_cache.clear()
