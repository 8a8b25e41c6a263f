"""The loaded online side: settings, embedding model, lexicon, index, retriever, LLM client."""

from __future__ import annotations

from dataclasses import dataclass

from index.build import BuildOptions, BuildReport, Progress, build_index
from index.corpus import SourceFile
from index.embed import Embedder
from index.lexicon import FILINGS_GLOSSARY, Lexicon, read_glossary
from index.reader import open_index
from service.config import Settings
from service.llm import LlmClient, make_client
from service.retrieve import Retriever


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


def build(settings: Settings, sources: list[SourceFile], embedder: Embedder,
          force: bool = False, progress: Progress | None = None) -> BuildReport:
    """Build the index for `sources` with the settings' glossary and dense index kind."""
    pairs = read_glossary(settings.glossary)
    options = BuildOptions(dense_kind=settings.dense_index, extra_words=glossary_words(pairs),
                           force=force)
    if progress is None:
        return build_index(sources, settings.data_dir, embedder, options)
    return build_index(sources, settings.data_dir, embedder, options, progress)


@dataclass
class Engine:
    settings: Settings
    embedder: Embedder
    retriever: Retriever
    generator: LlmClient | None = None  # words answers from the quotes when configured

    @classmethod
    def start(cls, settings: Settings, embedder: Embedder | None = None) -> Engine:
        """Load everything the online side needs, once; raises when the index is unusable."""
        generator = make_generator(settings)  # checked first: a bad setting fails at once
        embedder = embedder or make_embedder(settings)
        index = open_index(settings.data_dir, embedder.model_id)
        # The corpus's own names first, then the standard terms of filings.
        lexicon = Lexicon.load(cache_dir=settings.data_dir / "cache").with_glossary(
            read_glossary(settings.glossary) + read_glossary(FILINGS_GLOSSARY))
        return cls(settings, embedder, Retriever(index, embedder, lexicon), generator)
