"""Display text of values: hours past a day, n/a, and site-local times across DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from factoryos.reports import ValueType
from factoryos.reports.values import format_duration, format_instant, format_value, local_naive

WARSAW = ZoneInfo("Europe/Warsaw")
T = ValueType


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "0:00:00"),
        (timedelta(seconds=59.6), "0:01:00"),
        (timedelta(hours=97, minutes=19, seconds=18), "97:19:18"),
        (timedelta(days=-1, hours=23, minutes=55), "-0:05:00"),
    ],
)
def test_durations_count_hours_past_a_day(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


@pytest.mark.parametrize(
    ("value", "vtype", "decimals", "text"),
    [
        (None, T.PERCENT, 1, "n/a"),
        (None, T.TEXT, 1, "n/a"),
        (1234567, T.INT, 1, "1,234,567"),
        (0.8531, T.PERCENT, 1, "85.3%"),
        (Decimal("1.005"), T.PERCENT, 2, "100.50%"),
        (Decimal("2.345"), T.DECIMAL, 2, "2.35"),
        ("Łukasz Żółć", T.TEXT, 1, "Łukasz Żółć"),
    ],
)
def test_format_value(value: object, vtype: ValueType, decimals: int, text: str) -> None:
    shown = format_value(value, vtype, tz=WARSAW, decimals=decimals)  # type: ignore[arg-type]
    assert shown == text


def test_datetimes_show_site_wall_clock_across_dst() -> None:
    # 2025-10-26: Warsaw goes back from CEST to CET at 03:00, so 02:30 happens twice.
    first = datetime(2025, 10, 26, 0, 30, tzinfo=UTC)
    second = first + timedelta(hours=1)
    assert format_value(first, T.DATETIME, tz=WARSAW) == "2025-10-26 02:30"
    assert format_value(second, T.DATETIME, tz=WARSAW) == "2025-10-26 02:30"
    assert format_instant(first, WARSAW) == "2025-10-26 02:30 CEST"
    assert format_instant(second, WARSAW) == "2025-10-26 02:30 CET"
    assert local_naive(second, WARSAW) == datetime(2025, 10, 26, 2, 30)
