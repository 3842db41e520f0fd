"""Quality: inspection plans and versions, due inspections, inspections at the machine, SPC."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from factoryos.client.transport import Transport
from factoryos.quality.inspection_models import (
    DueList,
    InspectionOut,
    InspectionPage,
    SpcOut,
)
from factoryos.quality.plan_models import PlanOut, PlanPage, VersionOut

if TYPE_CHECKING:
    from factoryos.client.api_reports import Download, Progress

PLANS = "/quality/plans"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class QualityApi:
    t: Transport

    async def inspection_plans(self, *, product_id: UUID | None = None, machine_id: UUID | None = None,
                               q: str | None = None, limit: int = 100) -> PlanPage:
        return await self.t.get(PLANS, PlanPage, params={"product_id": product_id, "machine_id": machine_id, "q": q,
                                                         "limit": limit})

    async def inspection_plan(self, plan_id: UUID) -> PlanOut:
        return await self.t.get(f"{PLANS}/{plan_id}", PlanOut)

    async def create_inspection_plan(self, body: dict[str, Any]) -> PlanOut:
        """A plan (name, product_id / routing_operation_id / machine_id, version: its first draft's content)."""
        return await self.t.send("POST", PLANS, PlanOut, json=body)

    async def plan_version(self, plan_id: UUID, version: int) -> VersionOut:
        return await self.t.get(f"{PLANS}/{plan_id}/versions/{version}", VersionOut)

    async def update_plan_version(self, plan_id: UUID, version: int, content: dict[str, Any]) -> VersionOut:
        """Replace a draft's content (a released version answers 409 `plan_released`)."""
        return await self.t.send("PUT", f"{PLANS}/{plan_id}/versions/{version}", VersionOut, json=content)

    async def new_plan_version(self, plan_id: UUID, content: dict[str, Any] | None = None) -> VersionOut:
        """The next version, a draft: `content`, or a copy of the latest."""
        return await self.t.send("POST", f"{PLANS}/{plan_id}/versions", VersionOut, json={"content": content})

    async def release_plan_version(self, plan_id: UUID, version: int, signature: dict[str, Any]) -> VersionOut:
        """Release a draft, signed (`signature`: password, totp, meaning, reason)."""
        return await self.t.send("POST", f"{PLANS}/{plan_id}/versions/{version}/release", VersionOut,
                                 json={"signature": signature})

    async def due_inspections(self, machine_id: UUID) -> DueList:
        return await self.t.get("/quality/due", DueList, params={"machine_id": machine_id})

    async def overdue_inspections(self, site_id: UUID | None = None) -> DueList:
        return await self.t.get("/quality/overdue", DueList, params={"site_id": site_id})

    async def record_inspection(self, machine_id: UUID, plan_id: UUID, results: list[dict[str, Any]], *,
                                trigger: str | None = None, notes: str | None = None,
                                idempotency_key: str | None = None) -> InspectionOut:
        """Record values (`{"characteristic_id", "values"}` or `{"characteristic_id", "passed", "defect"}`)."""
        body = {"machine_id": str(machine_id), "plan_id": str(plan_id), "results": results, "trigger": trigger,
                "notes": notes}
        return await self.t.send("POST", "/inspections", InspectionOut,
                                 json={k: v for k, v in body.items() if v is not None}, idempotency_key=idempotency_key)

    async def inspections(self, *, machine_id: UUID | None = None, plan_id: UUID | None = None,
                          product_id: UUID | None = None, result: str | None = None, start: datetime | None = None,
                          end: datetime | None = None, limit: int = 50, cursor: str | None = None) -> InspectionPage:
        return await self.t.get("/inspections", InspectionPage, params={
            "machine_id": machine_id, "plan_id": plan_id, "product_id": product_id, "result": result,
            "from": _iso(start), "to": _iso(end), "limit": limit, "cursor": cursor})

    async def inspection(self, inspection_id: UUID) -> InspectionOut:
        return await self.t.get(f"/inspections/{inspection_id}", InspectionOut)

    async def spc(self, characteristic_id: UUID, *, start: datetime | None = None, end: datetime | None = None,
                  limit: int | None = None) -> SpcOut:
        return await self.t.get("/quality/spc", SpcOut, params={
            "characteristic_id": characteristic_id, "from": _iso(start), "to": _iso(end), "limit": limit})


async def download_quality_report(
    client: Any,
    product: str,
    start: str,
    end: str,
    fmt: str,
    dest: Path | Callable[[str | None], Path],
    *,
    on_start: Callable[[int | None], None] | None = None,
    progress: Progress | None = None,
) -> Download:
    """Fetch the quality report of a product over local days `start`…`end` (YYYY-MM-DD), as `download_report`.

    Raises ClientError (e.g. `product_not_found`) before any file is created.
    """
    from factoryos.client.api_reports import _download  # it imports the client this module is part of

    return await _download(client, "/reports/quality", {"format": fmt, "product": product, "from": start, "to": end},
                           dest, on_start, progress)
