"""Shift patterns resolved to exact UTC instances, across midnight and DST changes."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from factoryos.errors import NotFound, ValidationFailed
from factoryos.kpi import ShiftPattern, instance_at, resolve_shift, shift_instances

BERLIN = "Europe/Berlin"
CHICAGO = "America/Chicago"
H = timedelta(hours=1)

EARLY = ShiftPattern("Early", time(6), time(14), breaks=((time(9), time(9, 15)), (time(12), time(12, 30))))
LATE = ShiftPattern("Late", time(14), time(22))
NIGHT = ShiftPattern("Night", time(22), time(6), breaks=((time(2), time(2, 30)),))
THREE_SHIFTS = (EARLY, LATE, NIGHT)
WEEKDAYS_ONLY = ShiftPattern("Day", time(7), time(15, 30), weekdays={0, 1, 2, 3, 4})


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_plain_day_shift_with_breaks() -> None:
    # Berlin in June is UTC+2: 06:00-14:00 local = 04:00-12:00 UTC;
    # breaks 09:00-09:15 and 12:00-12:30 local = 07:00-07:15 and 10:00-10:30 UTC.
    shift = resolve_shift(EARLY, date(2026, 6, 15), BERLIN)
    assert (shift.start, shift.end) == (utc(2026, 6, 15, 4), utc(2026, 6, 15, 12))
    assert [(b.start, b.end) for b in shift.breaks] == [
        (utc(2026, 6, 15, 7), utc(2026, 6, 15, 7, 15)),
        (utc(2026, 6, 15, 10), utc(2026, 6, 15, 10, 30)),
    ]
    assert shift.length == 8 * H
    assert shift.break_time == timedelta(minutes=45)
    assert shift.local_date == date(2026, 6, 15)


def test_night_shift_crosses_midnight_and_belongs_to_its_start_date() -> None:
    # 22:00 on the 15th (20:00 UTC) to 06:00 on the 16th (04:00 UTC);
    # its 02:00-02:30 break is on the 16th: 00:00-00:30 UTC.
    shift = resolve_shift(NIGHT, date(2026, 6, 15), BERLIN)
    assert shift.local_date == date(2026, 6, 15)
    assert (shift.start, shift.end) == (utc(2026, 6, 15, 20), utc(2026, 6, 16, 4))
    assert [(b.start, b.end) for b in shift.breaks] == [(utc(2026, 6, 16, 0), utc(2026, 6, 16, 0, 30))]
    assert shift.length == 8 * H


@pytest.mark.parametrize(
    ("tz", "night_of", "start", "end", "hours"),
    [
        # Berlin springs forward 2026-03-29 01:00 UTC: 22:00 CET (21:00 UTC) -> 06:00 CEST (04:00 UTC).
        (BERLIN, date(2026, 3, 28), utc(2026, 3, 28, 21), utc(2026, 3, 29, 4), 7),
        # Berlin falls back 2026-10-25 01:00 UTC: 22:00 CEST (20:00 UTC) -> 06:00 CET (05:00 UTC).
        (BERLIN, date(2026, 10, 24), utc(2026, 10, 24, 20), utc(2026, 10, 25, 5), 9),
        # Chicago springs forward 2026-03-08: 22:00 CST (04:00 UTC) -> 06:00 CDT (11:00 UTC).
        (CHICAGO, date(2026, 3, 7), utc(2026, 3, 8, 4), utc(2026, 3, 8, 11), 7),
        # Chicago falls back 2026-11-01: 22:00 CDT (03:00 UTC) -> 06:00 CST (12:00 UTC).
        (CHICAGO, date(2026, 10, 31), utc(2026, 11, 1, 3), utc(2026, 11, 1, 12), 9),
    ],
)
def test_night_shift_on_dst_change(
    tz: str, night_of: date, start: datetime, end: datetime, hours: int
) -> None:
    shift = resolve_shift(ShiftPattern("Night", time(22), time(6)), night_of, tz)
    assert (shift.start, shift.end) == (start, end)
    assert shift.length == hours * H


@pytest.mark.parametrize(("day", "hours"), [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25)])
def test_three_shifts_tile_the_dst_day_without_gap_or_overlap(day: date, hours: int) -> None:
    # The day before the change: Early and Late are 8 h; Night carries the change.
    shifts = [resolve_shift(p, day - timedelta(days=1), BERLIN) for p in THREE_SHIFTS]
    assert [s.end for s in shifts[:-1]] == [s.start for s in shifts[1:]]
    assert sum((s.length for s in shifts), timedelta()) == hours * H
    # A 24-hour shift starting at local midnight of the change day is that day's length.
    assert resolve_shift(ShiftPattern("Full", time(0), time(0)), day, BERLIN).length == hours * H


def test_shift_starting_in_the_spring_gap_starts_at_the_jump() -> None:
    # 02:30 never happens in Berlin on 2026-03-29: the shift starts when the clock jumps
    # (01:00 UTC) and so lasts 7.5 h by the clock's 8 h; the shift before ends there too.
    before = resolve_shift(ShiftPattern("A", time(18, 30), time(2, 30)), date(2026, 3, 28), BERLIN)
    shift = resolve_shift(ShiftPattern("B", time(2, 30), time(10, 30)), date(2026, 3, 29), BERLIN)
    assert (shift.start, shift.end) == (utc(2026, 3, 29, 1), utc(2026, 3, 29, 8, 30))
    assert shift.length == 7.5 * H
    assert before.end == shift.start
    assert before.length == 7.5 * H  # 18:30 CET (17:30 UTC) to the jump (01:00 UTC)


def test_shift_starting_in_the_autumn_fold_starts_at_the_first_occurrence() -> None:
    # 01:30 happens twice in Chicago on 2026-11-01; the first is 01:30 CDT = 06:30 UTC.
    before = resolve_shift(ShiftPattern("A", time(17, 30), time(1, 30)), date(2026, 10, 31), CHICAGO)
    shift = resolve_shift(ShiftPattern("B", time(1, 30), time(9, 30)), date(2026, 11, 1), CHICAGO)
    assert shift.start == utc(2026, 11, 1, 6, 30)
    assert shift.end == utc(2026, 11, 1, 15, 30)  # 09:30 CST = UTC-6
    assert shift.length == 9 * H  # it gets the repeated hour
    assert before.end == shift.start
    assert before.length == 8 * H  # 17:30 CDT (22:30 UTC) to 06:30 UTC


def test_breaks_in_the_spring_gap_shrink_or_vanish() -> None:
    # Berlin 2026-03-28 night: 02:15-02:45 never happens (dropped); 01:45-02:30 keeps only
    # 01:45-02:00 CET = 00:45-01:00 UTC.
    gone = ShiftPattern("N", time(22), time(6), breaks=((time(2, 15), time(2, 45)),))
    cut = ShiftPattern("N", time(22), time(6), breaks=((time(1, 45), time(2, 30)),))
    assert resolve_shift(gone, date(2026, 3, 28), BERLIN).breaks == ()
    (b,) = resolve_shift(cut, date(2026, 3, 28), BERLIN).breaks
    assert (b.start, b.end) == (utc(2026, 3, 29, 0, 45), utc(2026, 3, 29, 1))


def test_breaks_may_cross_midnight_and_come_in_any_order() -> None:
    # June, UTC+2: 23:45-00:15 local = 21:45-22:15 UTC; 03:00-03:30 local = 01:00-01:30 UTC.
    breaks = ((time(3), time(3, 30)), (time(23, 45), time(0, 15)))
    pattern = ShiftPattern("N", time(22), time(6), breaks=breaks)
    shift = resolve_shift(pattern, date(2026, 6, 15), BERLIN)
    assert [(b.start, b.end) for b in shift.breaks] == [
        (utc(2026, 6, 15, 21, 45), utc(2026, 6, 15, 22, 15)),
        (utc(2026, 6, 16, 1), utc(2026, 6, 16, 1, 30)),
    ]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"breaks": ((time(15), time(15, 30)),)}, "breaks"),  # after the shift
        ({"breaks": ((time(13, 45), time(14, 15)),)}, "breaks"),  # runs past the end
        ({"breaks": ((time(9), time(9, 30)), (time(9, 15), time(9, 45)))}, "breaks"),  # overlap
        ({"weekdays": set()}, "weekdays"),
        ({"weekdays": {7}}, "weekdays"),
        ({"breaks": (time(9),)}, "breaks"),  # not a pair
        ({"start": time(6, tzinfo=UTC)}, "start"),
        ({"name": " "}, "name"),
    ],
)
def test_invalid_patterns_are_rejected(kwargs: dict, field: str) -> None:
    fields = {"name": "Early", "start": time(6), "end": time(14)} | kwargs
    with pytest.raises(ValidationFailed) as err:
        ShiftPattern(**fields)
    assert err.value.field == field


def test_resolving_on_an_inactive_weekday_is_not_found() -> None:
    with pytest.raises(NotFound) as err:
        resolve_shift(WEEKDAYS_ONLY, date(2026, 6, 20), BERLIN)  # a Saturday
    assert err.value.code == "shift_not_scheduled"
    with pytest.raises(ValidationFailed):
        resolve_shift(WEEKDAYS_ONLY, date(2026, 6, 19), "Berlin")


def test_shift_instances_overlapping_a_range() -> None:
    # 2026-03-28 12:00 UTC to 2026-03-29 12:00 UTC around Berlin's spring change.
    found = shift_instances(THREE_SHIFTS, BERLIN, utc(2026, 3, 28, 12), utc(2026, 3, 29, 12))
    assert [(s.name, s.local_date.day, s.start, s.end) for s in found] == [
        ("Early", 28, utc(2026, 3, 28, 5), utc(2026, 3, 28, 13)),  # ends inside the range
        ("Late", 28, utc(2026, 3, 28, 13), utc(2026, 3, 28, 21)),
        ("Night", 28, utc(2026, 3, 28, 21), utc(2026, 3, 29, 4)),  # 7 h
        ("Early", 29, utc(2026, 3, 29, 4), utc(2026, 3, 29, 12)),  # now CEST
    ]  # Late of the 29th starts at 12:00 UTC, the range's (exclusive) end


def test_shift_instances_skip_inactive_days_but_keep_friday_night() -> None:
    night = ShiftPattern("Night", time(22), time(6), weekdays={0, 1, 2, 3, 4})
    # Saturday 2026-06-20 and Sunday 21 (UTC+2): only Friday's night reaches in.
    found = shift_instances([night, WEEKDAYS_ONLY], BERLIN, utc(2026, 6, 20), utc(2026, 6, 22))
    assert [(s.name, s.local_date) for s in found] == [("Night", date(2026, 6, 19))]


def test_instance_at_handover_belongs_to_the_incoming_shift() -> None:
    # Night of 2026-06-15 ends, and Early of the 16th starts, at 04:00 UTC.
    handover = utc(2026, 6, 16, 4)
    assert instance_at(THREE_SHIFTS, BERLIN, handover).name == "Early"
    before = instance_at(THREE_SHIFTS, BERLIN, handover - timedelta(microseconds=1))
    assert (before.name, before.local_date) == ("Night", date(2026, 6, 15))
    # An instant during the night's break still belongs to the night shift.
    assert instance_at(THREE_SHIFTS, BERLIN, utc(2026, 6, 16, 0, 10)).name == "Night"


def test_instance_at_outside_any_shift_is_none() -> None:
    # Weekdays 07:00-15:30 local = 05:00-13:30 UTC in June.
    assert instance_at([WEEKDAYS_ONLY], BERLIN, utc(2026, 6, 15, 13, 30)) is None  # its end
    assert instance_at([WEEKDAYS_ONLY], BERLIN, utc(2026, 6, 15, 5)).name == "Day"  # its start
    assert instance_at([WEEKDAYS_ONLY], BERLIN, utc(2026, 6, 20, 8)) is None  # Saturday


def test_instance_at_with_overlapping_patterns_prefers_the_latest_start() -> None:
    a = ShiftPattern("A", time(6), time(14, 15))
    b = ShiftPattern("B", time(14), time(22))
    assert instance_at([a, b], BERLIN, utc(2026, 6, 15, 12, 10)).name == "B"  # 14:10 local
    assert instance_at([a, b], BERLIN, utc(2026, 6, 15, 11, 59)).name == "A"


def test_instance_at_rejects_naive_instants() -> None:
    with pytest.raises(ValidationFailed) as err:
        instance_at(THREE_SHIFTS, BERLIN, datetime(2026, 6, 15, 12))
    assert err.value.code == "naive_datetime"
