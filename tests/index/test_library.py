"""The documents store: what the corpus is made of, and that nothing stored is lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.corpus import meta_from_name
from index.library import Library
from service.access import Access
from service.api.auth import parse_api_keys


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (first / "alpha.txt").write_text("Alpha report text.", encoding="utf-8")
    (first / "beta.txt").write_text("Beta report text.", encoding="utf-8")
    (second / "beta.txt").write_text("Beta, the new edition.", encoding="utf-8")
    return first, second


def _ids(library: Library, default: list[Path]) -> dict[str, tuple[str, str]]:
    return {e.source.meta.doc_id: (e.origin, e.source.path.read_text(encoding="utf-8"))
            for e in library.corpus(default)}


def test_the_corpus_is_the_base_less_removals_plus_uploads(tmp_path: Path,
                                                           folders: tuple[Path, Path]) -> None:
    first, _ = folders
    library = Library(tmp_path / "data")
    assert set(_ids(library, [first])) == {"alpha", "beta"}  # nothing stored: the default
    library.add("gamma.txt", b"Gamma text.", meta_from_name(Path("gamma.txt")))
    library.add("beta.txt", b"Beta, uploaded.", meta_from_name(Path("beta.txt")))
    library.remove("alpha", in_base=True)
    assert _ids(library, [first]) == {"beta": ("upload", "Beta, uploaded."),
                                      "gamma": ("upload", "Gamma text.")}
    library.remove("beta", in_base=True)  # the upload goes, and the base document with it
    assert set(_ids(library, [first])) == {"gamma"}
    library.add("alpha.txt", b"Alpha again.", meta_from_name(Path("alpha.txt")))
    assert _ids(library, [first])["alpha"] == ("upload", "Alpha again.")  # removal undone


def test_a_later_folder_updates_and_replace_starts_over(tmp_path: Path,
                                                        folders: tuple[Path, Path]) -> None:
    first, second = folders
    library = Library(tmp_path / "data")
    library.set_base([first], replace=False)
    library.add("beta.txt", b"Beta, uploaded.", meta_from_name(Path("beta.txt")))
    library.add_base([second])  # its beta replaces the upload of that id
    assert _ids(library, [])["beta"] == ("base", "Beta, the new edition.")
    assert library.uploads() == [] and library.orphans() == []
    library.add("gamma.txt", b"Gamma text.", meta_from_name(Path("gamma.txt")))
    library.set_base([first], replace=True)
    assert _ids(library, []) == {"alpha": ("base", "Alpha report text."),
                                 "beta": ("base", "Beta report text.")}


def test_an_original_is_stored_whole_before_it_is_named(tmp_path: Path) -> None:
    library = Library(tmp_path / "data")
    upload = library.add("r.txt", b"Report.", meta_from_name(Path("r.txt")))
    assert upload.path.read_bytes() == b"Report." and upload.path.parent == library.files
    assert not list(library.files.glob(".upload-*"))  # no temporary file left
    # a crash between writing a file and committing its row leaves an unnamed file, which
    # is listed and never served
    (library.files / ("0" * 64)).write_bytes(b"half an upload")
    assert library.orphans() == [library.files / ("0" * 64)]
    assert [u.doc_id for u in library.uploads()] == ["r"]


def test_the_same_bytes_under_two_ids_share_one_file_until_both_go(tmp_path: Path) -> None:
    library = Library(tmp_path / "data")
    a = library.add("a.txt", b"Same.", meta_from_name(Path("a.txt")))
    b = library.add("b.txt", b"Same.", meta_from_name(Path("b.txt")))
    assert a.path == b.path
    library.remove("a", in_base=False)
    assert b.path.exists()
    library.remove("b", in_base=False)
    assert not b.path.exists()


def test_a_key_may_carry_the_write_permission() -> None:
    ring = parse_api_keys("r:*;w:*:write;f:finance:write;p:")
    assert [access for _, access in ring.keys] == [
        Access(None), Access(None, write=True), Access(frozenset({"finance"}), write=True),
        Access(frozenset())]
    with pytest.raises(ValueError, match="entry 1 .*:write"):
        parse_api_keys("k:*:delete")


def test_a_company_filter_takes_any_alias_and_a_fiscal_year_the_year_reported() -> None:
    from index.types import DocumentMeta
    from service.access import Filters

    results = DocumentMeta(doc_id="r", title="商湯集團截至2023年12月31日止年度之年度業績公告",
                           company="SenseTime Group Inc.", aliases=("SenseTime", "商湯"),
                           year=2024)
    assert results.period == 2023  # filed in 2024, about 2023
    for name in ("SenseTime", "sensetime", "商汤", "SenseTime Group Inc."):
        assert Filters(companies=frozenset({name})).admits(results), name
    assert not Filters(companies=frozenset({"Zhipu"})).admits(results)
    assert Filters(fiscal_years=frozenset({2023})).admits(results)
    assert not Filters(fiscal_years=frozenset({2024})).admits(results)
    assert Filters(years=frozenset({2024})).admits(results)  # the year of publication


def test_a_change_whose_build_never_finished_is_seen(tmp_path: Path) -> None:
    library = Library(tmp_path / "data")
    assert (library.generation(), library.built()) == (0, 0)
    library.add("a.txt", b"A.", meta_from_name(Path("a.txt")))
    library.remove("a", in_base=False)
    assert library.generation() == 2 and library.built() == 0  # behind: build at start-up
    library.mark_built(2)
    library.mark_built(1)  # a slower, older build finishing later does not step back
    assert library.built() == library.generation() == 2

