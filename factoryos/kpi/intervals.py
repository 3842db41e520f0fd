"""Half-open UTC time intervals and the set arithmetic the KPI engine needs.

Every function takes and returns lists of intervals sorted by start, disjoint and with no
two touching (the *normal form* that `merge` produces), so time is never counted twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from factoryos.errors import ValidationFailed

MICROSECOND = timedelta(microseconds=1)


def micros(duration: timedelta) -> int:
    """A duration as an exact integer number of microseconds."""
    return duration // MICROSECOND


def require_aware(value: datetime, field: str) -> datetime:
    """`value` converted to UTC; a naive or non-datetime value is rejected."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValidationFailed(
            f"{field} must be a timezone-aware datetime, got {value!r}",
            code="naive_datetime",
            field=field,
        )
    return value.astimezone(UTC)


@dataclass(frozen=True, order=True)
class Interval:
    """The instants `start <= t < end`, stored in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        start = require_aware(self.start, "start")
        end = require_aware(self.end, "end")
        if end < start:
            raise ValidationFailed(
                f"interval ends ({end.isoformat()}) before it starts ({start.isoformat()})",
                code="invalid_interval",
                field="end",
            )
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end


def trusted(start: datetime, end: datetime) -> Interval:
    """An interval from the bounds of validated ones (UTC, start <= end), not checked again: the
    engine builds tens of thousands per site and request, each check costing more than the rest."""
    iv = object.__new__(Interval)
    object.__setattr__(iv, "start", start)
    object.__setattr__(iv, "end", end)
    return iv


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Union in normal form; empty intervals vanish."""
    out: list[Interval] = []
    for iv in sorted(i for i in intervals if i.end > i.start):
        if out and iv.start <= out[-1].end:
            if iv.end > out[-1].end:
                out[-1] = trusted(out[-1].start, iv.end)
        else:
            out.append(iv)
    return out


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """Intersection of two normal-form lists."""
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start = max(a[i].start, b[j].start)
        end = min(a[i].end, b[j].end)
        if start < end:
            out.append(trusted(start, end))
        if a[i].end <= b[j].end:
            i += 1
        else:
            j += 1
    return out


def subtract(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """The parts of normal-form `a` not covered by normal-form `b`."""
    out: list[Interval] = []
    j = 0
    for iv in a:
        cursor = iv.start
        while j < len(b) and b[j].end <= cursor:
            j += 1
        k = j
        while k < len(b) and b[k].start < iv.end:
            if b[k].start > cursor:
                out.append(trusted(cursor, b[k].start))
            cursor = max(cursor, b[k].end)
            k += 1
        if cursor < iv.end:
            out.append(trusted(cursor, iv.end))
    return out


def total(intervals: Iterable[Interval]) -> timedelta:
    """Summed length; exact for a normal-form list."""
    return sum((iv.duration for iv in intervals), timedelta())
