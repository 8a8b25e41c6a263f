"""What a loaded index knows, for reading questions: the keyword tokens of each language
with their document frequencies, the lexicon restricted to words the documents use, and
each document's company, aliases, kind of filing and period. Built once per loaded index
(service.engine) and handed to the query reader and the retriever."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from index.lexicon import Lexicon
from index.normalise import matching_form
from index.reader import LoadedIndex
from index.types import DocumentMeta

IDF_CAP = 4.5  # a word the corpus never uses weighs as much as a rare one, not more


def language(script: str) -> str:
    return "en" if script == "en" else "zh"


@dataclass(frozen=True)
class DocumentFacts:
    """What questions may name about one document."""

    doc_id: str
    company: str
    aliases: tuple[str, ...]  # the company's names, matching form
    doc_type: str
    period: int | None  # the year it reports on: its title's year, else the manifest's
    language: str  # "en" | "zh"
    parallel: str | None = None  # the same report in another language
    names: tuple[str, ...] = ()  # the company's names as the manifest writes them


class Vocabulary:
    """Corpus statistics and names for one loaded index; read-only once built, so requests
    share it (the translation cache only ever gains entries, and a race computes one twice)."""

    def __init__(self, index: LoadedIndex, lexicon: Lexicon) -> None:
        self.tokenizer = index.tokenizer
        self.lexicon = lexicon
        # Read from the BM25 matrix and the store's row arrays, not from chunk objects or a
        # set per row: at a million passages those would not fit in memory.
        self.row_tokens = index.keyword.row_tokens(len(index.chunks))
        self.rows = len(self.row_tokens)
        self.df = index.keyword.document_frequencies()
        english = index.columns.of_scripts(("en",))  # language(script) of every row
        self.words: dict[str, set[str]] = {"en": index.keyword.tokens_in(english),
                                           "zh": index.keyword.tokens_in(~english)}
        self.shared = {t for t in self.words["zh"] if t.isascii()}  # names, codes, figures
        texts: dict[str, list[str]] = {}
        for row, matching in index.chunks.column("matching"):
            texts.setdefault(index.columns.doc_id(row), []).append(matching)
        self.texts = {doc_id: "\n".join(parts) for doc_id, parts in texts.items()}
        self.documents = {doc_id: _facts(doc.meta, doc.script)
                          for doc_id, doc in index.store.documents.items()}
        self._known: dict[tuple[str, str], bool] = {}
        self._tokens: dict[str, frozenset[str]] = {}

    def tokens(self, text: str) -> frozenset[str]:
        """The keyword tokens of a text (any form), remembered: sections and table headers
        recur in every candidate cut from them."""
        found = self._tokens.get(text)
        if found is None:
            found = frozenset(self.tokenizer.tokens(matching_form(text)))
            if len(self._tokens) < 100_000:
                self._tokens[text] = found
        return found

    def knows(self, lang: str) -> Callable[[str], bool]:
        """Whether passages in `lang` use a term: translations they never use find nothing,
        and would crowd out the dictionary's later senses that they do use."""
        vocabulary = self.words[lang]

        def known(term: str) -> bool:
            key = (lang, term)
            if key not in self._known:
                tokens = self.tokenizer.tokens(matching_form(term))
                self._known[key] = bool(tokens) and all(t in vocabulary for t in tokens)
            return self._known[key]
        return known

    def idf(self, forms: tuple[frozenset[str], ...]) -> float:
        """How telling it is to find a word in any of its forms; a word found through a
        common translation ('year' as 年) tells little, however rare the word is itself."""
        df = max(min(self.df.get(t, 0) for t in form) for form in forms if form)
        return min(IDF_CAP, math.log((self.rows + 1) / (df + 0.5)))

    def mentions(self, term: str, doc_ids: frozenset[str] | None = None) -> bool:
        """Whether a term (matching form) stands in any of these documents' text."""
        return any(term in text for doc_id, text in self.texts.items()
                   if doc_ids is None or doc_id in doc_ids)


def _facts(meta: DocumentMeta, script: str) -> DocumentFacts:
    return DocumentFacts(
        doc_id=meta.doc_id, company=meta.company,
        aliases=tuple(a for a in (matching_form(x) for x in meta.aliases) if a),
        names=tuple(x for x in meta.aliases if matching_form(x)),
        doc_type=meta.doc_type, period=meta.period,
        language=language(script), parallel=meta.parallel)
