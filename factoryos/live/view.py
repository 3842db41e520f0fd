"""The live view of a site: per machine its state and since when, the running shift's
counts against the plan, OEE so far, downtime still waiting for a reason, counter jumps
waiting for a supervisor's decision, and the order operation it runs with its progress.

Read-only: the running shift is computed, not stored, until something is recorded in it.
A site's snapshot (`site_live`) also keeps the running shift's OEE of every machine, from the
same rows: `/kpis/oee?shift=running` is cut from it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import cast
from uuid import UUID

from sqlalchemy import Connection, RowMapping, select

from factoryos.connectivity.connections import live_connections
from factoryos.kpi import compute_kpis
from factoryos.live.models import LiveMachine, LiveOrder, LiveQuery, LiveView
from factoryos.live.shift_oee import ShiftOee
from factoryos.orders.progress import operation_counts
from factoryos.orders.runs import running_runs
from factoryos.plant.records import MachineRecord
from factoryos.plant.sites import Sites
from factoryos.production.anomalies import pending_counts
from factoryos.production.downtime import downtime_out
from factoryos.production.kpi_loader import machine_totals_by_window
from factoryos.production.kpi_models import KpiValues
from factoryos.production.oee import running_shift
from factoryos.production.shifts import instance_out
from factoryos.schema.plant import machines
from factoryos.schema.production import downtime_events as de
from factoryos.schema.production import machine_state_intervals as msi
from factoryos.schema.production import production_plans as pp

PENDING_LIMIT = 20


def live_view(conn: Connection, tenant_id: UUID, query: LiveQuery, now: datetime) -> LiveView:
    return _live(conn, tenant_id, query, now, every_machine=False)[0]


def site_live(conn: Connection, tenant_id: UUID, site_id: UUID, now: datetime) -> tuple[LiveView, ShiftOee]:
    """The whole site's live view and its running shift's OEE (every machine's, retired ones too),
    from the same rows at the same instant."""
    return _live(conn, tenant_id, LiveQuery(site_id=site_id), now, every_machine=True)


def _live(conn: Connection, tenant_id: UUID, query: LiveQuery, now: datetime,
          every_machine: bool) -> tuple[LiveView, ShiftOee]:
    site = Sites(conn, tenant_id).require(query.site_id)
    stmt = select(machines).where(machines.c.tenant_id == tenant_id, machines.c.site_id == site["id"])
    if not every_machine:
        stmt = stmt.where(machines.c.status == "active")
    if query.line_id is not None:
        stmt = stmt.where(machines.c.line_id == query.line_id)
    every = [cast(MachineRecord, r) for r in conn.execute(stmt.order_by(machines.c.code)).mappings()]
    rows = [m for m in every if m["status"] == "active"]
    ids = [m["id"] for m in rows]
    states = {
        r["machine_id"]: r
        for r in conn.execute(select(msi).where(msi.c.tenant_id == tenant_id, msi.c.machine_id.in_(ids),
                                                msi.c.ended_at.is_(None))).mappings()
    }
    pending: dict[UUID, list] = {i: [] for i in ids}
    for r in conn.execute(select(de).where(de.c.tenant_id == tenant_id, de.c.machine_id.in_(ids), de.c.needs_reason)
                          .order_by(de.c.started_at.desc())).mappings():
        if len(pending[r["machine_id"]]) < PENDING_LIMIT:
            pending[r["machine_id"]].append(downtime_out(r))
    shift, windows, start, end = running_shift(conn, tenant_id, site, now)
    totals = machine_totals_by_window(conn, tenant_id, site, every, windows, now)
    targets = _targets(conn, tenant_id, ids, shift["id"] if shift else None)
    links = live_connections(conn, tenant_id, ids)
    anomalies = pending_counts(conn, tenant_id, ids)
    runs = running_runs(conn, tenant_id, ids)
    counts = operation_counts(conn, tenant_id, [r["operation_id"] for r in runs.values()]) if runs else {}
    out = []
    for m in rows:
        state = states.get(m["id"])
        t = totals[m["id"]]
        out.append(LiveMachine(
            machine_id=m["id"], code=m["code"], name=m["name"], line_id=m["line_id"],
            state=state["state"] if state else None, state_since=state["started_at"] if state else None,
            raw_code=state["raw_code"] if state else None,
            shift=instance_out(shift) if shift else None,
            good_count=t.good_count, reject_count=t.reject_count, target_quantity=targets.get(m["id"]),
            kpis=KpiValues.of(compute_kpis(t)) if windows else None,
            pending_downtime=pending[m["id"]], pending_anomalies=anomalies.get(m["id"], 0),
            connection=links.get(m["id"]),
            order=_order(m, runs[m["id"]], counts, now) if m["id"] in runs else None,
        ))
    return (LiveView(site_id=site["id"], at=now, machines=out),
            ShiftOee(start, end, len(windows), tuple(every), totals))


def _order(machine: MachineRecord, run: RowMapping, counts: dict[UUID, tuple[int, int]], now: datetime) -> LiveOrder:
    good, scrap = counts.get(run["operation_id"], (0, 0))
    cycle = Decimal(run["cycle_seconds"] if run["cycle_seconds"] is not None else machine["ideal_cycle_seconds"])
    per_cycle = run["parts_per_cycle"]
    remaining = max(run["quantity"] - good, 0)
    # Rounded half-even to the microsecond, like every duration of the KPI engine.
    finish = now + timedelta(microseconds=round(cycle * remaining * 1_000_000 / per_cycle))
    # Built from database rows whose types the schema guarantees: not validated again (200 a view).
    return LiveOrder.model_construct(
        order_id=run["job_id"], order_number=run["job_number"], product=run["product_name"],
        product_number=run["product_number"], operation_id=run["operation_id"], operation=run["operation_name"],
        operation_seq=run["operation_seq"], run_started_at=run["started_at"],
        setup_ended_at=run["setup_ended_at"],
        good=good, scrap=scrap, ordered=run["quantity"], progress=good / run["quantity"],
        cycle_seconds=float(cycle), parts_per_cycle=per_cycle, expected_finish=finish,
    )


def _targets(conn: Connection, tenant_id: UUID, machine_ids: list[UUID], instance_id: UUID | None) -> dict[UUID, int]:
    if instance_id is None:
        return {}
    rows = conn.execute(select(pp.c.machine_id, pp.c.target_quantity).where(
        pp.c.tenant_id == tenant_id, pp.c.shift_instance_id == instance_id, pp.c.machine_id.in_(machine_ids)))
    return {machine_id: target for machine_id, target in rows}
