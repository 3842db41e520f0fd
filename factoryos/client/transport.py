"""The HTTP layer: base URL, TLS trust, bearer tokens with rotation, errors as ClientError.

Access tokens are short-lived; the transport refreshes them shortly before they expire
(and once more on a `token_expired` answer). Refresh tokens rotate and a reused one
revokes the whole session, so refreshes are serialised with a lock.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, TypeAdapter

from factoryos import __version__
from factoryos.client.errors import ClientError, ServerUnreachable, SessionEnded, UntrustedCertificate
from factoryos.client.trust import Trust, fetch_fingerprint, ssl_context

log = logging.getLogger(__name__)

T = TypeVar("T")
API = "/api/v1"
REFRESH_MARGIN = 30.0  # seconds before expiry to refresh proactively
_SESSION_OVER = {
    "session_revoked", "session_expired", "membership_revoked", "account_disabled", "invalid_token",
    "missing_token", "invalid_refresh_token", "refresh_reused", "company_required",
}
_PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "instance", "request_id", "field"}


def normalize_server_url(text: str) -> str:
    """`factory.lan:8443` → `https://factory.lan:8443`; no trailing slash, no API prefix."""
    url = text.strip()
    if not url:
        raise ClientError("invalid_server_url", "enter the server address, e.g. https://factory.lan", field="server")
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ClientError("invalid_server_url", f"not a server address: {text.strip()}", field="server")
    path = parts.path.rstrip("/")
    if path.endswith(API):
        path = path[: -len(API)]
    return f"{parts.scheme}://{parts.netloc}{path}"


@dataclass
class Tokens:
    access: str
    refresh: str | None
    expires_at: float  # time.monotonic() deadline: immune to the terminal's clock being wrong

    @classmethod
    def issued(cls, access: str, refresh: str | None, expires_in: int) -> Tokens:
        return cls(access, refresh, time.monotonic() + expires_in)

    @property
    def stale(self) -> bool:
        return time.monotonic() > self.expires_at - REFRESH_MARGIN


def problem_error(response: httpx.Response) -> ClientError:
    """A problem+json (or any error) answer as a ClientError keeping the server's code."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    status = response.status_code
    code = str(body.get("code") or f"http_{status}")
    detail = str(body.get("detail") or body.get("title") or response.reason_phrase or f"HTTP {status}")
    retry_after = _int(response.headers.get("retry-after")) or _int(body.get("retry_after"))
    extra = {k: v for k, v in body.items() if k not in _PROBLEM_KEYS}
    if "request_id" in body:
        extra["request_id"] = body["request_id"]
    return ClientError(code, detail, field=body.get("field"), status=status, retry_after=retry_after, extra=extra)


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _causes(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def _reason(exc: BaseException) -> str:
    """A short human reason for a failed connection."""
    for cause in _causes(exc):
        if isinstance(cause, socket.gaierror):
            return "unknown host name"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused (is the server running?)"
        if isinstance(cause, OSError) and cause.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return "host unreachable"
        if isinstance(cause, ssl.SSLError):
            return "TLS handshake failed (does the server speak https?)"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        return "the connection dropped"
    return str(exc) or type(exc).__name__


class Transport:
    """One server, one (optional) signed-in session."""

    def __init__(
        self,
        server: str,
        *,
        trust: Trust | None = None,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.server = normalize_server_url(server)
        self.trust = trust or Trust()
        self.tokens: Tokens | None = None
        self._refresh_lock = asyncio.Lock()
        self._http = httpx.AsyncClient(
            base_url=self.server,
            verify=ssl_context(self.trust) if self.server.startswith("https") else True,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            headers={"User-Agent": f"factoryos-client/{__version__}", "Accept": "application/json"},
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def forward_for(self, address: str) -> None:
        """Name the person's own address on every request, as a proxy does (`factoryos web`):
        the server believes it only from an address in its `trusted_proxies`."""
        self._http.headers["X-Forwarded-For"] = address

    # -- requests -----------------------------------------------------------------------

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        auth: bool = True,
        token: str | None = None,
        idempotency_key: str | None = None,
        stream: bool = False,
        timeout: float | None = None,
    ) -> httpx.Response:
        """Send one request to `/api/v1{path}`; a 2xx response, or a ClientError.

        `stream`: the body is left unread (downloads); the caller must `aclose()` the response.
        `timeout`: seconds to wait for this answer instead of the client's default (slow work).
        """
        headers: dict[str, str] = {}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        query = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        for attempt in (1, 2):
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
            elif auth:
                headers["Authorization"] = f"Bearer {await self._access_token()}"
            extra = {"timeout": httpx.Timeout(timeout, connect=5.0)} if timeout is not None else {}
            response = await self._send(method, API + path, json=json, params=query, headers=headers, stream=stream,
                                        **extra)
            if response.is_success:
                return response
            if stream:
                await response.aread()
            error = problem_error(response)
            if auth and token is None and error.status == 401:
                if error.code == "token_expired" and attempt == 1:
                    await self._refresh(force=True)
                    continue
                if error.code in _SESSION_OVER:
                    self.tokens = None
                    raise SessionEnded(error.code, error.detail, status=401, extra=error.extra)
            raise error
        raise AssertionError("unreachable")

    async def get(self, path: str, model: type[T] | Any, **kw: Any) -> T:
        response = await self.call("GET", path, **kw)
        return _parse(response, model)

    async def send(self, method: str, path: str, model: type[T] | Any = None, **kw: Any) -> T:
        response = await self.call(method, path, **kw)
        if model is None or response.status_code == 204 or not response.content:
            return None  # type: ignore[return-value]
        return _parse(response, model)

    async def _send(self, method: str, url: str, *, stream: bool = False, **kw: Any) -> httpx.Response:
        try:
            if stream:
                return await self._http.send(self._http.build_request(method, url, **kw), stream=True)
            return await self._http.request(method, url, **kw)
        except httpx.ConnectError as exc:
            raise await self._connect_error(exc) from None
        except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise ServerUnreachable(self.server, _reason(exc)) from None
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise ServerUnreachable(self.server, _reason(exc), maybe_received=True) from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise ClientError("invalid_server_url", f"not a server address: {self.server} ({exc})",
                              field="server") from None

    async def _connect_error(self, exc: httpx.ConnectError) -> ClientError:
        verify = next((c for c in _causes(exc) if isinstance(c, ssl.SSLCertVerificationError)), None)
        if verify is None:
            return ServerUnreachable(self.server, _reason(exc))
        parts = urlsplit(self.server)
        fingerprint = await fetch_fingerprint(parts.hostname or "", parts.port or 443)
        reason = getattr(verify, "verify_message", None) or str(verify.args[0] if verify.args else verify)
        log.warning("untrusted TLS certificate at %s (%s)", self.server, reason)
        return UntrustedCertificate(self.server, fingerprint, reason)

    # -- tokens -------------------------------------------------------------------------

    def set_tokens(self, access: str, refresh: str | None, expires_in: int) -> None:
        self.tokens = Tokens.issued(access, refresh, expires_in)

    async def _access_token(self) -> str:
        if self.tokens is None:
            raise SessionEnded("not_signed_in", "sign in first", status=401)
        if self.tokens.stale and self.tokens.refresh:
            await self._refresh(force=False)
        assert self.tokens is not None
        return self.tokens.access

    async def _refresh(self, *, force: bool) -> None:
        async with self._refresh_lock:
            tokens = self.tokens
            if tokens is None or tokens.refresh is None:
                raise SessionEnded("not_signed_in", "your session has ended: sign in again", status=401)
            if not force and not tokens.stale:
                return  # another task refreshed while this one waited
            response = await self._send("POST", API + "/auth/refresh", json={"refresh_token": tokens.refresh})
            if not response.is_success:
                error = problem_error(response)
                if error.status == 401:
                    self.tokens = None
                    raise SessionEnded(error.code, "your session has ended: sign in again", status=401)
                raise error
            body = response.json()
            self.tokens = Tokens.issued(body["access_token"], body.get("refresh_token"), int(body["expires_in"]))
            log.debug("access token refreshed")


def _param(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value) if not isinstance(value, (list, tuple)) else [str(v) for v in value]


def _parse(response: httpx.Response, model: Any) -> Any:
    data = response.json()
    if isinstance(model, type) and issubclass(model, BaseModel):
        return model.model_validate(data)
    return TypeAdapter(model).validate_python(data)
