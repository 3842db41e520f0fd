"""Domain errors with stable codes.

The server maps them to RFC 9457 problem+json, the CLI to one red line and exit 1,
the TUI to a notification. `code` is part of the public API: never rename one.
"""

from __future__ import annotations

from typing import Any


class FactoryOSError(Exception):
    """Base of every error a user can cause or fix."""

    code = "error"
    status = 400
    title = "Request failed"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        field: str | None = None,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.field = field
        self.extra = extra or {}

    def __str__(self) -> str:
        return self.detail


class ValidationFailed(FactoryOSError):
    code = "validation_failed"
    status = 422
    title = "Invalid input"


class NotFound(FactoryOSError):
    code = "not_found"
    status = 404
    title = "Not found"


class Conflict(FactoryOSError):
    code = "conflict"
    status = 409
    title = "Conflict"


class Unauthorized(FactoryOSError):
    code = "unauthorized"
    status = 401
    title = "Not authenticated"


class PermissionDenied(FactoryOSError):
    code = "permission_denied"
    status = 403
    title = "Permission denied"


class RateLimited(FactoryOSError):
    code = "rate_limited"
    status = 429
    title = "Too many attempts"


class ConfigError(FactoryOSError):
    code = "config_error"
    status = 500
    title = "Configuration error"


class DatabaseUnavailable(FactoryOSError):
    code = "database_unavailable"
    status = 503
    title = "Database unavailable"
