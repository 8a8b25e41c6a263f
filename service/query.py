"""Reading a question once: its script, the kind of answer it wants, the companies, other
names and periods it names, its content words with their translations, the keyword tokens
it is searched with, and what a follow-up inherits from the turns before it.

Every later stage (retrieval, evidence, answer) takes the `Query`; none reads the question
text again.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, TypeVar, cast

import numpy as np

from index.cedict import STOP_WORDS
from index.embed import Embedder
from index.keyword import stem
from index.normalise import dense_form, matching_form
from index.script import converter, detect_script, is_cjk
from index.tables import UNIT_WORDS
from index.types import Script
from service.phrases import Phrase, question_phrases
from service.vocabulary import Vocabulary, language

AnswerType = Literal["percentage", "amount", "number", "date", "year", "person",
                     "organisation", "list", "yesno", "definition", "what"]
# What a figure that answers must measure: a count of things (「多少名」, "how many GPUs"),
# a share, a sum of money, or a physical quantity ("in tonnes"); "" when the question does
# not say. A figure of another measure is never the answer (a 25.0% share does not answer
# "how many female employees").
Measure = Literal["", "count", "percent", "money", "quantity"]
CROSS_LINGUAL = 0.85  # a dictionary translation is weaker evidence than the word itself

# Run on the matching form (Simplified, lower case), so one list serves all three scripts;
# the first match wins, so the specific kinds come before the general ones.
_TYPES: tuple[tuple[AnswerType, re.Pattern[str]], ...] = (
    ("yesno", re.compile(r"是否|有没有|有无|是不是|吗[?？]?$|^(?:[^,，]*[,，] ?)?(?:does|did|do|"
                         r"is|are|"
                         r"was|were|has|have|had|can|will)\b")),
    ("year", re.compile(r"哪一?年|何年|\b(?:what|which) year\b|\bin what year\b")),
    # "when" asks a date where it opens the question; inside it, it is a conjunction ("which
    # certifications does Zhipu look for when it screens suppliers")
    ("date", re.compile(r"何时|什么时候|甚么时候|哪一?天|哪一?日|何日|哪个月|几月|几号|什么日期|"
                        r"^(?:and |so |then )?when\b|"
                        r"\b(?:what|which) (?:date|month|day)\b|\bsince when\b")),
    ("list", re.compile(r"\bwho are\b|\bwho were\b|\bmembers\b|哪些人|成员")),
    ("person", re.compile(r"谁|哪位|\bwho(?:m|se)?\b")),
    ("organisation", re.compile(r"哪家|哪间|哪个(?:公司|机构|银行|组织|单位)|\bwhich (?:company|"
                                r"companies|"
                                r"bank|banks|firm|organi[sz]ation|institution|auditor|"
                                r"university)\b")),
    ("definition", re.compile(r"什么是|什么意思|指的是|指什么|寓意|含义|定义|如何计算|怎么计算|"
                              r"怎样计算|"
                              r"什么公式|\bdefine|\bstand for\b|\bmean(?:s|ing)?\b|\bcalculate|"
                              r"\bphilosophy\b|\bcounted as\b")),
    ("list", re.compile(r"哪些|哪几|哪[两二三四五六七八九十]|包括什么|有什么|\bwhat are\b|"
                        r"\bwhich \w+ (?:are|were|make up)\b|\b(?:what|which) (?:two|three|four|"
                        r"five|six|seven)\b|\blist\b|\bname the\b|\bmembers\b")),
    ("percentage", re.compile(r"百分之|百分比|比例|比率|占比|比重|份额|[%％]|率是多少|率为|(?:效|"
                              r"增长|流失|"
                              r"覆盖|出席|利用|回收|毛利|净利)率|\bmargin\b|\b(?:percentage|"
                              r"proportion|"
                              r"(?<!per )(?<!each )"  # "loss per share" is money
                              r"share(?![ -](?:price|capital|option|award|scheme|based))|"
                              r"ratio|percent|rate)\b")),
    ("amount", re.compile(r"人民币|港元|美元|千元|百万元|亿元|万元|"
                          r"(?:收入|营收|利润|毛利|亏损|开支|费用|成本|金额|现金|借款|资产|负债|"
                          r"股息|款项|价|薪酬|投资|善款|捐款|捐赠|资助|资金|款)"
                          r"[^,，。?？]{0,4}?(?:是|为|有)?多少|"
                          r"捐出多少|多少钱|\bhow much\b|"
                          r"\b(?:revenue|"
                          r"profit|loss|expenses?|costs?|cash|borrowings|assets|liabilities|"
                          r"income|amount|price|dividend|capex|ebitda)\b")),
    ("number", re.compile(r"多少|几|多高|多大|多长|数值|规模|人数|数量|总数|数目|总量|总额|"
           r"\bhow (?:many|large|big|high|"
           r"long|old)\b|"
                          r"\b(?:number|emissions|consumption|intensity|hours|total|count)\b")),
)
# Words that say when, not what: they frame the period, which Query.periods holds.
_PERIOD_WORDS = frozenset("""年 年度 全年 年末 年底 年终 年初 年中 上半年 下半年 期末 期初 期内
截至 截止 末 底 财政年度 财年 会计年度 财政 年度内
end beginning half first second quarter fiscal financial year annual period""".split())
# Words that say what kind of answer is wanted, not what it is about.
_ASKING = frozenset((
    "什么", "甚么", "多少", "几", "哪", "哪些", "哪个", "哪家", "哪位", "哪天", "哪一天", "一天",
    "哪年", "哪一年", "一年", "时候", "什么时候", "何时", "何日", "谁", "是不是", "有没有", "没有",
    "名字", "叫", "意思", "百分之", "百分", "百分比", "百分率", "s", "when", "who", "whom", "date",
    "day", "month", "exactly", "called", "name", "percent", "percentage", "呢", "那", "and",
    "about", "what", "how", "also", "still", "then", "again",
    # what a follow-up says besides its change: "and back in 2018?", "and the year before?"
    "back", "before", "earlier", "previous", "prior", "last", "same", "period", "figure",
    "ago", "preceding",
    "上一年", "前一年", "去年", "上年", "同期", "那么", "那年", "这个", "这一"))
# Verbs an English question frames its figure with ("How much did Zhipu spend on R&D", "What
# net loss did SenseTime post", "how many patents did it hold"): they say that a figure was
# reported, not what it is about, and filings do not write them next to it (「研發投入」,
# 「虧損淨額」), so as concepts they only dilute the nouns. Nouns of the same spelling that do
# name a measure (pay, use, consumption) are not listed.
_FRAME_VERBS = frozenset("""spend spent spends post posted posts record recorded records book
booked books register registered achieve achieved reach reached generate generated generates
bring brought earn earned make made makes receive received receives get got gets hold held
holds own owned consume consumed consumes incur incurred deliver delivered disclose disclosed
discloses state stated give gave show showed shows see saw sees account accounted accounts
represent represented come came log logged take took""".split())
# Words that say which measure of a thing is asked (its count, its sum), which
# Query.measure holds: 「員工人數」 asks about 員工, and 「客戶人數」 does not answer it.
_MEASURE_NOUNS = frozenset("人数 数量 数目 总数 金额 总额 数值 count".split())
# A follow-up asking for the period before the one asked: "and the year before?", 「去年呢？」
_PREVIOUS_YEAR = re.compile(r"\b(?:the )?(?:year|period) (?:before|earlier)\b|\b(?:previous|prior|"
                            r"last|preceding) (?:financial |fiscal )?year\b|\bone year earlier\b|"
                            r"\ba year (?:before|earlier|ago)\b|上一年|前一年|去年|上年|上一个年度|"
                            r"上个年度|前一个年度|上一财年|上一年度")
# Prepositions frame what is asked ("the turnover rate among employees aged over 50",
# "revenue during 2022"); they are never what to find.
_PREPOSITIONS = frozenset("""during among amongst across within between through throughout
after since until upon via against toward towards around""".split())
_QUESTION_WORDS = frozenset("""how much many what which who when where why whom whose does did
do is are was were the a an of in on for to by with its it report reported company group
according year years total number amount s""".split()) | _PREPOSITIONS
# Units and currencies (人民幣千元, RMB, MWh, tonnes): what a figure is counted in, which
# unit_fit compares with a row's header; never the subject asked about.
_UNIT_TOKENS = frozenset("人民 人民币 百万 百万元 千元 万元 亿元 元 rmb million thousand billion "
                         "hkd usd % 000".split()) | frozenset(matching_form(w) for w in UNIT_WORDS)
# ("000" as in "RMB '000": thousands)


def is_unit(token: str) -> bool:
    return token in _UNIT_TOKENS


_TOTAL = frozenset({"total", "overall", "aggregate"})
_ENGLISH_WORD = re.compile(r"[a-z][a-z'-]+|(?<![a-z&])[a-z](?=&[a-z]\b)|(?<=[a-z]&)[a-z]\b")
# ("R&D", "M&A": their letters are words, as the tokenizer and the glossary read them)
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
_YEAR = re.compile(r"(?<![\d.])(?:fy ?)?((?:19|20)\d\d)(?![\d.])")
_HALF = re.compile(r"上半年|前六个月|first half|\bh1\b|six months ended 30 june|"
                   r"截至(?:(?:19|20)\d\d ?年 ?)?0?6 ?月 ?30 ?日止六个月"
                   r"|\bsix months\b")
# A question about a change between periods ("grew by what percentage", 按年增長了百分之幾):
# a table's change column answers it, not a year's figure.
_CHANGE = re.compile(r"增长|增加|下降|下跌|减少|减幅|增幅|升幅|跌幅|变动|变化|同比|按年|较上年|"
                     r"\b(?:grow|grew|growth|increase[ds]?|decrease[ds]?|decline[ds]?|"
                     r"drop(?:ped)?|fell|rose|change[ds]?|year[- ]on[- ]year)\b")
_END = re.compile(r"年末|年底|年终|end of|as (?:at|of) (?:31 )?dec|12月31日")
# A date that names the period, not the subject: 「截至2023年12月31日止年度」, "as at 31 December
# 2023", "for the six months ended 30 June 2021". Its words (12, 月, 31, 日止, december) are
# the period's, which Query.periods holds; as concepts they would count against every
# passage that states the figure without repeating the date.
_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DATE_PHRASE = re.compile(
    r"(?:截至|截止|于|於)?(?:(?:19|20)\d\d ?年 ?)?\d{1,2} ?月 ?\d{1,2} ?日(?:止)?"
    r"(?:止?年度|止?六个月|期间)?"
    r"|(?:(?:for )?(?:the )?(?:(?:financial )?year|period|six months|twelve months) ended |"
    r"as (?:at|of) )?(?:\d{1,2} " + _MONTHS + r",? (?:19|20)\d\d|" + _MONTHS
    + r" \d{1,2},? (?:19|20)\d\d)")
# How questions name a kind of filing ("according to the prospectus", 业绩公告), by the
# manifest's doc_type; in matching form.
DOC_TYPE_NAMES = {
    "prospectus": ("prospectus", "listing document", "招股章程", "招股书", "上市文件"),
    "annual-results": ("annual results", "results announcement", "业绩公告", "年度业绩",
                       "全年业绩"),
    "interim-results": ("interim results", "interim report", "中期业绩", "中期报告"),
    "annual-report": ("annual report", "年报", "年度报告"),
    "esg-report": ("esg report", "sustainability report", "esg报告", "可持续发展报告",
                   "环境、社会及管治报告"),
}
# A follow-up that leans on the turn before it: "and in 2022?", "what about Zhipu?", 那…呢.
_FOLLOW_UP = re.compile(r"^(?:and|also|then|what about|how about|same for|and for|那么?|还有|"
                        r"那在|那)\b|呢[?？]?$|^(?:and|what about|how about)\s", re.I)
# Capitalised words of an English question that name nothing by themselves.
_COMMON_CAPITALS = frozenset("""I A An The What Which Who Whom Whose When Where Why How Does Did Do
Is Are Was Were Has Have Had Can Will In On At Of For By To And Or Per As According During
Since From Between Total Group Company Report Reports ESG GHG CEO CFO COO CTO AI R D RMB HK
HKEX HKD USD IFRS GRI PRC China Chinese Hong Kong UN SDG SDGs Scope KPI KPIs EBITDA Board
Director Directors Chairman Mr Ms Dr Prof January February March April May June July August
September October November December Q1 Q2 Q3 Q4 H1 H2 FY""".split())
# A period written as a word: FY2023, FY23, 1H2021, H1, Q3, 2023E.
_PERIOD_NAME = re.compile(r"^(?:(?:FY|CY|H[12]|Q[1-4]|[1-4]Q|[12]H)['’]?(?:\d{2}|\d{4})?|"
                          r"(?:19|20)\d\d[EA]?)(?:['’]s)?$", re.I)
_CAPITALISED = re.compile(r"\b(?:[A-Z]|[a-z]+[A-Z])[A-Za-z0-9&'’.-]*(?:\s+[A-Z][A-Za-z0-9&'’.-]*)*")


@dataclass(frozen=True)
class Period:
    """A period a question names: a year, optionally its first half or year end."""

    year: int
    part: Literal["", "H1", "end"] = ""


@dataclass(frozen=True)
class Concept:
    """A content word of the question, weighted by rarity, with the token sets that count
    as finding it: itself, then its translations (each a set of tokens that must all be
    present: 定期, 存款 for "deposits")."""

    token: str  # matching form
    weight: float
    forms: tuple[frozenset[str], ...]  # forms[0] is the word itself

    def found(self, tokens: frozenset[str] | set[str]) -> float:
        """1.0 when the word itself is among `tokens`, CROSS_LINGUAL for a translation."""
        forms = self.forms  # a loop, not any(): this runs for every concept of every passage
        if forms[0] <= tokens:
            return 1.0
        for form in forms[1:]:
            if form <= tokens:
                return CROSS_LINGUAL
        return 0.0


# The fields that say what kind of answer a question wants, read together from the turn that
# asks (a follow-up "and in 2022?" asks what the turn before it asked).
ASKING = ("answer_type", "measure", "unit", "rate", "currency", "counted")


@dataclass(frozen=True)
class Query:
    """One question as every stage reads it."""

    text: str  # what was asked
    search_text: str  # what is searched: a follow-up completed from the turns before it
    script: Script  # the asker's script: the reply's language
    matching: str  # matching form of search_text
    answer_type: AnswerType
    companies: frozenset[str]  # documents of the companies the question names (aliases)
    doc_types: frozenset[str]  # kinds of filing it names
    names: tuple[str, ...]  # other proper names it uses ("Apple", "華東電池"), as written
    periods: tuple[Period, ...]
    concepts: tuple[Concept, ...]  # what it asks about: not asking words, company or period
    tokens: dict[str, float] = field(default_factory=dict)  # keywords, own language
    translated: dict[str, float] = field(default_factory=dict)  # keywords, other language
    forms: dict[str, tuple[frozenset[str], ...]] = field(default_factory=dict)  # per token
    idf: dict[str, float] = field(default_factory=dict)  # per token
    phrases: tuple[Phrase, ...] = ()  # English word pairs found as adjacent translations
    inherited: tuple[str, ...] = ()  # what a follow-up took from earlier turns
    change: bool = False  # it asks how much something changed between periods
    measure: Measure = ""  # what an answering figure must measure
    unit: str = ""  # the unit the question names ("名", "吨", "hours"), or ""
    rate: bool = False  # it asks for a figure per something (intensity, 人均)
    currency: str = ""  # the currency it names ("hkd", "usd", "rmb"), or ""
    # the concepts naming what a count counts: "how many [joint research projects]",
    # 「多少名[全職員工]」; a figure counting them is the answer, not one beside it
    counted: tuple[str, ...] = ()
    # The dense vector of search_text, when the reader has the embedding model.
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def language(self) -> str:
        return language(self.script)

    @property
    def years(self) -> frozenset[int]:
        return frozenset(p.year for p in self.periods)

    def kept(self, name: str, read: Callable[[], T]) -> T:
        """What `read` derives from this (frozen) query, read once and kept on it: the
        same for every passage and candidate a stage scores against it."""
        if name not in self.__dict__:
            self.__dict__[name] = read()
        return cast(T, self.__dict__[name])


T = TypeVar("T")


def answer_type(form: str) -> AnswerType:
    """What kind of answer a question (matching form) wants."""
    return next((kind for kind, pattern in _TYPES if pattern.search(form)), "what")


# Units of things, not money, in a question ("how much packaging, in tonnes" asks for a
# quantity) or after a figure ("68.5 天"); 天 only as a unit (not 天津, 今天).
QUANTITY_UNIT = re.compile(r"吨|兆瓦时|千瓦时|立方米|千克|公斤|小时|(?:多少|几|\d\s?)天|天数|公里|"
                           r"平方米|m³|"
                           r"\b(?:tonnes?|tons?|mwh|kwh|gwh|cubic|kg|kilograms?|hours?|days?|"
                           r"litres?|gj)\b|\bt ?co")


def _with_unit(kind: AnswerType, form: str) -> AnswerType:
    """An "amount" that names a physical unit or counts (「專利資產中有多少項」) is a number."""
    if kind == "amount" and (QUANTITY_UNIT.search(form) or _ASKED_COUNTER.search(form)):
        return "number"
    return kind


# Measure words of a count (「多少名員工」, 「幾次」); the unit a question names as a word.
COUNTERS = "人名項项家個个次倍輛辆件篇台部款座份條条張张所戶户只艘架種种類类位"
_ASKED_COUNTER = re.compile(rf"(?:多少|几|幾)\s?([{COUNTERS}])(?!民)")  # not 多少人民幣
_NAMED_UNIT = re.compile(r"(人次|小时|兆瓦时|千瓦时|立方米|千克|公里|吨)"
                         r"|\b(?:in )?(hours|tonnes|mwh|kwh|days)\b")
_COUNT = re.compile(r"\bhow many\b|人数|人次|员工总数|总人数|\bnumber of\b")
# A sum of money, said as such: "how much" alone may ask for water or electricity.
_MONEY_WORDS = re.compile(r"人民币|港元|美元|千元|百万元|亿元|万元|收入|营收|利润|毛利|亏损|开支|"
                          r"费用|成本|金额|现金|借款|资产|负债|股息|款项|薪酬|善款|捐款|资金|"
                          r"\b(?:rmb|hk\$|us\$|revenues?|profits?|loss(?:es)?|expenses?|"
                          r"costs?|cash|borrowings|assets|liabilities|income|amount|price|"
                          r"dividends?|capex|ebitda|proceeds|deposits|remuneration)\b")
# A rate: a figure per something (intensity, 人均, "per employee", 每萬元收入).
# ("per its listing document", "per the prospectus" say where, not per what)
RATE = re.compile(r"强度|密度|人均|平均|每(?!年|月|天|日|次|周|季)|"
                  r"\bper\b(?! ?cent)(?! (?:its|the|their|our|this|that|these|those|his|her)\b)|"
                  r"\bintensity\b|\baverage\b|/")


# The currency a question names: a sum in another one does not answer it ("in HK$ million").
CURRENCIES = (("hkd", re.compile(r"港元|港币|hk\$|\bhkd\b|hong kong dollars?")),
              ("usd", re.compile(r"美元|us\$|\busd\b|us dollars?")),
              ("rmb", re.compile(r"人民币|\brmb\b|\bcny\b|renminbi")))


def currency_of(form: str) -> str:
    """The currency a matching form names ("hkd", "usd", "rmb"), or ""."""
    return next((name for name, pattern in CURRENCIES if pattern.search(form)), "")


_HOW_MANY = re.compile(r"\bhow many ([a-z'&\- ]+)")
# Where the counted noun of "how many …" ends: an auxiliary or preposition, a verb in the
# past ("used", "left"), a possessive ("SenseTime's")
_COUNT_ENDS = frozenset("""did does do had has have were was are is will can could would in at by
for of on from with there that which who left took made held got ran run""".split())
_HOW_MANY_ZH = re.compile(rf"(?:多少|几|幾)\s?[{COUNTERS}]?\s?([\u4e00-\u9fff]{{1,8}}?)"
                          r"(?=[是的有在呢吗嗎?？,，]|$)")


_COUNTED_BEFORE = re.compile(rf"((?:(?!的)[\u4e00-\u9fff]){{2,6}}?)(?:共有|一共有|总共有|有|共|是)"
                             rf"\s?(?:多少|几|幾)\s?[{COUNTERS}]")


def _counted(form: str) -> str:
    """What a count question counts, as it says it: "joint research projects", 「全职员工」."""
    english = _HOW_MANY.search(form)
    if english:
        words: list[str] = []
        for word in english.group(1).split()[:4]:
            if word in _COUNT_ENDS or word.endswith(("ed", "'s")):
                break
            words.append(word)
        return " ".join(words)
    found = _HOW_MANY_ZH.search(form)
    if found and found.group(1) and found.group(1) not in COUNTERS:  # 「幾項？」: 項 counts
        return found.group(1)
    # 「國際標準有幾項」: the counted noun stands before the question word
    before = _COUNTED_BEFORE.search(form)
    return before.group(1) if before else ""


def measure_of(kind: AnswerType, form: str) -> tuple[Measure, str]:
    """What a figure answering a question (matching form) of answer type `kind` must
    measure, and the unit word it names ("名", "吨", "hours"), if any."""
    named = _ASKED_COUNTER.search(form) or _NAMED_UNIT.search(form)
    unit = next((g for g in named.groups() if g), "") if named else ""
    if kind == "percentage":
        return "percent", unit
    if kind == "amount":
        return ("money" if _MONEY_WORDS.search(form) else ""), unit
    if kind != "number":
        return "", unit
    if QUANTITY_UNIT.search(form):
        return "quantity", unit
    if _ASKED_COUNTER.search(form) or _COUNT.search(form):
        return "count", unit
    return "", unit


def periods_in(form: str) -> tuple[Period, ...]:
    """The years a matching form names, with "first half" or "year end" when it says so."""
    part: Literal["", "H1", "end"] = "H1" if _HALF.search(form) else (
        "end" if _END.search(form) else "")
    years = dict.fromkeys(int(m.group(1)) for m in _YEAR.finditer(form))
    return tuple(Period(y, part) for y in years)


class QueryReader:
    """Reads questions against one loaded index's vocabulary."""

    def __init__(self, vocabulary: Vocabulary, embedder: Embedder | None = None) -> None:
        self.vocabulary, self.embedder = vocabulary, embedder

    def read(self, text: str, history: Sequence[str] = ()) -> Query:
        """The question, completed from `history` (earlier user turns, oldest first) when
        it is a follow-up; with its dense vector when the reader has the model."""
        previous: Query | None = None
        for turn in history:
            previous = self._read_turn(turn, previous)
        query = self._read_turn(text, previous)
        if self.embedder is None:
            return query
        vector = self.embedder.embed_queries([dense_form(query.search_text)])[0]
        return replace(query, vector=vector)

    def _read_turn(self, text: str, previous: Query | None) -> Query:
        own = self._read_one(text, text)
        if previous is None or not _is_follow_up(own, text):
            return own
        return self._follow(own, previous)

    def _follow(self, own: Query, previous: Query) -> Query:
        """A follow-up asks the previous question again with what it changes: its period
        ("and in 2022?"), its company ("what about Zhipu?") or its subject ("and the gross
        profit?"); what it does not name it inherits."""
        v = self.vocabulary
        changed = own.periods  # the periods this turn names, or means ("the year before")
        if not changed and previous.periods and _PREVIOUS_YEAR.search(own.matching):
            changed = tuple(Period(p.year - 1, p.part) for p in previous.periods)
        periods = changed or previous.periods
        if own.companies and not own.periods and not any(
                v.documents[d].period in previous.years for d in own.companies):
            periods = ()  # "what about Zhipu?": its report's period, not SenseTime's
        inherited = [part for part, named in (("subject", own.concepts), ("company",
                     own.companies), ("period", changed)) if not named]
        when = [str(p.year) for p in changed if str(p.year) not in own.text]
        if own.concepts:  # a new subject, in the previous company and period
            extra = [] if own.companies else [
                v.documents[d].aliases[0] for d in sorted(previous.companies)
                if v.documents[d].aliases][:1]
            extra += when if changed else [str(p.year) for p in periods]
            search_text = " ".join([own.text, *extra])
        else:
            base = previous.search_text
            if changed or not periods:
                base = _YEAR.sub(" ", base)
            if own.companies:
                for doc_id in previous.companies:
                    for alias in v.documents[doc_id].aliases:
                        base = re.sub(re.escape(alias), " ", base, flags=re.I)
            search_text = " ".join([base, own.text, *when])
        merged = self._read_one(own.text, search_text)
        asks = own if own.answer_type != "what" else previous  # the kind of answer
        return replace(merged, **{name: getattr(asks, name) for name in ASKING},
                       inherited=tuple(inherited), periods=periods,
                       companies=own.companies or previous.companies,
                       doc_types=own.doc_types or previous.doc_types)

    def _read_one(self, text: str, search_text: str) -> Query:
        v = self.vocabulary
        matching = matching_form(search_text)
        asked = matching_form(text)
        script = detect_script(text, default=detect_script(search_text, default="zh-Hans"))
        companies = frozenset(d for d, facts in v.documents.items()
                              if any(alias in matching for alias in facts.aliases))
        kinds = frozenset(k for k, names in DOC_TYPE_NAMES.items()
                          if any(n in matching for n in names))
        periods = periods_in(matching)
        tokens = Counter(v.tokenizer.tokens(matching))
        plan = self._plan(matching, script, tokens)
        skip = _company_tokens(v, companies) | {str(p.year) for p in periods} | _PERIOD_WORDS
        skip |= _MEASURE_NOUNS
        # the kind of filing named ("per its listing document") scopes the search, as the
        # company does (Retriever.named_documents); its words are not what to find
        skip |= {t for names in DOC_TYPE_NAMES.values() for n in names if n in matching
                 for t in v.tokenizer.tokens(n)}
        skip |= {t for m in _DATE_PHRASE.finditer(matching) for t in v.tokenizer.tokens(m[0])}
        concepts = tuple(
            Concept(t, plan.idf[t], plan.forms[t]) for t in plan.tokens
            if t not in skip and not _asking(t) and not (t.isdigit() and len(t) == 4)
            and not _PERIOD_NAME.match(t)
            and not is_unit(t))
        # 「總收入」 asks for 收入, as "total revenue" does below: filings state the total as
        # the thing itself, so the 總 form found nowhere must not count against the row.
        own = {c.token for c in concepts}
        concepts = tuple(c for c in concepts if not (
            c.token.startswith("总") and c.token[1:] in own))
        if language(script) == "en":
            concepts = self._phrase_concepts(matching, concepts)
            # "total revenue" asks for the revenue: filings state the total as the thing
            # itself (收入), and "total" translated (全面, 全球) finds other rows.
            concepts = tuple(c for c in concepts if c.token not in _TOTAL) or concepts
        kind = _with_unit(answer_type(asked), asked)
        measure, unit = measure_of(kind, asked)
        counted = _counted(asked)
        counted_tokens = set(v.tokenizer.tokens(counted)) if counted else set()
        return Query(
            text=text, search_text=search_text, script=script, matching=matching,
            answer_type=kind, measure=measure, unit=unit,
            rate=kind in ("number", "amount") and bool(RATE.search(asked)),
            currency=currency_of(asked),
            companies=companies, doc_types=kinds,
            names=self._names(text, companies), periods=periods, concepts=concepts,
            tokens=plan.tokens, translated=plan.translated, forms=plan.forms, idf=plan.idf,
            phrases=plan.phrases, change=bool(_CHANGE.search(asked)),
            counted=tuple(c.token for c in concepts if c.token in counted_tokens
                          or any(t in counted_tokens for t in c.forms[0])))

    def _phrase_concepts(self, matching: str, concepts: tuple[Concept, ...]
                         ) -> tuple[Concept, ...]:
        """An English term of several words ("gross margin", "time deposits") is one
        concept: found as its words together or as its translation (毛利率), never as one
        of its words alone ("gross" as 總). Its weight is its words' together."""
        v = self.vocabulary
        words = _term_words(matching)
        by_token = {c.token: c for c in concepts}
        merged: dict[str, Concept] = {}
        for start, end, terms in v.lexicon.english_phrases(words, v.knows("zh")):
            own = frozenset(t for w in words[start:end] for t in v.tokenizer.tokens(w))
            members = [by_token[t] for t in own if t in by_token]
            if len(members) < 2 or any(m.token in merged for m in members):
                continue
            forms = [own]
            for term, _ in terms:
                tokens = frozenset(v.tokenizer.tokens(matching_form(term)))
                if tokens and tokens not in forms:
                    forms.append(tokens)
            phrase = Concept(" ".join(words[start:end]), sum(m.weight for m in members),
                             tuple(forms))
            for m in members:
                merged[m.token] = phrase
        out: list[Concept] = []
        for c in concepts:
            chosen = merged.get(c.token, c)
            if chosen not in out:
                out.append(chosen)
        return tuple(out)

    # ---- keyword tokens, translated -------------------------------------------------

    def _plan(self, matching: str, script: Script, native: Counter[str]) -> _Plan:
        v = self.vocabulary
        own = {token: float(count) for token, count in native.items()}
        translated: dict[str, float] = {}
        english = _term_words(matching)
        if english:
            for term, weight in v.lexicon.expand_english(english, v.knows("zh")):
                self._add_term(translated, term, weight)
        chinese = [t for t in native if not t.isascii()]
        if chinese:
            for term, weight in v.lexicon.expand_chinese(chinese, v.knows("en")):
                self._add_term(translated, term, weight)
        # Names, codes and figures ("EBITDA", "GPU", "2023") are shared by both languages.
        shared = {t: w for t, w in own.items()
                  if t.isascii() and (language(script) == "zh" or t in v.shared)}
        forms = {t: self._forms(t) for t in own}
        idf = {t: v.idf(f) for t, f in forms.items()}
        phrases: tuple[Phrase, ...] = ()
        if language(script) == "en":
            phrases = tuple(question_phrases(matching, _QUESTION_WORDS | STOP_WORDS,
                                             self._chinese_terms, lambda t: idf.get(t, 1.0)))
        return _Plan(own, {**translated, **shared}, forms, idf, phrases)

    def _chinese_terms(self, word: str) -> list[str]:
        v = self.vocabulary
        return [matching_form(t) for t, _ in v.lexicon.expand_english([word], v.knows("zh"))]

    def _forms(self, token: str) -> tuple[frozenset[str], ...]:
        v = self.vocabulary
        forms = [frozenset([token])]
        if token.isascii() and token.isalpha():
            terms = v.lexicon.expand_english([token], v.knows("zh"))
        elif not token.isascii():
            terms = v.lexicon.expand_chinese([token], v.knows("en"))
        else:
            terms = []
        for term, _ in terms:
            tokens = v.tokens(term)  # remembered: the dictionary's senses recur
            if tokens and tokens not in forms:
                forms.append(tokens)
        return tuple(forms)

    def _add_term(self, weights: dict[str, float], term: str, weight: float) -> None:
        tokens = self.vocabulary.tokenizer.tokens(matching_form(term))
        for token in tokens:
            weights[token] = max(weights.get(token, 0.0), weight / max(1, len(tokens) - 1))

    # ---- names ---------------------------------------------------------------------

    def _names(self, text: str, companies: frozenset[str]) -> tuple[str, ...]:
        """Proper names the question uses beyond the companies it names: capitalised words
        of an English question that the documents' words and their translations do not
        cover, and Chinese names jieba tags as such or that end like a company name."""
        v = self.vocabulary
        names = []
        for match in _CAPITALISED.finditer(text):
            words = [w for w in match.group().split() if w not in _COMMON_CAPITALS
                     and w.rstrip("'’s") not in _COMMON_CAPITALS
                     and not (w.isupper() and len(w) <= 5)  # IPO, GPU, DEI: terms
                     # a compound with a lower-case part describes: "LLM-based", "AI-driven"
                     and not ("-" in w and any(p.islower() for p in w.split("-")))
                     and not _PERIOD_NAME.match(w)]  # FY2023, 1H21: a period, no name
            opens = match.start() == len(text) - len(text.lstrip())
            if opens and words and not any(is_cjk(ch) for ch in text):
                # an English question's first word is capitalised anyway; a Latin word
                # opening a Chinese one (「MiniMax 2025年…」) is a name
                words = words[1:]
            # A name of several words that are each a dictionary word the documents use in
            # translation ("Commerce Department's Entity List": 商務部, 實體清單) describes
            # something they may hold; a word the dictionary lacks ("Huadong") names
            # something else. One word alone must be known as a name ("Apple" is no 苹果).
            unknown = [w for w in words if not self._known_english(w)
                       and not (len(words) > 1 and self._translated(w))]
            if unknown:
                names.append(re.sub(r"['’]s?$", "", " ".join(words)))  # Tencent's -> Tencent
        names += _chinese_names(text)
        subject = _chinese_subject(text)
        if subject:  # whole: 「寧德時代」, where jieba tags only 寧德 as a name
            names = [n for n in names if n not in subject]
            if not any(subject in n for n in names):
                names.append(subject)
        aliases = {a for facts in v.documents.values() for a in facts.aliases}
        return tuple(dict.fromkeys(n for n in names
                                   if not any(a in matching_form(n) for a in aliases)))

    def _translated(self, word: str) -> bool:
        """Whether a dictionary translation of an English word stands in the documents."""
        v = self.vocabulary
        form = re.sub(r"['’]s?$", "", matching_form(word))
        return any(len(t) > 1 and v.mentions(t) for t, _ in v.lexicon.expand_english([form]))

    def _known_english(self, word: str) -> bool:
        """An English word the documents use, as itself or through a translation."""
        v = self.vocabulary
        form = re.sub(r"['’]s?$", "", matching_form(word)).strip(".’'")  # SenseAuto's
        if not form or not form[0].isalpha() or len(form) < 2:
            return True
        if stem(form) in v.words["en"] or form in v.shared or v.mentions(form):
            return True
        # A name's translations: the curated names of the glossaries (商湯 SenseTime), and
        # the dictionary's proper names ("Honda" -> 本田); its common words are no names
        # ("Apple" -> 苹果 is the fruit; the company is 苹果公司).
        return any(v.mentions(matching_form(t)) for t in (*v.lexicon.glossary_terms(form),
                                                          *v.lexicon.name_terms(form)))


@dataclass(frozen=True)
class _Plan:
    tokens: dict[str, float]
    translated: dict[str, float]
    forms: dict[str, tuple[frozenset[str], ...]]
    idf: dict[str, float]
    phrases: tuple[Phrase, ...]


# Words that ask or count, not name: 哪家(银行), 两家(公司), 各(公司).
_ASKING_NAME = re.compile(r"^[哪几幾多各每该該本其两兩一二三四五六七八九十]")
_ORG_SUFFIXES = frozenset(
    "公司 集團 集团 控股 銀行 银行 股份 證券 证券 保險 保险 電池 电池".split())
_NAME_FLAGS = frozenset(("nr", "nrt", "nrfg", "nt", "nz", "ns"))


def _chinese_names(text: str) -> list[str]:
    """Chinese organisation and person names, as the question writes them: a word jieba
    tags as a name, with the noun that follows it (华东 电池 -> 华东电池), or any word before
    a company suffix (蘋果公司). jieba's dictionary is Simplified, so it reads the question
    in Simplified and the names are cut from the question itself."""
    import jieba.posseg

    simplified = converter("t2s").convert(text)
    source = text if len(simplified) == len(text) else simplified
    words, at = [], 0
    for w in jieba.posseg.lcut(simplified, HMM=False):
        # numbers and the 年 of a year are no part of a name ("2023年本公司" -> 本公司)
        lead = len(re.match(r"^[\d\s]*年?", w.word).group())  # type: ignore[union-attr]
        words.append((source[at + lead:at + len(w.word)], w.word[lead:], w.flag))
        at += len(w.word)
    names = []
    for i, (word, plain, flag) in enumerate(words):
        if not any("\u4e00" <= ch <= "\u9fff" for ch in plain) or _ASKING_NAME.match(plain):
            continue
        following, following_plain, following_flag = words[i + 1] if i + 1 < len(words) else (
            "", "", "")
        if following_plain in _ORG_SUFFIXES and len(plain) >= 2:
            names.append(word + following)
        elif flag in _NAME_FLAGS and len(plain) >= 2:
            joined = following_flag == "n" and following_plain in ("电池", "汽车", "科技")
            names.append(word + following if joined else word)
    return names


# The subject a Chinese question opens with: the words before its first 的, year, or verb
# of having (「曠視科技2023年的總收入」, 「月之暗面的創始人」, 「美团在…」).
_SUBJECT = re.compile(r"^([\u4e00-\u9fff]{2,8}?)"
                      r"(?:的|是|\d{4}\s*年|在|有|共有|目前|自研|旗下|公司)")
# Words a question may open with that name no one: 截至, 報告中, 文件中 ...
_NO_SUBJECT = re.compile(r"^(?:截至|截止|于|於|按|报告|報告|文件|本|该|該|其|这|這|那|请|請|根据|"
                         r"根據|被|审议|審議|在|有)")


_ASKS = re.compile(r"哪|什么|什麼|何|几|幾|多少|是否")


def _chinese_subject(text: str) -> str:
    """The name a Chinese question opens with, as written, when it opens with one: the
    unknown-entity check (answer.py) then asks whether any document mentions it."""
    found = _SUBJECT.match(text.strip())
    if not found or _NO_SUBJECT.match(found.group(1)) or _ASKS.search(found.group(1)):
        return ""
    return found.group(1)


# Words that join the words of a term ("cost of sales", "property, plant and equipment",
# "net cash from operating activities"): kept between two words of the question's subject,
# so the dictionary and the glossary see the whole term, dropped elsewhere.
_CONNECTORS = frozenset("of and for from to in on at by with".split())


def _term_words(matching: str) -> list[str]:
    """The English words of a question that may name what it asks about, in order."""
    words = _ENGLISH_WORD.findall(matching)
    return [w for i, w in enumerate(words) if w not in _QUESTION_WORDS or (
        w in _CONNECTORS and 0 < i < len(words) - 1 and words[i - 1] not in _QUESTION_WORDS
        and words[i + 1] not in _QUESTION_WORDS)]


def _asking(token: str) -> bool:
    return (token in _ASKING or token in _FRAME_VERBS or token in _PREPOSITIONS
            or "几" in token or "多少" in token)


def _company_tokens(v: Vocabulary, companies: frozenset[str]) -> set[str]:
    return {t for d in companies for alias in v.documents[d].aliases
            for t in v.tokenizer.tokens(alias)}


def _is_follow_up(query: Query, text: str) -> bool:
    """A turn that cannot stand alone: it names no subject of its own, or opens like one
    ("and in 2022?", "what about Zhipu?", 「那2022年呢？」)."""
    return not query.concepts or bool(_FOLLOW_UP.search(matching_form(text).strip()))
