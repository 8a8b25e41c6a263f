"""The Milvus backend against a real Milvus server (milvus-lite's, started by the session):
the same rankings as the embedded index, filters inside the engine, atomic publishing."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import pytest

from eval.cli import DEFAULT_QUESTIONS, gate_failures, load_thresholds
from index.corpus import discover
from index.keyword import KeywordIndex
from index.milvus import (
    MilvusLink,
    MilvusTarget,
    alias_target,
    collision_free_salt,
    connect,
    passage_weights,
    term_hash,
)
from index.store import current_index
from service.access import Filters, expression, visible
from service.api.backend import EngineBackend
from service.config import Settings
from service.engine import Engine, build, make_embedder
from service.questions import load_questions
from service.retrieve import Retriever
from service.scoring import evaluate, summarise
from service.search_backend import MilvusBackend
from service.vocabulary import language

ROOT = Path(__file__).resolve().parents[2]
# Access groups on three of the bundled documents, so access is tested on the real corpus.
GROUPS = {"sensetime-esg-2023-en": '["esg"]', "sensetime-prospectus-2021-zh-hant":
          '["finance"]', "sensetime-results-2023-zh-hant": '["finance", "board"]'}
FILTERS = [
    Filters(groups=frozenset()),  # a caller without groups: public documents only
    Filters(groups=frozenset({"finance"})),
    Filters(groups=frozenset({"esg", "board"}), scripts=frozenset({"zh-Hant"})),
    Filters(companies=frozenset({"SenseTime"}), years=frozenset({2023, 2024})),
    Filters(doc_types=frozenset({"esg-report"}), fiscal_years=frozenset({2023})),
    Filters(doc_ids=frozenset({"sensetime-esg-2023-en", "zhipu-esg-2025-zh-hant"}),
            companies=frozenset({"智譜"})),
]


# ---- without a server ------------------------------------------------------------------

def test_a_term_hash_is_the_same_in_every_process() -> None:
    here = term_hash("營業收入", 3)
    there = subprocess.run([sys.executable, "-c", "from index.milvus import term_hash; "
                            "print(term_hash('營業收入', 3))"], capture_output=True, text=True,
                           check=True).stdout
    assert int(there) == here and 0 <= here < 2**32 - 2


def test_the_salt_keeps_colliding_tokens_apart() -> None:
    seen: dict[int, str] = {}
    for i in range(10**6):  # a 32-bit hash collides within ~10^5 tokens
        token = f"t{i}"
        if (h := term_hash(token, 0)) in seen:
            pair = [seen[h], token]
            break
        seen[h] = token
    salt = collision_free_salt(pair)
    assert salt > 0 and term_hash(pair[0], salt) != term_hash(pair[1], salt)


def test_passage_weights_score_as_bm25s_does() -> None:
    docs = [["收入", "增长", "收入"], ["revenue", "grew"], [], ["收入", "revenue", "cost"]]
    keyword = KeywordIndex.build(docs)
    vocabulary = {t: c for t, c in keyword.vocabulary.items() if t}
    columns = np.full(max(keyword.vocabulary.values()) + 1, -1, dtype=np.int64)
    for token, column in vocabulary.items():
        columns[column] = term_hash(token, 0)
    rows = list(passage_weights(keyword._model.scores, columns, len(docs)))  # type: ignore[attr-defined]
    query = {"收入": 1.0, "revenue": 0.5}
    expected = keyword.scores(query, len(docs))
    hashed = {term_hash(t, 0): w for t, w in query.items()}
    got = [sum(w * row.get(h, 0.0) for h, w in hashed.items()) for row in rows]
    assert rows[2] == {} and np.allclose(got, expected, rtol=1e-6)
    assert isinstance(keyword._model, bm25s.BM25)  # type: ignore[attr-defined]


def test_the_deployment_sets_only_settings_wenda_has() -> None:
    """deploy/compose.yaml cannot be started here (no container daemon); what it tells
    Wenda can be checked."""
    import yaml

    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    names = {name for service in services.values()
             for name in service.get("environment") or {} if name.startswith("WENDA_")}
    assert names <= {f"WENDA_{field.upper()}" for field in Settings.model_fields}
    replicas = [s for s in services.values() if s.get("command", [None])[:2] == ["wenda", "serve"]]
    assert len(replicas) == 2 and all(r["environment"]["WENDA_BACKEND"] == "milvus"
                                      for r in replicas)


# ---- against the server ----------------------------------------------------------------

@pytest.fixture(scope="module")
def engines(full_corpus_settings: Settings, milvus_uri: str, corpus_dir: Path,
            tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, Retriever]:
    """The bundled corpus (with access groups on three documents) built with the Milvus
    backend, from a copy of the session's build (its vectors are reused), as an engine on
    Milvus and an embedded retriever over the very same build."""
    root = tmp_path_factory.mktemp("milvus-corpus")
    corpus = root / "corpus"
    shutil.copytree(corpus_dir, corpus)
    manifest = (corpus / "manifest.toml").read_text(encoding="utf-8")
    for doc_id, groups in GROUPS.items():
        manifest = manifest.replace(f'id = "{doc_id}"\n', f'id = "{doc_id}"\ngroups = {groups}\n')
    (corpus / "manifest.toml").write_text(manifest, encoding="utf-8")
    shutil.copytree(full_corpus_settings.data_dir, root / "data", symlinks=True)
    settings = Settings(data_dir=root / "data", corpus_dir=corpus,
                        glossary=corpus / "glossary.toml", backend="milvus",
                        milvus_uri=milvus_uri, milvus_alias="bundled")
    embedder = make_embedder(settings)
    report = build(settings, discover([corpus]), embedder)
    assert report.embedded == 0 and not report.up_to_date
    engine = Engine.start(settings, embedder)
    assert isinstance(engine.retriever.backend, MilvusBackend)
    return engine, Retriever(engine.index, embedder, engine.vocabulary)


def _ids(retriever: Retriever, plan: Any, filters: Filters | None) -> list[str]:
    return [h.chunk.chunk_id for h in retriever.search(plan, k=50, filters=filters)]


def test_both_backends_rank_every_question_alike(engines: tuple[Engine, Retriever]) -> None:
    """Every known-answer question, without filters and with one of FILTERS in turn: the
    same top 50 of hybrid search, and the same three rankings underneath it."""
    engine, embedded = engines
    milvus = engine.retriever
    questions = load_questions(DEFAULT_QUESTIONS)
    differ: list[str] = []
    for i, question in enumerate(questions):
        plan = engine.reader.read(question.question)
        plan = replace(plan, vector=milvus.query_vector(plan))
        for filters in (None, FILTERS[i % len(FILTERS)]):
            if _ids(embedded, plan, filters) != _ids(milvus, plan, filters):
                differ.append(f"{question.id} {filters}")
        own, other = language(plan.script), "zh" if language(plan.script) == "en" else "en"
        for lang, tokens in ((own, plan.tokens), (other, plan.translated)):
            if embedded.backend.keyword(tokens, lang, 50, None) != [
                    (r, pytest.approx(s, rel=1e-5)) for r, s in
                    milvus.backend.keyword(tokens, lang, 50, None)]:
                differ.append(f"{question.id} keyword {lang}")
        assert plan.vector is not None
        ranked = embedded.backend.dense(plan.vector, 50, None)
        if [r for r, _ in ranked] != [r for r, _ in milvus.backend.dense(plan.vector, 50, None)]:
            differ.append(f"{question.id} dense")
    assert len(questions) > 250 and differ == []


def test_the_engines_expression_admits_what_filters_admit(
        engines: tuple[Engine, Retriever]) -> None:
    engine, _ = engines
    backend = engine.retriever.backend
    assert isinstance(backend, MilvusBackend)
    documents = engine.index.store.documents
    for filters in [*FILTERS, Filters(groups=frozenset({"nobody"}), doc_types=frozenset(
            {"prospectus"})), Filters(scripts=frozenset({"en"}), years=frozenset({2023}))]:
        rows = backend.client.query(backend.link.collection, filter=expression(filters),
                                    output_fields=["doc_id"], limit=16384)
        assert {r["doc_id"] for r in rows} == set(visible(documents, filters)), filters
    assert expression(Filters()) == ""


def test_the_quality_gate_passes_through_milvus(engines: tuple[Engine, Retriever]) -> None:
    engine, _ = engines
    summary = summarise(evaluate(EngineBackend(engine), load_questions(DEFAULT_QUESTIONS)))
    assert gate_failures(summary, load_thresholds()) == []


@pytest.mark.bench
def test_the_backend_benchmark_runs(engines: tuple[Engine, Retriever],
                                    capsys: pytest.CaptureFixture[str]) -> None:
    from eval.bench_backend import _run

    engine, embedded = engines
    _run(engine, embedded, engine.settings, 3)
    printed = capsys.readouterr().out
    assert printed.count("p50") == 4 and "top 50 3/3" in printed


CRASHING_BUILD = """
import sys, time
from pathlib import Path
import index.milvus as milvus
from index.corpus import discover
from index.embed import Embedder
from service.config import Settings
from service.engine import build

settings = Settings.model_validate_json(sys.argv[1])
milvus.BATCH = 64
connect = milvus.connect

def slow_connect(target):
    client = connect(target)
    insert = client.insert
    def insert_then_hang(name, rows):
        insert(name, rows)
        Path(sys.argv[2]).touch()
        time.sleep(600)
    client.insert = insert_then_hang
    return client

milvus.connect = slow_connect
# every vector is reused: the model is never loaded
build(settings, discover([settings.corpus_dir]), Embedder(settings.model, settings.data_dir),
      force=True)
"""


def test_a_build_killed_midway_leaves_the_alias_and_the_answers(
        engines: tuple[Engine, Retriever], tmp_path: Path) -> None:
    engine, _ = engines
    settings = engine.settings
    target = MilvusTarget(settings.milvus_uri, alias=settings.milvus_alias)
    published = current_index(settings.data_dir)
    assert published is not None
    before_collection = alias_target(target)
    link = MilvusLink.read(published)
    assert link is not None and before_collection == link.collection
    questions = [q.question for q in load_questions(DEFAULT_QUESTIONS)[::40]]
    before = [[h.chunk.chunk_id for h in engine.search(q, k=10)] for q in questions]

    started = tmp_path / "writing"
    process = subprocess.Popen([sys.executable, "-c", CRASHING_BUILD,
                                settings.model_dump_json(), str(started)])
    try:
        deadline = time.monotonic() + 120
        while not started.exists():
            assert process.poll() is None, "the build ended before it could be killed"
            assert time.monotonic() < deadline, "the build never reached Milvus"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)  # its collection half written
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    client = connect(target)
    half = [c for c in client.list_collections() if c.startswith("bundled_")
            and c != before_collection]
    assert len(half) == 1, "the killed build left no collection behind"
    assert alias_target(target) == before_collection
    assert current_index(settings.data_dir) == published
    restarted = Engine.start(settings, engine.embedder)  # a replica starting now
    for engine_now in (engine, restarted):
        assert [[h.chunk.chunk_id for h in engine_now.search(q, k=10)]
                for q in questions] == before

    after = build(settings, discover([settings.corpus_dir]), engine.embedder, force=True)
    now = alias_target(target)
    assert now != before_collection and MilvusLink.read(after.index_dir) is not None
    left = set(client.list_collections())
    assert now in left and before_collection in left and half[0] not in left, (
        "the previous collection stays until the next build; the killed one goes")
