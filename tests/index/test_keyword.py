"""The keyword stage: jieba/English tokens and the bm25s index over them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from index.keyword import ROW_IDS, ROW_STARTS, KeywordIndex, KeywordTokenizer, rows_of_columns
from index.normalise import matching_form

TEXTS = [
    "截至2023年12月31日止年度，收入為人民幣3,405.8百萬元。",
    "商汤的「日日新」大模型体系与绝影智能汽车平台",
    "Total revenue was RMB 3,405.8 million in 2023; patents and patent applications.",
    "",  # an empty row (a table header chunk can have no tokens)
]


@pytest.fixture(scope="module")
def tokenizer() -> KeywordTokenizer:
    return KeywordTokenizer(extra_words=["日日新", "绝影"])


def test_tokens_fold_scripts_and_stem_plurals(tokenizer: KeywordTokenizer) -> None:
    assert tokenizer.tokens(matching_form("收入為")) == tokenizer.tokens(matching_form("收入为"))
    assert {"12", "月", "31", "收入"} <= set(tokenizer.tokens(matching_form(TEXTS[0])))
    assert {"日日新", "绝影"} <= set(tokenizer.tokens(matching_form(TEXTS[1])))
    assert "patent" in tokenizer.tokens(matching_form("patents"))


def test_row_tokens_read_back_what_each_row_was_indexed_with(
        tokenizer: KeywordTokenizer) -> None:
    rows = [tokenizer.tokens(matching_form(t)) for t in TEXTS]
    index = KeywordIndex.build(rows)
    assert list(index.row_tokens(len(rows))) == [frozenset(r) for r in rows]


def test_saved_token_rows_and_the_matrix_read_the_same(tokenizer: KeywordTokenizer,
                                                       tmp_path: Path) -> None:
    rows = [tokenizer.tokens(matching_form(t)) for t in TEXTS]
    KeywordIndex.build(rows).save(tmp_path)
    saved = KeywordIndex.load(tmp_path).row_tokens(len(rows))
    with pytest.raises(ValueError, match="token rows for 4 rows, the store has 5"):
        KeywordIndex.load(tmp_path).row_tokens(5)
    (tmp_path / ROW_IDS).unlink()  # a build written before the token rows were saved
    (tmp_path / ROW_STARTS).unlink()
    made = KeywordIndex.load(tmp_path).row_tokens(len(rows))
    assert [saved[r] for r in range(len(rows))] == [made[r] for r in range(len(rows))] == [
        frozenset(r) for r in rows]
    assert saved[-1] == frozenset() and saved[0:2] == [frozenset(r) for r in rows[:2]]


def test_rows_of_columns_transposes_the_postings() -> None:
    # columns: 0 -> rows 1, 2; 1 -> row 0; 2 (skipped) -> rows 0, 2; 3 -> rows 2
    indptr, indices = np.array([0, 2, 3, 5, 6]), np.array([1, 2, 0, 0, 2, 2], dtype=np.int32)
    starts, ids = rows_of_columns(indptr, indices, 4, skip=2)
    assert starts.tolist() == [0, 1, 2, 4, 4]
    assert ids.tolist() == [1, 0, 0, 3]


def test_frequencies_and_tokens_by_rows_come_from_the_matrix(
        tokenizer: KeywordTokenizer) -> None:
    rows = [tokenizer.tokens(matching_form(t)) for t in TEXTS]
    index = KeywordIndex.build(rows)
    df = index.document_frequencies()
    assert dict(df) == dict(Counter(t for r in rows for t in set(r)))
    assert df.get("", 0) == 0 and df.get("nowhere", 0) == 0
    english = np.array([False, False, True, False])
    assert index.tokens_in(english) == set(rows[2])
    assert index.tokens_in(~english) == set(rows[0]) | set(rows[1])


def test_scores_rank_the_row_holding_the_tokens_first(tokenizer: KeywordTokenizer) -> None:
    rows = [tokenizer.tokens(matching_form(t)) for t in TEXTS]
    scores = KeywordIndex.build(rows).scores({"收入": 1.0, "12": 1.0}, len(rows))
    assert scores.argmax() == 0 and scores[1] == 0.0 and scores[3] == 0.0


def test_extra_words_stay_out_of_jiebas_shared_dictionary() -> None:
    import jieba
    import jieba.posseg

    tokenizer = KeywordTokenizer(extra_words=["影智汽"])  # not a word jieba knows
    assert {"影智汽"} <= set(tokenizer.tokens("绝影智汽车"))
    assert "影智汽" not in jieba.dt.FREQ
    assert "影智汽" not in [w.word for w in jieba.posseg.lcut("绝影智汽车", HMM=False)]


class OwnDictionary(KeywordTokenizer):
    """The tokenizer as it was before sharing: jieba's dictionary read into its own."""

    def warm_up(self) -> None:
        import jieba

        tokenizer = jieba.Tokenizer()
        tokenizer.initialize()
        for word in self.extra_words:
            tokenizer.add_word(word, freq=200000)
        self._jieba = tokenizer


def test_tokens_are_those_of_a_tokenizer_that_read_the_dictionary_itself() -> None:
    words = ["日日新", "绝影"]
    texts = [*TEXTS, "商湯的日日新大模型與絕影智能汽車平台，2023年收入下降", "影智汽"]
    shared, own = KeywordTokenizer(words), OwnDictionary(words)
    for text in map(matching_form, texts):
        assert shared.tokens(text) == own.tokens(text)


def test_scores_from_postings_equal_bm25s_own_vectors(tokenizer: KeywordTokenizer) -> None:
    """Accumulating each token's postings adds exactly what bm25s's whole vectors add."""
    rows = [tokenizer.tokens(matching_form(t)) for t in (
        "收入 12", "毛利 收入 收入", "revenue grew 12 percent", "", "gross profit 收入")]
    index = KeywordIndex.build(rows)
    weighted = {"收入": 1.0, "12": 0.37, "revenu": 2.5, "毛利": 0.0, "absent": 1.0}
    mask = np.array([True, True, False, True, True])
    for given in (None, mask):
        expected = np.zeros(len(rows), dtype=np.float32)
        for token, weight in weighted.items():
            if token in index.vocabulary and weight > 0:
                expected += weight * index._model.get_scores([token])  # type: ignore[attr-defined]
        if given is not None:
            expected[~given] = 0.0
        got = index.scores(weighted, len(rows), given)
        assert got.dtype == np.float32 and got.tobytes() == expected.tobytes()
