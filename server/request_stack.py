"""The one middleware in front of the routes (pure ASGI: BaseHTTPMiddleware would break contextvars
and streaming).

Its steps, in order: the request id (a sane incoming X-Request-ID, else a new one; echoed on the
answer and set for the logs), the body limit (a declared length over it answered 413 at once, a
chunked body cut off when it runs over), the superseded primary's guard (`server.standby_fence`),
then the routes; on the way out the security headers (`server.middleware`) and the request's
figures (`server.metrics`). One layer with one send wrapper and one pass over the request's
headers: as five layers each wrapped `send` and read the headers again (#25).
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from factoryos.backup.standby_fence import SupersededWatch
from factoryos.logs import begin_request, end_request
from server.metrics import observe_request
from server.middleware import BodyTooLarge, SecurityHeaders, limited, over_limit, request_id_of, too_large
from server.standby_fence import superseded


class RequestStack:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, tls: bool = False,
                 watch: SupersededWatch | None = None) -> None:
        self.app = app
        self.max_bytes = max_body_bytes
        self.security = SecurityHeaders(tls=tls)
        self.watch = watch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming = length = None
        for name, value in scope["headers"]:  # the last of a repeated header counts, as in a dict
            if name == b"x-request-id":
                incoming = value
            elif name == b"content-length":
                length = value
        request_id = request_id_of(incoming)
        scope.setdefault("state", {})["request_id"] = request_id
        echo = (b"x-request-id", request_id.encode())
        headers, no_store = self.security.of(scope)
        answered = False

        async def answer(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                message["headers"] = self.security.added(headers, message.get("headers", ()), echo, no_store)
                if not answered:
                    answered = True
                    observe_request(scope, message["status"], time.perf_counter() - started)
            await send(message)

        token = begin_request(request_id)
        try:
            if over_limit(length, self.max_bytes):
                await too_large(scope, self.max_bytes)(scope, receive, answer)
                return
            if length is None or not length.isdigit():
                receive = limited(receive, self.max_bytes)
            reason = self.watch.reason if self.watch is not None else None
            if reason is None:
                await self.app(scope, receive, answer)
            else:
                await superseded(self.app, reason, scope, receive, answer)
        except BodyTooLarge:
            if not answered:
                await too_large(scope, self.max_bytes)(scope, receive, answer)
        finally:
            if not answered:  # the app failed before answering: the server answers 500
                observe_request(scope, 500, time.perf_counter() - started)
            end_request(token)
