"""Site timezone validation and the DST policy for odd local wall times."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from factoryos.errors import ValidationFailed
from factoryos.kpi import load_zone, local_to_utc

BERLIN = load_zone("Europe/Berlin")
CHICAGO = load_zone("America/Chicago")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    "name",
    ["", "Mars/Olympus_Mons", "europe/berlin", "Europe/Berlin ", "Europe", "../etc/passwd",
     "/etc/localtime", "localtime", 5, None],
)
def test_unknown_timezone_is_a_clear_validation_error(name: object) -> None:
    with pytest.raises(ValidationFailed) as err:
        load_zone(name)  # type: ignore[arg-type]
    assert err.value.code == "invalid_timezone"
    assert err.value.field == "timezone"
    assert "IANA" in err.value.detail


def test_ordinary_wall_time() -> None:
    # Berlin in summer is UTC+2: 06:00 local = 04:00 UTC.
    assert local_to_utc(datetime(2026, 6, 15, 6), BERLIN) == utc(2026, 6, 15, 4)


@pytest.mark.parametrize(
    ("zone", "wall", "expected"),
    [
        # Berlin 2026-03-29: at 01:00 UTC the clock jumps 02:00 CET -> 03:00 CEST.
        (BERLIN, datetime(2026, 3, 29, 1, 59, 59), utc(2026, 3, 29, 0, 59, 59)),  # last CET second
        (BERLIN, datetime(2026, 3, 29, 2, 0), utc(2026, 3, 29, 1, 0)),  # never shown -> the jump
        (BERLIN, datetime(2026, 3, 29, 2, 30), utc(2026, 3, 29, 1, 0)),  # never shown -> the jump
        (BERLIN, datetime(2026, 3, 29, 3, 0), utc(2026, 3, 29, 1, 0)),  # first CEST instant
        # Chicago 2026-03-08: at 08:00 UTC the clock jumps 02:00 CST -> 03:00 CDT.
        (CHICAGO, datetime(2026, 3, 8, 2, 45), utc(2026, 3, 8, 8, 0)),
    ],
)
def test_spring_forward_gap_resolves_to_the_jump(
    zone: ZoneInfo, wall: datetime, expected: datetime
) -> None:
    assert local_to_utc(wall, zone) == expected


@pytest.mark.parametrize(
    ("zone", "wall", "expected"),
    [
        # Berlin 2026-10-25: 02:00-03:00 happens twice (CEST, then CET from 01:00 UTC).
        (BERLIN, datetime(2026, 10, 25, 2, 30), utc(2026, 10, 25, 0, 30)),  # first: 02:30 CEST
        (BERLIN, datetime(2026, 10, 25, 3, 0), utc(2026, 10, 25, 2, 0)),  # 03:00 CET, unambiguous
        # Chicago 2026-11-01: 01:00-02:00 happens twice (CDT, then CST from 07:00 UTC).
        (CHICAGO, datetime(2026, 11, 1, 1, 30), utc(2026, 11, 1, 6, 30)),  # first: 01:30 CDT
    ],
)
def test_fall_back_fold_resolves_to_the_first_occurrence(
    zone: ZoneInfo, wall: datetime, expected: datetime
) -> None:
    assert local_to_utc(wall, zone) == expected


@pytest.mark.parametrize("day", [datetime(2026, 3, 29), datetime(2026, 10, 25)])
def test_wall_to_utc_never_goes_backwards(day: datetime) -> None:
    # Every minute of a DST change day, in order: the resolved instants never decrease,
    # so no shift or break built from them can have a negative length.
    instants = [local_to_utc(day + timedelta(minutes=m), BERLIN) for m in range(24 * 60)]
    assert all(a <= b for a, b in zip(instants, instants[1:], strict=False))
    # And the day spans exactly its real length: 23 h in spring, 25 h in autumn.
    span = local_to_utc(day + timedelta(days=1), BERLIN) - instants[0]
    assert span == timedelta(hours=23 if day.month == 3 else 25)
