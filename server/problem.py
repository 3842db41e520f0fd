"""RFC 9457 problem+json responses with a stable `code`."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from factoryos.errors import FactoryOSError

PROBLEM_TYPE = "urn:factoryos:problem:"


class ProblemResponse(JSONResponse):
    media_type = "application/problem+json"


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    request_id: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> ProblemResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    if request_id:
        body["request_id"] = request_id
    body.update({k: v for k, v in extra.items() if v is not None})
    return ProblemResponse(body, status_code=status, headers=headers)


def from_error(exc: FactoryOSError, *, request_id: str | None, instance: str | None) -> ProblemResponse:
    headers = None
    retry_after = exc.extra.get("retry_after")
    if retry_after is not None:
        headers = {"Retry-After": str(int(retry_after))}
    # Extra members never shadow the standard ones (an error naming e.g. a `status` of its own
    # must not turn into a TypeError and a 500): theirs are kept under a prefixed name.
    reserved = {"type", "title", "status", "detail", "code", "instance", "request_id", "headers", "field"}
    extra = {(f"{k}_value" if k in reserved else k): v for k, v in exc.extra.items()}
    return problem(
        exc.status,
        exc.code,
        exc.title,
        exc.detail,
        request_id=request_id,
        instance=instance,
        headers=headers,
        field=exc.field,
        **extra,
    )
