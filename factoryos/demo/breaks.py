"""The demo plant's shift breaks, which its simulated machines stop for as a plant's machines do.

OEE leaves breaks out of the planned busy time: a PLC that went on making parts through a break
would count them against no running time, and performance would read above 100 %. The breaks are
resolved as the KPIs resolve them (the site's timezone, its DST days included).
"""

from __future__ import annotations

from datetime import datetime, time

from factoryos.demo.dataset import SITES, SiteSpec, machine_codes
from factoryos.kpi.shifts import ShiftPattern, instance_at


def _patterns(site: SiteSpec) -> list[ShiftPattern]:
    return [ShiftPattern(s.name, time.fromisoformat(s.start), time.fromisoformat(s.end),
                         tuple((time.fromisoformat(a), time.fromisoformat(b)) for a, b in s.breaks))
            for s in site.shifts]


def on_break(site: SiteSpec, at: datetime) -> bool:
    """Whether a break of the site's shift running at `at` (an aware instant) holds it."""
    shift = instance_at(_patterns(site), site.timezone, at)
    return shift is not None and any(b.start <= at < b.end for b in shift.breaks)


def machines_on_break(at: datetime) -> set[int]:
    """Indexes into `machine_codes()` of the machines whose site is on a break at `at`."""
    breaking = {site.code for site in SITES if on_break(site, at)}
    return {index for index, (site, _, _) in enumerate(machine_codes()) if site in breaking}
