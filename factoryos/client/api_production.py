"""Production: live view, KPIs, plans, entries, rejections, downtime and reasons, counter anomalies.

Operator mutations (entries, rejections, reason assignments) go through the `Outbox`
so they survive an outage; these methods are the direct calls it and others build on.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from factoryos.client.api_plant import all_items
from factoryos.client.models import (
    AnomalyOut,
    DowntimeOut,
    EntryOut,
    LiveView,
    MachineTimeline,
    OeeReport,
    PlanOut,
    ReasonOut,
    RejectionOut,
)
from factoryos.client.transport import Transport

ENTRY_PATH = "/production/entry"
REJECTION_PATH = "/rejections"


def reason_path(event_id: UUID | str) -> str:
    return f"/downtime/{event_id}/reason"


def anomalies_path(machine_id: UUID | str) -> str:
    return f"/machines/{machine_id}/anomalies"


class ProductionApi:
    t: Transport

    async def live(self, site_id: UUID, *, line_id: UUID | None = None) -> LiveView:
        return await self.t.get("/production/live", LiveView, params={"site_id": site_id, "line_id": line_id})

    async def oee(
        self,
        scope: str,
        scope_id: UUID,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        shift_instance_id: UUID | None = None,
        day: date | None = None,
        shift: str | None = None,
    ) -> OeeReport:
        params = {"scope": scope, "id": scope_id, "from": start, "to": end, "shift_instance_id": shift_instance_id,
                  "date": day, "shift": shift}
        return await self.t.get("/kpis/oee", OeeReport, params=params)

    async def reasons(self, *, loss_bucket: str | None = None, active: bool | None = True) -> list[ReasonOut]:
        return await all_items(self.t, "/downtime/reasons", ReasonOut, {"loss_bucket": loss_bucket, "active": active})

    async def downtime(
        self, *, machine_id: UUID | None = None, site_id: UUID | None = None, needs_reason: bool | None = None,
        since: datetime | None = None, until: datetime | None = None,
    ) -> list[DowntimeOut]:
        """`since`/`until`: only events that end after / start before these instants."""
        return await all_items(self.t, "/downtime", DowntimeOut,
                               {"machine_id": machine_id, "site_id": site_id, "needs_reason": needs_reason,
                                "since": since, "until": until})

    async def timeline(self, machine_id: UUID, start: datetime, end: datetime) -> MachineTimeline:
        """A machine's states and counts per local hour of its site in [start, end) (at most 2 days)."""
        return await self.t.get("/production/timeline", MachineTimeline,
                                params={"machine_id": machine_id, "from": start, "to": end})

    async def create_downtime(self, body: dict[str, Any]) -> DowntimeOut:
        return await self.t.send("POST", "/downtime", DowntimeOut, json=body)

    async def assign_reason(self, event_id: UUID, reason_id: UUID, *, note: str | None = None) -> DowntimeOut:
        body = {"reason_id": str(reason_id), **({"note": note} if note else {})}
        return await self.t.send("POST", reason_path(event_id), DowntimeOut, json=body)

    async def anomalies(self, machine_id: UUID, *, status: str | None = None) -> list[AnomalyOut]:
        """A machine's counter anomalies, newest first (`status`: pending, accepted or discarded)."""
        return await all_items(self.t, anomalies_path(machine_id), AnomalyOut, {"status": status})

    async def decide_anomaly(
        self, machine_id: UUID, anomaly_id: UUID, decision: str, *, idempotency_key: str | None = None
    ) -> AnomalyOut:
        """`decision`: accept (its parts become production) or discard; 409 if already decided."""
        if decision not in ("accept", "discard"):
            raise ValueError(f"decision must be accept or discard, not {decision!r}")
        return await self.t.send("POST", f"{anomalies_path(machine_id)}/{anomaly_id}/{decision}", AnomalyOut,
                                 idempotency_key=idempotency_key)

    async def entries(
        self, *, machine_id: UUID | None = None, shift_instance_id: UUID | None = None
    ) -> list[EntryOut]:
        return await all_items(self.t, ENTRY_PATH, EntryOut,
                               {"machine_id": machine_id, "shift_instance_id": shift_instance_id})

    async def create_entry(self, body: dict[str, Any], *, idempotency_key: str | None = None) -> EntryOut:
        return await self.t.send("POST", ENTRY_PATH, EntryOut, json=body, idempotency_key=idempotency_key)

    async def rejections(
        self, *, machine_id: UUID | None = None, shift_instance_id: UUID | None = None
    ) -> list[RejectionOut]:
        return await all_items(self.t, REJECTION_PATH, RejectionOut,
                               {"machine_id": machine_id, "shift_instance_id": shift_instance_id})

    async def create_rejection(self, body: dict[str, Any], *, idempotency_key: str | None = None) -> RejectionOut:
        return await self.t.send("POST", REJECTION_PATH, RejectionOut, json=body, idempotency_key=idempotency_key)

    async def plans(
        self, *, site_id: UUID | None = None, machine_id: UUID | None = None, shift_instance_id: UUID | None = None
    ) -> list[PlanOut]:
        return await all_items(self.t, "/production/plan", PlanOut,
                               {"site_id": site_id, "machine_id": machine_id, "shift_instance_id": shift_instance_id})

    async def create_plan(self, body: dict[str, Any]) -> PlanOut:
        return await self.t.send("POST", "/production/plan", PlanOut, json=body)

    async def update_plan(self, plan_id: UUID, patch: dict[str, Any]) -> PlanOut:
        return await self.t.send("PATCH", f"/production/plan/{plan_id}", PlanOut, json=patch)
