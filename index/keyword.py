"""The keyword index: BM25 (bm25s) over jieba tokens of the matching form."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np

from index.rows import RowCache, checked_row
from index.script import is_cjk

TOKENIZER_VERSION = "3"  # bump when tokens change: the index must be rebuilt

# Function words that carry no topic; the matching form is Simplified, so these are too.
_STOP_ZH = set("""的 了 和 与 及 或 是 在 为 于 对 由 将 把 被 之 其 等 也 并 而 个 中 上 下 有 我们
什么 多少 哪些 哪个 哪 吗 呢 啊 吧 是否 怎么 如何 几 请问 请 告诉 一下 这 那 该 哪一年 哪年 何时
什么时候 时候 谁 是谁""".split())
_STOP_EN = set("""a an the of to in on at for from by with and or as is are was were be been
being do does did what which who whom whose when where how many much it its this that these
those their there they them his her he she we our you your i me my not no than then so such
can could would should will shall may might has have had about into over under per any all
each please tell give show list according report company group s""".split())
_LATIN = re.compile(r"[a-z0-9]+(?:[.][0-9]+)?%?|[a-z0-9]+")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")


def stem(word: str) -> str:
    """A light English stemmer, the same for documents and queries (plural forms only)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


class KeywordTokenizer:
    """jieba search-mode segmentation for Chinese, words and numbers for the rest."""

    def __init__(self, extra_words: Iterable[str] = ()) -> None:
        self.extra_words = sorted(set(extra_words))
        self._jieba: Any = None  # jieba.Tokenizer, untyped

    def warm_up(self) -> None:
        import jieba

        # jieba's default dictionary is read once per process, by jieba.dt (which
        # jieba.posseg cuts with too): reading it takes ~0.7 s. This tokenizer starts from a
        # copy of it, so the extra words stay its own.
        jieba.dt.check_initialized()
        tokenizer = jieba.Tokenizer()
        tokenizer.FREQ, tokenizer.total = dict(jieba.dt.FREQ), jieba.dt.total
        tokenizer.initialized = True
        for word in self.extra_words:
            tokenizer.add_word(word, freq=200000)
        self._jieba = tokenizer

    def tokens(self, matching: str) -> list[str]:
        """Tokens of a text already in matching form (Simplified, lower case, folded)."""
        if self._jieba is None:
            self.warm_up()
        out: list[str] = []
        position = 0
        for run in _CJK_RUN.finditer(matching):
            out.extend(self._latin(matching[position:run.start()]))
            out.extend(t for t in self._jieba.cut_for_search(run.group())
                       if t not in _STOP_ZH and any(is_cjk(ch) for ch in t))
            position = run.end()
        out.extend(self._latin(matching[position:]))
        return out

    @staticmethod
    def _latin(text: str) -> list[str]:
        return [stem(w) for w in _LATIN.findall(text) if w not in _STOP_EN]


# Each row's token ids (CSR: where each row's ids start, then the ids), read back from the
# BM25 matrix when the build saves it.
ROW_STARTS, ROW_IDS = "row_tokens.starts.npy", "row_tokens.ids.npy"
ROW_TOKENS_CACHE = 4096  # token sets kept as frozensets (~8 KB each)


class RowTokens(Sequence[frozenset[str]]):
    """The distinct tokens of each row, held as token ids by row (CSR arrays) rather than
    a frozenset per row (~8 KB each, 0.8 GB per 100k rows). A row's set is made when asked
    for; the last ROW_TOKENS_CACHE made are kept, so the passages a query fuses, read again
    by the evidence, are made once."""

    def __init__(self, indptr: np.ndarray, ids: np.ndarray, names: Sequence[str],
                 cache: int = ROW_TOKENS_CACHE) -> None:
        # a plain view of a memory-mapped array: slicing np.memmap makes a memmap each time
        self._indptr, self._ids, self._names = indptr, np.asarray(ids), names
        self._cache: RowCache[frozenset[str]] = RowCache(cache)

    def __len__(self) -> int:
        return len(self._indptr) - 1

    @overload
    def __getitem__(self, row: int) -> frozenset[str]: ...

    @overload
    def __getitem__(self, row: slice) -> list[frozenset[str]]: ...

    def __getitem__(self, row: int | slice) -> frozenset[str] | list[frozenset[str]]:
        if isinstance(row, slice):
            return [self[r] for r in range(*row.indices(len(self)))]
        row = checked_row(row, len(self), "token")
        found = self._cache.get(row)
        if found is None:
            found = self._made(row)
            self._cache.keep(row, found)
        return found

    def __iter__(self) -> Iterator[frozenset[str]]:
        for row in range(len(self)):  # not through the cache: a pass over all rows
            yield self._made(row)

    def _made(self, row: int) -> frozenset[str]:
        ids = self._ids[int(self._indptr[row]):int(self._indptr[row + 1])].tolist()
        return frozenset(map(self._names.__getitem__, ids))


def rows_of_columns(indptr: np.ndarray, indices: np.ndarray, size: int,
                    skip: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The transpose of a token -> rows (CSC) structure: row -> token ids, ids ascending
    within a row, less the postings of column `skip`."""
    counts: np.ndarray = np.diff(np.asarray(indptr, dtype=np.int64)).astype(np.int64)
    if skip is not None and skip < len(counts):
        counts = counts.copy()
        counts[skip] = 0
        keep = np.ones(len(indices), dtype=bool)
        keep[indptr[skip]:indptr[skip + 1]] = False
        rows = np.asarray(indices)[keep]
    else:
        rows = np.asarray(indices)
    columns = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
    ids = columns[np.argsort(rows, kind="stable")]  # stable: ids stay ascending in a row
    row_indptr = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=size)[:size], out=row_indptr[1:])
    return row_indptr, ids


class DocumentFrequencies(Mapping[str, int]):
    """token -> number of rows holding it, read from the BM25 matrix's column lengths."""

    def __init__(self, vocabulary: dict[str, int], indptr: np.ndarray) -> None:
        self._vocabulary = vocabulary
        self._counts = np.diff(np.asarray(indptr, dtype=np.int64))

    def __getitem__(self, token: str) -> int:
        column = self._vocabulary.get(token)
        if not token or column is None or column >= len(self._counts) or not (
                count := int(self._counts[column])):
            raise KeyError(token)
        return count

    def __iter__(self) -> Iterator[str]:
        return (t for t in self._vocabulary if t in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class KeywordIndex:
    """BM25 scores over the chunk rows of one build."""

    def __init__(self, model: object, folder: Path | None = None, rows: int | None = None
                 ) -> None:
        self._model = model
        self._folder = folder  # where it was loaded from
        self._rows = rows  # how many rows it was built over

    @classmethod
    def build(cls, token_lists: list[list[str]]) -> KeywordIndex:
        import bm25s

        model = bm25s.BM25(k1=1.2, b=0.75)
        model.index([tokens or [""] for tokens in token_lists], show_progress=False)
        return cls(model, rows=len(token_lists))

    def save(self, folder: Path) -> None:
        self._model.save(str(folder), show_progress=False)  # type: ignore[attr-defined]
        indptr, ids = self._rows_of_columns(self._size())
        np.save(folder / ROW_STARTS, indptr)
        np.save(folder / ROW_IDS, ids)

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        import bm25s

        if not (folder / "params.index.json").exists():
            raise ValueError(f"{folder}: no keyword index here")
        # memory-mapped: a query reads the postings of its own tokens only, and the pages
        # stay the kernel's to share and drop, not this process's to hold
        return cls(bm25s.BM25.load(str(folder), show_progress=False, mmap=True), folder)

    @property
    def vocabulary(self) -> dict[str, int]:
        return self._model.vocab_dict  # type: ignore[attr-defined]

    def _columns(self) -> tuple[np.ndarray, np.ndarray]:
        matrix = self._model.scores  # type: ignore[attr-defined]
        return matrix["indptr"], matrix["indices"]  # token -> rows (CSC)

    def _size(self) -> int:
        if self._rows is not None:
            return self._rows
        indices = self._columns()[1]
        return int(indices.max()) + 1 if len(indices) else 0

    def _rows_of_columns(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        indptr, indices = self._columns()
        return rows_of_columns(indptr, indices, size, self.vocabulary.get(""))

    def row_tokens(self, size: int) -> RowTokens:
        """The distinct tokens of each of the `size` rows, read back from the index (the
        build's row -> token ids arrays, memory-mapped; made from the matrix for a build
        written before them)."""
        folder = self._folder
        if folder is not None and (folder / ROW_IDS).exists():
            indptr = np.load(folder / ROW_STARTS)
            ids = np.load(folder / ROW_IDS, mmap_mode="r")  # a query reads a few rows' ids
        else:
            indptr, ids = self._rows_of_columns(size)
        if len(indptr) != size + 1:
            raise ValueError(f"keyword index: token rows for {len(indptr) - 1} rows, "
                             f"the store has {size}")
        names = [""] * (max(self.vocabulary.values(), default=-1) + 1)
        for token, column in self.vocabulary.items():
            names[column] = token
        return RowTokens(indptr, ids, names)

    def document_frequencies(self) -> DocumentFrequencies:
        return DocumentFrequencies(self.vocabulary, self._columns()[0])

    def tokens_in(self, rows: np.ndarray) -> set[str]:
        """The tokens that stand in at least one row of the mask `rows`, read by blocks of
        postings so that a million rows need no array of every posting at once."""
        indptr, indices = self._columns()
        names = {column: token for token, column in self.vocabulary.items() if token}
        found: set[str] = set()
        block = 4_000_000
        column = 0
        columns = len(indptr) - 1
        while column < columns:
            end = int(np.searchsorted(indptr, indptr[column] + block, side="right")) - 1
            end = min(max(end, column + 1), columns)
            start = int(indptr[column])
            held = np.concatenate([[0], np.cumsum(rows[indices[start:indptr[end]]],
                                                  dtype=np.int64)])
            counts = held[np.asarray(indptr[column + 1:end + 1]) - start] - held[
                np.asarray(indptr[column:end]) - start]
            found.update(names[column + int(c)] for c in np.flatnonzero(counts)
                         if column + int(c) in names)
            column = end
        return found

    def scores(self, weighted: dict[str, float], size: int,
               mask: np.ndarray | None = None) -> np.ndarray:
        """BM25 score of every chunk row for weighted query tokens; masked rows score 0.

        Each token adds its weighted scores to the rows of its postings only (the index's
        token -> rows columns), not a whole score vector per token: the same additions of
        the same float32 values, in time proportional to the postings, not the corpus.
        """
        total = np.zeros(size, dtype=np.float32)
        vocabulary = self.vocabulary
        model: Any = self._model
        if getattr(model, "nonoccurrence_array", None) is not None:  # scores absent tokens too
            return self._scores_per_vector(weighted, total, mask)
        matrix, dtype = model.scores, np.dtype(model.dtype)
        data, rows, indptr = matrix["data"], matrix["indices"], matrix["indptr"]
        for token, weight in weighted.items():
            if token in vocabulary and weight > 0:
                column = vocabulary[token]
                start, end = indptr[column], indptr[column + 1]
                # bm25s's vector holds these values cast to its dtype, zeros elsewhere
                total[rows[start:end]] += weight * data[start:end].astype(dtype, copy=False)
        if mask is not None:
            total[~mask] = 0.0
        return total

    def _scores_per_vector(self, weighted: dict[str, float], total: np.ndarray,
                           mask: np.ndarray | None) -> np.ndarray:
        vocabulary = self.vocabulary
        for token, weight in weighted.items():
            if token in vocabulary and weight > 0:
                total += weight * self._model.get_scores([token])  # type: ignore[attr-defined]
        if mask is not None:
            total[~mask] = 0.0
        return total


def read_words(path: Path) -> list[str]:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
