"""The keyword index: BM25 (bm25s) over jieba tokens of the matching form."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

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


class KeywordIndex:
    """BM25 scores over the chunk rows of one build."""

    def __init__(self, model: object) -> None:
        self._model = model

    @classmethod
    def build(cls, token_lists: list[list[str]]) -> KeywordIndex:
        import bm25s

        model = bm25s.BM25(k1=1.2, b=0.75)
        model.index([tokens or [""] for tokens in token_lists], show_progress=False)
        return cls(model)

    def save(self, folder: Path) -> None:
        self._model.save(str(folder), show_progress=False)  # type: ignore[attr-defined]

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        import bm25s

        if not (folder / "params.index.json").exists():
            raise ValueError(f"{folder}: no keyword index here")
        return cls(bm25s.BM25.load(str(folder), show_progress=False))

    @property
    def vocabulary(self) -> dict[str, int]:
        return self._model.vocab_dict  # type: ignore[attr-defined]

    def row_tokens(self, size: int) -> list[frozenset[str]]:
        """The distinct tokens of each of the `size` rows, read back from the index."""
        matrix = self._model.scores  # type: ignore[attr-defined]
        indptr, rows = matrix["indptr"], matrix["indices"]  # token -> rows (CSC)
        tokens: list[list[str]] = [[] for _ in range(size)]
        for token, column in self.vocabulary.items():
            if not token or column + 1 >= len(indptr):  # bm25s's "" placeholder for empty rows
                continue
            for row in rows[indptr[column]:indptr[column + 1]].tolist():
                tokens[row].append(token)
        return [frozenset(t) for t in tokens]

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
