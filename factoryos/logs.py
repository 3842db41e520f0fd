"""Log lines for people (text) or for a log pipeline (one JSON object per line).

`FACTORYOS_LOG_FORMAT=json` makes every line — ours, uvicorn's access log, libraries' — a JSON
object with the time, level, logger, message, and the request id and company id of the request
it belongs to. The request's fields live in one mutable holder per request: the server's
middleware makes it in the event loop, handlers fill the company in a worker thread (which runs
in a copy of the context, so a plain context variable set there would not reach the access line
that uvicorn writes back in the loop).
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Literal, TypedDict

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RequestFields(TypedDict):
    request_id: str | None
    company_id: str | None


_REQUEST: ContextVar[RequestFields | None] = ContextVar("factoryos_request_log_fields", default=None)


def begin_request(request_id: str) -> object:
    """Start a request's log fields; returns the token `end_request` takes."""
    return _REQUEST.set({"request_id": request_id, "company_id": None})


def end_request(token: object) -> None:
    _REQUEST.reset(token)  # type: ignore[arg-type]


def note_company(company_id: object) -> None:
    """Name the company the current request acts for (from any thread of the request)."""
    fields = _REQUEST.get()
    if fields is not None:
        fields["company_id"] = None if company_id is None else str(company_id)


class JsonLines(logging.Formatter):
    """One JSON object per record; the exception, if any, as one string field."""

    def format(self, record: logging.LogRecord) -> str:
        fields = _REQUEST.get() or {"request_id": None, "company_id": None}
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": fields["request_id"],
            "company_id": fields["company_id"],
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(level: str, fmt: LogFormat) -> None:
    """The process's root handler on stderr, in the chosen format (replaces earlier handlers)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("pgserver", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def uvicorn_log_config(fmt: LogFormat) -> dict[str, object] | None:
    """What to hand uvicorn: in JSON its loggers only propagate to our root handler (no handlers
    of their own, which would write text); in text uvicorn keeps its own readable lines."""
    if fmt == "text":
        return None  # the caller leaves uvicorn's default
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "loggers": {name: {"handlers": [], "propagate": True} for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
    }
