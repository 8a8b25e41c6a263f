"""A text-like synthetic corpus for the scale benchmark: the bundled reports' sentences,
recombined into new documents in all three scripts with numbers, years and names varied."""

from __future__ import annotations

import random
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from index.normalise import converter
from index.types import Script

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
_SENTENCE_ZH = re.compile(r"[^。！？\n]{12,220}[。！？]")
_SENTENCE_EN = re.compile(r"[A-Z][^.!?\n]{30,320}[.!?](?=\s)")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_YEAR = re.compile(r"(?<!\d)20[0-2]\d(?!\d)")
_HEADING_ZH = re.compile(r"^[^\s。，；：,.]{2,14}$")
_HEADING_EN = re.compile(r"^[A-Z][A-Za-z ,&'-]{3,50}$")
_ZH_PARTS = ("華", "盛", "遠", "智", "恒", "新", "德", "衡", "啟", "瀚", "天", "雲", "星", "博",
             "鼎", "峰", "弘", "睿", "宏", "達")
_ZH_KINDS = ("科技", "智能", "能源", "醫藥", "電子", "控股", "數據", "物流")
_EN_PARTS = ("North", "Blue", "Stone", "Bright", "Silver", "Harbor", "Peak", "Orion", "Cedar",
             "Lumen", "Vertex", "Nova", "Atlas", "Quartz", "Falcon", "Maple")
_EN_KINDS = ("Technologies", "Holdings", "Energy", "Robotics", "Biotech", "Data", "Logistics")
_DOC_TYPES = ("esg-report", "annual-report", "annual-results", "prospectus")


@dataclass(frozen=True)
class SentencePool:
    """Sentences and headings of the bundled reports, by script (zh-Hans made with OpenCC)."""

    sentences: dict[Script, list[str]]
    headings: dict[Script, list[str]]
    names: tuple[str, ...]  # the bundled companies' names, replaced by synthetic ones

    @classmethod
    def read(cls, corpus: Path = CORPUS) -> SentencePool:
        entries = tomllib.loads((corpus / "manifest.toml").read_text("utf-8"))["documents"]
        sentences: dict[Script, list[str]] = {"zh-Hant": [], "zh-Hans": [], "en": []}
        headings: dict[Script, list[str]] = {"zh-Hant": [], "zh-Hans": [], "en": []}
        names: set[str] = set()
        for entry in entries:
            text = (corpus / entry["file"]).read_text("utf-8")
            names.update(n for n in [entry.get("company", ""), entry.get("company_local", ""),
                                     *entry.get("aliases", [])] if len(n) >= 2)
            script: Script = "en" if entry["script"] == "en" else "zh-Hant"
            found = (_SENTENCE_EN if script == "en" else _SENTENCE_ZH).findall(text)
            heading = _HEADING_EN if script == "en" else _HEADING_ZH
            sentences[script].extend(s.strip() for s in found)
            headings[script].extend(line.strip() for line in text.splitlines()
                                    if heading.match(line.strip()))
        to_hans = converter("t2s")
        sentences["zh-Hans"] = [to_hans.convert(s) for s in sentences["zh-Hant"]]
        headings["zh-Hans"] = [to_hans.convert(h) for h in headings["zh-Hant"]]
        names |= {to_hans.convert(n) for n in names}
        # longest first (a name inside a longer one must not break it), ties by the text:
        # not by set order, which differs between processes, and so would the corpus
        return cls(sentences, headings, tuple(sorted(names, key=lambda n: (-len(n), n))))


@dataclass(frozen=True)
class SyntheticDocument:
    doc_id: str
    title: str
    company: str
    year: int
    doc_type: str
    script: Script
    text: str


def company_name(rng: random.Random, script: Script) -> str:
    if script == "en":
        return f"{rng.choice(_EN_PARTS)}{rng.choice(_EN_PARTS).lower()} {rng.choice(_EN_KINDS)}"
    name = rng.choice(_ZH_PARTS) + rng.choice(_ZH_PARTS) + rng.choice(_ZH_KINDS)
    return converter("t2s").convert(name) if script == "zh-Hans" else name


def _varied(sentence: str, rng: random.Random, company: str, year: int,
            names: tuple[str, ...]) -> str:
    for name in names:
        if name in sentence:
            sentence = sentence.replace(name, company)
    sentence = _YEAR.sub(lambda m: str(year - rng.randint(0, 2)), sentence)
    return _NUMBER.sub(lambda m: m.group() if _YEAR.fullmatch(m.group())
                       else _number_like(m.group(), rng), sentence)


def _number_like(number: str, rng: random.Random) -> str:
    """Another number of the same shape: digit count, separators and decimals kept."""
    return "".join(str(rng.randint(1 if i == 0 else 0, 9)) if ch.isdigit() else ch
                   for i, ch in enumerate(number))


def documents(pool: SentencePool, count: int, paragraphs: int = 100,
              seed: int = 0) -> Iterator[SyntheticDocument]:
    """`count` documents, scripts in turn; each a title, then sections of headed paragraphs
    of 3-6 recombined sentences of its script, naming its own company and year."""
    rng = random.Random(seed)
    scripts: tuple[Script, ...] = ("zh-Hant", "zh-Hans", "en")
    for number in range(count):
        script = scripts[number % 3]
        company, year = company_name(rng, script), rng.randint(2015, 2025)
        doc_type = rng.choice(_DOC_TYPES)
        label = doc_type.replace("-", " ").title()
        title = f"{company} {year} {label}" if script == "en" else f"{company}{year}年報告"
        lines = [title, ""]
        join = " " if script == "en" else ""
        for paragraph in range(paragraphs):
            if paragraph % 4 == 0:
                heading = rng.choice(pool.headings[script])
                lines += [_varied(heading, rng, company, year, pool.names), ""]
            picked = rng.choices(pool.sentences[script], k=rng.randint(3, 6))
            lines += [join.join(_varied(s, rng, company, year, pool.names) for s in picked), ""]
        yield SyntheticDocument(f"synthetic-{number:07d}", title, company, year, doc_type,
                                script, "\n".join(lines))


def write_corpus(folder: Path, docs: Iterator[SyntheticDocument]) -> int:
    """Write documents as text files with a manifest.toml; returns how many were written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(folder / "manifest.toml", "w", encoding="utf-8") as manifest:
        for doc in docs:
            name = f"{doc.doc_id}.txt"
            (folder / name).write_text(doc.text, encoding="utf-8")
            manifest.write(
                f'[[documents]]\nid = "{doc.doc_id}"\nfile = "{name}"\n'
                f'title = "{doc.title}"\ncompany = "{doc.company}"\nyear = {doc.year}\n'
                f'doc_type = "{doc.doc_type}"\nscript = "{doc.script}"\n\n')
            written += 1
    return written
