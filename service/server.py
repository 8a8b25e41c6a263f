"""Running the app under uvicorn with limits for slow or hostile clients.

uvicorn closes idle keep-alive connections but sets no deadline for a request's headers
or body, so a client that opens connections and sends a byte now and then (slowloris)
holds them, and the memory and file descriptors behind them, for as long as it likes.
`GuardedH11Protocol` gives every request `header_timeout` seconds from its first byte
(or from the connection opening) to finish its headers and `body_timeout` more for its
body, then closes the connection. A connection beyond `max_connections` open at once is
answered 503 in the API's error shape and closed before anything is read from it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from service.config import Settings


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with deadlines for reading a request's headers and body."""

    header_timeout = 10.0
    body_timeout = 60.0
    max_connections = 200

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._deadline: asyncio.TimerHandle | None = None
        self._reading_body = False
        if len(self.connections) > self.max_connections:
            transport.write(_BUSY)
            transport.close()
            return
        self._arm(self.header_timeout)

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and self._between_requests():
            self._arm(self.header_timeout)  # the first bytes of the next request
        super().data_received(data)

    def handle_events(self) -> None:
        super().handle_events()
        if self.cycle is None or self.cycle.response_complete:
            return
        if self.cycle.more_body and not self._reading_body:
            self._reading_body = True
            self._arm(self.body_timeout)
        elif not self.cycle.more_body:
            self._disarm()  # the whole request is in: the app takes its time from here

    def on_response_complete(self) -> None:
        self._reading_body = False
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _between_requests(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if getattr(self, "_deadline", None) is not None:
            self._deadline.cancel()  # type: ignore[union-attr]
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()  # too slow to send its request: nothing is owed to it


def _busy_response() -> bytes:
    body = json.dumps({"error": {"code": "server_busy", "message": "too many open connections; "
                                 "try again shortly"}}).encode()
    return (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
            b"retry-after: 1\r\nconnection: close\r\ncontent-length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body)


_BUSY = _busy_response()


def guarded_protocol(settings: Settings) -> type[GuardedH11Protocol]:
    """The protocol class with this server's limits (uvicorn takes a class, not an object)."""
    return type("WendaH11Protocol", (GuardedH11Protocol,), {
        "header_timeout": settings.header_timeout, "body_timeout": settings.body_timeout,
        "max_connections": settings.max_connections})


def server_config(app: Any, settings: Settings, **options: Any) -> uvicorn.Config:
    """The uvicorn configuration `wenda serve` and the end-to-end tests run the app with."""
    return uvicorn.Config(app, host=settings.host, port=settings.port,
                          http=guarded_protocol(settings),
                          timeout_keep_alive=int(max(1, settings.keep_alive_timeout)), **options)


def serve_forever(app: Any, settings: Settings, **options: Any) -> None:
    """Run `app` under uvicorn with server_config until it is told to stop (`wenda serve`)."""
    uvicorn.Server(server_config(app, settings, **options)).run()
