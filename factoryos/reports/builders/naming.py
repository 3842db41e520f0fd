"""Download file names: built from sanitised parts only, never a path a caller chose."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta

from factoryos.reports.model import ReportDocument
from factoryos.reports.render import ReportFormat

_UNSAFE = re.compile(r"[^A-Za-z0-9]+")
MAX_PART = 40


def safe_part(text: str) -> str:
    """ASCII letters and digits joined by single dashes: no dots, slashes or spaces survive."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()  # Früh → Fruh
    return _UNSAFE.sub("-", ascii_text).strip("-")[:MAX_PART].strip("-") or "x"


def report_filename(topic: str, site_code: str, document: ReportDocument, fmt: ReportFormat,
                    shift: str | None = None, line_code: str | None = None,
                    days: tuple[date, date] | None = None) -> str:
    """E.g. ``shifts-PLANT1-2026-11-20-Night.pdf``, ``machines-PLANT1-2026-11-01-2026-11-30.xlsx``,
    or with a line ``machines-PLANT1-LINE-A-2026-11-20.pdf`` (never the site report's name)."""
    header = document.header
    tz = header.tz
    if days is not None:  # shifts chosen by the date they start on: a night ends the day after
        first, last = days
    else:
        first = header.start.astimezone(tz).date()
        last = (header.end - timedelta(microseconds=1)).astimezone(tz).date()  # the end is exclusive
    period = first.isoformat() if shift or last <= first else f"{first.isoformat()}-{last.isoformat()}"
    parts = [topic, site_code, *([line_code] if line_code else []), period] + ([shift] if shift else [])
    return "-".join(safe_part(p) for p in parts) + "." + fmt.value
