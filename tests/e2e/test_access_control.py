"""Access groups cannot leak: a real index of the bundled corpus whose documents carry
groups (the English ESG edition, a restricted twin of the public Traditional one, among
them), a real server with keys of different groups, and a seeded random walk of requests
over every endpoint, streaming included. No response to a key may hold any text, title or
id of a document that key may not read, and naming a restricted document must get exactly
the answer a document that does not exist gets."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from conftest import REPO, serving, wait_ready

from index.corpus import discover
from index.script import converter
from service.app import create_app
from service.config import Settings
from service.engine import build, make_embedder

pytestmark = pytest.mark.e2e
GROUPS = {"sensetime-results-2023-zh-hant": "finance", "sensetime-esg-2023-en": "esg",
          "zhipu-esg-2025-zh-hant": "zhipu"}
KEYS = {"public-key": "", "finance-key": "finance", "esg-key": "esg",
        "zhipu-finance-key": "zhipu,finance", "admin-key": "*"}
REQUESTS_PER_KEY = 220
SEED = int(os.environ.get("WENDA_ACL_SEED", "20261201"))
NOWHERE = "no-such-document"
WINDOW, STRIDE = 16, 4  # a leaked span of WINDOW + STRIDE - 1 characters is always seen
_KEPT = re.compile(r"[0-9a-z\u3400-\u9fff]+")


def normalised(text: str) -> str:
    """Letters, digits and Han characters only, Simplified, lower case: what survives of a
    passage however a response renders it (converted script, wraps joined, markup gone)."""
    return "".join(_KEPT.findall(converter("t2s").convert(text).lower()))


def windows(text: str, stride: int = 1) -> set[str]:
    form = normalised(text)
    return {form[i:i + WINDOW] for i in range(0, max(1, len(form) - WINDOW + 1), stride)}


@pytest.fixture(scope="module")
def grouped_settings(tmp_path_factory: pytest.TempPathFactory,
                     full_corpus_settings: Settings) -> Settings:
    """The bundled corpus with access groups in its manifest, built with the real model
    (in a copy of the session's full-corpus data folder, so its vectors are reused)."""
    corpus = tmp_path_factory.mktemp("grouped") / "corpus"
    shutil.copytree(full_corpus_settings.data_dir, corpus.parent / "data", symlinks=True)
    shutil.copytree(REPO / "corpus", corpus)
    manifest = (corpus / "manifest.toml").read_text(encoding="utf-8")
    for doc_id, group in GROUPS.items():
        manifest = manifest.replace(f'id = "{doc_id}"\n',
                                    f'id = "{doc_id}"\ngroups = ["{group}"]\n')
    (corpus / "manifest.toml").write_text(manifest, encoding="utf-8")
    settings = Settings(data_dir=corpus.parent / "data", corpus_dir=corpus,
                        glossary=corpus / "glossary.toml",
                        api_keys=";".join(f"{k}:{g}" for k, g in KEYS.items()))
    sources = discover([corpus])
    assert {s.meta.doc_id: s.meta.groups for s in sources if s.meta.groups} == {
        d: (g,) for d, g in GROUPS.items()}
    build(settings, sources, make_embedder(settings))
    return settings


@dataclass
class Secrets:
    """What a key must never see: ids, titles and text windows of the documents it may
    not read (windows that also stand in a readable document are not secrets)."""

    ids: set[str]
    titles: set[str]
    windows: set[str] = field(repr=False)

    def leaks(self, texts: list[str]) -> list[str]:
        """What of the secrets a response holds: `texts` is its raw body, searched for ids
        and titles, then each of its strings, searched for text windows too."""
        found = [s for s in self.ids | self.titles if any(s in text for text in texts)]
        for text in texts[1:]:
            form = normalised(text)
            found += [form[i:i + WINDOW] for i in range(0, len(form) - WINDOW + 1, STRIDE)
                      if form[i:i + WINDOW] in self.windows][:3]
        return found


def _questions() -> list[dict[str, Any]]:
    lines = (REPO / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def secrets(grouped_settings: Settings) -> dict[str, Secrets]:
    sources = {s.meta.doc_id: s for s in discover([grouped_settings.corpus_dir])}
    texts = {d: s.path.read_text(encoding="utf-8") for d, s in sources.items()}
    # A document's metadata is shown with it (titles, company): it counts as its text.
    by_doc = {d: windows(t) | set().union(*(windows(m) for m in (
        sources[d].meta.title, sources[d].meta.title_en, sources[d].meta.company,
        *sources[d].meta.aliases))) for d, t in texts.items()}
    # What the walk sends may come back (an eval job reports its questions), and a reply
    # puts the company's name before the question's own words ("SenseTime's female
    # employees"): not a secret.
    names = {n for s in sources.values() for n in (s.meta.company, *s.meta.aliases)}
    asked = set().union(*(windows(q["question"]) for q in _questions()))
    asked |= {w for q in _questions() for word in re.finditer(r"\b[A-Za-z]", q["question"])
              for name in names
              for w in windows(f"{name}'s {q['question'][word.start():word.start() + WINDOW]}")}
    out = {}
    for key, groups in KEYS.items():
        granted = set(groups.split(",")) if groups else set()
        hidden = {d for d, g in GROUPS.items() if "*" not in granted and g not in granted}
        shown = set(texts) - hidden
        public = set().union(*(by_doc[d] for d in shown))
        out[key] = Secrets(
            ids=hidden | {sources[d].path.name for d in hidden},
            titles={t for d in hidden for t in (sources[d].meta.title, sources[d].meta.title_en)},
            windows=set().union(*(by_doc[d] for d in hidden)) - public - asked)
    return out


def test_the_checker_sees_a_restricted_passage_however_it_is_rendered(
        secrets: dict[str, Secrets], grouped_settings: Settings) -> None:
    zhipu = next(s for s in discover([grouped_settings.corpus_dir])
                 if s.meta.doc_id == "zhipu-esg-2025-zh-hant")
    passage = zhipu.path.read_text(encoding="utf-8")[5000:5200]
    simplified = converter("t2s").convert(passage).replace("\n", "")
    for rendering in (passage, simplified, json.dumps({"quote": simplified})):
        assert secrets["public-key"].leaks(["", rendering]), rendering[:40]
    assert not secrets["zhipu-finance-key"].leaks(["", passage])
    assert not secrets["admin-key"].leaks(["", passage])


# ---- the random walk ---------------------------------------------------------------------

@dataclass
class Walk:
    """Seeded random requests over every endpoint."""

    rng: random.Random
    questions: list[dict[str, Any]]
    documents: dict[str, dict[str, Any]]  # the admin's view: every document and its size
    companies: list[str]

    def filters(self) -> dict[str, Any] | None:
        if self.rng.random() < 0.55:
            return None
        kind = self.rng.choice(["doc_ids", "doc_ids", "scripts", "companies", "years",
                                "doc_types"])
        values: dict[str, list[Any]] = {
            "doc_ids": list(self.documents), "scripts": ["zh-Hant", "zh-Hans", "en"],
            "companies": self.companies, "years": [2021, 2023, 2024, 2025],
            "doc_types": ["esg-report", "prospectus", "annual-results"]}
        return {kind: self.rng.sample(values[kind], self.rng.randint(1, 2))}

    def question(self) -> str:
        return str(self.rng.choice(self.questions)["question"])

    def request(self) -> tuple[str, str, Any]:
        """(method, path, JSON body or None)."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.22:
            body = {"question": self.question(), "top_k": rng.randint(1, 10),
                    "reply_script": rng.choice(["auto", "original", "zh-Hans", "zh-Hant"])}
            return "POST", "/v1/ask", {**body, "filters": self.filters()}
        if roll < 0.36:
            body = {"query": self.question(), "top_k": rng.randint(1, 20),
                    "method": rng.choice(["hybrid", "bm25", "dense"])}
            return "POST", "/v1/search", {**body, "filters": self.filters()}
        if roll < 0.46:
            params = [("q", self.question()), ("k", str(rng.randint(1, 20)))]
            for name, values in (self.filters() or {}).items():
                param = {"doc_ids": "doc_id", "scripts": "script", "companies": "company",
                         "years": "year", "doc_types": "doc_type"}[name]
                params += [(param, str(v)) for v in values]
            return "GET", "/v1/search?" + httpx.QueryParams(params).__str__(), None
        if roll < 0.68:
            turns = [self.question() for _ in range(rng.randint(1, 3))]
            messages: list[dict[str, str]] = []
            for turn in turns[:-1]:
                messages += [{"role": "user", "content": turn},
                             {"role": "assistant", "content": "…"}]
            messages.append({"role": "user", "content": turns[-1]})
            body = {"model": "wenda", "messages": messages, "stream": rng.random() < 0.5,
                    "filters": self.filters()}
            return "POST", "/v1/chat/completions", body
        if roll < 0.74:
            return "GET", "/v1/documents", None
        if roll < 0.84:
            doc_id = rng.choice([*self.documents, NOWHERE])
            size = self.documents.get(doc_id, {}).get("chars", 1000)
            if rng.random() < 0.3:
                return "GET", f"/v1/documents/{doc_id}", None
            start = rng.randrange(0, max(1, size - 1))
            end = min(size, start + rng.randint(1, 3000))
            return "GET", f"/v1/documents/{doc_id}?start={start}&end={end}", None
        if roll < 0.88:
            return "GET", "/readyz", None
        if roll < 0.90:
            return "GET", "/v1/models", None
        picked = rng.sample(self.questions, rng.randint(1, 2))
        return "POST", "/v1/eval", {"questions": picked}


def _texts(response: httpx.Response) -> list[str]:
    """Everything a response says: the raw body, and each JSON string (keys and values)
    decoded; a stream's content deltas joined again into the one reply they are."""
    body = response.text
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        events = [json.loads(line[6:]) for line in body.splitlines()
                  if line.startswith("data: {")]
        reply = "".join(c["delta"].get("content", "") for e in events for c in e["choices"])
        return [body, reply, *(t for e in events for t in _strings(e))]
    try:
        return [body, *_strings(json.loads(body))]
    except ValueError:
        return [body, body]


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in (str(k), *_strings(v))]
    if isinstance(value, list):
        return [t for v in value for t in _strings(v)]
    return [str(value)]


def _names(method: str, path: str, body: Any, hidden: set[str]) -> set[str]:
    """The hidden document ids a request itself names (filters, paths, eval questions)."""
    text = path + json.dumps(body, ensure_ascii=False)
    return {d for d in hidden if d in text}


def _replaced(value: Any, ids: set[str]) -> Any:
    text = json.dumps(value, ensure_ascii=False)
    for doc_id in ids:
        text = text.replace(doc_id, NOWHERE)
    return json.loads(text)


@dataclass
class Tally:
    requests: int = 0
    by_endpoint: dict[str, int] = field(default_factory=dict)
    ok: int = 0
    replays: int = 0
    admin_saw_restricted: int = 0
    leaks: list[str] = field(default_factory=list)


def _send(client: httpx.Client, key: str, method: str, path: str, body: Any,
          tally: Tally) -> tuple[httpx.Response, list[str]]:
    headers = {"Authorization": f"Bearer {key}"}
    endpoint = f"{method} {path.split('?')[0]}"
    endpoint = re.sub(r"/v1/(documents|eval)/[^/]+$", r"/v1/\1/{id}", endpoint)
    tally.requests += 1
    tally.by_endpoint[endpoint] = tally.by_endpoint.get(endpoint, 0) + 1
    if body is not None and body.get("stream"):
        with client.stream(method, path, json=body, headers=headers) as streamed:
            streamed.read()
            response = streamed
    else:
        response = client.request(method, path, json=body, headers=headers)
    text = _texts(response)
    if response.status_code == 202:  # an eval job: its results are a response too
        status_url = response.json()["status_url"]
        deadline = time.monotonic() + 120
        while True:
            polled = client.get(status_url, headers=headers)
            tally.requests += 1
            tally.by_endpoint["GET /v1/eval/{id}"] = tally.by_endpoint.get(
                "GET /v1/eval/{id}", 0) + 1
            assert polled.status_code == 200, polled.text
            text += _texts(polled)[1:]
            if polled.json()["status"] in ("done", "failed") or time.monotonic() > deadline:
                assert polled.json()["status"] == "done", polled.text
                break
            time.sleep(0.05)
    return response, text


def _without_echoes(texts: list[str], body: Any) -> list[str]:
    """A response with the caller's own phrases masked: a composed reply puts the asker's
    words in a frame of its own ("energy consumption" + " in 2023"), which is no secret.
    A restricted passage still shows: its figures and other words stay."""
    sent = " ".join(_strings(body)) if body is not None else ""
    runs = [m.group().split() for m in re.finditer(
        r"[A-Za-z][A-Za-z'’-]*(?:\s+[A-Za-z][A-Za-z'’-]*)+", sent)]
    phrases = {" ".join(words[i:j]) for words in runs for i in range(len(words))
               for j in range(i + 2, len(words) + 1)}
    if not phrases:
        return texts
    pattern = re.compile("|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True)),
                         re.I)
    return [texts[0], *(pattern.sub(" · ", t) for t in texts[1:])]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@pytest.fixture(scope="module")
def acl_url(grouped_settings: Settings) -> Iterator[str]:
    with serving(create_app(grouped_settings)) as url:
        assert wait_ready(url).status_code == 200
        yield url


def test_no_key_ever_sees_a_document_outside_its_groups(acl_url: str,
                                                        secrets: dict[str, Secrets]) -> None:
    questions = _questions()
    rng = random.Random(SEED)
    tally = Tally()
    with httpx.Client(base_url=acl_url, timeout=120) as client:
        admin = {"Authorization": "Bearer admin-key"}
        docs = {d["doc_id"]: d for d in client.get("/v1/documents", headers=admin).json()[
            "documents"]}
        assert set(GROUPS) <= set(docs)
        companies = sorted({d["company"] for d in docs.values()})
        walk = Walk(rng, questions, docs, companies)
        for _ in range(REQUESTS_PER_KEY):
            for key, secret in secrets.items():
                method, path, body = walk.request()
                response, text = _send(client, key, method, path, body, tally)
                tally.ok += response.status_code < 300
                assert response.status_code < 500, (key, method, path, response.text[:300])
                if key == "admin-key":
                    tally.admin_saw_restricted += bool(secrets["public-key"].leaks(text))
                    continue
                named = _names(method, path, body, secret.ids)
                if named:  # the caller's own words are echoed: compare with a missing id
                    tally.replays += 1
                    twin_path = _replaced(path, named)
                    twin_body = _replaced(body, named) if body is not None else None
                    twin, twin_text = _send(client, key, method, twin_path, twin_body, tally)
                    same = (response.status_code == twin.status_code
                            and _comparable(response, named) == _comparable(twin))
                    if not same:
                        tally.leaks.append(f"{key} {method} {path}: {response.status_code} "
                                           f"{response.text[:200]} vs {twin.text[:200]}")
                    text = twin_text
                found = secret.leaks(_without_echoes(text, body))
                if found:
                    tally.leaks.append(f"{key} {method} {path[:80]}: {found[:3]}")
    summary = (f"ACL walk (seed {SEED}): {tally.requests} requests, {tally.ok} 2xx, "
               f"{tally.replays} replays with a missing id, endpoints {tally.by_endpoint}, "
               f"admin responses showing restricted text {tally.admin_saw_restricted}, "
               f"leaks {len(tally.leaks)}")
    print(summary)
    assert not tally.leaks, "\n".join(tally.leaks[:20])
    assert tally.requests >= 1000
    assert len(tally.by_endpoint) >= 9, tally.by_endpoint
    # the check is live: the unrestricted key does see the restricted documents
    assert tally.admin_saw_restricted >= 20, summary


def _comparable(response: httpx.Response, named: set[str] | None = None) -> Any:
    """A response without what differs between two calls anyway (timings, ids of jobs)."""
    try:
        body = response.json()
    except ValueError:
        return response.text
    if named:
        body = _replaced(body, named)
    drop = ("timings_ms", "latency_ms", "elapsed_s", "id", "created", "job_id", "status_url")

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if k not in drop}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return clean(body)


# ---- the reviewer's findings, one by one ---------------------------------------------------

def _as(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize(("filters", "allowed"), [
    ({"doc_ids": ["sensetime-esg-2023-zh-hant"]}, {"sensetime-esg-2023-zh-hant"}),
    ({"scripts": ["zh-Hant"]}, {"sensetime-esg-2023-zh-hant", "sensetime-prospectus-2021-zh-hant",
                                "sensetime-results-2023-zh-hant", "zhipu-esg-2025-zh-hant"}),
    ({"scripts": ["en"]}, {"sensetime-esg-2023-en"})])
def test_filters_hold_for_parallel_editions_too(acl_url: str, filters: dict[str, Any],
                                                allowed: set[str]) -> None:
    for question in ("What was SenseTime total energy consumption in 2023 in MWh?",
                     "商湯2023年的能源消耗總量是多少？"):
        for path, body in (("/v1/search", {"query": question, "top_k": 10}),
                           ("/v1/ask", {"question": question, "top_k": 10})):
            reply = httpx.post(f"{acl_url}{path}", json={**body, "filters": filters},
                               headers=_as("admin-key"), timeout=60).json()
            shown = {p["doc_id"] for p in reply.get("hits", reply.get("passages", []))}
            shown |= {c["doc_id"] for c in reply.get("citations", [])}
            assert shown and shown <= allowed, (path, question, shown)


def test_a_public_key_gets_no_citation_from_the_restricted_english_edition(acl_url: str) -> None:
    question = {"question": "What was SenseTime total energy consumption in 2023 in MWh?"}
    public = httpx.post(f"{acl_url}/v1/ask", json=question, headers=_as("public-key"),
                        timeout=60).json()
    assert "sensetime-esg-2023-en" not in json.dumps(public)
    assert {p["doc_id"] for p in public["passages"]} <= {
        "sensetime-esg-2023-zh-hant", "sensetime-prospectus-2021-zh-hant"}
    esg = httpx.post(f"{acl_url}/v1/ask", json=question, headers=_as("esg-key"),
                     timeout=60).json()
    assert "sensetime-esg-2023-en" in {p["doc_id"] for p in esg["passages"]}


@pytest.mark.parametrize(("key", "parallel"), [("public-key", None),
                                               ("esg-key", "sensetime-esg-2023-en")])
def test_a_document_names_its_parallel_edition_only_to_keys_that_may_read_it(
        acl_url: str, key: str, parallel: str | None) -> None:
    listed = httpx.get(f"{acl_url}/v1/documents", headers=_as(key)).json()["documents"]
    zh = next(d for d in listed if d["doc_id"] == "sensetime-esg-2023-zh-hant")
    assert zh["parallel"] == parallel
    one = httpx.get(f"{acl_url}/v1/documents/sensetime-esg-2023-zh-hant", headers=_as(key))
    assert one.json()["parallel"] == parallel


@pytest.mark.parametrize(("headers", "reply"), [
    ({}, {"status": "ready"}),
    (_as("wrong-key"), {"status": "ready"}),
    (_as("public-key"), {"status": "ready", "documents": 2}),
    (_as("zhipu-finance-key"), {"status": "ready", "documents": 4}),
    (_as("admin-key"), {"status": "ready", "documents": 5})])
def test_readyz_tells_a_caller_without_a_key_only_that_it_is_ready(
        acl_url: str, headers: dict[str, str], reply: dict[str, Any]) -> None:
    body = httpx.get(f"{acl_url}/readyz", headers=headers).json()
    assert {k: v for k, v in body.items() if k not in ("index", "model")} == reply
    assert ("index" in body) == ("documents" in reply)
