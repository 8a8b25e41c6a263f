"""Shared fixtures: a fake backend with API clients around it, a tiny real index over
tests/data, and a stand-in OpenAI-compatible chat server."""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeEmbedder, api_client
from fastapi.testclient import TestClient

from index.build import build_index
from index.corpus import discover
from index.lexicon import Lexicon
from index.reader import open_index
from index.types import Chunk, Document, DocumentMeta, Script
from service.access import Filters
from service.answer import Answer, ReplyScript
from service.app import create_app
from service.cite import Citation
from service.config import Settings
from service.engine import Engine
from service.model import AnswerModel
from service.query import QueryReader
from service.retrieve import Hit, Method, Retriever
from service.vocabulary import Vocabulary

os.environ.setdefault("HF_HUB_OFFLINE", "1")

FIXTURES = {"en": ("en.txt", "Fixture Report (English)", ()),
            "zh-hant": ("zh-hant.txt", "測試年報（繁體）", ()),
            "zh-hans": ("zh-hans.txt", "测试年报（简体）", ("finance",))}
SCRIPT_OF: dict[str, Script] = {"en": "en", "zh-hant": "zh-Hant", "zh-hans": "zh-Hans"}
TINY_CEDICT = """\
收入 收入 [shou1 ru4] /income/revenue/
毛利 毛利 [mao2 li4] /gross profit/
"""


def paragraphs(doc: Document) -> list[Chunk]:
    """One chunk per paragraph, with exact offsets and 1-based line numbers."""
    chunks: list[Chunk] = []
    for match in re.finditer(r"[^\n](?:.|\n(?!\n))*", doc.text):
        start, end = match.span()
        chunks.append(Chunk(
            chunk_id=f"{doc.doc_id}#{len(chunks)}", doc_id=doc.doc_id, ordinal=len(chunks),
            script=doc.script, section=("Business", f"Part {len(chunks) + 1}"), page=None,
            line_start=doc.text.count("\n", 0, start) + 1,
            line_end=doc.text.count("\n", 0, end) + 1, char_start=start, char_end=end,
            text=match.group(), clean=match.group().replace("\n", ""), matching=""))
    return chunks


@dataclass
class FakeBackend:
    """Answers every question with the first matching paragraph, and records its calls."""

    docs: dict[str, Document]
    chunks: list[Chunk]
    calls: list[dict[str, Any]] = field(default_factory=list)
    answerable: bool = True
    fail_with: Exception | None = None

    @property
    def documents(self) -> Mapping[str, Document]:
        return self.docs

    @property
    def description(self) -> dict[str, str | int]:
        return {"index": "fake", "model": "fake", "documents": len(self.docs),
                "chunks": len(self.chunks)}

    def search(self, query: str, k: int, filters: Filters, method: Method) -> list[Hit]:
        self.calls.append({"op": "search", "query": query, "k": k, "filters": filters,
                           "method": method})
        if self.fail_with:
            raise self.fail_with
        allowed = [c for c in self.chunks if self._allowed(c, filters)]
        return [Hit(c, 1.0 / (rank + 1)) for rank, c in enumerate(allowed[:k])]

    def answer(self, question: str, top_k: int, filters: Filters, reply_script: ReplyScript,
               history: list[str]) -> Answer:
        self.calls.append({"op": "answer", "question": question, "top_k": top_k,
                           "filters": filters, "reply_script": reply_script,
                           "history": history})
        if self.fail_with:
            raise self.fail_with
        hits = [Hit(c, 1.0 / (rank + 1)) for rank, c in enumerate(
            [c for c in self.chunks if self._allowed(c, filters)][:top_k])]
        if not self.answerable or not hits:
            return Answer(question, "The documents do not say.", False, "en", [], hits)
        top = hits[0].chunk
        citation = Citation(
            n=1, doc_id=top.doc_id, title=self.docs[top.doc_id].meta.title,
            section=top.section_path, page=top.page, line_start=top.line_start,
            line_end=top.line_end, char_start=top.char_start, char_end=top.char_end,
            quote=top.text, chunk_id=top.chunk_id)
        return Answer(question, f"{top.clean} [1]", True, "original", [citation], hits,
                      confidence=0.9, timings_ms={"total": 1.5}, answer_type="definition")

    def _allowed(self, chunk: Chunk, filters: Filters) -> bool:
        return filters.admits(self.docs[chunk.doc_id].meta)  # the real rule, not a copy


@pytest.fixture
def backend(fixtures_dir: Path) -> FakeBackend:
    docs = {}
    for doc_id, (name, title, groups) in FIXTURES.items():
        text = (fixtures_dir / name).read_text(encoding="utf-8")
        meta = DocumentMeta(doc_id=doc_id, title=title, company="Fixture Co.", year=2023,
                            doc_type="annual-report", script=SCRIPT_OF[doc_id], groups=groups)
        docs[doc_id] = Document(meta=meta, source=name, text=text, script=SCRIPT_OF[doc_id])
    return FakeBackend(docs, [c for d in docs.values() for c in paragraphs(d)])


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", max_question_chars=200, max_top_k=20,
                    max_span_chars=500, max_upload_bytes=4000)


@pytest.fixture
def client(settings: Settings, backend: FakeBackend) -> Iterator[TestClient]:
    with api_client(create_app(settings, engine=backend), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def keyed_client(settings: Settings, backend: FakeBackend) -> Iterator[TestClient]:
    """API keys on: "reader" sees public documents and finance ones, "admin" sees all."""
    keyed = settings.model_copy(update={"api_keys": "reader-key:finance;public-key:;admin-key:*"})
    with api_client(create_app(keyed, engine=backend), raise_server_exceptions=False) as c:
        yield c


# ---- a tiny real index ------------------------------------------------------------------

@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory, fixtures_dir: Path) -> Path:
    """A data folder holding an index of tests/data (doc ids zh-hant, zh-hans, en), built
    with hash vectors: keyword matching does the work."""
    data = tmp_path_factory.mktemp("tiny")
    build_index(discover([fixtures_dir]), data, FakeEmbedder())  # type: ignore[arg-type]
    return data


def tiny_engine(data: Path, settings: Settings | None = None) -> Engine:
    """The real online chain over an index of tests/data, with hash vectors and a two-word
    lexicon (收入, 毛利): keyword matching does the work."""
    index = open_index(data, FakeEmbedder.model_id)
    vocabulary = Vocabulary(index, Lexicon.from_lines(TINY_CEDICT.splitlines(), {}))
    embedder = FakeEmbedder()
    return Engine(settings or Settings(data_dir=data), embedder, index, vocabulary,  # type: ignore[arg-type]
                  QueryReader(vocabulary, embedder), Retriever(index, embedder, vocabulary),  # type: ignore[arg-type]
                  AnswerModel.load())


@pytest.fixture(scope="session")
def tiny(tiny_data: Path) -> Engine:
    """The online chain over the tiny index (see tiny_engine)."""
    return tiny_engine(tiny_data)


# ---- a stand-in OpenAI-compatible server ------------------------------------------------

@dataclass
class StandIn:
    """What the stand-in server answers, and the requests it saw."""

    url: str = ""
    reply: str = "收入為人民幣3,405,842千元[1]。"
    status: int = 200
    raw: bytes | None = None  # sent instead of a chat completion when set
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)

    def body(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return json.dumps({
            "id": "chatcmpl-stand-in", "object": "chat.completion", "created": 0,
            "model": "stand-in", "choices": [{"index": 0, "finish_reason": "stop", "message": {
                "role": "assistant", "content": self.reply}}]}).encode()


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    """A tiny chat-completions server on a free 127.0.0.1 port, in a thread."""
    state = StandIn()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            state.requests.append({"path": self.path, "headers": dict(self.headers),
                                   "body": json.loads(self.rfile.read(length))})
            time.sleep(state.delay)
            body = state.body()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}/v1"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def closed_port() -> str:
    """The base URL of a port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
