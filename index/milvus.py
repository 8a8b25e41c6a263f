"""The Milvus copy of a build: one collection per build, an alias on the published one.

What a collection holds, per passage (primary key: the chunk's row in the build):
- `sparse`: the passage's BM25 weight per keyword token, read from the build's bm25s
  matrix (bm25s stores idf * tf-part per token and row), keyed by a hash of the token.
  A query of token weights then scores by inner product exactly what bm25s adds up, so
  Milvus ranks as the embedded index does; the engine's own BM25 is not used (its
  analyzers are not jieba, and milvus-lite computes IDF per segment).
- `dense`: the passage's unit vector, HNSW with inner product.
- `passage_script`: the passage's own script, which keyword ranking is split by (a
  document's passage may be in another script than the document: a Chinese name table
  in an English report).
- the fields every filter and the access groups need, so they apply inside the engine's
  search expression (service/access.py `expression`): doc_id, script, year, period,
  doc_type, names (company and aliases, matching form), groups.

Publishing (`write_collection`, called by the build before its folder is published): the
collection is written and loaded under a new name, then the alias is switched to it in
one call; collections other than it and the previous one are dropped only then. A build
killed on the way leaves the alias on the previous collection; the build folder records
its collection in `milvus.json`, so a service searches the collection of the build it
loaded, never rows of another build.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.normalise import matching_form
from index.types import DocumentMeta

LINK = "milvus.json"  # in a build folder: the collection holding it and its term-hash salt
BATCH = 512  # passages per insert request
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200
NO_YEAR = -1  # year and period of a document that names none (never a filter's value)
# Milvus sparse indices are 0 .. 2**32 - 2: tokens hash below the last, which marks a
# passage without tokens (Milvus refuses an empty sparse vector; no query holds it).
_HASH_SPACE = 2**32 - 2
_NO_TOKENS = {_HASH_SPACE: 1e-30}
_MAX_SALT = 1000


class MilvusError(ValueError):
    """The Milvus server cannot be reached, or does not hold what a build needs."""


@dataclass(frozen=True)
class MilvusTarget:
    """Where builds are mirrored: the server's URI, its token, and the alias readers use
    (collections are named after it: <alias>_<build id>)."""

    uri: str
    token: str = ""
    alias: str = "wenda"

    def __repr__(self) -> str:  # the token never reaches a log
        return f"MilvusTarget(uri={self.uri!r}, alias={self.alias!r})"


@dataclass(frozen=True)
class MilvusLink:
    """What a build folder records of its collection."""

    collection: str
    alias: str
    salt: int  # term_hash salt: the smallest with no collision among the build's tokens
    rows: int

    def write(self, folder: Path) -> None:
        (folder / LINK).write_text(json.dumps(asdict(self)), encoding="utf-8")

    @classmethod
    def read(cls, folder: Path) -> MilvusLink | None:
        path = folder / LINK
        if not path.exists():
            return None
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as exc:
            raise MilvusError(f"build {folder.name}: unreadable {LINK} ({exc})") from exc


def connect(target: MilvusTarget) -> Any:
    """A client of the server at `target` (pymilvus is the optional extra `milvus`)."""
    try:
        from pymilvus import MilvusClient
    except ImportError as exc:  # pragma: no cover - the extra is part of dev
        raise MilvusError("the Milvus backend needs pymilvus: pip install 'wenda[milvus]'"
                          ) from exc
    try:
        return MilvusClient(uri=target.uri, token=target.token or "", timeout=30)
    except Exception as exc:  # pymilvus raises its own types for every connection failure
        raise MilvusError(f"cannot reach Milvus at {target.uri}: {type(exc).__name__}") from exc


def term_hash(token: str, salt: int) -> int:
    """A token's sparse dimension: stable across processes and machines (not Python's
    hash), the same at build and query time for the salt the build recorded."""
    digest = hashlib.blake2b(f"{salt}\0{token}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") % _HASH_SPACE


def collision_free_salt(tokens: list[str]) -> int:
    """The smallest salt under which no two of `tokens` share a dimension. Among 10^5
    tokens a 32-bit hash collides with probability ~0.7, and a collision would add one
    token's weights to another's; trying the next salt costs one more pass."""
    for salt in range(_MAX_SALT):
        if len({term_hash(t, salt) for t in tokens}) == len(tokens):
            return salt
    raise MilvusError(f"no collision-free term hash for {len(tokens)} tokens")


def collection_name(alias: str, build_id: str) -> str:
    """Milvus names take letters, digits and underscores only."""
    return re.sub(r"[^0-9A-Za-z_]", "_", f"{alias}_{build_id}")


def passage_weights(matrix: dict[str, np.ndarray], columns: np.ndarray, size: int
                    ) -> Iterator[dict[int, float]]:
    """Each row's {term hash: BM25 weight} from bm25s's token -> rows (CSC) matrix, where
    `columns[c]` is column c's hash (-1 for bm25s's "" placeholder of empty rows)."""
    data, rows, indptr = matrix["data"], matrix["indices"], matrix["indptr"]
    column_of = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    order = np.argsort(rows, kind="stable")
    starts = np.searchsorted(rows[order], np.arange(size + 1))
    for row in range(size):
        entries = order[starts[row]:starts[row + 1]]
        hashes = columns[column_of[entries]]
        weights = data[entries].astype(np.float32)
        yield {int(h): float(w) for h, w in zip(hashes, weights, strict=True)
               if h >= 0 and w > 0}


def _schema(client: Any, dimension: int) -> Any:
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False)
    schema.add_field("row", DataType.INT64, is_primary=True)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dimension)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=512)
    schema.add_field("script", DataType.VARCHAR, max_length=16)
    schema.add_field("passage_script", DataType.VARCHAR, max_length=16)
    schema.add_field("year", DataType.INT64)
    schema.add_field("period", DataType.INT64)
    schema.add_field("doc_type", DataType.VARCHAR, max_length=128)
    schema.add_field("names", DataType.ARRAY, element_type=DataType.VARCHAR,
                     max_capacity=64, max_length=512)
    schema.add_field("groups", DataType.ARRAY, element_type=DataType.VARCHAR,
                     max_capacity=64, max_length=256)
    return schema


def _index_params(client: Any) -> Any:
    params = client.prepare_index_params()
    params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    params.add_index("dense", index_type="HNSW", metric_type="IP",
                     params={"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION})
    return params


def document_fields(meta: DocumentMeta) -> dict[str, Any]:
    """The filter fields of a document's passages (what service/access.py `expression`
    tests, the same facts `Filters.admits` reads)."""
    names = sorted({matching_form(n) for n in (meta.company, *meta.aliases) if n})
    return {"doc_id": meta.doc_id, "script": meta.script or "", "doc_type": meta.doc_type,
            "year": NO_YEAR if meta.year is None else meta.year,
            "period": NO_YEAR if meta.period is None else meta.period,
            "names": names, "groups": sorted(meta.groups)}


def write_collection(build_dir: Path, target: MilvusTarget) -> MilvusLink:
    """Copy a finished (not yet published) build folder into a new collection, switch the
    alias to it, record it in the folder, and drop collections older than the previous."""
    from index.build import KEYWORD_DIR, VECTORS
    from index.keyword import KeywordIndex
    from index.store import ChunkStore, IndexManifest

    manifest = IndexManifest.read(build_dir)
    store = ChunkStore(build_dir / "chunks.sqlite")
    keyword = KeywordIndex.load(build_dir / KEYWORD_DIR)
    size = len(store)
    vectors = np.load(build_dir / VECTORS, mmap_mode="r")[:size]
    vocabulary = {t: c for t, c in keyword.vocabulary.items() if t}
    salt = collision_free_salt(sorted(vocabulary))
    columns = np.full(max(keyword.vocabulary.values(), default=-1) + 1, -1, dtype=np.int64)
    for token, column in vocabulary.items():
        columns[column] = term_hash(token, salt)
    matrix = keyword._model.scores  # type: ignore[attr-defined]

    client = connect(target)
    name = collection_name(target.alias, manifest.build_id)
    if client.has_collection(name):  # left by a killed build of the same id: never served
        client.drop_collection(name)
    client.create_collection(name, schema=_schema(client, manifest.dimension),
                             index_params=_index_params(client))
    fields = {doc_id: document_fields(doc.meta) for doc_id, doc in store.documents.items()}
    batch: list[dict[str, Any]] = []
    for row, weights in enumerate(passage_weights(matrix, columns, size)):
        chunk = store.chunks[row]
        batch.append({"row": row, "sparse": weights or _NO_TOKENS,
                      "dense": np.asarray(vectors[row], dtype=np.float32).tolist(),
                      "passage_script": chunk.script, **fields[chunk.doc_id]})
        if len(batch) == BATCH:
            client.insert(name, batch)
            batch = []
    if batch:
        client.insert(name, batch)
    client.flush(name)
    client.load_collection(name)
    link = MilvusLink(collection=name, alias=target.alias, salt=salt, rows=size)
    link.write(build_dir)  # before the alias: a published alias always has its folder's link
    previous = _alias_target(client, target.alias)
    if previous is None:
        client.create_alias(name, target.alias)
    else:
        client.alter_alias(name, target.alias)  # the switch: one call
    _prune(client, target.alias, keep={name, previous})
    return link


def _alias_target(client: Any, alias: str) -> str | None:
    if alias not in client.list_aliases().get("aliases", []):
        return None  # (describing a missing alias raises, and pymilvus logs it as an error)
    return str(client.describe_alias(alias)["collection_name"])


def alias_target(target: MilvusTarget) -> str | None:
    """The collection the alias names now, or None before the first build."""
    return _alias_target(connect(target), target.alias)


def _prune(client: Any, alias: str, keep: set[str | None]) -> None:
    prefix = collection_name(alias, "")
    for name in client.list_collections():
        if name.startswith(prefix) and name not in keep:
            client.drop_collection(name)
