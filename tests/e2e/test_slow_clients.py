"""Slow and greedy clients against a real uvicorn server: deadlines close them."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import e2e_settings, serving

from service.app import create_app

pytestmark = pytest.mark.e2e
HEADER_S, BODY_S, MAX_CONNECTIONS = 1.0, 2.0, 40


@pytest.fixture
def guarded_url(tmp_path: Path) -> Iterator[str]:
    """A server (no index: the limits act before any route) with short deadlines."""
    settings = e2e_settings(tmp_path / "data").model_copy(update={
        "header_timeout": HEADER_S, "body_timeout": BODY_S, "max_connections": MAX_CONNECTIONS})
    with serving(create_app(settings)) as url:
        yield url


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    return sock


def _closed(sock: socket.socket) -> bool:
    """Whether the server has closed the connection (reading gives EOF or a reset)."""
    sock.settimeout(0.2)
    try:
        while data := sock.recv(65536):
            if b"\r\n\r\n" in data:  # a reply (503 busy) before the close
                continue
        return True
    except TimeoutError:
        return False
    except OSError:
        return True


def test_half_sent_headers_are_closed_after_the_header_deadline(guarded_url: str) -> None:
    socks = [_connect(guarded_url) for _ in range(30)]
    started = time.monotonic()
    for sock in socks:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    # dribble a header line now and then, as slowloris does, past the deadline
    while time.monotonic() - started < HEADER_S + 1.0:
        for sock in socks:
            with contextlib.suppress(OSError):  # closed already
                sock.sendall(b"X-Slow: 1\r\n")
        time.sleep(0.3)
    assert all(_closed(s) for s in socks)
    for sock in socks:
        sock.close()
    assert httpx.get(f"{guarded_url}/healthz").status_code == 200


def test_a_body_that_never_arrives_is_closed_after_the_body_deadline(guarded_url: str) -> None:
    sock = _connect(guarded_url)
    sock.sendall(b"POST /v1/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
                 b"\r\nContent-Length: 1000\r\n\r\n{\"question\": ")
    time.sleep(HEADER_S + 0.5)  # past the header deadline: the body has its own
    assert not _closed(sock)
    time.sleep(BODY_S)
    assert _closed(sock)
    sock.close()


def test_idle_connections_opened_before_a_request_are_closed(guarded_url: str) -> None:
    socks = [_connect(guarded_url) for _ in range(20)]
    time.sleep(HEADER_S + 0.5)
    assert all(_closed(s) for s in socks)
    for sock in socks:
        sock.close()


def test_connections_over_the_limit_get_a_503_in_the_error_shape(guarded_url: str) -> None:
    held = [_connect(guarded_url) for _ in range(MAX_CONNECTIONS)]
    time.sleep(0.2)
    extra = _connect(guarded_url)
    extra.settimeout(5)
    reply = b""
    while chunk := extra.recv(65536):
        reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503")
    assert json.loads(body)["error"]["code"] == "server_busy"
    for sock in [*held, extra]:
        sock.close()
    time.sleep(0.2)
    assert httpx.get(f"{guarded_url}/healthz").status_code == 200


def test_a_request_sent_in_pieces_within_the_deadlines_is_answered(guarded_url: str) -> None:
    sock = _connect(guarded_url)
    for piece in (b"GET /healthz HTTP/1.1\r\n", b"Host: 127.0.0.1\r\n", b"\r\n"):
        sock.sendall(piece)
        time.sleep(HEADER_S / 4)
    reply = sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 200")
    # a second request on the same connection, after an idle pause, is answered too
    time.sleep(HEADER_S + 0.2)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    sock.close()
