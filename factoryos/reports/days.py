"""The days a report may ask for: far enough either way for any plant's history and plans, near
enough that a day before or after is still a date (year 1 or 9999 would overflow)."""

from __future__ import annotations

from datetime import date

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)


def report_day(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError(f"must be a day from {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}")
    return value
