"""The corpus manifest: which documents Wenda serves, and the errors a bad manifest gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.corpus import check_doc_id, discover, meta_from_name, read_manifest, slug
from index.load import load_document
from index.types import DocumentMeta

GOOD_ENTRY = """
[[documents]]
id = "{id}"
file = "{file}"
title = "商湯集團業務"
script = "zh-Hant"
"""


def write_corpus(folder: Path, *entries: str) -> Path:
    """A corpus folder with one fixture file and a manifest made of `entries`."""
    folder.mkdir(exist_ok=True)
    (folder / "business.txt").write_text("商湯集團是一家人工智能軟件公司。\n", encoding="utf-8")
    manifest = folder / "manifest.toml"
    manifest.write_text("\n".join(entries), encoding="utf-8")
    return manifest


def test_the_corpus_manifest_lists_five_documents_whose_files_exist(corpus_dir: Path) -> None:
    sources = read_manifest(corpus_dir / "manifest.toml")
    assert len(sources) == 5
    assert len({s.meta.doc_id for s in sources}) == 5
    for source in sources:
        assert source.path.is_file()
        assert source.path.parent == corpus_dir
        assert source.meta.title and source.meta.company and source.meta.year
        assert source.meta.script in ("zh-Hant", "zh-Hans", "en")


def test_parallel_documents_point_at_each_other(corpus_dir: Path) -> None:
    metas = {s.meta.doc_id: s.meta for s in read_manifest(corpus_dir / "manifest.toml")}
    pairs = {doc_id: meta.parallel for doc_id, meta in metas.items() if meta.parallel}
    assert pairs == {"sensetime-esg-2023-zh-hant": "sensetime-esg-2023-en",
                     "sensetime-esg-2023-en": "sensetime-esg-2023-zh-hant"}
    for doc_id, other in pairs.items():
        assert metas[other].parallel == doc_id
        assert metas[other].script != metas[doc_id].script


def test_the_manifest_script_of_every_corpus_document_matches_its_text(corpus_dir: Path) -> None:
    for source in read_manifest(corpus_dir / "manifest.toml"):
        unset = DocumentMeta(doc_id=source.meta.doc_id, title=source.meta.title)
        detected = load_document(source.path, unset).script
        assert detected == source.meta.script, source.meta.doc_id


def test_discover_reads_a_corpus_folder_through_its_manifest(corpus_dir: Path) -> None:
    assert [s.meta.doc_id for s in discover([corpus_dir])] == [
        s.meta.doc_id for s in read_manifest(corpus_dir / "manifest.toml")]


BAD_MANIFESTS = {
    "missing file": (GOOD_ENTRY.format(id="business", file="missing.txt"),
                     "file 'missing.txt' not found next to the manifest"),
    "bad id": (GOOD_ENTRY.format(id="Business Report!", file="business.txt"),
               "bad document id 'Business Report!'"),
    "missing id": ('[[documents]]\nfile = "business.txt"\ntitle = "x"\n',
                   "document 1: missing or empty 'id'"),
    "empty title": ('[[documents]]\nid = "a"\nfile = "business.txt"\ntitle = ""\n',
                    "document 1: missing or empty 'title'"),
    "unknown script": (GOOD_ENTRY.format(id="business", file="business.txt")
                       .replace("zh-Hant", "zh-TW"), "unknown script 'zh-TW'"),
    "year as text": (GOOD_ENTRY.format(id="business", file="business.txt") + 'year = "2023"\n',
                     "year must be a whole number, got '2023'"),
    "groups as text": (GOOD_ENTRY.format(id="business", file="business.txt")
                       + 'groups = "staff"\n', "groups must be a list of names"),
    "no documents": ('title = "nothing here"\n', "expected one or more \\[\\[documents\\]\\]"),
    "not toml": ("[[documents]\nid = ", "not valid TOML"),
}


@pytest.mark.parametrize("manifest, problem", BAD_MANIFESTS.values(), ids=BAD_MANIFESTS.keys())
def test_a_bad_manifest_raises_value_error_naming_the_problem(tmp_path: Path, manifest: str,
                                                              problem: str) -> None:
    write_corpus(tmp_path / "corpus", manifest)
    with pytest.raises(ValueError, match=problem):
        discover([tmp_path / "corpus"])


def test_a_second_entry_is_named_by_its_position(tmp_path: Path) -> None:
    manifest = write_corpus(tmp_path / "corpus", GOOD_ENTRY.format(id="a", file="business.txt"),
                            GOOD_ENTRY.format(id="b", file="gone.txt"))
    with pytest.raises(ValueError, match="manifest.toml: document 2: file 'gone.txt'"):
        read_manifest(manifest)


def test_a_duplicate_id_raises_value_error_naming_it(tmp_path: Path) -> None:
    write_corpus(tmp_path / "corpus", GOOD_ENTRY.format(id="business", file="business.txt"),
                 GOOD_ENTRY.format(id="business", file="business.txt"))
    with pytest.raises(ValueError, match="document ids appear more than once: business"):
        discover([tmp_path / "corpus"])


def test_the_same_id_in_two_folders_is_a_duplicate(tmp_path: Path) -> None:
    write_corpus(tmp_path / "one", GOOD_ENTRY.format(id="business", file="business.txt"))
    write_corpus(tmp_path / "two", GOOD_ENTRY.format(id="business", file="business.txt"))
    with pytest.raises(ValueError, match="more than once: business"):
        discover([tmp_path / "one", tmp_path / "two"])


def test_a_missing_path_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="nowhere: no such file or folder"):
        discover([tmp_path / "nowhere"])


def test_a_folder_without_a_manifest_gives_its_supported_files(tmp_path: Path) -> None:
    for name in ("Annual Report 2023.txt", "esg.md", "notes.docx", "logo.png"):
        (tmp_path / name).write_text("SenseTime\n", encoding="utf-8")
    sources = discover([tmp_path])
    assert [(s.path.name, s.meta.doc_id) for s in sources] == [
        ("Annual Report 2023.txt", "annual-report-2023"), ("esg.md", "esg"),
        ("notes.docx", "notes")]


def test_a_folder_without_documents_is_named(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(b"PNG")
    with pytest.raises(ValueError, match="no .txt, .md, .html, .htm, .pdf, .docx, .xlsx, .csv "
                                         "files"):
        discover([tmp_path])


@pytest.mark.parametrize("name, doc_id", [
    ("ESG Report (2023)", "esg-report-2023"), ("..hidden", "hidden"),
    ("annual_2023.v2", "annual_2023.v2"),
])
def test_ids_from_file_names_are_slugs(name: str, doc_id: str) -> None:
    assert slug(name) == doc_id
    assert meta_from_name(Path(f"{name}.txt")) == DocumentMeta(doc_id=doc_id, title=name)


def test_chinese_file_names_give_distinct_valid_ids(tmp_path: Path) -> None:
    names = ["商湯年報.txt", "智譜年報.txt", "商湯 2023 年報.txt", "智譜 2023 年報.txt"]
    for name in names:
        (tmp_path / name).write_text("年報\n", encoding="utf-8")
    ids = [s.meta.doc_id for s in discover([tmp_path])]
    assert len(set(ids)) == len(names)
    assert all(check_doc_id(doc_id) for doc_id in ids)
    assert slug("商湯 2023 年報") == "商湯-2023-年報"  # readable, as the file is named
    assert slug("レポート").startswith("doc-")  # nothing kept: a digest keeps names apart
