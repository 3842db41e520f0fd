"""Shift patterns (local wall times) and their instances (exact UTC intervals).

A shift instance belongs to the local date it starts on, so Friday's 22:00–06:00 night
shift is Friday's even though most of it happens on Saturday. Lengths are exact: on the
nights the clocks change a 22:00–06:00 shift lasts 7 h (spring) or 9 h (autumn).
Wall times hit by a DST change follow the policy in `factoryos.kpi.timezones`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from factoryos.errors import NotFound, ValidationFailed
from factoryos.kpi.intervals import Interval, require_aware
from factoryos.kpi.timezones import load_zone, local_to_utc

DAY = timedelta(days=1)
ALL_WEEKDAYS = frozenset(range(7))  # Monday = 0, as date.weekday()


def _since_midnight(t: time) -> timedelta:
    return timedelta(hours=t.hour, minutes=t.minute, seconds=t.second, microseconds=t.microsecond)


def _wall_offset(start: time, t: time) -> timedelta:
    """How far wall time `t` lies after `start`, going forward less than one day."""
    return (_since_midnight(t) - _since_midnight(start)) % DAY


@dataclass(frozen=True)
class ShiftPattern:
    """A recurring shift as the site's clock shows it.

    `end <= start` means the shift crosses midnight (`end == start`: a 24-hour shift).
    `breaks` are (start, end) wall times inside the shift, e.g. ``(time(12), time(12, 30))``;
    a break may itself cross midnight. `weekdays` are the local weekdays the shift *starts*
    on, Monday = 0.
    """

    name: str
    start: time
    end: time
    breaks: tuple[tuple[time, time], ...] = ()
    weekdays: frozenset[int] = field(default=ALL_WEEKDAYS)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValidationFailed("a shift needs a name", code="invalid_shift", field="name")
        for label, value in (("start", self.start), ("end", self.end)):
            _require_wall_time(value, label)
        try:
            object.__setattr__(self, "breaks", tuple(tuple(b) for b in self.breaks))
        except TypeError:
            raise ValidationFailed(
                f"shift {self.name!r}: breaks are (start, end) pairs of wall times",
                code="invalid_break",
                field="breaks",
            ) from None
        try:
            object.__setattr__(self, "weekdays", frozenset(self.weekdays))
        except TypeError:
            object.__setattr__(self, "weekdays", frozenset())
        if not self.weekdays or not self.weekdays <= ALL_WEEKDAYS:
            raise ValidationFailed(
                f"shift {self.name!r}: weekdays must be a non-empty set of 0 (Monday) to 6",
                code="invalid_shift",
                field="weekdays",
            )
        previous_end = timedelta()
        for begin, finish in self.break_offsets():
            if begin < previous_end:
                raise ValidationFailed(
                    f"shift {self.name!r}: breaks overlap",
                    code="invalid_break",
                    field="breaks",
                )
            previous_end = finish

    @property
    def nominal_length(self) -> timedelta:
        """Length by the wall clock, ignoring DST (what the shift is 'supposed' to last)."""
        return _wall_offset(self.start, self.end) or DAY

    def runs_on(self, local_date: date) -> bool:
        return local_date.weekday() in self.weekdays

    def break_offsets(self) -> list[tuple[timedelta, timedelta]]:
        """Breaks as wall-clock offsets from the shift start, in order, validated to lie inside."""
        out = []
        for pair in self.breaks:
            if len(pair) != 2:
                raise ValidationFailed(
                    f"shift {self.name!r}: a break is a (start, end) pair",
                    code="invalid_break",
                    field="breaks",
                )
            for value in pair:
                _require_wall_time(value, "breaks")
            begin = _wall_offset(self.start, pair[0])
            finish = _wall_offset(self.start, pair[1])
            if finish <= begin:
                finish += DAY
            if finish > self.nominal_length:
                raise ValidationFailed(
                    f"shift {self.name!r}: break {pair[0]}–{pair[1]} is not inside "
                    f"{self.start}–{self.end}",
                    code="invalid_break",
                    field="breaks",
                )
            out.append((begin, finish))
        return sorted(out)


def _require_wall_time(value: object, label: str) -> None:
    if not isinstance(value, time) or value.tzinfo is not None:
        raise ValidationFailed(
            f"{label} must be a local wall time without timezone, got {value!r}",
            code="invalid_shift",
            field=label,
        )


@dataclass(frozen=True)
class ShiftInstance:
    """One occurrence of a shift: exact UTC bounds and breaks (clipped, zero-length dropped)."""

    name: str
    local_date: date
    start: datetime
    end: datetime
    breaks: tuple[Interval, ...] = ()

    @property
    def window(self) -> Interval:
        return Interval(self.start, self.end)

    @property
    def length(self) -> timedelta:
        """Elapsed time, exact across DST."""
        return self.end - self.start

    @property
    def break_time(self) -> timedelta:
        return sum((b.duration for b in self.breaks), timedelta())

    def contains(self, instant: datetime) -> bool:
        """Whether `instant` falls in ``[start, end)``: the end belongs to the next shift."""
        return self.start <= require_aware(instant, "instant") < self.end


def resolve_shift(pattern: ShiftPattern, local_date: date, tz: str | ZoneInfo) -> ShiftInstance:
    """The instance of `pattern` that starts on `local_date` in the site timezone `tz`.

    Raises `ValidationFailed` (code ``invalid_timezone``) for an unknown zone and
    `NotFound` (code ``shift_not_scheduled``) when the pattern does not run that weekday.
    """
    zone = load_zone(tz)
    if not pattern.runs_on(local_date):
        raise NotFound(
            f"shift {pattern.name!r} does not run on {local_date:%A} {local_date.isoformat()}",
            code="shift_not_scheduled",
            field="local_date",
        )
    wall_start = datetime.combine(local_date, pattern.start)
    start = local_to_utc(wall_start, zone)
    end = local_to_utc(wall_start + pattern.nominal_length, zone)
    breaks = []
    for begin, finish in pattern.break_offsets():
        b = Interval(local_to_utc(wall_start + begin, zone), local_to_utc(wall_start + finish, zone))
        if b.duration:
            breaks.append(b)
    return ShiftInstance(pattern.name, local_date, start, end, tuple(breaks))


def shift_instances(
    patterns: Iterable[ShiftPattern],
    tz: str | ZoneInfo,
    from_utc: datetime,
    to_utc: datetime,
) -> list[ShiftInstance]:
    """Every instance overlapping ``[from_utc, to_utc)``, ordered by start then name."""
    zone = load_zone(tz)
    window = Interval(require_aware(from_utc, "from_utc"), require_aware(to_utc, "to_utc"))
    patterns = list(patterns)
    # A shift lasts at most 25 h, so one that overlaps started at most a local day earlier.
    day = window.start.astimezone(zone).date() - DAY
    last = window.end.astimezone(zone).date()
    found = []
    while day <= last:
        for pattern in patterns:
            if pattern.runs_on(day):
                instance = resolve_shift(pattern, day, zone)
                if instance.start < window.end and window.start < instance.end:
                    found.append(instance)
        day += DAY
    return sorted(found, key=lambda s: (s.start, s.name))


def instance_at(
    patterns: Iterable[ShiftPattern], tz: str | ZoneInfo, instant_utc: datetime
) -> ShiftInstance | None:
    """The instance whose ``[start, end)`` holds `instant_utc`, or None between shifts.

    At a handover the instant belongs to the shift that starts there. If overlapping
    patterns both hold it, the one that started latest wins (the crew that took over).
    """
    instant = require_aware(instant_utc, "instant_utc")
    holding = [
        s
        for s in shift_instances(patterns, tz, instant, instant + timedelta(microseconds=1))
        if s.contains(instant)
    ]
    return holding[-1] if holding else None
