"""Materials: lots, stock, scanning at the machine, an operation's finished lot, genealogy traces."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from factoryos.client.transport import Transport
from factoryos.materials.models import ItemPage, LotOut, LotPage, MovementOut, StockPage
from factoryos.materials.scan_models import OutputOut, ScanOut
from factoryos.materials.trace_models import TraceOut

MATERIALS_PATH = "/materials"


class MaterialsApi:
    t: Transport

    async def items(self, *, q: str | None = None, kind: str | None = None, limit: int = 100) -> ItemPage:
        return await self.t.get(f"{MATERIALS_PATH}/items", ItemPage, params={"q": q or None, "kind": kind,
                                                                            "limit": limit})

    async def lots(self, *, q: str | None = None, item_id: UUID | None = None, status: str | None = None,
                   number: str | None = None, limit: int = 100) -> LotPage:
        return await self.t.get(f"{MATERIALS_PATH}/lots", LotPage, params={
            "q": q or None, "item_id": item_id, "status": status, "number": number, "limit": limit})

    async def lot(self, lot_id: UUID) -> LotOut:
        return await self.t.get(f"{MATERIALS_PATH}/lots/{lot_id}", LotOut)

    async def set_lot_status(self, lot_id: UUID, status: str, reason: str) -> LotOut:
        return await self.t.send("POST", f"{MATERIALS_PATH}/lots/{lot_id}/status", LotOut,
                                 json={"status": status, "reason": reason})

    async def stock(self, *, item_id: UUID | None = None, lot_id: UUID | None = None,
                    location_id: UUID | None = None, site_id: UUID | None = None, limit: int = 200) -> StockPage:
        return await self.t.get(f"{MATERIALS_PATH}/stock", StockPage, params={
            "item_id": item_id, "lot_id": lot_id, "location_id": location_id, "site_id": site_id, "limit": limit})

    async def move_stock(self, body: dict[str, Any], *, idempotency_key: str | None = None) -> MovementOut:
        """`body` as MovementIn: kind, item_id, lot_id, quantity, unit, from/to_location_id, operation_id, reason."""
        return await self.t.send("POST", f"{MATERIALS_PATH}/movements", MovementOut, json=body,
                                 idempotency_key=idempotency_key)

    async def scan_lot(self, machine_id: UUID, code: str, quantity: Decimal | None = None,
                       unit: str | None = None) -> ScanOut:
        """A lot scanned at the machine: checked against the running order's BOM and consumed or loaded."""
        body: dict[str, Any] = {"code": code}
        if quantity is not None:
            body |= {"quantity": str(quantity), "unit": unit}
        return await self.t.send("POST", f"{MATERIALS_PATH}/machines/{machine_id}/scan", ScanOut, json=body)

    async def produce_output(self, operation_id: UUID, body: dict[str, Any] | None = None) -> OutputOut:
        return await self.t.send("POST", f"{MATERIALS_PATH}/operations/{operation_id}/output", OutputOut,
                                 json=body or {})

    async def trace(self, lot: str, direction: str = "backward") -> TraceOut:
        """`direction`: backward (what went into the lot) or forward (where it went)."""
        return await self.t.get(f"/trace/{direction}", TraceOut, params={"lot": lot})


async def download_trace_report(client: Any, lot: str, direction: str, fmt: str, dest: Any, *,
                                on_start: Any = None, progress: Any = None) -> Any:
    """Fetch a lot's trace report (`/reports/trace`) into `dest`, as the other report downloads do."""
    from factoryos.client.api_reports import _download

    return await _download(client, "/reports/trace", {"lot": lot, "direction": direction, "format": fmt}, dest,
                           on_start, progress)


async def lot_label(client: Any, lot: str, fmt: str) -> tuple[str, bytes]:
    """The label of the lot with this number (or id): (lot number, the PDF or ZPL bytes)."""
    from factoryos.client.errors import ClientError

    page = await client.lots(number=lot.strip(), limit=2)
    if not page.items:
        raise ClientError("lot_not_found", f"no lot {lot.strip()}", field="lot", status=404)
    if len(page.items) > 1:
        raise ClientError("lot_ambiguous", f"lot {lot.strip()} exists for several items", field="lot", status=422)
    found = page.items[0]
    response = await client.t.call("GET", f"/reports/lots/{found.id}/label", params={"format": fmt})
    return found.number, response.content
