"""Two-word phrases of an English question, found as adjacent translations in a passage."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from index.keyword import stem

_WORD = re.compile(r"[a-z]+")
MAX_TRANSLATIONS = 6  # per word: 36 adjacent pairs in each order is enough


@dataclass(frozen=True)
class Phrase:
    """Two adjacent question words and the Chinese text that counts as finding them together."""

    words: tuple[str, str]
    # each translation of one word, with the texts it makes beside one of the other's (in
    # either order); plain substrings, no pattern: a pattern of every pair took longer to
    # compile, afresh for each question, than searching all its passages takes
    pairs: tuple[tuple[str, tuple[str, ...]], ...]
    weight: float

    def found_in(self, text: str) -> bool:
        """Whether `text` holds a translation of one word right beside one of the other's."""
        return any(term in text and any(pair in text for pair in joined)
                   for term, joined in self.pairs)


def question_phrases(matching: str, skip: frozenset[str],
                     translate: Callable[[str], Sequence[str]],
                     weigh: Callable[[str], float]) -> list[Phrase]:
    """Adjacent content-word pairs of an English question in matching form.

    A phrase is found where a translation of one word stands right beside a translation of
    the other, in either order, since Chinese often turns a pair round ("net cash": 现金净额).
    A bag of words cannot tell the table row 销售开支 from a passage with 销售 and 开支 apart.
    English passages are left to BM25 in the question's own language: rewarding their
    literal pairs as well pushed the English report above Chinese answers (measured).
    """
    words = _WORD.findall(matching)
    phrases = []
    for first, second in zip(words, words[1:], strict=False):
        if first in skip or second in skip or len(first) < 3 or len(second) < 3:
            continue
        one, two = translate(first)[:MAX_TRANSLATIONS], translate(second)[:MAX_TRANSLATIONS]
        if not one or not two:
            continue
        pairs = tuple((a, tuple(dict.fromkeys([a + b for b in two] + [b + a for b in two])))
                      for a in dict.fromkeys(one))
        phrases.append(Phrase((first, second), pairs, weigh(stem(first)) + weigh(stem(second))))
    return phrases


def phrase_share(phrases: Sequence[Phrase], text: str) -> float:
    """Weighted share of the phrases found in a passage's matching text."""
    total = sum(p.weight for p in phrases)
    found = sum(p.weight for p in phrases if p.found_in(text))
    return found / total if total else 0.0
