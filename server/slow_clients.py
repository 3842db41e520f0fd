"""Cut off clients that send their request too slowly (slowloris): a worker's connections are
finite, and one byte every few seconds would otherwise hold one forever.

uvicorn times out idle keep-alive connections but not a request's headers or body once they
have begun, nor a connection that never sends a byte. This protocol (uvicorn's httptools one,
plus two timers) gives the headers `FACTORYOS_HEADER_TIMEOUT_SECONDS` (10) in all from the
connection or the request's first byte, and the body at most `FACTORYOS_BODY_TIMEOUT_SECONDS`
(30) between two of its chunks. Read from the environment because `serve --workers` hands the
protocol to its worker processes by import path.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

PROTOCOL = "server.slow_clients:GuardedHttpToolsProtocol"
_TIMEOUT_408 = b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"


def _seconds(name: str, default: float) -> float:
    try:
        return max(0.1, float(os.environ.get(name, default)))
    except ValueError:
        return default


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timeout = _seconds("FACTORYOS_HEADER_TIMEOUT_SECONDS", 10.0)
        self._body_timeout = _seconds("FACTORYOS_BODY_TIMEOUT_SECONDS", 30.0)
        self._header_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_timer is None:
            self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._cancel(header=True)
        super().on_headers_complete()
        self._arm_body_timer()

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        self._arm_body_timer()

    def on_message_complete(self) -> None:
        self._cancel(body=True)
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Keep-alive: the next request's headers get their own time from its first byte; until
        # then uvicorn's keep-alive timeout applies.
        self._cancel_timers()

    def _arm_header_timer(self) -> None:
        self._cancel(header=True)
        self._header_timer = self.loop.call_later(self._header_timeout, self._headers_too_slow)

    def _arm_body_timer(self) -> None:
        self._cancel(body=True)
        self._body_timer = self.loop.call_later(self._body_timeout, self._body_too_slow)

    def _cancel(self, *, header: bool = False, body: bool = False) -> None:
        if header and self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        if body and self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _cancel_timers(self) -> None:
        self._cancel(header=True, body=True)

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.write(_TIMEOUT_408)
            self.transport.close()

    def _body_too_slow(self) -> None:
        self._body_timer = None
        if not self.transport.is_closing():
            if self.cycle is None or not self.cycle.response_started:
                self.transport.write(_TIMEOUT_408)
            self.transport.close()  # the app's receive() then sees the client gone
