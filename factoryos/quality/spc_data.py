"""SPC from the database: a characteristic's recorded subgroups, charted by factoryos.quality.spc.

The chart follows the characteristic across plan versions (its lineage) and uses the
specification limits of the version asked for; subgroups of another size than that
version's sample size (a version that changed it) are left out, since one chart has one n.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import Connection, and_, select

from factoryos.errors import NotFound
from factoryos.quality import spc
from factoryos.quality.inspection_models import SpcCapability, SpcLimits, SpcOut, SpcPoint
from factoryos.schema.quality import inspection_characteristics as chars
from factoryos.schema.quality import inspection_results as results
from factoryos.schema.quality import inspections


def spc_for(conn: Connection, tenant_id: UUID, characteristic_id: UUID, start: datetime | None,
            end: datetime | None, limit: int = 200) -> SpcOut:
    c = conn.execute(select(chars).where(chars.c.tenant_id == tenant_id, chars.c.id == characteristic_id)
                     ).mappings().first()
    if c is None or c["kind"] != "measured":
        raise NotFound(f"measured characteristic {characteristic_id} not found", code="characteristic_not_found")
    stmt = (select(inspections.c.id, inspections.c.recorded_at, results.c["values"].label("vals"))
            .select_from(results.join(inspections, and_(inspections.c.tenant_id == results.c.tenant_id,
                                                        inspections.c.id == results.c.inspection_id)))
            .where(results.c.tenant_id == tenant_id, results.c.lineage_id == c["lineage_id"],
                   results.c["values"].is_not(None)))
    if start is not None:
        stmt = stmt.where(inspections.c.recorded_at >= start)
    if end is not None:
        stmt = stmt.where(inspections.c.recorded_at < end)
    rows = list(conn.execute(stmt.order_by(inspections.c.recorded_at.desc(), inspections.c.id).limit(limit)))
    rows = [r for r in reversed(rows) if len(r.vals) == c["sample_size"]]
    base = {"characteristic_id": c["id"], "lineage_id": c["lineage_id"], "name": c["name"], "unit": c["unit"],
            "decimals": c["decimals"], "lsl": c["lsl"], "usl": c["usl"], "nominal": c["nominal"],
            "n": c["sample_size"], "rule_text": spc.RULE_TEXT}
    if len(rows) < 2:
        return SpcOut(**base, kind=None, location=None, spread=None, capability=None, violations=0, points=[
            SpcPoint(inspection_id=r.id, recorded_at=r.recorded_at, value=float(sum(r.vals) / len(r.vals)),
                     spread=None, values=[float(v) for v in r.vals], rules=[]) for r in rows])
    lsl = float(c["lsl"]) if c["lsl"] is not None else None
    usl = float(c["usl"]) if c["usl"] is not None else None
    chart = spc.chart([[float(v) for v in r.vals] for r in rows], lsl, usl)
    cap = chart.capability
    return SpcOut(
        **base, kind=chart.kind,
        location=SpcLimits(**vars(chart.location)), spread=SpcLimits(**vars(chart.spread)),
        points=[SpcPoint(inspection_id=r.id, recorded_at=r.recorded_at, value=p.value, spread=p.spread,
                         values=[float(v) for v in r.vals], rules=list(p.rules)) for r, p in zip(rows, chart.points)],
        capability=SpcCapability(mean=cap.mean, sigma_within=spc.finite(cap.sigma_within),
                                 sigma_overall=spc.finite(cap.sigma_overall), cp=spc.finite(cap.cp),
                                 cpk=spc.finite(cap.cpk), pp=spc.finite(cap.pp), ppk=spc.finite(cap.ppk),
                                 values=cap.values, subgroups=cap.subgroups),
        violations=chart.violations,
    )
