"""The chunk store and the published index: round trips, the manifest, the atomic switch."""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from fakes import FakeEmbedder, corpus_folder

from index.build import BuildOptions, build_index, text_hash
from index.chunk import ChunkSettings, chunk_document
from index.corpus import discover
from index.load import load_document
from index.normalise import NORMALISER_VERSION
from index.store import (
    ChunkStore,
    ChunkTable,
    IndexManifest,
    current_index,
    publish,
    write_chunk_store,
)
from index.types import Chunk, Document, DocumentMeta

MANIFEST = """
[[documents]]
id = "business-zh-hant"
file = "zh-hant.txt"
title = "商湯集團業務"
script = "zh-Hant"
year = 2021
groups = ["staff", "board"]
parallel = "business-en"

[[documents]]
id = "business-zh-hans"
file = "zh-hans.txt"
title = "商汤集团业务"

[[documents]]
id = "business-en"
file = "en.txt"
title = "SenseTime Business"
title_en = "SenseTime Business"
company = "SenseTime Group Inc."
parallel = "business-zh-hant"
"""


@pytest.fixture
def corpus(tmp_path: Path, fixtures_dir: Path) -> Path:
    """A corpus folder holding the three script fixtures and a manifest."""
    return corpus_folder(tmp_path / "corpus", fixtures_dir, MANIFEST,
                         ("zh-hant.txt", "zh-hans.txt", "en.txt"))


def loaded(corpus: Path) -> list[tuple[Document, list[Chunk]]]:
    docs = [load_document(s.path, s.meta) for s in discover([corpus])]
    return [(doc, chunk_document(doc)) for doc in docs]


def build(corpus: Path, data: Path) -> Path:
    return build_index(discover([corpus]), data, FakeEmbedder()).index_dir  # type: ignore[arg-type]


# ---- the chunk store -----------------------------------------------------------------

def test_the_chunk_store_reads_back_the_chunks_it_wrote(tmp_path: Path, corpus: Path) -> None:
    written = loaded(corpus)
    chunks = [c for _, doc_chunks in written for c in doc_chunks]
    path = tmp_path / "chunks.sqlite"
    write_chunk_store(path, [(doc, text_hash(doc.text)) for doc, _ in written], chunks)
    store = ChunkStore(path)
    assert list(store.chunks) == chunks
    assert [c.sentences for c in store.chunks] == [c.sentences for c in chunks]
    assert len(store) == len(chunks)
    assert store.by_id == {c.chunk_id: row for row, c in enumerate(chunks)}
    assert store.hashes == {doc.doc_id: text_hash(doc.text) for doc, _ in written}


def test_the_chunk_table_reads_rows_on_demand_as_a_sequence(tmp_path: Path,
                                                            corpus: Path) -> None:
    written = loaded(corpus)
    chunks = [c for _, doc_chunks in written for c in doc_chunks]
    path = tmp_path / "chunks.sqlite"
    write_chunk_store(path, [(doc, text_hash(doc.text)) for doc, _ in written], chunks)
    table = ChunkStore(path).chunks
    assert [table[row] for row in range(len(table))] == chunks
    assert table[-1] == chunks[-1] and table[1:3] == chunks[1:3]
    assert table[np.int64(2)] == chunks[2]  # rows as numpy and FAISS give them
    assert table.many([3, 0, 3]) == [chunks[3], chunks[0], chunks[3]]
    assert table.texts("matching", [2, 0]) == [chunks[2].matching, chunks[0].matching]
    assert list(table.column("doc_id")) == [(row, c.doc_id) for row, c in enumerate(chunks)]
    with pytest.raises(IndexError):
        table[len(chunks)]
    with pytest.raises(ValueError, match="not a text column"):
        table.texts("row; DROP TABLE chunks", [0])


def test_the_chunk_table_keeps_a_bounded_cache(tmp_path: Path, corpus: Path) -> None:
    written = loaded(corpus)
    chunks = [c for _, doc_chunks in written for c in doc_chunks]
    path = tmp_path / "chunks.sqlite"
    write_chunk_store(path, [(doc, text_hash(doc.text)) for doc, _ in written], chunks)
    store = ChunkStore(path)
    small = ChunkTable(store._reader, len(chunks), cache=2)
    assert [small[r] for r in (0, 1, 2, 0)] == [chunks[0], chunks[1], chunks[2], chunks[0]]
    assert len(small._cache) == 2 and list(small._cache) == [2, 0]  # the least recent went


def test_the_chunk_store_holds_its_rows_columns_as_arrays(tmp_path: Path,
                                                          corpus: Path) -> None:
    written = loaded(corpus)
    chunks = [c for _, doc_chunks in written for c in doc_chunks]
    path = tmp_path / "chunks.sqlite"
    write_chunk_store(path, [(doc, text_hash(doc.text)) for doc, _ in written], chunks)
    columns = ChunkStore(path).columns
    assert [columns.doc_id(r) for r in range(len(chunks))] == [c.doc_id for c in chunks]
    assert columns.ordinal.tolist() == [c.ordinal for c in chunks]
    assert columns.units.tolist() == [len(c.units) for c in chunks]
    assert columns.of_scripts(("en",)).tolist() == [c.script == "en" for c in chunks]
    assert columns.of_documents({"business-en"}).tolist() == [
        c.doc_id == "business-en" for c in chunks]
    # codes order as the ids do, so ties order the same by either
    assert sorted(range(len(chunks)), key=lambda r: (columns.doc[r], columns.ordinal[r])) == (
        sorted(range(len(chunks)), key=lambda r: (chunks[r].doc_id, chunks[r].ordinal)))


def test_the_chunk_store_reads_safely_from_many_threads(tmp_path: Path, corpus: Path) -> None:
    written = loaded(corpus)
    chunks = [c for _, doc_chunks in written for c in doc_chunks]
    path = tmp_path / "chunks.sqlite"
    write_chunk_store(path, [(doc, text_hash(doc.text)) for doc, _ in written], chunks)
    store = ChunkStore(path)
    table = ChunkTable(store._reader, len(chunks), cache=3)  # mostly misses: SQLite reads

    def read(seed: int) -> bool:
        rows = [(seed * 7 + i * 5) % len(chunks) for i in range(300)]
        return all(table[r] == chunks[r] and store.by_id[chunks[r].chunk_id] == r
                   for r in rows) and table.many(rows[:40]) == [chunks[r] for r in rows[:40]]

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(read, range(16)))


def test_a_process_forked_after_the_store_opened_reads_with_its_own_connection(
        tmp_path: Path, corpus: Path) -> None:
    import os

    written = loaded(corpus)
    chunks = [c for _, doc_chunks in written for c in doc_chunks]
    path = tmp_path / "chunks.sqlite"
    write_chunk_store(path, [(doc, text_hash(doc.text)) for doc, _ in written], chunks)
    store = ChunkStore(path)
    table = ChunkTable(store._reader, len(chunks), cache=1)
    assert table[0] == chunks[0]
    parent = store._reader._connection()
    pid = os.fork()
    if pid == 0:  # the worker: reads through a connection of its own
        ok = store._reader._connection() is not parent and table[len(chunks) - 1] == chunks[-1]
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert store._reader._connection() is parent and table[1] == chunks[1]


def test_the_chunk_store_reads_back_the_documents_it_wrote(tmp_path: Path,
                                                           corpus: Path) -> None:
    written = loaded(corpus)
    path = tmp_path / "chunks.sqlite"
    write_chunk_store(path, [(doc, text_hash(doc.text)) for doc, _ in written], [])
    store = ChunkStore(path)
    assert list(store.chunks) == [] and len(store.chunks) == 0
    for doc, _ in written:
        back = store.documents[doc.doc_id]
        assert (back.text, back.source, back.script, back.page_starts) == (
            doc.text, doc.source, doc.script, doc.page_starts)
        meta = doc.meta
        assert (back.meta.title, back.meta.title_en, back.meta.company, back.meta.year,
                back.meta.parallel, back.meta.groups) == (
            meta.title, meta.title_en, meta.company, meta.year, meta.parallel, meta.groups)
    assert store.documents["business-zh-hant"].meta.groups == ("staff", "board")


def test_the_chunk_store_keeps_pdf_page_starts(tmp_path: Path) -> None:
    doc = Document(meta=DocumentMeta(doc_id="pdf", title="pdf"), source="a.pdf",
                   text="Page one.\n\nPage two.\n\n", script="en", page_starts=(0, 11))
    path = tmp_path / "chunks.sqlite"
    write_chunk_store(path, [(doc, text_hash(doc.text))], chunk_document(doc))
    assert ChunkStore(path).documents["pdf"].page_starts == (0, 11)


def test_the_chunk_store_refuses_to_overwrite_a_store(tmp_path: Path) -> None:
    path = tmp_path / "chunks.sqlite"
    write_chunk_store(path, [], [])
    with pytest.raises(ValueError, match="refusing to overwrite"):
        write_chunk_store(path, [], [])


def test_opening_a_missing_chunk_store_names_it(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="nothing.sqlite: no chunk store here"):
        ChunkStore(tmp_path / "nothing.sqlite")


# ---- building and publishing ---------------------------------------------------------

def test_a_build_publishes_the_index_as_a_link_to_its_folder(tmp_path: Path,
                                                             corpus: Path) -> None:
    data = tmp_path / "data"
    assert current_index(data) is None
    folder = build(corpus, data)
    link = data / "index"
    assert link.is_symlink()
    assert os.readlink(link) == os.path.join("builds", folder.name)
    assert current_index(data) == folder.resolve()
    assert folder.parent == data / "builds" and not folder.name.endswith(".partial")
    store = ChunkStore(link / "chunks.sqlite")
    assert list(store.chunks) == [c for _, chunks in loaded(corpus) for c in chunks]


def test_the_build_manifest_records_the_pipeline_and_document_hashes(tmp_path: Path,
                                                                     corpus: Path) -> None:
    folder = build(corpus, tmp_path / "data")
    manifest = IndexManifest.read(folder)
    assert manifest.build_id == folder.name
    assert manifest.normaliser_version == NORMALISER_VERSION
    assert manifest.chunker == ChunkSettings().describe()
    assert set(manifest.chunker) >= {"version", "target", "maximum", "minimum", "overlap_max"}
    assert manifest.documents == {
        doc.doc_id: hashlib.sha256(doc.text.encode("utf-8")).hexdigest()
        for doc, _ in loaded(corpus)}
    assert manifest.model == FakeEmbedder.model_id
    assert manifest.dimension == FakeEmbedder.dimension
    raw = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert raw["normaliser_version"] == NORMALISER_VERSION


def test_the_manifest_records_chunker_settings_given_to_the_build(tmp_path: Path,
                                                                  corpus: Path) -> None:
    options = BuildOptions(chunking=ChunkSettings(target=100, maximum=200))
    report = build_index(discover([corpus]), tmp_path / "data", FakeEmbedder(),  # type: ignore[arg-type]
                         options)
    chunker = IndexManifest.read(report.index_dir).chunker
    assert (chunker["target"], chunker["maximum"]) == (100, 200)


def test_a_second_build_replaces_the_link_and_the_first_stays_readable(
        tmp_path: Path, corpus: Path) -> None:
    data = tmp_path / "data"
    first = build(corpus, data)
    first_chunks = list(ChunkStore(first / "chunks.sqlite").chunks)
    en = corpus / "en.txt"
    en.write_text(en.read_text(encoding="utf-8").replace("22,000", "23,000"), encoding="utf-8")
    second = build(corpus, data)
    assert second != first
    assert current_index(data) == second.resolve()
    assert list(ChunkStore(first / "chunks.sqlite").chunks) == first_chunks  # readers still open it
    assert IndexManifest.read(first).documents["business-en"] != (
        IndexManifest.read(second).documents["business-en"])
    assert any("23,000" in c.text for c in ChunkStore(data / "index" / "chunks.sqlite").chunks)


def test_building_an_unchanged_corpus_keeps_the_current_index(tmp_path: Path,
                                                              corpus: Path) -> None:
    data = tmp_path / "data"
    first = build(corpus, data)
    report = build_index(discover([corpus]), data, FakeEmbedder())  # type: ignore[arg-type]
    assert report.up_to_date
    assert report.index_dir == current_index(data) == first.resolve()


def partial(data: Path, name: str) -> Path:
    folder = data / "builds" / f"{name}.partial"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text("{}", encoding="utf-8")
    return folder


def test_publishing_keeps_the_two_newest_builds(tmp_path: Path) -> None:
    data = tmp_path / "data"
    names = ["20240101T000000-aaaa", "20240101T000001-aaaa", "20240101T000002-aaaa"]
    for name in names:
        final = publish(partial(data, name), data)
        assert current_index(data) == final.resolve()
    assert sorted(p.name for p in (data / "builds").iterdir()) == names[1:]


def test_publishing_keeps_the_previous_build_made_in_the_same_second(tmp_path: Path) -> None:
    data = tmp_path / "data"
    names = ["20240101T000000-ffff", "20240101T000000-0000", "20240101T000000-8888"]
    for name in names:
        publish(partial(data, name), data)
    assert sorted(p.name for p in (data / "builds").iterdir()) == sorted(names[1:])
