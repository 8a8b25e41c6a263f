"""Where the tests find the vendored corpus and their own small fixture files."""

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
