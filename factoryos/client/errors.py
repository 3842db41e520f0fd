"""What the client raises: one `ClientError` shape for every failure a user can act on.

A problem+json answer keeps the server's stable `code`; transport failures get codes of
their own (`server_unreachable`, `tls_untrusted`) so screens and commands can branch on
them without looking at httpx exceptions.
"""

from __future__ import annotations

from typing import Any


class ClientError(Exception):
    """An API call that did not succeed, with the server's `code` when it answered."""

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        field: str | None = None,
        status: int | None = None,
        retry_after: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.field = field
        self.status = status
        self.retry_after = retry_after
        self.extra = extra or {}

    def __str__(self) -> str:
        return self.detail

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, status={self.status!r}, detail={self.detail!r})"

    @property
    def transient(self) -> bool:
        """Worth sending again later unchanged (server down or overloaded), not a refusal."""
        return self.status in (502, 503, 504)


class ServerUnreachable(ClientError):
    """No HTTP answer: connection refused, DNS failure, timeout or a dropped connection."""

    def __init__(self, url: str, reason: str, *, maybe_received: bool = False) -> None:
        super().__init__("server_unreachable", f"cannot reach the server at {url}: {reason}")
        self.url = url
        self.reason = reason
        # False when no connection was made: the request certainly did not arrive.
        self.maybe_received = maybe_received

    @property
    def transient(self) -> bool:
        return True


class UntrustedCertificate(ClientError):
    """The server's TLS certificate is neither signed by a trusted CA nor the pinned one."""

    def __init__(self, url: str, fingerprint: str | None, reason: str) -> None:
        shown = fingerprint or "unavailable"
        super().__init__(
            "tls_untrusted",
            f"the TLS certificate of {url} is not trusted ({reason}); its SHA-256 fingerprint is {shown}: "
            "compare it with the one your administrator gave you before trusting it",
            extra={"fingerprint": fingerprint},
        )
        self.url = url
        self.fingerprint = fingerprint
        self.reason = reason


class SessionEnded(ClientError):
    """The session cannot continue (signed out, revoked, or refresh refused): sign in again."""
