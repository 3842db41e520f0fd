"""MTBF and MTTR per machine asset (and per failure reason, see `reason_reliability`), from the
KPI engine's own totals.

Run time, failures and unplanned stop time come from `machine_totals_by_window` over the
period's windows (the site's shifts, or the whole period when it has none), exactly as OEE
counts them: MTBF = run time / failures, MTTR = unplanned stop time / failures.
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import cast
from uuid import UUID

from sqlalchemy import Connection, select

from factoryos.maintenance.assets import ensure_machine_assets
from factoryos.maintenance.models import Reliability
from factoryos.maintenance.reason_reliability import reasons_by_machine
from factoryos.plant.records import MachineRecord, SiteRecord
from factoryos.plant.sites import site_policy
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
        by_reason = reasons_by_machine(conn, tenant_id, [m["id"] for m in site_machines], windows,
                                       site_policy(site).micro_stop_threshold,
                                       {k: t.run_us / 1e6 for k, t in totals.items()}, now)
        for m in site_machines:
            t = totals[m["id"]]
            failures = t.failure_count
            out.append(Reliability(
                asset_id=assets[m["id"]], machine_id=m["id"], asset_name=f"{m['code']} {m['name']}",
                run_seconds=t.run_us / 1e6, failures=failures, unplanned_stop_seconds=t.unplanned_stop_us / 1e6,
                mtbf_seconds=t.run_us / 1e6 / failures if failures else None,
                mttr_seconds=t.unplanned_stop_us / 1e6 / failures if failures else None,
                reasons=by_reason[m["id"]],
            ))
    return sorted(out, key=lambda r: r.asset_name)
