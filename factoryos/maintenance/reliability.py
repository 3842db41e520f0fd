"""MTBF and MTTR per machine asset, and the top failure reasons, from the KPI engine's own totals.

Run time, failures and unplanned stop time come from `machine_totals_by_window` over the
period's windows (the site's shifts, or the whole period when it has none), exactly as OEE
counts them: MTBF = run time / failures, MTTR = unplanned stop time / failures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import cast
from uuid import UUID

from sqlalchemy import Connection, select, text

from factoryos.maintenance.assets import ensure_machine_assets
from factoryos.maintenance.models import Reliability
from factoryos.plant.records import MachineRecord, SiteRecord
from factoryos.production.kpi_loader import machine_totals_by_window
from factoryos.production.oee import period_windows
from factoryos.schema.maintenance import maintenance_assets as ma
from factoryos.schema.plant import machines, sites


def reliability(conn: Connection, tenant_id: UUID, start: datetime, end: datetime, now: datetime,
                machine_id: UUID | None = None) -> list[Reliability]:
    ensure_machine_assets(conn, tenant_id)
    stmt = select(machines).where(machines.c.tenant_id == tenant_id).order_by(machines.c.code)
    if machine_id is not None:
        stmt = stmt.where(machines.c.id == machine_id)
    rows = list(conn.execute(stmt).mappings())
    assets = {m: a for a, m in conn.execute(select(ma.c.id, ma.c.machine_id).where(
        ma.c.tenant_id == tenant_id, ma.c.machine_id.is_not(None)))}
    out: list[Reliability] = []
    for site_id in dict.fromkeys(r["site_id"] for r in rows):
        site = conn.execute(select(sites).where(sites.c.tenant_id == tenant_id, sites.c.id == site_id)
                            ).mappings().one()
        site_machines = [r for r in rows if r["site_id"] == site_id]
        period = SimpleNamespace(shift_instance_id=None, day=None, from_=start, to=end)
        windows, _, _ = period_windows(conn, tenant_id, site, period, now)  # type: ignore[arg-type]
        totals = machine_totals_by_window(conn, tenant_id, cast(SiteRecord, site),
                                          cast(list[MachineRecord], site_machines), windows, now)
        for m in site_machines:
            t = totals[m["id"]]
            failures = t.failure_count
            out.append(Reliability(
                asset_id=assets[m["id"]], machine_id=m["id"], asset_name=f"{m['code']} {m['name']}",
                run_seconds=t.run_us / 1e6, failures=failures, unplanned_stop_seconds=t.unplanned_stop_us / 1e6,
                mtbf_seconds=t.run_us / 1e6 / failures if failures else None,
                mttr_seconds=t.unplanned_stop_us / 1e6 / failures if failures else None,
            ))
    return sorted(out, key=lambda r: r.asset_name)


@dataclass(frozen=True)
class FailureReason:
    code: str
    name: str
    stops: int
    seconds: float

    @property
    def mttr_seconds(self) -> float | None:
        return self.seconds / self.stops if self.stops else None


_REASONS = text("""
select coalesce(r.code, '—') as code, coalesce(r.name, 'No reason given yet') as name,
       -- a stop split where maintenance work began or ended is one stop: its continuations are not counted
       count(*) filter (where not exists (
         select 1 from downtime_events p where p.tenant_id = d.tenant_id and p.machine_id = d.machine_id
            and p.ended_at = d.started_at)) as stops,
       sum(extract(epoch from least(coalesce(d.ended_at, :now), :end) - greatest(d.started_at, :start))) as seconds
from downtime_events d left join loss_reasons r on r.tenant_id = d.tenant_id and r.id = d.reason_id
where d.tenant_id = :tenant and not d.planned and d.started_at < :end and coalesce(d.ended_at, :now) > :start
  and d.started_at >= :start
group by 1, 2 order by seconds desc, code limit :limit
""")


def top_failure_reasons(conn: Connection, tenant_id: UUID, start: datetime, end: datetime, now: datetime,
                        limit: int = 10) -> list[FailureReason]:
    """Unplanned downtime begun in the period, by reason, longest first (each reason's MTTR with it). A
    stop split by maintenance work (see `booking`) counts once, under the reason of its first part."""
    rows = conn.execute(_REASONS, {"tenant": tenant_id, "start": start, "end": min(end, now), "now": now,
                                   "limit": limit}).mappings()
    return [FailureReason(r["code"], r["name"], int(r["stops"]), float(r["seconds"] or 0)) for r in rows]
