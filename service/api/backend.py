"""What the API needs from a loaded engine, so tests can hand it a small fake instead."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from index.embed import Embedder
from index.types import Document
from service.access import Filters
from service.answer import Answer, ReplyScript
from service.config import Settings
from service.engine import Engine, make_embedder, make_generator
from service.retrieve import Hit, Method


class Backend(Protocol):
    """A loaded, read-only index that can search and answer; shared by concurrent requests."""

    @property
    def documents(self) -> Mapping[str, Document]: ...

    @property
    def description(self) -> dict[str, str | int]: ...

    def search(self, query: str, k: int, filters: Filters, method: Method) -> list[Hit]: ...

    def answer(self, question: str, top_k: int, filters: Filters, reply_script: ReplyScript,
               history: list[str]) -> Answer: ...


class EngineBackend:
    """The real backend: service.engine.Engine's retriever and service.answer."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def documents(self) -> Mapping[str, Document]:
        return self.engine.index.store.documents

    @property
    def description(self) -> dict[str, str | int]:
        index = self.engine.index
        return {"index": index.manifest.build_id, "model": index.manifest.model,
                "documents": len(index.store.documents), "chunks": len(index.store)}

    def search(self, query: str, k: int, filters: Filters, method: Method) -> list[Hit]:
        return self.engine.search(query, k, filters, method)

    def answer(self, question: str, top_k: int, filters: Filters, reply_script: ReplyScript,
               history: list[str]) -> Answer:
        return self.engine.ask(question, history, filters, top_k, reply_script)


def load_backend(settings: Settings) -> Backend:
    """Start the real engine for `settings` (slow: loads the model and the index)."""
    return EngineBackend(Engine.start(settings))


class EngineLoader:
    """Starts the real engine on each call, loading the embedding model only on the first:
    a reload after `wenda index` opens the new build and keeps the model (and its memory).

    One app calls it from one place at a time (start-up, then the index watcher), so the
    model is never loaded twice.
    """

    def __init__(self) -> None:
        self.embedder: Embedder | None = None

    def __call__(self, settings: Settings) -> Backend:
        if self.embedder is None:
            make_generator(settings)  # a bad LLM setting fails before the slow model load
            self.embedder = make_embedder(settings)
        return EngineBackend(Engine.start(settings, self.embedder))
