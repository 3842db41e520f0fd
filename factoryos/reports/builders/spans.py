"""KPI totals of spans of time on one machine each: the runs of an order operation.

A span's windows are those `/api/v1/kpis/oee?scope=machine&id=…&from=…&to=…` uses (the
site's shifts clipped to the span, with their breaks; the span itself for a site without
shifts), and its totals come from the production KPI loader, so the figures of a run equal
the KPI endpoint's for that machine and time, with ideal time at the running product's
standard.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import Connection

from factoryos.kpi import Interval, KpiTotals
from factoryos.plant.records import MachineRecord, SiteRecord
from factoryos.plant.sites import Sites
from factoryos.production.kpi_loader import Window, machine_window_totals
from factoryos.production.kpi_models import OeeQuery
from factoryos.production.oee import period_windows

Span = tuple[MachineRecord, datetime, datetime]  # (machine row, start, end)


def span_windows(conn: Connection, tenant_id: UUID, site: SiteRecord, machine_id: UUID, start: datetime,
                 end: datetime, now: datetime) -> list[Window]:
    if end <= start or start >= now:
        return []
    # Built without validation: a run may outlast the KPI endpoint's longest range per request.
    query = OeeQuery.model_construct(scope="machine", id=machine_id, from_=start, to=end, shift_instance_id=None,
                                     day=None)
    windows, _, _ = period_windows(conn, tenant_id, site, query, now)
    return windows


def clip_windows(windows: Sequence[Window], start: datetime, end: datetime) -> list[Window]:
    """`windows` cut to [start, end): what `span_windows` finds for a span inside their range."""
    out = []
    for w in windows:
        lo, hi = max(w.interval.start, start), min(w.interval.end, end)
        if lo < hi:
            out.append(Window(Interval(lo, hi), w.breaks, w.instance_id, False, w.instance))
    return out


def span_totals(conn: Connection, tenant_id: UUID, spans: Sequence[Span], now: datetime,
                within: Sequence[Window] | None = None) -> list[KpiTotals]:
    """One `KpiTotals` per span, in order (empty for a span that has not begun). With `within`
    (a report period's windows, which hold every span) the spans' windows are cut from them
    rather than looked up in the shift calendar once per span."""
    out = [KpiTotals() for _ in spans]
    sites: dict[UUID, SiteRecord] = {}
    per_machine: dict[UUID, list[int]] = defaultdict(list)
    for i, (machine, _, _) in enumerate(spans):
        per_machine[machine["id"]].append(i)
    for indices in per_machine.values():
        machine = spans[indices[0]][0]
        site_id = machine["site_id"]
        if site_id not in sites:
            sites[site_id] = Sites(conn, tenant_id).require(site_id)
        site = sites[site_id]
        # One loader call per machine: its windows of every span, each remembered by its span.
        windows: list[Window] = []
        owner: list[int] = []
        for i in indices:
            _, start, end = spans[i]
            found = clip_windows(within, start, end) if within is not None else \
                span_windows(conn, tenant_id, site, machine["id"], start, end, now)
            windows += found
            owner += [i] * len(found)
        if not windows:
            continue
        for (_, idx), part in machine_window_totals(conn, tenant_id, site, [machine], windows, now).items():
            out[owner[idx]] = out[owner[idx]] + part
    return out
