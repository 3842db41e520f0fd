"""Company administration: members and their permission flags, invites, the audit log."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from factoryos.client.models import AuditPage, InvitePage, Member, MemberPage, NewInvite
from factoryos.client.transport import Transport


class AdminApi:
    t: Transport

    async def users(self, *, q: str | None = None, cursor: str | None = None, limit: int = 100) -> MemberPage:
        return await self.t.get("/users", MemberPage, params={"q": q or None, "cursor": cursor, "limit": limit})

    async def user(self, user_id: UUID) -> Member:
        return await self.t.get(f"/users/{user_id}", Member)

    async def set_permissions(
        self, user_id: UUID, *, granted: list[str] | None = None, denied: list[str] | None = None
    ) -> Member:
        body = {k: v for k, v in {"granted": granted, "denied": denied}.items() if v is not None}
        return await self.t.send("PATCH", f"/users/{user_id}/permissions", Member, json=body)

    async def remove_user(self, user_id: UUID) -> None:
        await self.t.send("DELETE", f"/users/{user_id}")

    async def invites(self, *, cursor: str | None = None) -> InvitePage:
        return await self.t.get("/invites", InvitePage, params={"cursor": cursor, "limit": 100})

    async def create_invite(self, role: str) -> NewInvite:
        return await self.t.send("POST", "/invites", NewInvite, json={"role": role})

    async def revoke_invite(self, invite_id: UUID) -> None:
        await self.t.send("DELETE", f"/invites/{invite_id}")

    async def audit(
        self,
        *,
        actor: UUID | None = None,
        action: str | None = None,
        entity: str | None = None,
        entity_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> AuditPage:
        params = {"actor": actor, "action": action or None, "entity": entity or None, "entity_id": entity_id or None,
                  "from": since, "to": until, "limit": limit, "cursor": cursor}
        return await self.t.get("/audit", AuditPage, params=params)
