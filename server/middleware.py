"""The steps of the request stack (`server.request_stack`): the request id, the body limit and the
security headers, each a small function or table that the one middleware layer applies."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence

from starlette.responses import Response
from starlette.types import Message, Receive, Scope

from server.problem import problem

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")

Headers = list[tuple[bytes, bytes]]


def request_id_of(incoming: bytes | None) -> str:
    """A sane incoming X-Request-ID as it is, else a new one."""
    if incoming:
        text = incoming.decode("latin-1")
        if _REQUEST_ID.match(text):
            return text
    return secrets.token_hex(8)


# -- body limit -----------------------------------------------------------------------------


class BodyTooLarge(Exception):
    pass


def over_limit(length: bytes | None, max_bytes: int) -> bool:
    """A declared Content-Length over the limit: refused with 413 before the app buffers it."""
    return length is not None and length.isdigit() and int(length) > max_bytes


def limited(receive: Receive, max_bytes: int) -> Receive:
    """`receive` raising BodyTooLarge once the body read so far runs over the limit (a chunked body;
    one with a Content-Length within the limit cannot, the HTTP parser stops at its length)."""
    received = 0

    async def limited_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > max_bytes:
                raise BodyTooLarge
        return message

    return limited_receive


def too_large(scope: Scope, max_bytes: int) -> Response:
    return problem(
        413,
        "body_too_large",
        "Request body too large",
        f"request bodies are limited to {max_bytes} bytes",
        request_id=scope.get("state", {}).get("request_id"),
    )


# -- security headers -----------------------------------------------------------------------

# No page of ours is framed, embeds others' content or runs inline code: the docs page loads
# its script and style from files of this server, the API answers JSON and files.
_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
_STATIC = (b"/api/v1/docs", b"/api/v1/docs.css", b"/api/v1/docs.js", b"/api/v1/openapi.json")
_BASELINE: Headers = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", _CSP.encode()),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
_NO_STORE = (b"cache-control", b"no-store")


class SecurityHeaders:
    """The OWASP baseline headers on every answer; `Cache-Control: no-store` on API answers (they
    carry tokens and company data that no shared or browser cache may keep); HSTS under TLS. A
    header the answer sets itself is kept."""

    def __init__(self, *, tls: bool = False) -> None:
        self.tls = tls
        self._with_hsts = [*_BASELINE, _HSTS]

    def of(self, scope: Scope) -> tuple[Headers, bool]:
        """The headers this request's answer gets, and whether it is kept from caches."""
        path = scope.get("raw_path") or scope["path"].encode()
        headers = self._with_hsts if self.tls or scope.get("scheme") == "https" else _BASELINE
        return headers, path.split(b"?", 1)[0] not in _STATIC

    @staticmethod
    def added(headers: Headers, own: Sequence[tuple[bytes, bytes]], first: tuple[bytes, bytes], no_store: bool) -> Headers:
        """The answer's headers `own`, then `first`, then those of `headers` it does not set itself."""
        present = {k.lower() for k, _ in own}
        out = [*own, first]
        out += [(k, v) for k, v in headers if k not in present]
        if no_store and b"cache-control" not in present:
            out.append(_NO_STORE)
        return out
