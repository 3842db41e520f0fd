"""Manufacturing orders: list, read, create, edit, delete, status by hand, ERP confirmations."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from factoryos.client.errors import ClientError
from factoryos.client.transport import Transport
from factoryos.orders.order_models import ConfirmationPage, OrderOut, OrderPage

ORDERS_PATH = "/orders"


class OrdersApi:
    t: Transport

    async def orders(
        self, *, q: str | None = None, status: str | None = None, site_id: UUID | None = None,
        machine_id: UUID | None = None, product_id: UUID | None = None, number: str | None = None,
        cursor: str | None = None, limit: int = 100,
    ) -> OrderPage:
        params = {"q": q or None, "status": status, "site_id": site_id, "machine_id": machine_id,
                  "product_id": product_id, "number": number, "cursor": cursor, "limit": limit}
        return await self.t.get(ORDERS_PATH, OrderPage, params=params)

    async def order(self, order_id: UUID) -> OrderOut:
        return await self.t.get(f"{ORDERS_PATH}/{order_id}", OrderOut)

    async def order_by_number(self, number: str) -> OrderOut:
        """The order with exactly this number, or ClientError `order_not_found`."""
        page = await self.orders(number=number.strip(), limit=1)
        if not page.items:
            raise ClientError("order_not_found", f"there is no order {number.strip()}", field="number", status=404)
        return await self.order(page.items[0].id)

    async def create_order(self, body: dict[str, Any], *, idempotency_key: str | None = None) -> OrderOut:
        """`body` as OrderIn: job_number, product_id | product_number | product, quantity, due_date, …"""
        return await self.t.send("POST", ORDERS_PATH, OrderOut, json=body, idempotency_key=idempotency_key)

    async def update_order(self, order_id: UUID, changes: dict[str, Any], *, reason: str | None = None) -> OrderOut:
        body = {**changes, "reason": reason} if reason else changes
        return await self.t.send("PATCH", f"{ORDERS_PATH}/{order_id}", OrderOut, json=body)

    async def delete_order(self, order_id: UUID, *, reason: str | None = None) -> None:
        await self.t.send("DELETE", f"{ORDERS_PATH}/{order_id}", params={"reason": reason})

    async def set_order_status(self, order_id: UUID, status: str, *, reason: str | None = None) -> OrderOut:
        """released, planned (back from released), completed (a paused order) or cancelled."""
        return await self.t.send("POST", f"{ORDERS_PATH}/{order_id}/status", OrderOut,
                                 json={"status": status, "reason": reason})

    async def confirmations(self, *, since: str | None = None, limit: int = 500) -> ConfirmationPage:
        """What ended runs produced after the cursor; pass `next_cursor` as `since` next time."""
        return await self.t.get(f"{ORDERS_PATH}/confirmations", ConfirmationPage,
                                params={"since": since, "limit": limit})
