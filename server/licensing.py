"""License limits in route handlers: one call before a machine, site or member is added."""

from __future__ import annotations

from uuid import UUID

from factoryos.licensing.gating import LimitKind
from factoryos.licensing.usage import require_room_in_company
from server.api import Context


def require_license_room(ctx: Context, kind: LimitKind, tenant_id: UUID | None = None) -> None:
    """Raises LicenseError (403, code `license_limit`) when the company is at its limit."""
    state = ctx.state.license
    require_room_in_company(ctx.conn, tenant_id or ctx.tenant_id, state.in_force() if state else None, kind)
