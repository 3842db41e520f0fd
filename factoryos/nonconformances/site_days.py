"""Which day it is for a CAPA's actions: its site's, as every date here is in site time (DESIGN.md).

A CAPA's site is that of the machine of its first nonconformance. An action due today is not late
before that site's day ends, whatever the UTC date or the reader's first site.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, tzinfo
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, select
from sqlalchemy.dialects.postgresql import distinct_on

from factoryos.nonconformances.capa_models import ActionOut
from factoryos.schema.nonconformances import capa_nonconformances as links
from factoryos.schema.nonconformances import nonconformances as ncs
from factoryos.schema.plant import machines, sites


def capa_zones(conn: Connection, tenant_id: UUID, capa_ids: Iterable[UUID]) -> dict[UUID, tzinfo]:
    """Each CAPA's site timezone (its first NC's machine's site)."""
    ids = list(dict.fromkeys(capa_ids))
    if not ids:
        return {}
    rows = conn.execute(
        select(links.c.capa_id, sites.c.timezone).ext(distinct_on(links.c.capa_id))
        .join(ncs, and_(ncs.c.tenant_id == links.c.tenant_id, ncs.c.id == links.c.nonconformance_id))
        .join(machines, and_(machines.c.tenant_id == ncs.c.tenant_id, machines.c.id == ncs.c.machine_id))
        .join(sites, and_(sites.c.tenant_id == machines.c.tenant_id, sites.c.id == machines.c.site_id))
        .where(links.c.tenant_id == tenant_id, links.c.capa_id.in_(ids))
        .order_by(links.c.capa_id, ncs.c.number)).all()
    return {capa_id: ZoneInfo(zone) for capa_id, zone in rows}


def in_site_time(conn: Connection, tenant_id: UUID, actions: list[ActionOut], *, now: datetime,
                 overdue_only: bool = False) -> list[ActionOut]:
    """The actions with `overdue` judged by each one's site calendar at `now`; only the late ones if asked."""
    zones = capa_zones(conn, tenant_id, (a.capa_id for a in actions))
    out = []
    for a in actions:
        late = a.done_at is None and a.due_date < now.astimezone(zones.get(a.capa_id, UTC)).date()
        if late or not overdue_only:
            out.append(a if a.overdue == late else a.model_copy(update={"overdue": late}))
    return out
