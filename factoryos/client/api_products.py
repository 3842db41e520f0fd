"""Products and routings: list and edit them, and import CSV/XLSX files read on this terminal (preview first)."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any
from uuid import UUID

from factoryos.client.api_jobs import read_job_file
from factoryos.client.errors import ClientError
from factoryos.client.transport import Transport
from factoryos.jobs.limits import human_size
from factoryos.jobs.models import ImportLimits
from factoryos.orders.product_models import (
    ProductImportOut,
    ProductIn,
    ProductOut,
    ProductPage,
    ProductPatch,
    RoutingImportOut,
    RoutingIn,
    RoutingOut,
)


class ProductsApi:
    t: Transport

    async def products(self, *, q: str | None = None, status: str | None = None, cursor: str | None = None,
                       limit: int = 100) -> ProductPage:
        params = {"q": q or None, "status": status, "cursor": cursor, "limit": limit}
        return await self.t.get("/products", ProductPage, params=params)

    async def product(self, product_id: UUID) -> ProductOut:
        return await self.t.get(f"/products/{product_id}", ProductOut)

    async def create_product(self, body: ProductIn, *, idempotency_key: str | None = None) -> ProductOut:
        return await self.t.send("POST", "/products", ProductOut, json=body.model_dump(mode="json"),
                                 idempotency_key=idempotency_key)

    async def update_product(self, product_id: UUID, patch: ProductPatch) -> ProductOut:
        """Only the fields set on `patch` are sent."""
        return await self.t.send("PATCH", f"/products/{product_id}", ProductOut,
                                 json=patch.model_dump(mode="json", exclude_unset=True))

    async def delete_product(self, product_id: UUID) -> None:
        """Refused with `product_in_use` while an order uses it: set it obsolete instead."""
        await self.t.send("DELETE", f"/products/{product_id}")

    async def routing(self, product_id: UUID) -> RoutingOut:
        return await self.t.get(f"/products/{product_id}/routing", RoutingOut)

    async def replace_routing(self, product_id: UUID, body: RoutingIn) -> RoutingOut:
        """The whole routing; a refusal names the field, e.g. `operations[0].resources[1].cycle_seconds`."""
        return await self.t.send("PUT", f"/products/{product_id}/routing", RoutingOut,
                                 json=body.model_dump(mode="json", exclude_none=True))

    async def product_import_limits(self, *, routings: bool = False) -> ImportLimits:
        return await self.t.get("/products/routings/import/limits" if routings else "/products/import/limits",
                                ImportLimits)

    async def load_product_file(self, path: str | Path, *, routings: bool = False) -> tuple[str, bytes]:
        """Read a product or routing file from this terminal (off the event loop), checked against the limit."""
        limits = await self.product_import_limits(routings=routings)
        return await asyncio.to_thread(read_job_file, path, limits.max_file_bytes)

    async def import_products(self, data: bytes, file_name: str, *, dry_run: bool = True, skip_invalid: bool = False,
                              idempotency_key: str | None = None) -> ProductImportOut:
        """Preview (`dry_run`) or import products; a refused import raises ClientError `import_has_errors`
        with the per-row errors in `extra["errors"]`."""
        return await self._import("/products/import", ProductImportOut, data, file_name, dry_run, skip_invalid,
                                  idempotency_key)

    async def import_routings(self, data: bytes, file_name: str, *, dry_run: bool = True, skip_invalid: bool = False,
                              idempotency_key: str | None = None) -> RoutingImportOut:
        """Preview (`dry_run`) or import routings: each product named gets the file's operations."""
        return await self._import("/products/routings/import", RoutingImportOut, data, file_name, dry_run,
                                  skip_invalid, idempotency_key)

    async def _import(self, path: str, model: Any, data: bytes, file_name: str, dry_run: bool, skip_invalid: bool,
                      idempotency_key: str | None) -> Any:
        body = {"file_name": file_name, "content": base64.b64encode(data).decode(), "dry_run": dry_run,
                "skip_invalid": skip_invalid}
        try:
            return await self.t.send("POST", path, model, json=body, idempotency_key=idempotency_key)
        except ClientError as exc:
            if exc.code == "body_too_large":
                raise ClientError("file_too_large", f"{file_name} ({human_size(len(data))}) is too large for this "
                                  f"server: {exc.detail}", field="path", status=413) from None
            raise
