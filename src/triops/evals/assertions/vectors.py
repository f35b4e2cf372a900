"""The unit vectors the semantic assertions compare, each text encoded once per run."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from triops.evals.providers import ProviderError


class Vectors:
    """Unit vectors of texts, each text encoded once per run (in batches).

    A text is looked up, in order, in this run's cache, in vectors a provider handed over
    (`seed`: the question it encoded, the sentences it quoted) and in `shared`, a cache the
    embedder's other users fill (Ask's sentence cache); only the rest is encoded. `prefetch`
    encodes everything one case's assertions will need in a single batch."""

    def __init__(self, embedder, shared: Callable[[str], np.ndarray | None] | None = None):
        self.embedder = embedder
        self.shared = shared
        self._cache: dict[str, np.ndarray] = {}

    def seed(self, vectors: Mapping[str, np.ndarray]) -> None:
        """Keep vectors that this run's embedder computed elsewhere (a provider's)."""
        for text, vector in vectors.items():
            self._cache.setdefault(text, np.asarray(vector, dtype=np.float32))

    def prefetch(self, texts: list[str]) -> None:
        """Encode every text not known yet, in one batch."""
        missing = []
        for text in dict.fromkeys(texts):
            if text in self._cache:
                continue
            found = self.shared(text) if self.shared is not None else None
            if found is not None:
                self._cache[text] = found
            else:
                missing.append(text)
        if missing:
            if self.embedder is None:
                raise ProviderError("this assertion needs an embedder, and the run has none")
            encoded = np.asarray(self.embedder.encode(missing), dtype=np.float32)
            self._cache.update(zip(missing, encoded, strict=True))

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.prefetch(texts)
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])
