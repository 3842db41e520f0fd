"""Site-scoped access: limit a member to some sites, or give every site back."""

from __future__ import annotations

from uuid import UUID

from factoryos.client.models import Member
from factoryos.client.transport import Transport


class SiteScopeApi:
    t: Transport

    async def set_member_sites(self, user_id: UUID, site_ids: list[UUID] | None) -> Member:
        """`None`: every site of the company (no limit)."""
        body = {"site_ids": [str(s) for s in site_ids] if site_ids is not None else None}
        return await self.t.send("PUT", f"/users/{user_id}/sites", Member, json=body)

    async def set_member_machines(self, user_id: UUID, machine_ids: list[UUID] | None) -> Member:
        """Limit a member to the machines they are certified for; `None`: no limit. Raises ClientError
        `unknown_machine` (field `machine_ids[i]`), `cannot_scope_self`, `machine_scope_exceeds_own`…"""
        body = {"machine_ids": [str(m) for m in machine_ids] if machine_ids is not None else None}
        return await self.t.send("PUT", f"/users/{user_id}/machines", Member, json=body)
