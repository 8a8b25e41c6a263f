"""The vocabulary read from the BM25 matrix and the store's row arrays is the one the chunk
objects and a frozenset per row gave, on the whole bundled corpus."""

from __future__ import annotations

from collections import Counter

import pytest

from index.lexicon import Lexicon
from index.reader import LoadedIndex, open_index
from index.types import DEFAULT_MODEL
from service.config import Settings
from service.vocabulary import Vocabulary, language


@pytest.fixture(scope="module")
def index(full_corpus_settings: Settings) -> LoadedIndex:
    return open_index(full_corpus_settings.data_dir, DEFAULT_MODEL)


def sets_as_before(index: LoadedIndex) -> list[frozenset[str]]:
    """Each row's tokens the way they were read before: every token's postings walked
    into a Python set per row."""
    model = index.keyword._model
    indptr, rows = model.scores["indptr"], model.scores["indices"]
    tokens: list[list[str]] = [[] for _ in range(len(index.chunks))]
    for token, column in model.vocab_dict.items():
        if not token or column + 1 >= len(indptr):
            continue
        for row in rows[indptr[column]:indptr[column + 1]].tolist():
            tokens[row].append(token)
    return [frozenset(t) for t in tokens]


def test_token_sets_frequencies_and_words_are_those_of_the_sets_per_row(
        index: LoadedIndex) -> None:
    vocabulary = Vocabulary(index, Lexicon.from_lines([], {}))
    before = sets_as_before(index)
    assert len(vocabulary.row_tokens) == len(before) == len(index.chunks) > 1000
    assert [vocabulary.row_tokens[r] for r in range(len(before))] == before
    assert list(vocabulary.row_tokens) == before
    counts = Counter(t for tokens in before for t in tokens)
    assert dict(vocabulary.df) == dict(counts)
    assert all(vocabulary.df.get(t, 0) == n for t, n in counts.items())
    chunks = list(index.chunks)
    words: dict[str, set[str]] = {"en": set(), "zh": set()}
    for chunk, tokens in zip(chunks, before, strict=True):
        words[language(chunk.script)].update(tokens)
    assert vocabulary.words == words
    assert vocabulary.shared == {t for t in words["zh"] if t.isascii()}
    texts: dict[str, list[str]] = {}
    for chunk in chunks:
        texts.setdefault(chunk.doc_id, []).append(chunk.matching)
    assert vocabulary.texts == {d: "\n".join(parts) for d, parts in texts.items()}


def test_the_saved_token_rows_are_the_ones_the_matrix_gives(index: LoadedIndex) -> None:
    saved = index.keyword.row_tokens(len(index.chunks))
    made = type(index.keyword)(index.keyword._model).row_tokens(len(index.chunks))
    assert list(saved) == list(made)
