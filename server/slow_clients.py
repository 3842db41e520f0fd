"""Cut off clients that send their request too slowly (slowloris): a worker's connections are
finite, and one byte every few seconds would otherwise hold one forever.

uvicorn times out idle keep-alive connections but not a request's headers or body once they
have begun, nor a connection that never sends a byte. This protocol (uvicorn's httptools one,
plus a deadline per connection that one timer per event loop checks) gives the headers
`FACTORYOS_HEADER_TIMEOUT_SECONDS` (10) in all from the connection or the request's first byte,
and the body at most `FACTORYOS_BODY_TIMEOUT_SECONDS` (30) between two of its chunks. Read from the environment because `serve --workers` hands the
protocol to its worker processes by import path.
"""

from __future__ import annotations

import asyncio
import os
import weakref
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
        # When the headers, or the body's next chunk, are late (the loop's clock); None: no limit now.
        self._deadline: float | None = None
        self._for_body = False
        self._sweep = _Sweep.of(self.loop, min(self._header_timeout, self._body_timeout))

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._deadline, self._for_body = self.loop.time() + self._header_timeout, False
        self._sweep.guarded.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._sweep.guarded.discard(self)
        self._deadline = None
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:
            self._deadline, self._for_body = self.loop.time() + self._header_timeout, False

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._deadline, self._for_body = self.loop.time() + self._body_timeout, True

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        self._deadline = self.loop.time() + self._body_timeout

    def on_message_complete(self) -> None:
        self._deadline = None
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Keep-alive: the next request's headers get their own time from its first byte; until
        # then uvicorn's keep-alive timeout applies.
        self._deadline = None

    def _check(self, now: float) -> None:
        if self._deadline is None or now < self._deadline:
            return
        self._deadline = None
        if self.transport.is_closing():
            return
        if not self._for_body or self.cycle is None or not self.cycle.response_started:
            self.transport.write(_TIMEOUT_408)
        self.transport.close()  # a body cut off: the app's receive() then sees the client gone


class _Sweep:
    """One timer per event loop for the deadlines of all its connections, instead of a timer armed
    and cancelled twice per request: a deadline is a number set as the request goes (#25). It runs
    four times per shortest timeout (at most once a second), so a limit is overrun by at most that."""

    _of_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Sweep] = weakref.WeakKeyDictionary()

    def __init__(self, loop: asyncio.AbstractEventLoop, tick: float) -> None:
        self.loop, self.tick = loop, tick
        self.guarded: set[GuardedHttpToolsProtocol] = set()
        self.loop.call_later(self.tick, self._run)

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop, shortest: float) -> _Sweep:
        sweep = cls._of_loop.get(loop)
        if sweep is None:
            sweep = cls._of_loop[loop] = cls(loop, min(1.0, max(0.05, shortest / 4)))
        return sweep

    def _run(self) -> None:
        now = self.loop.time()
        for protocol in list(self.guarded):
            protocol._check(now)
        if not self.loop.is_closed():
            self.loop.call_later(self.tick, self._run)
