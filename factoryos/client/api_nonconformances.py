"""Nonconformances and CAPAs (`/api/v1/nonconformances`, `/api/v1/capas`), with signed steps.

A signature is a dict as SignatureIn: password, totp (when enrolled), meaning, reason; the TUI's
signature dialog returns one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from factoryos.client.transport import Transport
from factoryos.nonconformances.capa_models import ActionOut, CapaOut, CapaPage
from factoryos.nonconformances.nc_models import NcOut, NcPage
from factoryos.nonconformances.scrap_models import MachineScrapOut

NC_PATH = "/nonconformances"
CAPA_PATH = "/capas"


class NonconformancesApi:
    t: Transport

    async def nonconformances(
        self, *, status: str | None = None, machine_id: UUID | None = None, product_id: UUID | None = None,
        order_id: UUID | None = None, q: str | None = None, cursor: str | None = None, limit: int = 100,
    ) -> NcPage:
        params = {"status": status, "machine_id": machine_id, "product_id": product_id, "order_id": order_id,
                  "q": q or None, "cursor": cursor, "limit": limit}
        return await self.t.get(NC_PATH, NcPage, params=params)

    async def nonconformance(self, nc_id: UUID) -> NcOut:
        return await self.t.get(f"{NC_PATH}/{nc_id}", NcOut)

    async def open_nonconformance(self, body: dict[str, Any], *, idempotency_key: str | None = None) -> NcOut:
        """`body` as NcIn: machine_id, quantity, description (or source "inspection"/"rejection" with
        source_id, which fills them); product_id, order_id, lot_id when known."""
        return await self.t.send("POST", NC_PATH, NcOut, json=body, idempotency_key=idempotency_key)

    async def machine_scrap(self, start: datetime, end: datetime, *,
                            machine_id: UUID | None = None) -> list[MachineScrapOut]:
        """Rejects the machines' counters counted in [start, end) (at most 2 days), per machine, hour and
        order, newest first."""
        return await self.t.get(f"{NC_PATH}/machine-scrap", list[MachineScrapOut],
                                params={"from": start, "to": end, "machine_id": machine_id})

    async def update_nonconformance(self, nc_id: UUID, changes: dict[str, Any], *,
                                    reason: str | None = None) -> NcOut:
        body = {**changes, "reason": reason} if reason else changes
        return await self.t.send("PATCH", f"{NC_PATH}/{nc_id}", NcOut, json=body)

    async def disposition_nonconformance(self, nc_id: UUID, disposition: str, note: str | None = None) -> NcOut:
        """scrap, rework, use_as_is or return_to_supplier."""
        return await self.t.send("POST", f"{NC_PATH}/{nc_id}/disposition", NcOut,
                                 json={"disposition": disposition, "note": note})

    async def close_nonconformance(self, nc_id: UUID, signature: dict[str, Any]) -> NcOut:
        return await self.t.send("POST", f"{NC_PATH}/{nc_id}/close", NcOut, json={"signature": signature})

    async def capas(self, *, status: str | None = None, owner_id: UUID | None = None,
                    nonconformance_id: UUID | None = None, q: str | None = None, cursor: str | None = None,
                    limit: int = 100) -> CapaPage:
        params = {"status": status, "owner_id": owner_id, "nonconformance_id": nonconformance_id, "q": q or None,
                  "cursor": cursor, "limit": limit}
        return await self.t.get(CAPA_PATH, CapaPage, params=params)

    async def capa(self, capa_id: UUID) -> CapaOut:
        return await self.t.get(f"{CAPA_PATH}/{capa_id}", CapaOut)

    async def create_capa(self, body: dict[str, Any]) -> CapaOut:
        """`body` as CapaIn: title, problem, nonconformance_ids, owner_id, containment."""
        return await self.t.send("POST", CAPA_PATH, CapaOut, json=body)

    async def update_capa(self, capa_id: UUID, changes: dict[str, Any]) -> CapaOut:
        return await self.t.send("PATCH", f"{CAPA_PATH}/{capa_id}", CapaOut, json=changes)

    async def add_capa_action(self, capa_id: UUID, body: dict[str, Any]) -> CapaOut:
        return await self.t.send("POST", f"{CAPA_PATH}/{capa_id}/actions", CapaOut, json=body)

    async def complete_capa_action(self, capa_id: UUID, action_id: UUID, note: str | None = None) -> CapaOut:
        return await self.t.send("POST", f"{CAPA_PATH}/{capa_id}/actions/{action_id}/done", CapaOut,
                                 json={"note": note})

    async def approve_capa_step(self, capa_id: UUID, step: str, signature: dict[str, Any]) -> CapaOut:
        return await self.t.send("POST", f"{CAPA_PATH}/{capa_id}/approve", CapaOut,
                                 json={"step": step, "signature": signature})

    async def capa_actions(self, *, owner: str = "me", overdue: bool = False, open_only: bool = True,
                           limit: int = 100) -> list[ActionOut]:
        """An owner's CAPA actions (default: yours), soonest due first; `overdue` for the late ones."""
        return await self.t.get(f"{CAPA_PATH}/actions", list[ActionOut],
                                params={"owner": owner, "overdue": str(overdue).lower(),
                                        "open": str(open_only).lower(), "limit": limit})
