"""Small stand-ins shared by the fast tests (the real model is tested in its own files)."""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient


class FakeEmbedder:
    """Unit vectors from a hash of the text: no model to load, the same vector every run."""

    model_id = "test/hash-embedder"
    dimension = 8

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay  # seconds per batch, to keep a build busy in crash tests
        self.embedded = 0

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        time.sleep(self.delay)
        self.embedded += len(texts)
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[:32], dtype=np.uint8)
                [:self.dimension].astype(np.float32) + 1.0 for t in texts]
        vectors = np.array(rows, dtype=np.float32).reshape(len(texts), self.dimension)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.embed_passages(texts)

    def warm_up(self) -> None:
        return None


# The fixture reports of tests/data, as manifest entries: (id, file, title, script).
_FIXTURE_REPORTS = {
    "en": ("report-en", "en.txt", "Fixture Report", "en"),
    "zh-Hant": ("report-zh-hant", "zh-hant.txt", "測試年報", "zh-Hant"),
    "zh-Hans": ("report-zh-hans", "zh-hans.txt", "测试年报", "zh-Hans"),
}


def fixture_manifest(*scripts: str) -> str:
    """A corpus manifest for the fixture reports of `scripts`, in that order."""
    return "".join(
        f'\n[[documents]]\nid = "{i}"\nfile = "{f}"\ntitle = "{t}"\n'
        f'company = "SenseTime Group Inc."\nyear = 2021\nscript = "{s}"\n'
        for i, f, t, s in (_FIXTURE_REPORTS[x] for x in scripts))


def corpus_folder(folder: Path, fixtures: Path, manifest: str, copied: tuple[str, ...],
                  written: dict[str, str] | None = None) -> Path:
    """A corpus folder: fixture files copied from tests/data, others written, a manifest."""
    folder.mkdir(parents=True)
    for name in copied:
        shutil.copy(fixtures / name, folder / name)
    for name, text in (written or {}).items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "manifest.toml").write_text(manifest, encoding="utf-8")
    return folder


def api_client(app: Any, raise_server_exceptions: bool = True) -> TestClient:
    """A TestClient that calls as a local user does: Host 127.0.0.1, the name a server on
    loopback answers to (service/api/guards.py refuses others)."""
    return TestClient(app, base_url="http://127.0.0.1",
                      raise_server_exceptions=raise_server_exceptions)
