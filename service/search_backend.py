"""Where passages are ranked: the retriever's two rankings and its passage fetching.

`SearchBackend` is what service/retrieve.py asks for (keyword ranking in one document
language, dense ranking, the passage of a row); fusion, coverage, phrases, named-company
scaling and parallel editions stay in the retriever, on top of these candidates, for every
backend. Two implementations, chosen by WENDA_BACKEND:
- `EmbeddedBackend` (default): bm25s and FAISS of the loaded build, in the process.
- `MilvusBackend`: the same rankings by the Milvus server holding the build's collection
  (index/milvus.py): BM25 as the inner product of bm25s's own weights, dense by HNSW,
  filters and access groups inside the engine's search expression.
Both rank the rows of one build and order ties as the embedded index does (BM25: the
lower row first, as its stable sort; dense: the higher row first, as FAISS's heaps), so
both give the same ranking.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from index.dense import HNSW_EF_SEARCH, search_dense
from index.milvus import MilvusError, MilvusLink, MilvusTarget, connect, term_hash
from index.reader import IndexMismatchError, LoadedIndex
from index.types import SCRIPTS, Chunk
from service.access import Filters, expression
from service.config import Settings
from service.vocabulary import language

Ranking = list[tuple[int, float]]  # (row, score), best first
# Extra candidates asked of Milvus beyond those kept: scores tied at the cut are then
# ordered by row here, as the embedded ranking orders them, not by the engine's heap.
TIE_MARGIN = 32
MAX_EF = 32_768  # HNSW candidates of the most restricted dense search


@dataclass(frozen=True)
class Allowed:
    """The allowed-set of one search: documents the filters admit, and a mask of their rows;
    `filters` is what admitted them (what an engine applies in its own search)."""

    doc_ids: frozenset[str]
    rows: np.ndarray = field(compare=False)
    filters: Filters | None = None


class SearchBackend(Protocol):
    def keyword(self, tokens: Mapping[str, float], lang: str, k: int,
                allowed: Allowed | None) -> Ranking:
        """BM25 of weighted query tokens over passages of one language ("en", "zh"):
        the top `k` rows that score, best first, only among `allowed` rows."""
        ...

    def dense(self, vector: np.ndarray, k: int, allowed: Allowed | None) -> Ranking:
        """The top `k` rows by inner product with a unit query vector, among `allowed`."""
        ...

    def passage(self, row: int) -> Chunk:
        """The passage of a ranked row."""
        ...


class EmbeddedBackend:
    """bm25s and FAISS over the loaded build (the ranking code the retriever had)."""

    def __init__(self, index: LoadedIndex) -> None:
        self.index = index
        english = index.columns.of_scripts(("en",))  # language(script), for every row
        self._language_mask = {"en": english, "zh": ~english}

    def keyword(self, tokens: Mapping[str, float], lang: str, k: int,
                allowed: Allowed | None) -> Ranking:
        mask = self._language_mask[lang] if allowed is None else (
            self._language_mask[lang] & allowed.rows)
        scores = self.index.keyword.scores(dict(tokens), len(self.index.chunks), mask)
        # only rows that score rank: sorting them alone (stable, rows ascending) orders
        # them as sorting every row would, without sorting the whole corpus
        scored = np.flatnonzero(scores > 0)
        top = scored[np.argsort(-scores[scored], kind="stable")[:k]]
        return [(int(r), float(scores[r])) for r in top]

    def dense(self, vector: np.ndarray, k: int, allowed: Allowed | None) -> Ranking:
        rows = np.flatnonzero(allowed.rows) if allowed is not None else None
        scores, ids = search_dense(self.index.dense, vector, k, rows)
        return [(int(i), float(s)) for s, i in zip(scores, ids, strict=True)]

    def passage(self, row: int) -> Chunk:
        return self.index.chunks[row]


class MilvusBackend:
    """The rankings by a Milvus server, over the collection the loaded build records.

    Query tokens the build does not know are dropped first (bm25s ignores them too), so
    no unknown token can share a dimension with a known one: the build's salt keeps the
    known ones apart. Passages come from the loaded build's chunk store.
    """

    def __init__(self, index: LoadedIndex, client: Any, link: MilvusLink) -> None:
        self.index, self.client, self.link = index, client, link
        self._known = index.keyword.vocabulary
        self._scripts = {lang: [s for s in SCRIPTS if language(s) == lang]
                         for lang in ("en", "zh")}

    def keyword(self, tokens: Mapping[str, float], lang: str, k: int,
                allowed: Allowed | None) -> Ranking:
        query = {term_hash(t, self.link.salt): float(w) for t, w in tokens.items()
                 if w > 0 and t in self._known}
        if not query or k <= 0:
            return []
        scripts = ", ".join(f'"{s}"' for s in self._scripts[lang])
        hits = self._search("sparse", query, k + TIE_MARGIN, f"passage_script in [{scripts}]",
                            allowed, {"metric_type": "IP"})
        # bm25s sums float32 weights; the scores are compared as float32 as there
        hits = [(row, float(np.float32(score))) for row, score in hits if score > 0]
        return sorted(hits, key=lambda h: (-h[1], h[0]))[:k]

    def dense(self, vector: np.ndarray, k: int, allowed: Allowed | None) -> Ranking:
        if k <= 0:
            return []
        # HNSW restricted to a share of the passages explores that many times more
        # candidates, so it reaches as many admitted ones as an unrestricted search (a
        # filter admitting 12% of the bundled corpus: recall@50 0.68 at ef 64, 0.997 at
        # 512, 1.0 at 2048); ef beyond the collection's size is an exhaustive search.
        share = float(np.mean(allowed.rows)) if allowed is not None and len(allowed.rows) else 1
        ef = min(MAX_EF, math.ceil(max(HNSW_EF_SEARCH, k) / max(share, 1e-9)))
        params = {"metric_type": "IP", "params": {"ef": ef}}
        hits = self._search("dense", np.asarray(vector, dtype=np.float32).tolist(),
                            k + TIE_MARGIN, "", allowed, params)
        # FAISS orders equal scores the higher id first (its heaps compare ids on ties):
        # identical passages (a table repeated in a report) rank as in the embedded index
        return sorted(hits, key=lambda h: (-h[1], -h[0]))[:k]

    def passage(self, row: int) -> Chunk:
        return self.index.chunks[row]

    def _search(self, field_name: str, data: Any, limit: int, where: str,
                allowed: Allowed | None, params: dict[str, Any]) -> Ranking:
        if allowed is not None and not allowed.rows.any():
            return []  # nothing admitted: no need to ask
        filters = allowed.filters if allowed is not None else None
        if allowed is not None and filters is None:  # rows only: no expression to give
            raise ValueError("the Milvus backend filters by Filters, not by rows")
        parts = [p for p in (where, expression(filters) if filters else "") if p]
        result = self.client.search(
            self.link.collection, data=[data], anns_field=field_name, limit=limit,
            filter=" and ".join(f"({p})" for p in parts), search_params=params,
            output_fields=["row"])
        return [(int(hit["row"]), float(hit["distance"])) for hit in result[0]]


def milvus_target(settings: Settings) -> MilvusTarget:
    return MilvusTarget(settings.milvus_uri, settings.milvus_token, settings.milvus_alias)


def make_backend(settings: Settings, index: LoadedIndex) -> SearchBackend:
    """The backend the settings name, over `index`; raises IndexMismatchError when the
    Milvus backend is chosen and the build has no collection there."""
    if settings.backend == "embedded":
        return EmbeddedBackend(index)
    link = MilvusLink.read(index.folder)
    if link is None:
        raise IndexMismatchError(f"build {index.folder.name} was not written to Milvus: "
                                 "rebuild it with `wenda index` and WENDA_BACKEND=milvus")
    client = connect(milvus_target(settings))
    try:
        present = client.has_collection(link.collection)
        if present:
            client.load_collection(link.collection)
    except Exception as exc:  # pymilvus raises MilvusException for a server it cannot use
        raise MilvusError(f"Milvus at {settings.milvus_uri}: {type(exc).__name__}") from exc
    if not present:
        raise IndexMismatchError(f"build {index.folder.name}: its Milvus collection "
                                 f"{link.collection} is gone; rebuild with `wenda index`")
    return MilvusBackend(index, client, link)
