"""The plant registry: sites, lines, machines (with status mapping and connection settings) and shift patterns."""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar
from uuid import UUID

from factoryos.client.errors import ClientError
from factoryos.client.models import LineOut, MachineOut, Page, ShiftInstanceOut, ShiftPatternOut, SiteOut
from factoryos.connectivity.connection_models import BrowseOut, ConnectionOut, ConnectionProbeOut
from factoryos.plant.models import OperatorOut
from factoryos.client.transport import Transport

T = TypeVar("T")
MAX_PAGES = 40


async def all_items(t: Transport, path: str, item: type[T], params: dict[str, Any] | None = None) -> list[T]:
    """Every item of a cursor-paginated list (bounded, for registries of a plant's size)."""
    out: list[T] = []
    query = {**(params or {}), "limit": 500}
    for _ in range(MAX_PAGES):
        page: Page[Any] = await t.get(path, Page[item], params=query)  # type: ignore[valid-type]
        out.extend(page.items)
        if not page.next_cursor:
            break
        query["cursor"] = page.next_cursor
    return out


class PlantApi:
    t: Transport

    async def sites(self, *, q: str | None = None) -> list[SiteOut]:
        return await all_items(self.t, "/sites", SiteOut, {"q": q})

    async def create_site(self, body: dict[str, Any]) -> SiteOut:
        return await self.t.send("POST", "/sites", SiteOut, json=body)

    async def lines(self, *, site_id: UUID | None = None) -> list[LineOut]:
        return await all_items(self.t, "/lines", LineOut, {"site_id": site_id})

    async def machines(
        self, *, site_id: UUID | None = None, line_id: UUID | None = None, q: str | None = None,
        status: str | None = "active",
    ) -> list[MachineOut]:
        return await all_items(self.t, "/machines", MachineOut,
                               {"site_id": site_id, "line_id": line_id, "q": q, "status": status})

    async def machine(self, machine_id: UUID) -> MachineOut:
        return await self.t.get(f"/machines/{machine_id}", MachineOut)

    async def create_machine(self, body: dict[str, Any]) -> MachineOut:
        return await self.t.send("POST", "/machines", MachineOut, json=body)

    async def update_machine(self, machine_id: UUID, patch: dict[str, Any]) -> MachineOut:
        return await self.t.send("PATCH", f"/machines/{machine_id}", MachineOut, json=patch)

    async def connection(self, machine_id: UUID) -> ConnectionOut | None:
        """The machine's connection settings and health; None when it has none yet."""
        try:
            return await self.t.get(f"/machines/{machine_id}/connection", ConnectionOut)
        except ClientError as exc:
            if exc.code == "connection_not_found":
                return None
            raise

    async def put_connection(self, machine_id: UUID, body: dict[str, Any]) -> ConnectionOut:
        """Create or replace; passwords left out keep the stored ones. 422 errors name the field."""
        return await self.t.send("PUT", f"/machines/{machine_id}/connection", ConnectionOut, json=body)

    async def test_connection(self, machine_id: UUID, body: dict[str, Any]) -> ConnectionProbeOut:
        """Read the machine once with these settings, not saved; a failed read is `ok` false."""
        return await self.t.send("POST", f"/machines/{machine_id}/connection/test", ConnectionProbeOut, json=body)

    async def browse_connection(self, machine_id: UUID, endpoint: dict[str, Any],
                                node_id: str | None = None) -> BrowseOut:
        """The children of an OPC-UA node (the Objects folder when None), with these endpoint settings."""
        return await self.t.send("POST", f"/machines/{machine_id}/connection/browse", BrowseOut,
                                 json={"endpoint": endpoint, "node_id": node_id})

    async def delete_connection(self, machine_id: UUID) -> None:
        await self.t.send("DELETE", f"/machines/{machine_id}/connection")

    async def shift_patterns(self, *, site_id: UUID | None = None, active: bool | None = None) -> list[ShiftPatternOut]:
        return await all_items(self.t, "/shifts", ShiftPatternOut, {"site_id": site_id, "active": active})

    async def create_shift_pattern(self, body: dict[str, Any]) -> ShiftPatternOut:
        return await self.t.send("POST", "/shifts", ShiftPatternOut, json=body)

    async def update_shift_pattern(self, shift_id: UUID, patch: dict[str, Any]) -> ShiftPatternOut:
        return await self.t.send("PATCH", f"/shifts/{shift_id}", ShiftPatternOut, json=patch)

    async def shift_instances(self, site_id: UUID, first: date, last: date) -> list[ShiftInstanceOut]:
        return await self.t.get("/shifts/instances", list[ShiftInstanceOut],
                                params={"site_id": site_id, "from": first, "to": last})

    async def site_operators(self, site_id: UUID) -> list[OperatorOut]:
        """The members who may report production at this site (plans assign them to machines)."""
        return await self.t.get(f"/sites/{site_id}/operators", list[OperatorOut])
