"""OEE and related KPIs per machine, line or site."""

from __future__ import annotations

from datetime import UTC, datetime

from factoryos.production.kpi_models import OeeQuery, OeeReport
from factoryos.production.oee import oee_report
from server.api import Context, Router

router = Router(prefix="/api/v1/kpis", tags=("kpis",))


@router.get("/oee", permission="assets.view", query=OeeQuery, response=OeeReport, long_running=True)
def get_oee(ctx: Context, query: OeeQuery) -> OeeReport:
    """OEE, availability, performance, quality, MTBF, MTTR, first-pass yield, scrap rate and
    target attainment for a range (`from`/`to`), a recorded shift instance or a local day."""
    return oee_report(ctx.conn, ctx.tenant_id, query, datetime.now(UTC))
