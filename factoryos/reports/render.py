"""One entry point for every output format, for the CLI and the API."""

from __future__ import annotations

import os
from collections.abc import Callable
from enum import StrEnum
from typing import IO

from factoryos.reports.errors import ReportFormatUnsupported
from factoryos.reports.jsonable import iter_json
from factoryos.reports.model import ReportDocument


class ReportFormat(StrEnum):
    PDF = "pdf"
    XLSX = "xlsx"
    JSON = "json"

    @property
    def media_type(self) -> str:
        return _MEDIA_TYPES[self]

    @classmethod
    def parse(cls, value: str) -> ReportFormat:
        try:
            return cls(value.strip().lower())
        except ValueError:
            allowed = ", ".join(f.value for f in cls)
            raise ReportFormatUnsupported(
                f"Unsupported report format {value!r}; use one of: {allowed}",
                field="format",
            ) from None


_MEDIA_TYPES = {
    ReportFormat.PDF: "application/pdf",
    ReportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ReportFormat.JSON: "application/json",
}


def render(document: ReportDocument, fmt: ReportFormat | str,
           out: str | os.PathLike[str] | IO[bytes], *,
           progress: Callable[[int], None] | None = None) -> None:
    """Write `document` as `fmt` to a path or a binary stream.

    `progress` (XLSX only) receives the number of raw entries written so far.
    """
    fmt = fmt if isinstance(fmt, ReportFormat) else ReportFormat.parse(fmt)
    # The renderers (reportlab, openpyxl) load on the first report, not at every server start.
    if fmt is ReportFormat.PDF:
        from factoryos.reports.pdf import render_pdf

        render_pdf(document, out)
    elif fmt is ReportFormat.XLSX:
        from factoryos.reports.xlsx import render_xlsx

        render_xlsx(document, out, progress=progress)
    elif isinstance(out, (str, os.PathLike)):
        with open(out, "wb") as stream:
            _write_json(document, stream)
    else:
        _write_json(document, out)


def _write_json(document: ReportDocument, stream: IO[bytes]) -> None:
    for chunk in iter_json(document):
        stream.write(chunk.encode("utf-8"))
