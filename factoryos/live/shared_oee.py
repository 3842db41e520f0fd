"""`/kpis/oee?shift=running` served from the site's shared snapshot (see `snapshots`).

The machine, line or site is looked up in the reader's own transaction first, so what the
database hides from them (another company's, another site's, a machine they are not certified
for) is unknown here too, with the direct computation's answer; the snapshot then gives the
figures, filtered to the reader's machines when they are limited to some.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from sqlalchemy import Connection

from factoryos.errors import NotFound
from factoryos.live.snapshots import LiveSnapshots
from factoryos.plant.lines import Lines
from factoryos.plant.machines import Machines
from factoryos.production.kpi_models import OeeQuery
from factoryos.production.oee import unknown


def shared_oee_json(snapshots: LiveSnapshots, conn: Connection, tenant_id: UUID, query: OeeQuery,
                    now: Callable[[], datetime]) -> bytes | None:
    """The report as JSON; None when it is to be computed directly instead (a reader limited to
    some machines while no shared snapshot is fresh, a machine newer than the snapshot)."""
    assert query.shift == "running"
    site_id = _site_of(conn, tenant_id, query)
    try:
        snap = snapshots.for_oee(conn, tenant_id, site_id, now)
    except NotFound as exc:
        if exc.code != "site_not_found":
            raise
        raise unknown("site", site_id) from None
    if snap is None or (query.scope == "machine" and not snap.oee.holds(query.id)):
        return None
    return snap.oee_json(query.scope, query.id)


def _site_of(conn: Connection, tenant_id: UUID, query: OeeQuery) -> UUID:
    if query.scope == "site":
        return query.id
    found = (Lines if query.scope == "line" else Machines)(conn, tenant_id).get(query.id)
    if found is None:
        raise unknown(query.scope, query.id)
    return found["site_id"]
