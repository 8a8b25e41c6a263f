"""English <-> Chinese dictionary expansion: the bundled CC-CEDICT and a tiny hand-made one."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from index.lexicon import FILINGS_GLOSSARY, FORMAT_VERSION, Lexicon, read_glossary

TINY_CEDICT = """\
# CC-CEDICT sample
王 王 [Wang2] /surname Wang/
王 王 [wang2] /king or monarch/
丁玲 丁玲 [Ding1 Ling2] /Ding Ling (1904-1986), female novelist/
個 个 [ge4] /individual/classifier for people or objects in general/
乾 乾 [qian2] /old variant of 乾[qian2]/
員工 员工 [yuan2 gong1] /staff/personnel/employee/
工號 工号 [gong1 hao4] /employee number/
收入 收入 [shou1 ru4] /to take in/income/revenue/CL:筆|笔[bi3],個|个[ge4]/
營收 营收 [ying2 shou1] /sales/income/revenue/
歲入 岁入 [sui4 ru4] /annual revenue/annual income/
伊人 伊人 [yi1 ren2] /(literary) that person (usually female)/she/
排放 排放 [pai2 fang4] /to emit; to discharge (exhaust gas etc)/
董事會 董事会 [dong3 shi4 hui4] /board of directors/
導演 导演 [dao3 yan3] /director/
移借 移借 [yi2 jie4] /borrowing/
借款 借款 [jie4 kuan3] /to borrow money/
"""
TINY_FREQUENCIES = {"收入": 10_000, "营收": 10, "员工": 3_000}
COMPANY_GLOSSARY = [("商汤", "SenseTime"), ("日日新", "SenseNova"), ("营收", "revenue")]


@pytest.fixture(scope="module")
def lexicon(tmp_path_factory: pytest.TempPathFactory) -> Lexicon:
    return Lexicon.load(tmp_path_factory.mktemp("lexicon-cache"))


@pytest.fixture
def tiny() -> Lexicon:
    return Lexicon.from_lines(TINY_CEDICT.splitlines(), TINY_FREQUENCIES)


def terms(expansion: list[tuple[str, float]]) -> list[str]:
    return [term for term, _ in expansion]


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("revenue", "收入"),
        ("revenues", "收入"),
        ("employee", "员工"),
        ("employees", "员工"),
        ("emission", "排放"),
        ("emissions", "排放"),
        ("patent", "专利"),
        ("patents", "专利"),
        ("gross profit", "毛利"),
        ("board of directors", "董事会"),
        ("research and development", "研发"),
        ("carbon neutrality", "碳中和"),
        ("greenhouse gas emissions", "温室气体"),
        ("training", "培训"),
        ("operational", "运营"),  # through "operation"
        ("environmental", "环境"),
    ],
)
def test_english_words_find_their_usual_chinese(
    lexicon: Lexicon, english: str, chinese: str
) -> None:
    assert chinese in terms(lexicon.expand_english(english.split()))


@pytest.mark.parametrize(("english", "best"), [("employee", "员工"), ("patent", "专利")])
def test_the_most_common_translation_comes_first(lexicon: Lexicon, english: str, best: str) -> None:
    assert terms(lexicon.expand_english([english]))[0] == best


@pytest.mark.parametrize(
    ("chinese", "english"),
    [("收入", {"revenue", "income"}), ("员工", {"employee", "staff"}), ("专利", {"patent"})],
)
def test_chinese_words_find_english(lexicon: Lexicon, chinese: str, english: set[str]) -> None:
    found = terms(lexicon.expand_chinese([chinese]))
    assert english <= set(found)


def test_a_phrase_is_taken_instead_of_its_words(lexicon: Lexicon) -> None:
    found = terms(lexicon.expand_english(["board", "of", "directors"]))
    assert found == ["董事会"]


def test_overlapping_phrases_are_both_kept(lexicon: Lexicon) -> None:
    found = terms(lexicon.expand_english(["gross", "profit", "margin"]))
    assert {"毛利", "利润率"} <= set(found)


def test_each_word_brings_at_most_max_terms(lexicon: Lexicon) -> None:
    assert 0 < len(lexicon.expand_english(["total"])) <= lexicon.max_terms


@pytest.mark.parametrize("tokens", [["the", "of", "and"], ["which", "is", "it"], []])
def test_stop_words_expand_to_nothing(lexicon: Lexicon, tokens: list[str]) -> None:
    assert lexicon.expand_english(tokens) == []


@pytest.mark.parametrize("word", ["xyzzyq", "sensetime"])
def test_unknown_english_words_expand_to_nothing(lexicon: Lexicon, word: str) -> None:
    assert lexicon.expand_english([word]) == []


def test_unknown_chinese_words_expand_to_nothing(lexicon: Lexicon) -> None:
    assert lexicon.expand_chinese(["商汤科技", "龘龘", "2023"]) == []


def test_glossary_pairs_come_first_in_both_directions(lexicon: Lexicon) -> None:
    company = lexicon.with_glossary(COMPANY_GLOSSARY)
    assert company.expand_english(["SenseTime"]) == [("商汤", 1.0)]
    assert company.expand_english(["sensenova", "revenue"])[:2] == [("日日新", 1.0), ("营收", 1.0)]
    assert "收入" in terms(company.expand_english(["revenue"]))
    assert company.expand_chinese(["商汤"]) == [("sensetime", 1.0)]
    assert lexicon.expand_english(["sensetime"]) == []  # the original is left alone


def test_glossary_phrases_match_like_dictionary_phrases(tiny: Lexicon) -> None:
    company = tiny.with_glossary([("大装置", "SenseCore AI Cloud")])
    assert company.expand_english(["the", "sensecore", "ai", "cloud"]) == [("大装置", 1.0)]


def test_glossary_chinese_in_traditional_is_kept_in_simplified(tiny: Lexicon) -> None:
    company = tiny.with_glossary([("商湯集團", "SenseTime Group")])
    assert company.expand_english(["SenseTime", "Group"]) == [("商汤集团", 1.0)]
    assert company.expand_chinese(["商汤集团"]) == [("sensetime", 1.0), ("group", 1.0)]


def test_glossary_pairs_need_both_sides(tiny: Lexicon) -> None:
    with pytest.raises(ValueError, match="glossary pair"):
        tiny.with_glossary([("商汤", "  ")])


def test_whole_gloss_matches_rank_above_gloss_heads_and_other_words(tiny: Lexicon) -> None:
    assert terms(tiny.expand_english(["revenue"])) == ["收入", "营收", "岁入"]
    assert terms(tiny.expand_english(["employee"])) == ["员工", "工号"]


def test_notes_surnames_variants_and_people_are_not_translations(tiny: Lexicon) -> None:
    for word in ["surname", "wang", "variant", "classifier", "literary", "novelist", "ling"]:
        assert tiny.expand_english([word]) == [], word
    assert terms(tiny.expand_english(["king"])) == ["王"]
    assert terms(tiny.expand_chinese(["伊人"])) == ["person"]


def test_derived_nouns_find_the_verb(tiny: Lexicon) -> None:
    (term, weight), *_ = tiny.expand_english(["emissions"])
    assert term == "排放"
    assert weight < tiny.expand_english(["emit"])[0][1]


def test_max_terms_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_terms"):
        Lexicon.from_lines(TINY_CEDICT.splitlines(), {}, max_terms=0)


def test_the_cache_round_trips(tmp_path: Path) -> None:
    source = tmp_path / "cedict.txt"
    source.write_text(TINY_CEDICT, encoding="utf-8")
    cache = tmp_path / "cache"
    built = Lexicon.load(cache, source=source)
    (written,) = cache.iterdir()  # one file, no temporary left behind
    assert written.suffix == ".json"
    cached = Lexicon.load(cache, source=source)
    assert cached.en_to_zh == built.en_to_zh
    assert cached.zh_to_en == built.zh_to_en
    assert cached.expand_english(["revenue"]) == built.expand_english(["revenue"])


def test_a_cache_from_another_version_is_replaced(tmp_path: Path) -> None:
    source = tmp_path / "cedict.txt"
    source.write_text(TINY_CEDICT, encoding="utf-8")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "lexicon-v0-0123456789abcdef-6.json").write_text("{}", encoding="utf-8")
    Lexicon.load(cache, source=source)
    assert [p.name for p in cache.iterdir()] == [
        f"lexicon-v{FORMAT_VERSION}-{hashlib.sha256(TINY_CEDICT.encode()).hexdigest()[:16]}-6.json"]


def test_a_damaged_cache_is_built_again(tmp_path: Path) -> None:
    source = tmp_path / "cedict.txt"
    source.write_text(TINY_CEDICT, encoding="utf-8")
    built = Lexicon.load(tmp_path / "cache", source=source)
    (written,) = (tmp_path / "cache").iterdir()
    written.write_text('{"format": 0}', encoding="utf-8")
    assert Lexicon.load(tmp_path / "cache", source=source).en_to_zh == built.en_to_zh


def test_json_keeps_the_glossary(tiny: Lexicon) -> None:
    company = tiny.with_glossary(COMPANY_GLOSSARY)
    again = Lexicon.from_json(company.to_json())
    assert again.expand_english(["sensetime"]) == [("商汤", 1.0)]
    assert again.glossary == company.glossary


def test_known_keeps_only_the_terms_the_documents_use(tiny: Lexicon) -> None:
    def known(term: str) -> bool:
        return term != "收入"

    assert terms(tiny.expand_english(["revenue"], known)) == ["营收", "岁入"]
    assert terms(tiny.expand_english(["revenue"], lambda term: False)) == []
    company = tiny.with_glossary([("营收", "revenue")])
    assert terms(company.expand_english(["revenue"], known)) == ["营收", "岁入"]
    assert terms(company.expand_english(["revenue"], lambda term: False)) == []
    assert terms(tiny.expand_chinese(["员工"], lambda word: word == "employee")) == ["employee"]


def test_known_reaches_senses_beyond_the_first_max_terms(lexicon: Lexicon) -> None:
    # "deposit" is first a mineral deposit, a down payment...; filings mean 存款.
    assert "定期存款" not in terms(lexicon.expand_english(["deposits"]))
    found = lexicon.expand_english(["deposits"], lambda term: term in {"定期存款", "存款"})
    assert set(terms(found)) == {"定期存款", "存款"}


@pytest.mark.parametrize(("month", "chinese"), [("december", "12月"), ("June", "6月"),
                                                 ("january", "1月")])
def test_month_names_become_the_numbered_months_filings_use(
    lexicon: Lexicon, month: str, chinese: str
) -> None:
    assert (chinese, 1.0) in lexicon.expand_english([month])
    assert lexicon.expand_english([month], lambda term: term == chinese) == [(chinese, 1.0)]


def test_an_inflected_word_also_finds_its_stem(tiny: Lexicon) -> None:
    found = dict(tiny.expand_english(["borrowings"]))
    assert found["借款"] < found["移借"]  # 借款 comes through "borrow", at a lower weight


def test_the_filings_glossary_is_well_formed() -> None:
    pairs = read_glossary(FILINGS_GLOSSARY)
    assert len(pairs) > 300
    assert len(set(pairs)) == len(pairs)
    assert all(len(zh) >= 2 and en.strip() for zh, en in pairs)


@pytest.mark.parametrize(("english", "chinese"), [
    ("net proceeds", "所得款项净额"),
    ("trade receivables", "贸易应收款项"),
    ("gearing ratio", "资本负债比率"),
    ("share-based compensation", "以股份为基础的薪酬"),
    ("selling expenses", "销售开支"),
])
def test_the_filings_glossary_gives_the_terms_filings_use(
        lexicon: Lexicon, english: str, chinese: str) -> None:
    words = english.replace("-", " ").split()
    assert chinese not in terms(lexicon.expand_english(words))  # the dictionary alone lacks it
    filings = lexicon.with_glossary(read_glossary(FILINGS_GLOSSARY))
    assert chinese in terms(filings.expand_english(words))


def test_a_malformed_glossary_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "glossary.toml"
    path.write_text('pairs = [["商湯"]]', encoding="utf-8")
    with pytest.raises(ValueError, match="glossary.toml"):
        read_glossary(path)
    assert read_glossary(tmp_path / "missing.toml") == []
