"""The vectors the course index build keeps between test runs (tests/conftest.py StoredVectors):
a text seen before is not encoded again; a changed text, another model, or a model that now
gives other vectors under the same id is encoded by the model; a damaged file is rebuilt."""

from __future__ import annotations

import numpy as np

from conftest import StoredVectors
from triops.search.embedder import HashingEmbedder

TEXTS = ["Canary releases shift traffic step by step.", "PSI above 0.2 means drift.", "ci"]


def stored_once(folder, model=None) -> StoredVectors:
    first = StoredVectors(model or HashingEmbedder(), folder)
    first.encode(TEXTS)
    first.save()
    return first


def test_a_text_seen_in_an_earlier_run_is_not_encoded_again(tmp_path):
    first = stored_once(tmp_path)
    assert (first.encoded, first.computed) == (3, 3)

    model = HashingEmbedder()
    again = StoredVectors(model, tmp_path)
    vectors = again.encode(TEXTS + [TEXTS[0]])
    assert again.computed == 0 and again.encoded == 4
    # the model encoded only the probe that checks the stored file, nothing asked for
    assert model.encoded == len(StoredVectors.PROBE)
    assert np.allclose(vectors, model.encode(TEXTS + [TEXTS[0]]))


def test_a_changed_text_is_encoded_by_the_model(tmp_path):
    stored_once(tmp_path)
    model = HashingEmbedder()
    again = StoredVectors(model, tmp_path)
    changed = TEXTS[1].replace("0.2", "0.25")
    vectors = again.encode([TEXTS[0], changed])
    assert again.computed == 1
    assert np.allclose(vectors[1], model.encode([changed])[0])
    assert not np.allclose(vectors[1], model.encode([TEXTS[1]])[0])


def test_another_model_finds_nothing_stored(tmp_path):
    stored_once(tmp_path)
    other = StoredVectors(HashingEmbedder(dim=32), tmp_path)  # another model id
    assert other.encode(TEXTS).shape == (3, 32) and other.computed == 3


class Skewed(HashingEmbedder):
    """The same model id giving other vectors (as a changed library could)."""

    def encode(self, texts):
        vectors = super().encode(texts)
        vectors[:, 0] += 0.01
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_a_model_that_now_gives_other_vectors_under_the_same_id_finds_nothing(tmp_path):
    stored_once(tmp_path)
    skewed = Skewed()
    again = StoredVectors(skewed, tmp_path)
    assert np.allclose(again.encode(TEXTS), skewed.encode(TEXTS)) and again.computed == 3


def test_a_damaged_file_is_encoded_again_and_rewritten(tmp_path):
    first = stored_once(tmp_path)
    first.path.write_bytes(first.path.read_bytes()[:100])
    again = StoredVectors(HashingEmbedder(), tmp_path)
    again.encode(TEXTS)
    assert again.computed == 3
    again.save()
    assert StoredVectors(HashingEmbedder(), tmp_path).known.keys() == again.used.keys()


def test_the_file_keeps_only_the_texts_of_the_last_run(tmp_path):
    stored_once(tmp_path)
    later = StoredVectors(HashingEmbedder(), tmp_path)
    later.encode(TEXTS[:1])
    later.save()
    kept = StoredVectors(HashingEmbedder(), tmp_path).known
    assert set(kept) == {StoredVectors.digest(TEXTS[0])}


def test_without_a_folder_nothing_is_kept(tmp_path):
    bare = StoredVectors(HashingEmbedder(), None)
    bare.encode(TEXTS)
    bare.save()
    assert bare.computed == 3 and not list(tmp_path.iterdir())
