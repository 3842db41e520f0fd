"""A superseded primary's api (`factoryos.backup.standby_fence`): every write refused with 503
`standby_superseded`, health answering 503 with the same code and its usual parts, reads served.

A step of the request stack in front of the routes, so the refusal comes before authentication, input
and the database: nothing reaches the superseded database through the API.
"""

from __future__ import annotations

import json
import logging
import os
import signal
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.problem import problem

log = logging.getLogger(__name__)

HEALTH_PATH = "/api/v1/system/health"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TITLE = "Superseded by the promoted standby"


async def superseded(app: ASGIApp, reason: str, scope: Scope, receive: Receive, send: Send) -> None:
    """A request to a superseded primary (`server.request_stack` calls it while `watch.reason` is set):
    a write refused, health as a 503 naming the promotion, any other read served."""
    if scope["method"] in WRITES:
        await _refusal(scope, reason, {})(scope, receive, send)
    elif scope["path"] == HEALTH_PATH:
        await _health(app, scope, receive, send, reason)
    else:
        await app(scope, receive, send)


def _refusal(scope: Scope, reason: str, parts: dict[str, Any]) -> Any:
    request_id = (scope.get("state") or {}).get("request_id")
    return problem(503, "standby_superseded", TITLE, reason, request_id=request_id, instance=scope["path"], **parts)


async def _health(app: ASGIApp, scope: Scope, receive: Receive, send: Send, reason: str) -> None:
    """The route's answer with its parts, as a 503 problem naming the promotion (a 503 of its own, e.g.
    the database unreachable, goes out as it is)."""
    start: Message | None = None
    chunks: list[bytes] = []

    async def keep(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, keep)
    body = b"".join(chunks)
    if start is None or start["status"] != 200:
        if start is not None:
            await send(start)
            await send({"type": "http.response.body", "body": body})
        return
    parts = {k: v for k, v in json.loads(body).items() if k != "status"}
    await _refusal(scope, reason, parts)(scope, receive, send)


def restart_fenced(reason: str) -> None:
    """Seen while serving: this process stops (its duties with it: polling, backups, webhooks, publishing)
    and its supervisor (Docker's restart policy) starts it again, refusing writes from its first request."""
    log.error("stopping to start again as a superseded primary: %s", reason)
    os.kill(os.getpid(), signal.SIGTERM)
