"""Browser-facing safety: trusted Host names, no cross-site writes, security headers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from fakes import api_client
from fastapi.testclient import TestClient

from service.api.guards import LOOPBACK, host_name, trusted_hosts
from service.app import create_app
from service.config import Settings

if TYPE_CHECKING:
    from conftest import FakeBackend

QUESTION = {"questions": [{"id": "q1", "question": "收入？", "script": "zh-Hant",
                           "type": "unanswerable"}]}


@pytest.mark.parametrize(("header", "name"), [
    ("127.0.0.1:8000", "127.0.0.1"), ("LOCALHOST", "localhost"), ("[::1]:8000", "::1"),
    ("[::1]", "::1"), ("wenda.example:443", "wenda.example"), ("", "")])
def test_host_names_are_read_without_their_port(header: str, name: str) -> None:
    assert host_name(header) == name


@pytest.mark.parametrize(("host", "listed", "allowed"), [
    ("127.0.0.1", "", LOOPBACK),
    ("10.0.0.5", "", LOOPBACK | {"10.0.0.5"}),
    ("0.0.0.0", "", None),
    ("0.0.0.0", "wenda.intranet, Wenda.Example ", frozenset({"wenda.intranet",
                                                            "wenda.example"})),
    ("127.0.0.1", "*", None)])
def test_trusted_hosts_follow_the_listening_address_unless_listed(
        host: str, listed: str, allowed: frozenset[str] | None) -> None:
    assert trusted_hosts(Settings(host=host, allowed_hosts=listed)) == allowed


@pytest.mark.parametrize("host", ["attacker.example", "127.0.0.1.attacker.example",
                                  "localhost.evil:8000", ""])
@pytest.mark.parametrize("path", ["/", "/healthz", "/readyz", "/v1/documents", "/docs"])
def test_a_request_for_another_host_is_refused_dns_rebinding(client: TestClient, host: str,
                                                             path: str) -> None:
    response = client.get(path, headers={"Host": host})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_host"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost:8000", "[::1]:8000"])
def test_loopback_names_are_answered(client: TestClient, host: str) -> None:
    assert client.get("/v1/documents", headers={"Host": host}).status_code == 200


def test_listed_hosts_are_answered_and_others_refused(settings: Settings,
                                                      backend: FakeBackend) -> None:
    listed = settings.model_copy(update={"allowed_hosts": "wenda.intranet"})
    with api_client(create_app(listed, engine=backend)) as client:
        assert client.get("/healthz", headers={"Host": "wenda.intranet"}).status_code == 200
        assert client.get("/healthz", headers={"Host": "127.0.0.1"}).status_code == 400


@pytest.mark.parametrize("headers", [
    {"Origin": "https://attacker.example"},
    {"Origin": "null"},  # a sandboxed frame or a file:// page
    {"Origin": "http://127.0.0.1.attacker.example"},
    {"Sec-Fetch-Site": "cross-site"}])
def test_no_cross_site_page_can_start_an_eval_job(client: TestClient,
                                                  headers: dict[str, str]) -> None:
    form = client.post("/v1/eval", headers=headers, files={
        "file": ("q.jsonl", b'{"id": "q1", "question": "x?", "script": "en", '
                            b'"type": "unanswerable"}\n', "text/plain")})
    assert form.status_code == 403
    assert form.json()["error"]["code"] == "cross_site_request"
    assert client.post("/v1/eval", headers=headers, json=QUESTION).status_code == 403
    assert client.post("/v1/ask", headers=headers, json={"question": "AI?"}).status_code == 403


@pytest.mark.parametrize("headers", [
    {}, {"Origin": "http://127.0.0.1"}, {"Sec-Fetch-Site": "same-origin"},
    {"Origin": "http://127.0.0.1", "Sec-Fetch-Site": "same-origin"}])
def test_programs_and_the_servers_own_page_may_post(client: TestClient,
                                                    headers: dict[str, str]) -> None:
    assert client.post("/v1/eval", headers=headers, json=QUESTION).status_code == 202


def test_a_portal_listed_in_cors_origins_may_post(settings: Settings,
                                                  backend: FakeBackend) -> None:
    portal = settings.model_copy(update={"cors_origins": "https://portal.example"})
    with api_client(create_app(portal, engine=backend)) as client:
        response = client.post("/v1/ask", json={"question": "AI?"},
                               headers={"Origin": "https://portal.example"})
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "https://portal.example"
        assert client.post("/v1/ask", json={"question": "AI?"}, headers={
            "Origin": "https://other.example"}).status_code == 403


def test_cross_site_reads_are_left_to_cors(client: TestClient) -> None:
    response = client.get("/v1/documents", headers={"Origin": "https://attacker.example"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers  # the browser hides it


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/v1/ask", {"question": "AI?"}), ("GET", "/v1/search?q=AI", None),
    ("GET", "/v1/documents", None), ("GET", "/readyz", None),
    ("POST", "/v1/ask", {"question": ""}),  # errors too
    ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "AI?"}],
                                      "stream": True})])
def test_api_responses_are_not_sniffed_cached_or_framed(client: TestClient, method: str,
                                                        path: str, body: object) -> None:
    response = client.request(method, path, json=body)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_the_page_keeps_its_own_policy(client: TestClient) -> None:
    page = client.get("/")
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'self'" in page.headers["content-security-policy"]
    assert "x-frame-options" not in page.headers
