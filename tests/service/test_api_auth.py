"""API keys: who may call /v1 at all, and which documents each key may read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from service.api.auth import parse_api_keys
from service.app import create_app
from service.config import Settings

if TYPE_CHECKING:
    from conftest import FakeBackend

ENDPOINTS: list[tuple[str, str, Any]] = [
    ("POST", "/v1/ask", {"question": "AI?"}),
    ("POST", "/v1/search", {"query": "AI"}),
    ("GET", "/v1/search?q=AI", None),
    ("GET", "/v1/documents", None),
    ("GET", "/v1/documents/en", None),
    ("GET", "/v1/models", None),
    ("POST", "/v1/chat/completions",
     {"model": "wenda", "messages": [{"role": "user", "content": "AI?"}]}),
]


def test_keys_parse_into_groups() -> None:
    ring = parse_api_keys(" k1:finance, legal ; k2:* ;k3:;k4:a,*")
    groups = {key.decode(): access.groups for key, access in ring.keys}
    assert groups == {"k1": {"finance", "legal"}, "k2": None, "k3": frozenset(), "k4": None}
    assert parse_api_keys("").keys == ()


@pytest.mark.parametrize("spec", ["secret-key-without-groups", ":finance",
                                  "secret-key:a;secret-key:b"])
def test_a_malformed_key_list_is_refused_without_echoing_the_key(spec: str) -> None:
    with pytest.raises(ValueError, match="WENDA_API_KEYS entry") as caught:
        parse_api_keys(spec)
    assert "secret-key" not in str(caught.value)


def test_the_app_refuses_to_start_with_a_malformed_key_list(settings: Settings) -> None:
    with pytest.raises(ValueError, match="WENDA_API_KEYS"):
        create_app(settings.model_copy(update={"api_keys": "oops"}))


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "wrong"},
    {"Authorization": "Basic YWRtaW4ta2V5Og=="}, {"Authorization": "Bearer "},
    {"X-API-Key": "admin-key-but-longer"}])
def test_every_v1_endpoint_needs_a_valid_key(keyed_client: TestClient, method: str, path: str,
                                             body: Any, headers: dict[str, str]) -> None:
    response = keyed_client.request(method, path, json=body, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
@pytest.mark.parametrize("headers", [{"Authorization": "Bearer admin-key"},
                                     {"authorization": "bearer admin-key"},
                                     {"X-API-Key": "admin-key"}])
def test_a_valid_key_in_either_header_is_accepted(keyed_client: TestClient, method: str,
                                                  path: str, body: Any,
                                                  headers: dict[str, str]) -> None:
    assert keyed_client.request(method, path, json=body, headers=headers).status_code == 200


# Requests that are wrong in some way besides the key: without a key, only the key counts.
BAD_REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/v1/ask", {"content": b'{"question": "AI?"', "headers": {  # malformed JSON
        "Content-Type": "application/json"}}),
    ("POST", "/v1/ask", {"json": {"question": 5, "top_k": "many"}}),  # 422 invalid fields
    ("POST", "/v1/ask", {"json": {"question": "AI?", "surprise": True}}),  # unknown field
    ("POST", "/v1/search", {"content": b"not json", "headers": {
        "Content-Type": "application/json"}}),
    ("GET", "/v1/search?k=many", {}),  # invalid query
    ("POST", "/v1/chat/completions", {"json": {"messages": "hello"}}),
    ("POST", "/v1/eval", {"content": b"{", "headers": {"Content-Type": "application/json"}}),
    ("POST", "/v1/ask", {"content": b"x" * 5000, "headers": {  # over the upload limit: 413
        "Content-Type": "application/json"}}),
    ("GET", "/v1/no-such-route", {}),
    ("DELETE", "/v1/ask", {}),
]


@pytest.mark.parametrize(("method", "path", "request_args"), BAD_REQUESTS)
@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}])
def test_a_caller_without_a_valid_key_learns_nothing_about_its_request(
        keyed_client: TestClient, method: str, path: str, request_args: dict[str, Any],
        headers: dict[str, str]) -> None:
    args = {**request_args, "headers": {**request_args.get("headers", {}), **headers}}
    response = keyed_client.request(method, path, **args)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path", "request_args", "status"), [
    (*BAD_REQUESTS[0], 400), (*BAD_REQUESTS[1], 422), (*BAD_REQUESTS[4], 422),
    (*BAD_REQUESTS[7], 413), (*BAD_REQUESTS[8], 404)])
def test_a_caller_with_a_key_is_told_what_is_wrong_with_its_request(
        keyed_client: TestClient, method: str, path: str, request_args: dict[str, Any],
        status: int) -> None:
    args = {**request_args, "headers": {**request_args.get("headers", {}),
                                        "Authorization": "Bearer public-key"}}
    assert keyed_client.request(method, path, **args).status_code == status


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/docs", "/openapi.json", "/",
                                  "/widget.js"])
def test_health_docs_and_the_page_stay_open(keyed_client: TestClient, path: str) -> None:
    assert keyed_client.get(path).status_code == 200


@pytest.mark.parametrize(("key", "visible"), [
    ("public-key", ["en", "zh-hant"]),
    ("reader-key", ["en", "zh-hans", "zh-hant"]),
    ("admin-key", ["en", "zh-hans", "zh-hant"]),
])
def test_a_key_sees_public_documents_and_those_of_its_groups(
        keyed_client: TestClient, key: str, visible: list[str]) -> None:
    headers = {"X-API-Key": key}
    listed = keyed_client.get("/v1/documents", headers=headers).json()["documents"]
    assert [d["doc_id"] for d in listed] == visible
    restricted = keyed_client.get("/v1/documents/zh-hans", headers=headers)
    assert restricted.status_code == (200 if "zh-hans" in visible else 404)


@pytest.mark.parametrize(("key", "groups"), [
    ("public-key", frozenset()), ("reader-key", {"finance"}), ("admin-key", None)])
def test_a_keys_groups_become_the_retrieval_filter(
        keyed_client: TestClient, backend: FakeBackend, key: str,
        groups: frozenset[str] | None) -> None:
    headers = {"X-API-Key": key}
    keyed_client.post("/v1/ask", json={"question": "AI?"}, headers=headers)
    keyed_client.get("/v1/search?q=AI", headers=headers)
    assert [c["filters"].groups for c in backend.calls] == [groups, groups]


def test_a_restricted_document_cannot_be_named_in_filters(keyed_client: TestClient) -> None:
    response = keyed_client.post("/v1/ask", headers={"X-API-Key": "public-key"}, json={
        "question": "AI?", "filters": {"doc_ids": ["zh-hans"]}})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_document"


def test_a_restricted_key_never_gets_restricted_passages(keyed_client: TestClient) -> None:
    body = keyed_client.post("/v1/ask", headers={"X-API-Key": "public-key"},
                             json={"question": "AI?", "top_k": 20}).json()
    assert body["passages"]
    assert {p["doc_id"] for p in body["passages"]} <= {"en", "zh-hant"}
