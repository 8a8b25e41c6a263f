"""The peers eval/bench_peers.py measures Wenda against: the usual hybrid recipe of
LangChain, LlamaIndex and Haystack 2.x, each with its own splitter at ~500 characters,
and all embedding with Wenda's own Embedder (wrapped in each framework's embeddings
interface, so every system searches the very same vectors the same model gives).

Each recipe is built the way its documentation shows; where a default would fetch
something at run time or call a hosted model, the setting that avoids it is named in a
comment. The libraries come from the optional extra `peers` (pyproject.toml), imported
only inside the function that builds that peer.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from index.embed import Embedder

SIZE = 500  # characters per chunk, for every peer
OVERLAP = 50  # characters shared by neighbouring chunks
K = 10  # each retriever's depth before fusion, and the fused list's length


@dataclass(frozen=True)
class Source:
    """One document as every system reads it: Wenda's loaded text (index/load.py)."""

    doc_id: str
    text: str


@dataclass(frozen=True)
class Passage:
    """A retrieved passage as the recall judgement sees it: its document and its text."""

    doc_id: str
    text: str


Search = Callable[[str], list[Passage]]  # question -> its top K passages


@dataclass
class Searcher:
    """A built system: the passages it cut, its (fused) search, and each of the searches
    it fuses alone ("dense", "keyword"), to tell what fusion adds."""

    passages: list[Passage]
    search: Search
    parts: dict[str, Search]


PEERS = ("langchain", "llamaindex", "haystack")
MODULES = {"langchain": "langchain_classic", "llamaindex": "llama_index.core",
           "haystack": "haystack"}  # what a peer needs installed (tests skip without it)


def build_peer(name: str, sources: Sequence[Source], embedder: Embedder) -> Searcher:
    builders = {"langchain": langchain, "llamaindex": llamaindex, "haystack": haystack}
    if name not in builders:
        raise ValueError(f"unknown peer {name!r}: expected one of {', '.join(PEERS)}")
    return builders[name](sources, embedder)


def langchain(sources: Sequence[Source], embedder: Embedder) -> Searcher:
    """Langchain-Chatchat's hybrid: FAISS + BM25Retriever over jieba.lcut_for_search
    tokens, fused by EnsembleRetriever (weighted RRF, weights 0.5 / 0.5), over
    RecursiveCharacterTextSplitter chunks with the separators LangChain's documentation
    gives for text without word boundaries (Chinese and Japanese)."""
    import jieba
    from langchain_classic.retrievers import EnsembleRetriever
    from langchain_community.retrievers import BM25Retriever
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document
    from langchain_core.embeddings import Embeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    class WendaEmbeddings(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return embedder.embed_passages(list(texts)).tolist()

        def embed_query(self, text: str) -> list[float]:
            return embedder.embed_queries([text])[0].tolist()

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=SIZE, chunk_overlap=OVERLAP,
        separators=["\n\n", "\n", " ", ".", ",", "\u200b", "\uff0c", "\u3001", "\uff0e",
                    "\u3002", ""])
    docs = splitter.split_documents(
        [Document(page_content=s.text, metadata={"doc_id": s.doc_id}) for s in sources])
    bm25 = BM25Retriever.from_documents(docs, preprocess_func=jieba.lcut_for_search, k=K)
    dense = FAISS.from_documents(docs, WendaEmbeddings()).as_retriever(search_kwargs={"k": K})
    fused = EnsembleRetriever(retrievers=[bm25, dense], weights=[0.5, 0.5])

    def searching(retriever: Any) -> Search:
        return lambda question: [Passage(d.metadata["doc_id"], d.page_content)
                                 for d in retriever.invoke(question)[:K]]

    return Searcher([Passage(d.metadata["doc_id"], d.page_content) for d in docs],
                    searching(fused), {"dense": searching(dense), "keyword": searching(bm25)})


def llamaindex(sources: Sequence[Source], embedder: Embedder) -> Searcher:
    """LlamaIndex's hybrid: a VectorStoreIndex on FaissVectorStore + BM25Retriever (bm25s,
    its default English stemmer and token pattern), fused by QueryFusionRetriever in
    reciprocal-rank mode with one query (no LLM rewrites), over SentenceSplitter chunks.

    The FAISS index is inner product (cosine on these unit vectors), not the IndexFlatL2
    of LlamaIndex's FAISS example: FaissVectorStore hands L2 distances on as scores, and
    the fusion ranks each list by score, highest first, so with L2 it fuses the dense
    results in reverse order (measured: recall@5 0.23 over all questions instead of 0.48)."""
    import faiss
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.core.embeddings import BaseEmbedding
    from llama_index.core.llms import MockLLM
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.retrievers import QueryFusionRetriever
    from llama_index.core.retrievers.fusion_retriever import FUSION_MODES
    from llama_index.retrievers.bm25 import BM25Retriever
    from llama_index.vector_stores.faiss import FaissVectorStore

    class WendaEmbedding(BaseEmbedding):
        def _get_query_embedding(self, query: str) -> list[float]:
            return embedder.embed_queries([query])[0].tolist()

        def _get_text_embedding(self, text: str) -> list[float]:
            return embedder.embed_passages([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return embedder.embed_passages(list(texts)).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    # SentenceSplitter counts tokens with tiktoken; counting characters (tokenizer=list)
    # makes its 500 the same ~500 characters as the other peers' in all three scripts.
    splitter = SentenceSplitter(chunk_size=SIZE, chunk_overlap=OVERLAP, tokenizer=list)
    documents = [Document(text=s.text, metadata={"doc_id": s.doc_id},
                          # the id is for the judgement, not part of what is embedded
                          excluded_embed_metadata_keys=["doc_id"],
                          excluded_llm_metadata_keys=["doc_id"]) for s in sources]
    nodes = splitter.get_nodes_from_documents(documents)
    store = FaissVectorStore(faiss_index=faiss.IndexFlatIP(embedder.dimension))
    index = VectorStoreIndex(nodes, storage_context=StorageContext.from_defaults(
        vector_store=store), embed_model=WendaEmbedding(embed_batch_size=32))
    dense = index.as_retriever(similarity_top_k=K)
    bm25 = BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=K)
    fused = QueryFusionRetriever(
        [dense, bm25], similarity_top_k=K, num_queries=1,
        mode=FUSION_MODES.RECIPROCAL_RANK, use_async=False,
        llm=MockLLM())  # a MockLLM: the default would be OpenAI's

    def passage(node: Any) -> Passage:
        return Passage(node.metadata["doc_id"], node.get_content())

    def searching(retriever: Any) -> Search:
        return lambda question: [passage(hit.node) for hit in retriever.retrieve(question)[:K]]

    return Searcher([passage(n) for n in nodes], searching(fused),
                    {"dense": searching(dense), "keyword": searching(bm25)})


def haystack(sources: Sequence[Source], embedder: Embedder) -> Searcher:
    """Haystack 2.x's hybrid pipeline: InMemoryBM25Retriever + InMemoryEmbeddingRetriever
    on one InMemoryDocumentStore, joined by DocumentJoiner in reciprocal_rank_fusion mode,
    over RecursiveDocumentSplitter chunks of 500 characters. Its default separators are
    paragraph, "sentence", line, space; "sentence" is NLTK punkt, which does not cut
    Chinese and whose data Haystack downloads at run time, so sentence ends of both
    scripts stand in for it."""
    os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")  # else it posts usage data
    from haystack import Document, Pipeline, component
    from haystack.components.joiners import DocumentJoiner
    from haystack.components.preprocessors import RecursiveDocumentSplitter
    from haystack.components.retrievers.in_memory import (
        InMemoryBM25Retriever,
        InMemoryEmbeddingRetriever,
    )
    from haystack.components.writers import DocumentWriter
    from haystack.document_stores.in_memory import InMemoryDocumentStore

    @component
    class WendaDocumentEmbedder:
        @component.output_types(documents=list[Document])
        # Any, not Document: Haystack reads these hints, and a local name would not resolve
        def run(self, documents: list[Any]) -> dict[str, Any]:
            vectors = embedder.embed_passages([d.content or "" for d in documents])
            return {"documents": [replace(d, embedding=v.tolist())
                                  for d, v in zip(documents, vectors, strict=True)]}

    @component
    class WendaTextEmbedder:
        @component.output_types(embedding=list[float])
        def run(self, text: str) -> dict[str, Any]:
            return {"embedding": embedder.embed_queries([text])[0].tolist()}

    store = InMemoryDocumentStore()
    indexing = Pipeline()
    indexing.add_component("splitter", RecursiveDocumentSplitter(
        split_length=SIZE, split_overlap=OVERLAP, split_unit="char",
        separators=["\n\n", r"(?<=[。！？])", "\n", r"(?<=[.!?]) ", " "]))
    indexing.add_component("embedder", WendaDocumentEmbedder())
    indexing.add_component("writer", DocumentWriter(store))
    indexing.connect("splitter", "embedder")
    indexing.connect("embedder", "writer")
    indexing.run({"splitter": {"documents": [Document(content=s.text, meta={"doc_id": s.doc_id})
                                             for s in sources]}})
    query = Pipeline()
    query.add_component("embedder", WendaTextEmbedder())
    bm25 = InMemoryBM25Retriever(store, top_k=K)
    dense = InMemoryEmbeddingRetriever(store, top_k=K)
    query.add_component("bm25", bm25)
    query.add_component("dense", dense)
    query.add_component("joiner", DocumentJoiner(join_mode="reciprocal_rank_fusion", top_k=K))
    query.connect("embedder.embedding", "dense.query_embedding")
    query.connect("bm25", "joiner")
    query.connect("dense", "joiner")

    def passage(document: Any) -> Passage:
        return Passage(document.meta["doc_id"], document.content or "")

    def search(question: str) -> list[Passage]:
        found = query.run({"embedder": {"text": question}, "bm25": {"query": question}})
        return [passage(d) for d in found["joiner"]["documents"][:K]]

    def dense_alone(question: str) -> list[Passage]:
        vector = embedder.embed_queries([question])[0].tolist()
        return [passage(d) for d in dense.run(query_embedding=vector)["documents"][:K]]

    def keyword_alone(question: str) -> list[Passage]:
        return [passage(d) for d in bm25.run(query=question)["documents"][:K]]

    return Searcher([passage(d) for d in store.filter_documents()], search,
                    {"dense": dense_alone, "keyword": keyword_alone})
