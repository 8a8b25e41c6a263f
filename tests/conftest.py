"""Where the tests find the vendored corpus and their own small fixture files."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The documents Wenda serves by default, with their manifest."""
    return TESTS.parent / "corpus"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """tests/data: a few paragraphs per script (zh-hant.txt, zh-hans.txt, en.txt)."""
    return TESTS / "data"


@pytest.fixture(scope="session")
def full_corpus_settings(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path):  # type: ignore[no-untyped-def]
    """Settings for an index of the whole bundled corpus, built once per test session with
    the real embedding model (about a minute on two cores)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from index.corpus import discover
    from service.config import Settings
    from service.engine import build, make_embedder

    settings = Settings(data_dir=tmp_path_factory.mktemp("full") / "data", corpus_dir=corpus_dir,
                        glossary=corpus_dir / "glossary.toml")
    build(settings, discover([corpus_dir]), make_embedder(settings))
    return settings


@pytest.fixture(scope="session")
def milvus_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Milvus server for the session: milvus-lite's gRPC server as a subprocess on a
    free loopback port (eval/milvus_server.py), stopped at the end."""
    from eval.milvus_server import lite_server

    with lite_server(tmp_path_factory.mktemp("milvus")) as uri:
        yield uri
