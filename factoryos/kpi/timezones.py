"""Site timezones: validating IANA names and turning local wall times into UTC instants.

Policy for wall times that a DST change makes odd — every shift and break boundary goes
through `local_to_utc`, so one rule holds everywhere:

    A local time T on its date resolves to the first instant at which the site's wall
    clock shows T or later.

- Ambiguous times (autumn fall-back, T occurs twice): the *first* occurrence, i.e.
  zoneinfo's ``fold=0``. Berlin 2026-10-25 02:30 → 00:30 UTC (still CEST).
- Nonexistent times (spring-forward gap, the clock never shows T): the instant the clock
  jumps, i.e. the end of the gap. Berlin 2026-03-29 02:30 → 01:00 UTC (03:00 CEST).

The mapping never goes backwards, so a shift or break never has a negative length, and two
shifts that meet at the same local time meet at the same instant (no gap, no overlap).
A break lying wholly inside a gap therefore resolves to zero length.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from factoryos.errors import ValidationFailed
from factoryos.kpi.intervals import MICROSECOND

# Host-dependent aliases that load from the system zone directory but name no IANA zone.
_NOT_IANA = frozenset({"localtime", "posixrules"})


def load_zone(tz: str | ZoneInfo) -> ZoneInfo:
    """The zone for an IANA name such as ``"Europe/Berlin"``; anything else is rejected."""
    if isinstance(tz, ZoneInfo):
        return tz
    if not isinstance(tz, str) or not tz or tz in _NOT_IANA:
        raise _invalid(tz)
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise _invalid(tz) from exc


def _invalid(tz: object) -> ValidationFailed:
    return ValidationFailed(
        f"unknown timezone {tz!r}: use an IANA name such as 'Europe/Berlin'",
        code="invalid_timezone",
        field="timezone",
    )


def local_to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of naive wall time `local` in `zone`, per the module's policy."""
    first = local.replace(tzinfo=zone, fold=0)
    second = local.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first.astimezone(UTC)
    as_utc = first.astimezone(UTC)
    if as_utc.astimezone(zone).replace(tzinfo=None) == local:
        return as_utc  # ambiguous: fold=0 is the earlier instant
    return _gap_end(local, zone)


def _gap_end(local: datetime, zone: ZoneInfo) -> datetime:
    """The instant the clock jumps over the nonexistent wall time `local`.

    fold=0 reads `local` with the offset before the jump, fold=1 with the one after; the
    jump lies between those two readings. zoneinfo exposes no transition list, so bisect
    to the microsecond on "has the new offset started".
    """
    after_offset = local.replace(tzinfo=zone, fold=1).utcoffset()
    lo = local.replace(tzinfo=zone, fold=1).astimezone(UTC)  # old offset still in force
    hi = local.replace(tzinfo=zone, fold=0).astimezone(UTC)  # new offset in force
    while hi - lo > MICROSECOND:
        mid = lo + (hi - lo) // 2
        if mid.astimezone(zone).utcoffset() == after_offset:
            hi = mid
        else:
            lo = mid
    return hi
