"""What the KPI engine reads for one machine over one window, and the site's KPI settings.

Callers pass raw records that may reach outside the window (the engine clips them) and
may overlap each other (the engine resolves overlaps by precedence, never double counts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from enum import StrEnum
from typing import TYPE_CHECKING

from factoryos.errors import ValidationFailed
from factoryos.kpi.intervals import Interval, trusted

if TYPE_CHECKING:
    from factoryos.kpi.shifts import ShiftInstance

DEFAULT_MICRO_STOP_THRESHOLD = timedelta(seconds=120)
_MICROSECOND = timedelta(microseconds=1)


class MachineState(StrEnum):
    RUNNING = "running"
    IDLE = "idle"
    PLANNED_STOP = "planned_stop"
    UNPLANNED_STOP = "unplanned_stop"
    SETUP = "setup"
    # Written by pollers before `no_data` existed: still counted as an unplanned stop.
    OFFLINE = "offline"
    # The machine could not be read: its own interval kind, never a stop (see accounting).
    NO_DATA = "no_data"


class NoDataPolicy(StrEnum):
    """How a site's OEE treats time its machines could not be read."""

    BUSY = "busy"  # planned busy and run time; reported as its own loss, judged by the parts found
    PLANNED = "planned"  # out of planned busy time, like a planned stop
    UNPLANNED = "unplanned"  # an availability loss, like an unplanned stop (never a failure)


@dataclass(frozen=True)
class StateInterval:
    """The machine was in `state` during ``[start, end)`` (from the signal poller)."""

    start: datetime
    end: datetime
    state: MachineState

    def __post_init__(self) -> None:
        iv = Interval(self.start, self.end)
        object.__setattr__(self, "start", iv.start)
        object.__setattr__(self, "end", iv.end)
        try:
            object.__setattr__(self, "state", MachineState(self.state))
        except ValueError:
            raise ValidationFailed(
                f"unknown machine state {self.state!r}; one of "
                + ", ".join(s.value for s in MachineState),
                code="invalid_state",
                field="state",
            ) from None

    @property
    def interval(self) -> Interval:
        return trusted(self.start, self.end)  # checked when made


@dataclass(frozen=True)
class DowntimeEvent:
    """A recorded stop ``[start, end)``, planned or not (operator entry or coded reason)."""

    start: datetime
    end: datetime
    planned: bool

    def __post_init__(self) -> None:
        iv = Interval(self.start, self.end)
        object.__setattr__(self, "start", iv.start)
        object.__setattr__(self, "end", iv.end)
        if not isinstance(self.planned, bool):
            raise ValidationFailed(
                "planned must be true or false", code="invalid_downtime", field="planned"
            )

    @property
    def interval(self) -> Interval:
        return trusted(self.start, self.end)  # checked when made


@dataclass(frozen=True)
class KpiPolicy:
    """Per-site KPI settings."""

    micro_stop_threshold: timedelta = DEFAULT_MICRO_STOP_THRESHOLD
    setup_is_planned: bool = False
    no_data_policy: NoDataPolicy = NoDataPolicy.BUSY

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "no_data_policy", NoDataPolicy(self.no_data_policy))
        except ValueError:
            raise ValidationFailed(
                f"unknown no-data policy {self.no_data_policy!r}; one of "
                + ", ".join(p.value for p in NoDataPolicy),
                code="invalid_policy",
                field="no_data_policy",
            ) from None
        if not isinstance(self.micro_stop_threshold, timedelta) or self.micro_stop_threshold < timedelta():
            raise ValidationFailed(
                "micro-stop threshold must be a non-negative duration",
                code="invalid_policy",
                field="micro_stop_threshold",
            )


@dataclass(frozen=True)
class RatedCount:
    """`count` of the window's parts (good and rejected) made at a standard of their own: the
    product's cycle time on this machine, one cycle making `parts_per_cycle` parts (a mould's
    cavities). One per run of an order operation in the window."""

    cycle_time: timedelta
    parts_per_cycle: int
    count: int

    def __post_init__(self) -> None:
        if not isinstance(self.cycle_time, timedelta) or self.cycle_time <= timedelta():
            raise ValidationFailed(
                f"a rated count's cycle time must be a positive duration, got {self.cycle_time!r}",
                code="invalid_cycle_time",
                field="rated_counts",
            )
        _require_count(self.parts_per_cycle, "rated_counts")
        if self.parts_per_cycle < 1:
            raise ValidationFailed(
                "parts per cycle must be at least 1", code="invalid_count", field="rated_counts"
            )
        _require_count(self.count, "rated_counts")

    @property
    def ideal_us(self) -> int:
        """cycle × count ÷ parts per cycle in µs, rounded half-even once."""
        return _div_half_even((self.cycle_time // _MICROSECOND) * self.count, self.parts_per_cycle)


@dataclass(frozen=True)
class MachineWindow:
    """Everything measured for one machine over one window (a shift instance or any range).

    Counts are those attributed to the window. `rework_count` is how many of the good
    parts needed rework first (it lowers first-pass yield, not quality). `ideal_cycle_time`
    is the time one unit takes at the machine's ideal rate; see `cycle_time`. `rated_counts`
    are the parts of the total count made at a product's own standard (order operations run in
    the window); the rest are measured against `ideal_cycle_time`.
    """

    window: Interval
    ideal_cycle_time: timedelta
    breaks: tuple[Interval, ...] = ()
    states: tuple[StateInterval, ...] = ()
    downtime: tuple[DowntimeEvent, ...] = ()
    good_count: int = 0
    reject_count: int = 0
    rework_count: int = 0
    target_quantity: int | None = None
    rated_counts: tuple[RatedCount, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.window, Interval):
            raise ValidationFailed("window must be an Interval", code="invalid_input", field="window")
        for name, kind in (("breaks", Interval), ("states", StateInterval), ("downtime", DowntimeEvent)):
            items = tuple(getattr(self, name))
            if not all(isinstance(item, kind) for item in items):
                raise ValidationFailed(
                    f"{name} must hold {kind.__name__} items", code="invalid_input", field=name
                )
            object.__setattr__(self, name, items)
        if not isinstance(self.ideal_cycle_time, timedelta) or self.ideal_cycle_time <= timedelta():
            raise ValidationFailed(
                f"ideal cycle time must be a positive duration, got {self.ideal_cycle_time!r}",
                code="invalid_cycle_time",
                field="ideal_cycle_time",
            )
        for name in ("good_count", "reject_count", "rework_count"):
            _require_count(getattr(self, name), name)
        if self.target_quantity is not None:
            _require_count(self.target_quantity, "target_quantity")
        if self.rework_count > self.good_count:
            raise ValidationFailed(
                "rework count cannot exceed good count (reworked parts are good parts)",
                code="invalid_count",
                field="rework_count",
            )
        if not isinstance(self.rated_counts, tuple | list):
            raise ValidationFailed("rated counts must be a sequence", code="invalid_input", field="rated_counts")
        rated = tuple(r if isinstance(r, RatedCount) else _rated(r) for r in self.rated_counts)
        object.__setattr__(self, "rated_counts", rated)
        if sum(r.count for r in rated) > self.good_count + self.reject_count:
            raise ValidationFailed(
                "rated counts cannot exceed the total count (good + reject)",
                code="invalid_count",
                field="rated_counts",
            )

    @property
    def ideal_us(self) -> int:
        """Ideal time of the counted parts (µs): each rated group at its own standard, the rest
        at the machine's ideal cycle time."""
        rated = sum(r.ideal_us for r in self.rated_counts)
        unrated = self.good_count + self.reject_count - sum(r.count for r in self.rated_counts)
        return rated + (self.ideal_cycle_time // _MICROSECOND) * unrated

    @classmethod
    def for_shift(cls, instance: ShiftInstance, **fields: object) -> MachineWindow:
        """A window spanning a resolved shift instance, with its breaks."""
        return cls(window=instance.window, breaks=instance.breaks, **fields)  # type: ignore[arg-type]


def _rated(item: object) -> RatedCount:
    """A `(cycle time, parts per cycle, count)` triple as a `RatedCount`."""
    if not isinstance(item, tuple) or len(item) != 3:
        raise ValidationFailed(
            "rated counts must hold RatedCount items or (cycle time, parts per cycle, count) triples",
            code="invalid_input",
            field="rated_counts",
        )
    return RatedCount(*item)


def _div_half_even(numerator: int, denominator: int) -> int:
    """numerator ÷ denominator (both ≥ 0, denominator > 0) rounded half-even, exactly."""
    q, r = divmod(numerator, denominator)
    if 2 * r > denominator or (2 * r == denominator and q % 2):
        q += 1
    return q


def _require_count(value: object, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationFailed(
            f"{name} must be a whole number >= 0, got {value!r}", code="invalid_count", field=name
        )


def cycle_time(seconds: Decimal | int | float | str) -> timedelta:
    """Ideal cycle time from seconds, rounded half-even to the microsecond."""
    micro = 0
    try:
        value = seconds if isinstance(seconds, Decimal) else Decimal(str(seconds))
        if value.is_finite() and not isinstance(seconds, bool):
            micro = int((value * 1_000_000).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    except (InvalidOperation, ValueError):
        pass
    if micro <= 0:
        raise ValidationFailed(
            f"ideal cycle time must be a positive number of seconds, got {seconds!r}",
            code="invalid_cycle_time",
            field="ideal_cycle_time",
        )
    return timedelta(microseconds=micro)


def cycle_time_from_rate(units_per_hour: Decimal | int | float | str) -> timedelta:
    """Ideal cycle time from an ideal rate in units per hour (3600 s / rate)."""
    try:
        rate = Decimal(str(units_per_hour))
        ok = rate.is_finite() and rate > 0 and not isinstance(units_per_hour, bool)
    except (InvalidOperation, ValueError):
        ok = False
    if not ok:
        raise ValidationFailed(
            f"ideal rate must be a positive number of units per hour, got {units_per_hour!r}",
            code="invalid_cycle_time",
            field="ideal_rate",
        )
    return cycle_time(Decimal(3600) / rate)
