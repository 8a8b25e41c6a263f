"""End to end over HTTP: real model, real FAISS, real uvicorn, the official openai client."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from conftest import e2e_settings, serving

from service.app import create_app

pytestmark = pytest.mark.e2e

# The two reports the session's index is built from (tests/e2e/conftest.py SUBSET).
RESULTS, ESG_EN = "sensetime-results-2023-zh-hant", "sensetime-esg-2023-en"
# (question, the document holding the answer, text the cited passage must contain),
# from eval/questions.jsonl: same-language zh-Hant and en, and an English question
# answered by the Chinese report.
KNOWN = [
    pytest.param("商湯截至2023年12月31日止年度的總收入是多少（人民幣千元）？", RESULTS, "3,405,842",
                 id="zh-Hant"),
    pytest.param("What was SenseTime's energy consumption per employee (MWh per person) in "
                 "2023?", ESG_EN, "28.74", id="en"),
    pytest.param("What gross margin did SenseTime report for 2023?", RESULTS, "44.1%",
                 id="en-to-zh"),
]


def span(http: httpx.Client, doc_id: str, start: int, end: int) -> str:
    response = http.get(f"/v1/documents/{doc_id}", params={"start": start, "end": end})
    assert response.status_code == 200, response.text
    text = response.json()["span"]["text"]
    assert isinstance(text, str)
    return text


def test_readyz_reports_the_built_index(http: httpx.Client) -> None:
    body = http.get("/readyz").json()
    assert body["status"] == "ready" and body["documents"] == 2
    assert body["model"] == "wenda/use-multilingual-v3" and body["index"]


def test_documents_lists_the_indexed_reports(http: httpx.Client) -> None:
    docs = http.get("/v1/documents").json()["documents"]
    assert sorted(d["doc_id"] for d in docs) == sorted([RESULTS, ESG_EN])


@pytest.mark.parametrize(("question", "doc_id", "expected"), KNOWN)
def test_search_finds_the_passage_and_its_span_is_the_original_text(
        http: httpx.Client, question: str, doc_id: str, expected: str) -> None:
    hits = http.get("/v1/search", params={"q": question, "k": 10}).json()["hits"]
    assert any(h["doc_id"] == doc_id and expected in h["text"] for h in hits), [
        (h["doc_id"], h["clean"][:80]) for h in hits]
    for hit in hits[:3]:
        assert span(http, hit["doc_id"], hit["char_start"], hit["char_end"]) == hit["text"]


@pytest.mark.parametrize(("question", "doc_id", "expected"), KNOWN)
def test_ask_quotes_exactly_the_original_spans(http: httpx.Client, question: str, doc_id: str,
                                               expected: str) -> None:
    response = http.post("/v1/ask", json={"question": question})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["passages"]
    for c in body["citations"]:
        assert span(http, c["doc_id"], c["char_start"], c["char_end"]) == c["quote"]
    for p in body["passages"][:3]:
        assert span(http, p["doc_id"], p["char_start"], p["char_end"]) == p["text"]


@pytest.mark.parametrize(("question", "doc_id", "expected"), KNOWN)
def test_ask_cites_the_passage_that_holds_the_answer(
        http: httpx.Client, question: str, doc_id: str, expected: str) -> None:
    body = http.post("/v1/ask", json={"question": question}).json()
    assert body["answerable"] is True, body["answer"]
    assert any(c["doc_id"] == doc_id and expected in c["quote"] for c in body["citations"]), (
        body["answer"], [(c["doc_id"], c["quote"][:80]) for c in body["citations"]])


def test_ask_abstains_when_the_documents_do_not_say(http: httpx.Client) -> None:
    body = http.post("/v1/ask", json={
        "question": "What was SenseTime's closing share price on 29 December 2023?"}).json()
    assert body["answerable"] is False, (body["answer"], body["confidence"])
    assert body["passages"]


def test_the_openai_client_gets_a_cited_completion(base_url: str) -> None:
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key="x", max_retries=0)
    completion = client.chat.completions.create(model="wenda", messages=[
        {"role": "user", "content": "What gross margin did SenseTime report for 2023?"}])
    content = completion.choices[0].message.content or ""
    assert "44.1%" in content and "[1]" in content and "\nSources:\n[1] " in content
    citations: list[dict[str, Any]] = (completion.model_extra or {})["citations"]
    assert citations and citations[0]["doc_id"] == RESULTS
    assert completion.model == "wenda" and completion.usage and completion.usage.total_tokens


def test_the_openai_client_streams_the_same_cited_completion(base_url: str) -> None:
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key="x", max_retries=0)
    messages: Any = [{"role": "user",
                      "content": "What gross margin did SenseTime report for 2023?"}]
    whole = client.chat.completions.create(model="wenda", messages=messages)
    chunks = list(client.chat.completions.create(model="wenda", messages=messages, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert "44.1%" in text and "Sources:" in text
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert (chunks[-1].model_extra or {})["citations"] == (whole.model_extra or {})["citations"]


def test_the_openai_client_lists_models_and_reads_our_errors(base_url: str) -> None:
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key="x", max_retries=0)
    assert "wenda" in [m.id for m in client.models.list()]
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        client.chat.completions.create(model="wenda",
                                       messages=[{"role": "user", "content": "  "}])
    assert caught.value.code == "empty_question"
    assert "question is empty" in caught.value.message


def test_concurrent_requests_get_the_same_results_as_sequential_ones(
        http: httpx.Client, base_url: str) -> None:
    queries = ["總收入", "gross margin", "energy consumption per employee", "研發開支",
               "employee turnover", "EBITDA", "溫室氣體排放", "cash and cash equivalents"]
    expected = {q: http.get("/v1/search", params={"q": q, "k": 5}).json() for q in queries}

    def search(query: str) -> tuple[str, int, Any]:
        with httpx.Client(base_url=base_url, timeout=120) as client:
            response = client.get("/v1/search", params={"q": query, "k": 5})
            return query, response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(search, queries * 3))
    assert all(status == 200 for _, status, _ in results)
    assert all(body == expected[query] for query, _, body in results)


def test_without_an_index_the_service_starts_but_answers_503(unready_url: str) -> None:
    assert httpx.get(f"{unready_url}/healthz").status_code == 200
    ready = httpx.get(f"{unready_url}/readyz")
    assert ready.status_code == 503
    assert ready.json()["error"]["code"] == "index_not_loaded"
    assert "wenda index" in ready.json()["error"]["message"]
    for response in (httpx.post(f"{unready_url}/v1/ask", json={"question": "總收入是多少？"}),
                     httpx.get(f"{unready_url}/v1/search", params={"q": "總收入"})):
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "index_not_loaded"


def test_no_response_names_a_path_of_the_host(unready_url: str, tmp_path: Path) -> None:
    # the unready server's data folder lies under tmp_path: nothing may show where
    bodies = [httpx.get(f"{unready_url}/readyz").text,
              httpx.post(f"{unready_url}/v1/ask", json={"question": "收入？"}).text,
              httpx.get(f"{unready_url}/v1/documents").text,
              httpx.get(f"{unready_url}/nope").text]
    for body in bodies:
        assert str(tmp_path) not in body and not re.search(r"(?<![\w.])/(?:tmp|home|root|srv|"
                                                           r"usr|var|work)/", body), body


def test_a_broken_build_is_reported_without_host_paths(tmp_path: Path) -> None:
    data = tmp_path / "data"
    broken = data / "builds" / "20260101T000000.000000000-deadbeef"
    broken.mkdir(parents=True)
    (broken / "manifest.json").write_text("{not json", encoding="utf-8")
    (data / "index").symlink_to(Path("builds") / broken.name)
    with serving(create_app(e2e_settings(data))) as url:
        ready = httpx.get(f"{url}/readyz")
        assert ready.status_code == 503
        message = ready.json()["error"]["message"]
        assert broken.name in message and "manifest" in message
        assert str(tmp_path) not in message and "/" + broken.parent.name not in message


def test_with_keys_a_caller_without_one_learns_only_not_ready(tmp_path: Path) -> None:
    keyed = e2e_settings(tmp_path / "empty").model_copy(update={"api_keys": "k:*"})
    with serving(create_app(keyed)) as url:
        anonymous = httpx.get(f"{url}/readyz")
        assert anonymous.status_code == 503
        assert anonymous.json()["error"] == {"code": "index_not_loaded", "message": "not ready"}
        keyed_reply = httpx.get(f"{url}/readyz", headers={"X-API-Key": "k"})
        assert "wenda index" in keyed_reply.json()["error"]["message"]
