"""The online chain, as index/build.py is the offline one: read the question, search,
gather evidence, decide, compose. The CLI, the API and the evaluation all call `Engine.ask`."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from index.build import BuildOptions, BuildReport, Progress, build_index
from index.corpus import SourceFile
from index.embed import Embedder
from index.lexicon import FILINGS_GLOSSARY, Lexicon, read_glossary
from index.library import Library
from index.milvus import MilvusLink, MilvusTarget, alias_target, write_collection
from index.reader import LoadedIndex, open_index
from index.store import current_index
from service import compose
from service.access import Filters
from service.answer import (
    Answer,
    Decision,
    abstention,
    compose_reply,
    decide,
    missing_of,
    reply_script_for,
)
from service.cite import Citation
from service.config import Settings
from service.evidence import Candidate, candidates
from service.llm import GenerationError, LlmClient, generate, make_client
from service.model import AnswerModel
from service.query import Query, QueryReader
from service.retrieve import Hit, Method, Retriever
from service.search_backend import make_backend, milvus_target
from service.vocabulary import Vocabulary

_log = logging.getLogger(__name__)
SEARCH_DEPTH = 10  # passages mined for evidence (only top_k are returned as `passages`)
GENERATION_SOURCES = 5  # best candidates a language model may answer from


def glossary_words(pairs: list[tuple[str, str]]) -> tuple[str, ...]:
    from index.script import converter

    return tuple(sorted({converter("t2s").convert(zh) for zh, _ in pairs}))


def make_embedder(settings: Settings) -> Embedder:
    embedder = Embedder(settings.model, settings.data_dir)
    embedder.warm_up()
    return embedder


def make_generator(settings: Settings) -> LlmClient | None:
    """The language-model client when WENDA_LLM_BASE_URL is set; None keeps answers extractive.

    Raises ValueError naming the bad setting (a URL without http://, an empty model).
    """
    return make_client(settings.llm_base_url, settings.llm_model, settings.llm_timeout,
                       settings.llm_api_key or None)


def served_corpus(settings: Settings) -> list[SourceFile]:
    """The documents a build of this data folder indexes (index/library.py): the corpus
    folders named, less those removed, plus those uploaded."""
    return [e.source for e in Library(settings.data_dir).corpus([settings.corpus_dir])]


def build_served(settings: Settings, embedder: Embedder, force: bool = False,
                 progress: Progress | None = None) -> BuildReport:
    """Build the served corpus, and record in the documents store which of its changes
    the build holds (a change whose build never finished is built again at start-up)."""
    library = Library(settings.data_dir)
    generation = library.generation()  # read first: a change stored meanwhile is not held
    report = build(settings, served_corpus(settings), embedder, force, progress)
    library.mark_built(generation)
    return report


def build(settings: Settings, sources: list[SourceFile], embedder: Embedder,
          force: bool = False, progress: Progress | None = None) -> BuildReport:
    """Build the index for `sources` with the settings' glossary and dense index kind."""
    pairs = read_glossary(settings.glossary)
    mirror = None
    if settings.backend == "milvus":
        target = milvus_target(settings)
        mirror = partial(write_collection, target=target)
        # an up-to-date build not yet in Milvus (the backend was just switched) is rebuilt
        force = force or not _in_milvus(settings.data_dir, target)
    options = BuildOptions(dense_kind=settings.dense_index, extra_words=glossary_words(pairs),
                           force=force, mirror=mirror)
    if progress is None:
        return build_index(sources, settings.data_dir, embedder, options)
    return build_index(sources, settings.data_dir, embedder, options, progress)


def _in_milvus(data_dir: Path, target: MilvusTarget) -> bool:
    """Whether the published build has its collection on the server `target` names."""
    folder = current_index(data_dir)
    link = MilvusLink.read(folder) if folder is not None else None
    return link is not None and link.collection == alias_target(target)


@dataclass
class Engine:
    """Everything the online side loads once: model, index, vocabulary, answer model."""

    settings: Settings
    embedder: Embedder
    index: LoadedIndex
    vocabulary: Vocabulary
    reader: QueryReader
    retriever: Retriever
    model: AnswerModel
    generator: LlmClient | None = None  # words answers from the quotes when configured

    @classmethod
    def start(cls, settings: Settings, embedder: Embedder | None = None,
              model: AnswerModel | None = None) -> Engine:
        """Load everything the online side needs, once; raises when the index is unusable."""
        generator = make_generator(settings)  # checked first: a bad setting fails at once
        model = model or AnswerModel.load()
        embedder = embedder or make_embedder(settings)
        index = open_index(settings.data_dir, embedder.model_id)
        # The corpus's own names first, then the standard terms of filings.
        lexicon = Lexicon.load(cache_dir=settings.data_dir / "cache").with_glossary(
            read_glossary(settings.glossary) + read_glossary(FILINGS_GLOSSARY))
        vocabulary = Vocabulary(index, lexicon)
        # The question reader tags Chinese names with jieba.posseg, whose import reads its
        # word tags (~0.3 s): read them now, so the first question does not wait for them.
        import jieba.posseg  # noqa: F401
        retriever = Retriever(index, embedder, vocabulary,
                              backend=make_backend(settings, index))
        return cls(settings, embedder, index, vocabulary, QueryReader(vocabulary, embedder),
                   retriever, model, generator)

    def read(self, question: str, history: Sequence[str] = ()) -> Query:
        return self.reader.read(question, history)

    def search(self, question: str, k: int = 10, filters: Filters | None = None,
               method: Method = "hybrid") -> list[Hit]:
        query = self.reader.read(question) if method != "bm25" else replace(
            self.reader.read(question), vector=None)
        return self.retriever.search(query, k, filters, method)

    def ask(self, question: str, history: Sequence[str] = (), filters: Filters | None = None,
            top_k: int = 5, reply_script: str = "auto") -> Answer:
        """Answer `question` (a follow-up of `history`, earlier user turns oldest first)
        from the documents `filters` admit, with citations; or say what they do not hold."""
        started = time.perf_counter()
        query = self.reader.read(question, history)
        hits = self.retriever.search(query, max(top_k, SEARCH_DEPTH), filters)
        searched = time.perf_counter()
        found = candidates(query, hits, self.index, self.vocabulary)
        decision = decide(query, found, self.model, self.vocabulary,
                          self.retriever.allowed_documents(filters))
        quote_script = reply_script_for(reply_script, query.script)
        answered = decision.chosen is not None and decision.confidence >= self.model.threshold
        if answered and decision.chosen is not None:
            text, citations = compose_reply(query, decision.chosen, self.index,
                                            self.vocabulary, quote_script)
        else:
            text, citations = abstention(query, decision), []
        timings = {"retrieve": (searched - started) * 1000,
                   "answer": (time.perf_counter() - searched) * 1000}
        answer = Answer(question, text, answered, quote_script, citations, hits[:top_k],
                        round(decision.confidence, 4), timings, query.answer_type,
                        missing="" if answered else missing_of(query, decision),
                        inherited=query.inherited)
        if self.generator is None or not answered:
            return answer  # never let a model answer what the documents do not say
        return self._generated(query, answer, decision)

    def _generated(self, query: Query, answer: Answer, decision: Decision) -> Answer:
        """The language model's wording of the best candidates, when every figure it writes
        stands in a citation; else the extractive answer."""
        assert self.generator is not None
        started = time.perf_counter()
        sources = [self._sources(query, c, answer.reply_script)
                   for c in decision.ranked[:GENERATION_SOURCES]]
        try:
            text, citations = generate(self.generator, query.search_text, sources, query.script)
        except GenerationError as error:
            _log.warning("generation failed, answering extractively: %s", error)
            return answer
        if not compose.verified(text, compose.cited_texts(citations)):
            _log.warning("generated answer states a figure no citation holds; answering "
                         "extractively")
            return answer
        timings = {**answer.timings_ms, "generate": (time.perf_counter() - started) * 1000}
        return replace(answer, answer=text, citations=citations, timings_ms=timings,
                       mode="generated")

    def _sources(self, query: Query, candidate: Candidate, quote_script: str) -> list[Citation]:
        _, citations = compose_reply(query, candidate, self.index, self.vocabulary, quote_script)
        return citations
