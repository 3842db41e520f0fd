"""Human-readable text for report values (PDF cells, tiles, headers)."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from factoryos.reports.model import ReportHeader, ReportKind, Value, ValueType

NA = "n/a"
DATETIME_FORMAT = "%Y-%m-%d %H:%M"


def local_naive(value: datetime, tz: tzinfo) -> datetime:
    """Wall-clock time at the site, without tzinfo (what a spreadsheet cell can hold)."""
    return value.astimezone(tz).replace(tzinfo=None)


def format_duration(value: timedelta) -> str:
    """h:mm:ss with hours past 24 (a year of downtime stays readable as hours)."""
    seconds = round(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours}:{minutes:02d}:{secs:02d}"


def _half_up(value: int | float | Decimal, decimals: int) -> int | float | Decimal:
    """Exact decimals round half up, as on paper (format() would round half to even)."""
    if isinstance(value, Decimal):
        return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return value


V = TypeVar("V")


def capped(value: V, cap: float | None) -> V | float:
    """Numbers above `cap` shown as `cap` (e.g. performance over 100 %)."""
    if cap is not None and isinstance(value, (int, float, Decimal)) and float(value) > cap:
        return cap
    return value


def format_value(value: Value, vtype: ValueType, *, tz: tzinfo, decimals: int = 1,
                 cap: float | None = None) -> str:
    if value is None:
        return NA
    value = capped(value, cap)
    if vtype is ValueType.TEXT:
        return str(value)
    if vtype is ValueType.INT:
        return f"{value:,}"
    if vtype is ValueType.DECIMAL:
        assert isinstance(value, (int, float, Decimal))
        return f"{_half_up(value, decimals):,.{decimals}f}"
    if vtype is ValueType.PERCENT:
        assert isinstance(value, (int, float, Decimal))
        scaled = value * 100 if isinstance(value, Decimal) else float(value) * 100
        return f"{_half_up(scaled, decimals):.{decimals}f}%"
    if vtype is ValueType.DURATION:
        assert isinstance(value, timedelta)
        return format_duration(value)
    assert isinstance(value, datetime)
    return value.astimezone(tz).strftime(DATETIME_FORMAT)


def format_instant(value: datetime, tz: tzinfo) -> str:
    """Local time with the zone's abbreviation, so DST's repeated hour stays unambiguous."""
    return value.astimezone(tz).strftime(f"{DATETIME_FORMAT} %Z")


def format_range(header: ReportHeader) -> str:
    tz = header.tz
    if header.kind is ReportKind.TRACE:  # a state, not a period
        return f"As of {header.end.astimezone(tz).strftime(DATETIME_FORMAT)} ({header.timezone})"
    start = header.start.astimezone(tz).strftime(DATETIME_FORMAT)
    end = header.end.astimezone(tz).strftime(DATETIME_FORMAT)
    return f"{start} – {end} ({header.timezone})"
