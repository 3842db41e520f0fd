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
