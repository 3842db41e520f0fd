"""Maintenance: assets, plans, the due list, work orders (request, start, finish), MTBF/MTTR."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from factoryos.client.transport import Transport
from factoryos.listing import Page
from factoryos.maintenance.models import AssetOut, PlannedStop, PlanOut, Reliability, WorkOrderOut

if TYPE_CHECKING:
    from factoryos.client.api_reports import Download, Progress

BASE = "/maintenance"


def _body(**values: Any) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, UUID) else v) for k, v in values.items() if v is not None}


class MaintenanceApi:
    t: Transport

    async def maintenance_due(self) -> list[PlanOut]:
        """Plans due or within their lead, most urgent first (reading makes due plans' work orders)."""
        return await self.t.get(f"{BASE}/due", list[PlanOut])

    async def machine_asset(self, machine_id: UUID) -> AssetOut:
        return await self.t.get(f"{BASE}/machines/{machine_id}/asset", AssetOut)

    async def maintenance_assets(self, *, machine_id: UUID | None = None, limit: int = 100) -> Page[AssetOut]:
        return await self.t.get(f"{BASE}/assets", Page[AssetOut], params={"machine_id": machine_id, "limit": limit})

    async def maintenance_plans(self, *, machine_id: UUID | None = None, limit: int = 100) -> Page[PlanOut]:
        return await self.t.get(f"{BASE}/plans", Page[PlanOut], params={"machine_id": machine_id, "limit": limit})

    async def create_maintenance_plan(self, asset_id: UUID, name: str, **fields: Any) -> PlanOut:
        return await self.t.send("POST", f"{BASE}/plans", PlanOut, json=_body(asset_id=asset_id, name=name, **fields))

    async def work_orders(self, *, open_: bool | None = None, machine_id: UUID | None = None,
                          status: str | None = None, limit: int = 100) -> Page[WorkOrderOut]:
        params = {"open": open_, "machine_id": machine_id, "status": status, "limit": limit}
        return await self.t.get(f"{BASE}/work-orders", Page[WorkOrderOut], params=params)

    async def work_order(self, wo_id: UUID) -> WorkOrderOut:
        return await self.t.get(f"{BASE}/work-orders/{wo_id}", WorkOrderOut)

    async def request_maintenance(self, title: str, *, machine_id: UUID | None = None,
                                  downtime_id: UUID | None = None, asset_id: UUID | None = None,
                                  description: str | None = None, idempotency_key: str | None = None
                                  ) -> WorkOrderOut:
        """Report a problem; with `downtime_id` a corrective order linked to that stop."""
        body = _body(kind="corrective" if downtime_id else "request", title=title, machine_id=machine_id,
                     downtime_id=downtime_id, asset_id=asset_id, description=description)
        return await self.t.send("POST", f"{BASE}/work-orders", WorkOrderOut, json=body,
                                 idempotency_key=idempotency_key)

    async def update_work_order(self, wo_id: UUID, **fields: Any) -> WorkOrderOut:
        """Assignee, schedule, `checklist` [{task, done, note}], `parts` [{name, quantity}], labour, notes."""
        return await self.t.send("PATCH", f"{BASE}/work-orders/{wo_id}", WorkOrderOut, json=fields)

    async def approve_work_order(self, wo_id: UUID, *, assignee_id: UUID | None = None) -> WorkOrderOut:
        return await self.t.send("POST", f"{BASE}/work-orders/{wo_id}/approve", WorkOrderOut,
                                 json=_body(assignee_id=assignee_id))

    async def schedule_work_order(self, wo_id: UUID, scheduled_for: datetime) -> WorkOrderOut:
        return await self.t.send("POST", f"{BASE}/work-orders/{wo_id}/schedule", WorkOrderOut,
                                 json={"scheduled_for": scheduled_for.isoformat()})

    async def start_work_order(self, wo_id: UUID) -> WorkOrderOut:
        return await self.t.send("POST", f"{BASE}/work-orders/{wo_id}/start", WorkOrderOut)

    async def finish_work_order(self, wo_id: UUID, *, confirm: bool = False, signature: dict[str, Any] | None = None,
                                **fields: Any) -> WorkOrderOut:
        """Done: `confirm=True`, or `signature` {password, totp, meaning} when the plan requires one."""
        body = _body(confirm=confirm, signature=signature, **fields)
        return await self.t.send("POST", f"{BASE}/work-orders/{wo_id}/finish", WorkOrderOut, json=body)

    async def cancel_work_order(self, wo_id: UUID, note: str | None = None) -> WorkOrderOut:
        return await self.t.send("POST", f"{BASE}/work-orders/{wo_id}/cancel", WorkOrderOut, json=_body(note=note))

    async def maintenance_reliability(self, start: datetime, end: datetime, *,
                                      machine_id: UUID | None = None) -> list[Reliability]:
        params = {"from": start.isoformat(), "to": end.isoformat(), "machine_id": machine_id}
        return await self.t.get(f"{BASE}/reliability", list[Reliability], params=params)


    async def maintenance_planned_stops(self, start: datetime, end: datetime, *, site_id: UUID | None = None,
                                        machine_id: UUID | None = None) -> list[PlannedStop]:
        params = {"from": start.isoformat(), "to": end.isoformat(), "site_id": site_id, "machine_id": machine_id}
        return await self.t.get(f"{BASE}/planned-stops", list[PlannedStop], params=params)


async def download_maintenance_report(
    client: Any,
    start: str,
    end: str,
    fmt: str,
    dest: Path | Callable[[str | None], Path],
    *,
    on_start: Callable[[int | None], None] | None = None,
    progress: Progress | None = None,
) -> Download:
    """Fetch the maintenance report over local days `start`…`end` (YYYY-MM-DD), as `download_report`."""
    from factoryos.client.api_reports import _download  # it imports the client, which mixes this module in

    return await _download(client, "/reports/maintenance", {"format": fmt, "from": start, "to": end}, dest, on_start,
                           progress)
