"""Report downloads (`/api/v1/reports/{topic}`, `/api/v1/reports/orders`), streamed to a file with progress.

The server renders the whole report before the first byte, then sends its length, so a
caller can show "generating" until `on_start` and a byte progress bar after it. The file
appears under its final name only once complete; a failed download leaves nothing behind.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any
from uuid import UUID

import httpx

from factoryos.client.client import FactoryClient
from factoryos.client.errors import ClientError, ServerUnreachable

TOPICS = ("production", "machines", "shifts", "operators", "rejections", "downtime")
FORMATS = ("pdf", "xlsx", "json")

Progress = Callable[[int, int | None], None]  # bytes received, total (None: unknown)

_FILENAME = re.compile(r'filename="([^"]*)"')
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class ReportRequest:
    """One report: a site or line, and a range (`start`/`end`) or a local `day` (+ `shift`)."""

    topic: str
    format: str = "pdf"
    site_id: UUID | None = None
    line_id: UUID | None = None
    start: str | None = None  # date, local date-time or instant with offset
    end: str | None = None
    day: date | None = None
    shift: str | None = None
    raw: bool = True

    def params(self) -> dict[str, Any]:
        return {"format": self.format, "site_id": self.site_id, "line_id": self.line_id, "from": self.start,
                "to": self.end, "date": self.day, "shift": self.shift, "raw": None if self.raw else False}


@dataclass(frozen=True)
class Download:
    path: Path
    size: int
    media_type: str
    suggested_name: str | None


def safe_filename(content_disposition: str | None) -> str | None:
    """The server's suggested file name, reduced to a bare, harmless name (or None)."""
    match = _FILENAME.search(content_disposition or "")
    if match is None:
        return None
    # Take the last component under either path syntax, then allow a small alphabet only.
    name = PureWindowsPath(PurePosixPath(match.group(1)).name).name
    name = _UNSAFE.sub("_", name).lstrip(".-_")
    return name[:120] or None


def _partial(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.part")


async def download_report(
    client: FactoryClient,
    request: ReportRequest,
    dest: Path | Callable[[str | None], Path],
    *,
    on_start: Callable[[int | None], None] | None = None,
    progress: Progress | None = None,
) -> Download:
    """Fetch the report into `dest` (or the path `dest(suggested_name)` returns).

    Raises ClientError (problem+json from the server, e.g. `report_format_unsupported`,
    `shift_not_found`, `permission_denied`) before any file is created.
    """
    if request.topic not in TOPICS:
        raise ValueError(f"unknown report topic {request.topic!r}")
    return await _download(client, f"/reports/{request.topic}", request.params(), dest, on_start, progress)


async def download_order_report(
    client: FactoryClient,
    number: str,
    fmt: str,
    dest: Path | Callable[[str | None], Path],
    *,
    on_start: Callable[[int | None], None] | None = None,
    progress: Progress | None = None,
) -> Download:
    """Fetch one manufacturing order's report (`/reports/orders?number=…`), as `download_report`.

    Raises ClientError (e.g. `order_not_found`) before any file is created.
    """
    return await _download(client, "/reports/orders", {"format": fmt, "number": number}, dest, on_start, progress)


async def _download(
    client: FactoryClient,
    url: str,
    params: dict[str, Any],
    dest: Path | Callable[[str | None], Path],
    on_start: Callable[[int | None], None] | None,
    progress: Progress | None,
) -> Download:
    response = await client.t.call("GET", url, params=params, stream=True)
    try:
        suggested = safe_filename(response.headers.get("content-disposition"))
        path = dest(suggested) if callable(dest) else dest
        length = response.headers.get("content-length")
        total = int(length) if length and length.isdigit() else None
        if on_start is not None:
            on_start(total)
        part = _partial(path)
        received = 0
        try:
            with open(part, "wb") as out:
                async for chunk in response.aiter_bytes():
                    out.write(chunk)
                    received += len(chunk)
                    if progress is not None:
                        progress(received, total)
            if total is not None and received != total:
                raise ClientError("download_incomplete", f"the download stopped after {received} of {total} bytes")
            os.replace(part, path)
        except httpx.TransportError:
            part.unlink(missing_ok=True)
            raise ServerUnreachable(client.server, "the connection dropped during the download",
                                    maybe_received=True) from None
        except BaseException:
            part.unlink(missing_ok=True)
            raise
    finally:
        await response.aclose()
    media_type = response.headers.get("content-type", "").split(";")[0]
    return Download(path, received, media_type, suggested)
