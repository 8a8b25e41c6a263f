"""Reading a question: the kind of answer it wants, its weighted content words, follow-ups."""

from __future__ import annotations

import math
import re
import weakref
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np

from index.keyword import KeywordIndex, stem
from index.normalise import matching_form
from index.script import is_cjk
from service.retrieve import QueryPlan, Retriever

Intent = Literal["number", "year", "date", "who", "definition", "yesno", "list", "what"]

IDF_CAP = 4.5  # a word the corpus never uses weighs as much as a rare one, not more
MIN_PASSAGES = 20  # rarity is measured within a language only when it has this many
CROSS_LINGUAL = 0.85  # a dictionary translation is weaker evidence than the word itself
YEAR = re.compile(r"(?<![\d.])(?:19|20)\d\d(?![\d.])")  # a year, not part of a longer number


# Run on the matching form (Simplified, lower case), so one list serves all three scripts;
# the first match wins, so the specific kinds come before the general ones.
_INTENTS: tuple[tuple[Intent, re.Pattern[str]], ...] = (
    ("yesno", re.compile(r"是否|有没有|有无|是不是|^(?:[^,，]*[,，] ?)?(?:does|did|do|is|are|"
                         r"was|were|has|have|had|can|will)\b")),
    ("year", re.compile(r"哪一?年|何年|\b(?:what|which) year\b")),
    ("date", re.compile(r"何时|什么时候|甚么时候|哪一?天|哪一?日|何日|哪个月|几月|"
                        r"几号|什么日期|\bwhen\b|\b(?:what|which) (?:date|month|day)\b")),
    ("who", re.compile(r"谁|哪位|\bwho(?:m|se)?\b")),
    ("definition", re.compile(r"什么是|什么意思|指的是|指什么|寓意|含义|定义|如何计算|怎么计算|"
                              r"什么公式|\bdefine|\bstand for\b|\bmean(?:s|ing)?\b|\bcalculate|"
                              r"\bphilosophy\b|\bcounted as\b")),
    ("list", re.compile(r"哪些|哪几|哪[两二三四五六七八九十]|包括什么|\bwhat are\b|"
                        r"\bwhich \w+ (?:are|make up)\b|\b(?:what|which) (?:two|three|four|"
                        r"five|six|seven)\b|\bmembers\b")),
    ("number", re.compile(r"多少|几|多高|多大|多长|百分之|比例|比率|占比|数值|规模|\bhow (?:much|"
                          r"many|large|big|high|long)\b|\b(?:percentage|proportion|share|ratio|"
                          r"rate|revenue|margin|ebitda|loss|profit|borrowings|emissions|"
                          r"consumption|expenses|price|amount|intensity|hours|range)\b")),
)
# Words that say what kind of answer is wanted, not what it is about. The percent words
# ask for a percentage, which the evidence writes as "50.5%" (service.fit checks for one).
_ASKING = frozenset((
    "什么", "甚么", "多少", "几", "哪", "哪些", "哪个", "哪家", "哪位", "哪天", "哪一天", "一天",
    "哪年", "哪一年", "一年", "时候", "什么时候", "何时", "何日", "谁", "是不是", "有没有", "没有",
    "名字", "叫", "意思", "百分之", "百分", "百分比", "百分率", "s", "when", "who", "whom", "date",
    "day", "month", "exactly", "called", "name", "percent", "percentage"))
_NUMERALS = "一二三四五六七八九十"
_DIGITS = tuple(str(n) for n in range(1, 11))


def detect_intent(question: str) -> Intent:
    """What kind of answer the question wants, from its wording in any of the three scripts."""
    form = matching_form(question)
    return next((intent for intent, pattern in _INTENTS if pattern.search(form)), "what")


def _asking(token: str) -> bool:
    return token in _ASKING or "几" in token or "多少" in token


def is_number(token: str) -> bool:
    """A year or a small number the answer must repeat ("2020", "Scope 3"); not "000"."""
    return (token.isdigit() and not token.startswith("0")) or token in _NUMERALS


@dataclass(frozen=True)
class Concept:
    """One content word of the question, weighted by rarity, with its translations."""

    token: str  # in matching form
    weight: float
    translations: tuple[tuple[str, float], ...] = ()

    def found_in(self, form: str, words: frozenset[str]) -> float:
        """1.0 when the word itself occurs in a matching form, else the best weight of a
        translation that does (discounted), else 0."""
        if _occurs(self.token, form, words):
            return 1.0
        return CROSS_LINGUAL * max(
            (w for t, w in self.translations if _occurs(t, form, words)), default=0.0)


def _occurs(term: str, form: str, words: frozenset[str]) -> bool:
    return term in form if _has_cjk(term) else term in words


@lru_cache(maxsize=65536)
def _has_cjk(term: str) -> bool:  # asked millions of times per evaluation, of few terms
    return any(is_cjk(ch) for ch in term)


_LATIN = re.compile(r"[a-z0-9]+(?:[.][0-9]+)?%?|[a-z0-9]+")


def latin_words(form: str) -> frozenset[str]:
    """The Latin words and numbers of a matching form, stemmed as the keyword index does."""
    return frozenset(stem(w) for w in _LATIN.findall(form))


class _Rarity:
    """Inverse document frequency within the passages of each word's own language: an
    English word among English passages, so the larger Chinese side does not make every
    English word look rare. Filled as words are asked; requests may share it, since a race
    only computes a word twice."""

    def __init__(self, retriever: Retriever) -> None:
        chunks = retriever.index.chunks
        self.keyword = retriever.index.keyword
        english = np.array([c.script == "en" for c in chunks], dtype=bool)
        self.masks = {"en": english, "zh": ~english, "all": np.ones(len(chunks), dtype=bool)}
        self.known: dict[str, float] = {}

    def idf(self, token: str) -> float:
        if token not in self.known:
            mask = self.masks["all" if token.isdigit() else "en" if token.isascii() else "zh"]
            if mask.sum() < MIN_PASSAGES:  # (almost) no passages in that language
                mask = self.masks["all"]
            frequency = (self.keyword.scores({token: 1.0}, len(mask), mask) > 0).sum()
            self.known[token] = min(IDF_CAP, math.log((mask.sum() + 1) / (frequency + 0.5)))
        return self.known[token]


_RARITY: weakref.WeakKeyDictionary[KeywordIndex, _Rarity] = weakref.WeakKeyDictionary()


def question_concepts(retriever: Retriever, plan: QueryPlan) -> list[Concept]:
    """The question's content words (plan.tokens) with their other-language renderings from
    the lexicon the retriever expands queries with, weighted as in plan.translated."""
    rarity = _RARITY.get(retriever.index.keyword) or _RARITY.setdefault(
        retriever.index.keyword, _Rarity(retriever))
    lexicon = retriever.lexicon
    words = [t for t in plan.tokens if not _asking(t)]
    phrases = _phrase_terms(retriever, [t for t in words if t.isascii() and not t.isdigit()])
    concepts = []
    for token in words:
        terms: list[tuple[str, float]] = []
        if token.isascii() and not token.isdigit():
            terms = [(matching_form(t), w) for t, w in lexicon.expand_english([token])]
            terms += phrases.get(token, [])
        elif len(token) > 1 and not token.isascii():
            terms = [(stem(t.lower()), w) for t, w in lexicon.expand_chinese([token])]
        elif token in _NUMERALS:  # other single characters ("名", "时") have too many senses
            terms = [(str(_NUMERALS.index(token) + 1), 1.0)]
        terms = [(t, min(w, plan.translated.get(t, w))) for t, w in terms if t]
        concepts.append(Concept(token, rarity.idf(token), tuple(terms)))
    return concepts


def _phrase_terms(retriever: Retriever, words: list[str]) -> dict[str, list[tuple[str, float]]]:
    """Translations of two-word phrases ("gearing ratio"), given to both of their words."""
    found: dict[str, list[tuple[str, float]]] = {}
    expand = retriever.lexicon.expand_english
    for first, second in zip(words, words[1:], strict=False):
        single = {t for t, _ in expand([first])} | {t for t, _ in expand([second])}
        extra = [(matching_form(t), w) for t, w in expand([first, second]) if t not in single]
        for word in (first, second):
            found.setdefault(word, []).extend(extra)
    return found


def pinned_numbers(form: str, concepts: list[Concept]) -> dict[str, re.Pattern[str]]:
    """Numbers up to ten the question ties to a word before them ("scope 3", "范围三",
    "glm-5"): the evidence must repeat the pair, in either language and as digit or numeral,
    not just the number somewhere ("Scope 1 and Scope 2" is no Scope 3). Larger numbers are
    ages, days and amounts ("aged 40", "12月"); one-character words have too many senses."""
    found: dict[str, re.Pattern[str]] = {}
    for number in (c.token for c in concepts if c.token in _NUMERALS or c.token in _DIGITS):
        digit = str(_NUMERALS.index(number) + 1) if number in _NUMERALS else number
        after = rf"(?:{digit}|{_NUMERALS[int(digit) - 1]})(?![\d.])"
        word = next((c for c in concepts if len(c.token) > 1 and not is_number(c.token)
                     and re.search(rf"{re.escape(c.token)}[ -]?{after}", form)), None)
        if word is not None:
            words = "|".join(re.escape(t) for t in {word.token, *(t for t, _ in word.translations)})
            found[number] = re.compile(rf"(?:{words})[ \t(（-]{{0,3}}{after}")
    return found


@dataclass(frozen=True)
class Asked:
    """A question as the scorer reads it: matching form, intent, weighted content words."""

    form: str
    intent: Intent
    concepts: list[Concept]
    pinned: dict[str, re.Pattern[str]] = field(default_factory=dict)  # pinned_numbers

    def found(self, concept: Concept, form: str, words: frozenset[str]) -> float:
        """Concept.found_in, except that a pinned number ("Scope 3") needs its word beside
        it."""
        pin = self.pinned.get(concept.token)
        if pin is None:
            return concept.found_in(form, words)
        return 1.0 if pin.search(form) else 0.0


def read_question(retriever: Retriever, question: str, plan: QueryPlan) -> Asked:
    """The question's matching form, intent and concepts, for scoring candidates."""
    form, concepts = matching_form(question), question_concepts(retriever, plan)
    return Asked(form, detect_intent(question), concepts, pinned_numbers(form, concepts))


def with_history(retriever: Retriever, question: str, history: list[str] | None) -> str:
    """A follow-up with fewer than two content words ("And in 2022?", "那2022年呢？")
    borrows the previous question, whose years give way to the follow-up's own."""
    if not history:
        return question
    words = [t for t in retriever.plan(question).tokens
             if not _asking(t) and not t.isdigit() and (t.isascii() or len(t) > 1)]
    if len(words) >= 2:
        return question
    previous = history[-1]
    if YEAR.search(question):
        previous = YEAR.sub("", previous)
    return f"{previous} {question}"

