"""OEE and related KPIs per machine, line or site."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.responses import Response

from factoryos.live.shared_oee import shared_oee_json
from factoryos.live.snapshots import LiveSnapshots
from factoryos.production.kpi_models import OeeQuery, OeeReport
from factoryos.production.oee import oee_report
from server.api import Context, Router

router = Router(prefix="/api/v1/kpis", tags=("kpis",))


def _now() -> datetime:
    return datetime.now(UTC)


@router.get("/oee", permission="assets.view", query=OeeQuery, response=OeeReport, long_running=True)
def get_oee(ctx: Context, query: OeeQuery) -> OeeReport | Response:
    """OEE, availability, performance, quality, MTBF, MTTR, first-pass yield, scrap rate and
    target attainment for a range (`from`/`to`), a recorded shift instance, a local day or the
    shift running now (`shift=running`).

    `shift=running` is what dashboards poll: it is served from the site's shared live snapshot,
    computed once per server process for every reader, so it is at most
    2 × max(`FACTORYOS_LIVE_SNAPSHOT_SECONDS`, 2) seconds old (`end` is the instant it was computed
    at); bookings show once it is renewed. Ranges, shift instances and days are computed per request."""
    snapshots: LiveSnapshots | None = ctx.state.live_snapshots
    if query.shift == "running" and snapshots is not None and snapshots.max_age > 0:
        body = shared_oee_json(snapshots, ctx.conn, ctx.tenant_id, query, _now)
        if body is not None:
            return Response(body, media_type="application/json")
    return oee_report(ctx.conn, ctx.tenant_id, query, _now())
