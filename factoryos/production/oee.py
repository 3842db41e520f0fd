"""OEE reports for a machine, a line or a site over a range, a shift instance, a local day or
the shift running now.

Roll-ups sum each machine's `KpiTotals` first and divide once at the end (never an
average of ratios); the figures come from `factoryos.kpi`, nothing is re-computed here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta
from typing import cast
from uuid import UUID

from sqlalchemy import Connection, exists, select

from factoryos.errors import ValidationFailed
from factoryos.kpi import Interval, KpiTotals, compute_kpis, load_zone, local_to_utc, rollup
from factoryos.plant.lines import Lines
from factoryos.plant.machines import Machines
from factoryos.plant.records import MachineRecord, SiteRecord
from factoryos.plant.sites import Sites
from factoryos.production.kpi_loader import Window, machine_totals_by_window, shift_windows
from factoryos.production.kpi_models import KpiTotalsOut, KpiValues, MachineKpis, OeeQuery, OeeReport, Scope
from factoryos.production.records import ShiftInstanceRecord
from factoryos.production.shifts import instances_overlapping, list_instances, require_instance, running_instance
from factoryos.schema.plant import machines
from factoryos.schema.production import shift_patterns


def unknown(what: str, scope_id: UUID) -> ValidationFailed:
    """The answer to a machine, line or site the caller does not see (the query's `id` names it)."""
    return ValidationFailed(f"{what} {scope_id} not found", code=f"{what}_not_found", field="id")


def scope_machines(conn: Connection, tenant_id: UUID, query: OeeQuery) -> tuple[SiteRecord, list[MachineRecord]]:
    """The site and the machines a scope covers (retired machines included: they have history)."""
    if query.scope == "machine":
        machine = Machines(conn, tenant_id).get(query.id)
        if machine is None:
            raise unknown("machine", query.id)
        return Sites(conn, tenant_id).require(machine["site_id"]), [machine]
    if query.scope == "line":
        line = Lines(conn, tenant_id).get(query.id)
        if line is None:
            raise unknown("line", query.id)
        site, where = Sites(conn, tenant_id).require(line["site_id"]), machines.c.line_id == line["id"]
    else:
        found = Sites(conn, tenant_id).get(query.id)
        if found is None:
            raise unknown("site", query.id)
        site = found
        where = machines.c.site_id == site["id"]
    rows = conn.execute(
        select(machines).where(machines.c.tenant_id == tenant_id, where).order_by(machines.c.code)
    ).mappings().all()
    return site, [cast(MachineRecord, r) for r in rows]


def _has_shifts(conn: Connection, tenant_id: UUID, site_id: UUID) -> bool:
    return bool(conn.execute(select(exists().where(
        shift_patterns.c.tenant_id == tenant_id, shift_patterns.c.site_id == site_id))).scalar())


def period_windows(conn: Connection, tenant_id: UUID, site: SiteRecord, query: OeeQuery,
                   now: datetime) -> tuple[list[Window], datetime, datetime]:
    if query.shift_instance_id is not None:
        instance = require_instance(conn, tenant_id, query.shift_instance_id)
        if instance["site_id"] != site["id"]:
            raise ValidationFailed("that shift instance belongs to another site", code="shift_other_site",
                                   field="shift_instance_id")
        start, end = instance["starts_at"], instance["ends_at"]
        return shift_windows([instance], start, end, now), start, max(start, min(end, now))
    if query.day is None and query.from_ is None:  # shift=running, the one period left
        _, windows, start, end = running_shift(conn, tenant_id, site, now)
        return windows, start, end
    if query.day is not None:
        zone = load_zone(site["timezone"])
        start = local_to_utc(datetime.combine(query.day, time()), zone)
        end = local_to_utc(datetime.combine(query.day + timedelta(days=1), time()), zone)
        if _has_shifts(conn, tenant_id, site["id"]):
            instances = list_instances(conn, tenant_id, site["id"], query.day, query.day)
            start = min((r["starts_at"] for r in instances), default=start)
            end = max((r["ends_at"] for r in instances), default=end)
            return shift_windows(instances, start, end, now), start, max(start, min(end, now))
    else:
        assert query.from_ is not None and query.to is not None
        start, end = query.from_, query.to
        if _has_shifts(conn, tenant_id, site["id"]):
            instances = instances_overlapping(conn, tenant_id, site, start, end)
            return shift_windows(instances, start, end, now), start, max(start, min(end, now))
    stop = min(end, now)
    windows = [Window(Interval(start, stop))] if start < stop else []
    return windows, start, max(start, stop)


def running_shift(conn: Connection, tenant_id: UUID, site: SiteRecord, now: datetime
                  ) -> tuple[ShiftInstanceRecord | None, list[Window], datetime, datetime]:
    """The shift running at `now` and its window cut at now, with the reported start and end: the
    period of the live view and of `shift=running` (none running: no window, start = end = now)."""
    shift = running_instance(conn, tenant_id, site, now)
    if shift is None:
        return None, [], now, now
    start, end = shift["starts_at"], shift["ends_at"]
    return shift, shift_windows([shift], start, end, now), start, max(start, min(end, now))


def _machine_kpis(machine: MachineRecord, totals: KpiTotals) -> MachineKpis:
    return MachineKpis(machine_id=machine["id"], code=machine["code"], name=machine["name"],
                       totals=KpiTotalsOut.of(totals), kpis=KpiValues.of(compute_kpis(totals)))


def oee_report(conn: Connection, tenant_id: UUID, query: OeeQuery, now: datetime) -> OeeReport:
    site, machine_rows = scope_machines(conn, tenant_id, query)
    windows, start, end = period_windows(conn, tenant_id, site, query, now)
    per_machine = machine_totals_by_window(conn, tenant_id, site, machine_rows, windows, now)
    return build_report(query.scope, query.id, start, end, len(windows), machine_rows, per_machine)


def build_report(scope: Scope, scope_id: UUID, start: datetime, end: datetime, windows: int,
                 machine_rows: Sequence[MachineRecord], per_machine: Mapping[UUID, KpiTotals]) -> OeeReport:
    """The report of these machines' totals: each machine's, and their sum divided last."""
    total = rollup(per_machine[m["id"]] for m in machine_rows)
    return OeeReport(
        scope=scope, id=scope_id, start=start, end=end, windows=windows,
        totals=KpiTotalsOut.of(total), kpis=KpiValues.of(compute_kpis(total)),
        machines=[_machine_kpis(m, per_machine[m["id"]]) for m in machine_rows],
    )
