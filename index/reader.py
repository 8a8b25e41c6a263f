"""Opening a published build for search, refusing one built by a different pipeline."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from index.build import KEYWORD_DIR, KEYWORD_WORDS, PARALLEL, VECTORS
from index.chunk import ChunkSettings
from index.dense import load_dense
from index.keyword import TOKENIZER_VERSION, KeywordIndex, KeywordTokenizer, read_words
from index.normalise import NORMALISER_VERSION
from index.store import ChunkStore, ChunkTable, IndexManifest, RowColumns, current_index
from index.types import model_revision


class IndexMismatchError(ValueError):
    """The index on disk was built by another model or pipeline version, or is damaged."""


class IndexMissingError(ValueError):
    """No index has been built in the data folder yet."""


@dataclass
class LoadedIndex:
    folder: Path
    manifest: IndexManifest
    store: ChunkStore
    dense: faiss.Index
    keyword: KeywordIndex
    tokenizer: KeywordTokenizer
    parallel: dict[int, list[tuple[int, float]]]  # row -> aligned rows in the other edition
    unit_vectors: np.ndarray  # one unit vector per unit, chunks in row order
    unit_offsets: np.ndarray  # the row of each chunk's first unit in unit_vectors

    @property
    def chunks(self) -> ChunkTable:
        """Chunks by row, read from the store on demand (a sequence, not a list)."""
        return self.store.chunks

    @property
    def columns(self) -> RowColumns:
        """The per-row arrays (document, ordinal, script) queries filter and order by."""
        return self.store.columns

    def mask(self, allowed_rows: np.ndarray | None) -> np.ndarray | None:
        if allowed_rows is None:
            return None
        mask = np.zeros(len(self.store), dtype=bool)
        mask[allowed_rows] = True
        return mask


def open_index(data_dir: Path, model_id: str) -> LoadedIndex:
    """Load the current build in `data_dir`, checking it fits this pipeline and model."""
    folder = current_index(data_dir)
    if folder is None:
        raise IndexMissingError("no index has been built in the data folder yet: build one with "
                                "`wenda index` first")
    try:
        return _open(folder, model_id)
    except IndexMismatchError:
        raise
    except ValueError as exc:  # a damaged build: unreadable manifest, store or index files
        raise IndexMismatchError(f"build {folder.name} cannot be read: "
                                 f"{str(exc).replace(str(folder) + '/', '')}") from exc


def _open(folder: Path, model_id: str) -> LoadedIndex:
    manifest = IndexManifest.read(folder)
    check_manifest(manifest, model_id)
    tokenizer = KeywordTokenizer(read_words(folder / KEYWORD_DIR / KEYWORD_WORDS))
    tokenizer.warm_up()
    store = ChunkStore(folder / "chunks.sqlite")
    dense = load_dense(folder)
    if dense.ntotal != len(store) or dense.d != manifest.dimension:
        raise IndexMismatchError(
            f"build {folder.name}: dense index holds {dense.ntotal} vectors of size {dense.d}, "
            f"the chunk store {len(store)} chunks and the manifest size {manifest.dimension}")
    offsets = np.concatenate([[0], np.cumsum(store.columns.units, dtype=np.int64)])
    vectors = np.load(folder / VECTORS, mmap_mode="r")
    if len(vectors) != len(store) + offsets[-1]:
        raise IndexMismatchError(f"build {folder.name}: {len(vectors)} vectors for "
                                 f"{len(store)} chunks and {offsets[-1]} units")
    return LoadedIndex(folder, manifest, store, dense, KeywordIndex.load(folder / KEYWORD_DIR),
                       tokenizer, _parallel(folder / PARALLEL), vectors[len(store):],
                       offsets[:-1])


def _parallel(path: Path) -> dict[int, list[tuple[int, float]]]:
    links: dict[int, list[tuple[int, float]]] = {}
    if path.exists():
        for a, b, similarity in json.loads(path.read_text(encoding="utf-8")):
            links.setdefault(int(a), []).append((int(b), float(similarity)))
    return links


def check_manifest(manifest: IndexManifest, model_id: str) -> None:
    problems = []
    if manifest.model != model_id:
        problems.append(f"it was built with model {manifest.model!r}, "
                        f"the service is set to {model_id!r}")
    elif manifest.extra.get("model_revision", "") != (revision := model_revision(model_id)):
        problems.append(f"it was built with the weights of {manifest.extra.get('model_revision')}"
                        f", the service has {revision or 'no known revision'}")
    if manifest.normaliser_version != NORMALISER_VERSION:
        problems.append(f"normaliser version {manifest.normaliser_version} "
                        f"is not this code's {NORMALISER_VERSION}")
    if manifest.extra.get("tokenizer") != TOKENIZER_VERSION:
        problems.append(f"keyword tokenizer version {manifest.extra.get('tokenizer')} "
                        f"is not {TOKENIZER_VERSION}")
    wanted = ChunkSettings().describe()["version"]
    if manifest.chunker.get("version") != wanted:
        problems.append(f"chunker version {manifest.chunker.get('version')} is not {wanted}")
    if problems:
        raise IndexMismatchError(
            f"refusing the index {manifest.build_id}: " + "; ".join(problems)
            + ". Rebuild it with `wenda index`.")
