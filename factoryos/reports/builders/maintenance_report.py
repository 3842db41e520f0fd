"""The maintenance report over a period: work orders, on-time compliance of preventive work,
MTBF/MTTR per machine asset and per asset and failure reason, top failure reasons and the spare
parts used.

    report = build_maintenance_report(conn, tenant_id, start=date(2026, 11, 1), end=date(2026, 11, 30),
                                      generated_by="Ann", now=now)
    render(report.document, "pdf", stream)  # named report.filename(ReportFormat.PDF)

The period is whole local days of the company's first site (UTC without a site); with several
sites the header says "All sites" and a note names the site whose days they are. MTBF and
MTTR are those of /api/v1/maintenance/reliability for the same period (the OEE engine's run
time, failures and unplanned stop time), per asset and per failure reason (see
factoryos/maintenance/reason_reliability.py); the top failure reasons are those summed over assets.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, or_, select

from factoryos.errors import ValidationFailed
from factoryos.maintenance.assets import display_name
from factoryos.maintenance.models import Reliability
from factoryos.maintenance.reliability import reliability
from factoryos.maintenance.work_orders import number_label
from factoryos.reports.model import (
    Column,
    ParetoChart,
    ReportDocument,
    ReportHeader,
    ReportKind,
    Section,
    TableSection,
    TotalRule,
    ValueType,
)
from factoryos.reports.render import ReportFormat
from factoryos.schema.maintenance import maintenance_assets as ma
from factoryos.schema.maintenance import maintenance_plans as mp
from factoryos.schema.maintenance import maintenance_work_orders as wo
from factoryos.schema.plant import sites
from factoryos.schema.production import downtime_events as de
from factoryos.schema.tenancy import companies

T = ValueType
MAX_DAYS = 366
STATUS = {"in_progress": "in progress"}

ORDER_COLUMNS = (
    Column("number", "Order"), Column("kind", "Kind"), Column("asset", "Asset"), Column("title", "Title"),
    Column("status", "Status"), Column("created", "Raised", T.DATETIME), Column("finished", "Closed", T.DATETIME),
    Column("on_time", "On time"),
    Column("labour", "Labour", T.DURATION, total=TotalRule.SUM),
    Column("downtime", "Downtime", T.DURATION, total=TotalRule.SUM),
)
COMPLIANCE_COLUMNS = (
    Column("plan", "Plan"), Column("asset", "Asset"),
    Column("done", "Done", T.INT, total=TotalRule.SUM),
    Column("on_time", "On time", T.INT, total=TotalRule.SUM),
    Column("rate", "Compliance", T.PERCENT, formula="{on_time}/{done}", total=TotalRule.FORMULA),
    Column("open", "Still open", T.INT, total=TotalRule.SUM),
)
RELIABILITY_COLUMNS = (
    Column("asset", "Asset"),
    Column("run", "Run time", T.DURATION, total=TotalRule.SUM),
    Column("failures", "Failures", T.INT, total=TotalRule.SUM),
    Column("stop", "Unplanned stops", T.DURATION, total=TotalRule.SUM),
    Column("mtbf", "MTBF", T.DURATION, total=TotalRule.VALUE),
    Column("mttr", "MTTR", T.DURATION, total=TotalRule.VALUE),
)
ASSET_REASON_COLUMNS = (
    Column("asset", "Asset"), Column("reason", "Failure reason"),
    Column("failures", "Failures", T.INT, total=TotalRule.SUM),
    Column("stop", "Stop time", T.DURATION, total=TotalRule.SUM),
    Column("mtbf", "MTBF", T.DURATION, total=TotalRule.NONE),
    Column("mttr", "MTTR", T.DURATION, total=TotalRule.NONE),
)
REASON_COLUMNS = (
    Column("reason", "Reason"), Column("stops", "Failures", T.INT, total=TotalRule.SUM),
    Column("time", "Time", T.DURATION, total=TotalRule.SUM), Column("mttr", "MTTR", T.DURATION, total=TotalRule.NONE),
)
PART_COLUMNS = (
    Column("part", "Part"), Column("quantity", "Quantity", T.DECIMAL, decimals=3, trim=True, total=TotalRule.NONE),
    Column("orders", "Orders", T.INT, total=TotalRule.NONE),
)
COMPLIANCE_NOTE = ("Preventive work closed in the period. On time: done by the due date plus 10 % of the plan's "
                   "interval (calendar), or within 10 % over the run hours or cycles the plan allows.")
RELIABILITY_NOTE = ("MTBF = run time / failures, MTTR = unplanned stop time / failures, as OEE counts them: a failure "
                    "is an unplanned stop at least the site's micro-stop threshold long; time outside the shifts is "
                    "not counted. Totals: all machines' time over all their failures.")
ASSET_REASON_NOTE = ("The failures above by their reason: a stop split by maintenance work is one failure under "
                     "its first part's reason (a corrective order's repair under the reason of the downtime it "
                     "was raised from), its repair time included. MTBF = the asset's run time / the reason's "
                     "failures; MTTR = the reason's stop time / its failures.")
ORDER_NOTE = ("Work orders raised or open in the period. Downtime: the maintenance downtime their work booked on a "
              "stopped machine (planned for preventive work, unplanned otherwise).")


@dataclass(frozen=True)
class BuiltMaintenanceReport:
    start: date
    end: date
    document: ReportDocument
    work_orders: int

    def filename(self, fmt: ReportFormat) -> str:
        return f"maintenance-{self.start.isoformat()}-{self.end.isoformat()}.{fmt.value}"


def _zone(conn: Connection, tenant_id: UUID) -> tuple[str, ZoneInfo, tuple[str, ...]]:
    """(what the header names, the days' zone, notes): the report covers every site's assets, so
    with several sites it names them all and says whose days it counts in."""
    rows = conn.execute(select(sites.c.name, sites.c.timezone).where(sites.c.tenant_id == tenant_id)
                        .order_by(sites.c.created_at)).all()
    if not rows:
        return "", ZoneInfo("UTC"), ()
    first = rows[0]
    if len(rows) == 1:
        return first.name, ZoneInfo(first.timezone), ()
    note = (f"All {len(rows)} sites' assets; the days run midnight to midnight in {first.name}'s time "
            f"({first.timezone}), as do the times shown.")
    return "All sites", ZoneInfo(first.timezone), (note,)


def _orders(conn: Connection, tenant_id: UUID, t0: datetime, t1: datetime) -> list[Any]:
    return list(conn.execute(
        select(wo, de.c.started_at.label("d_start"), de.c.ended_at.label("d_end"))
        .select_from(wo.outerjoin(de, and_(de.c.tenant_id == wo.c.tenant_id, de.c.id == wo.c.booked_downtime_id)))
        .where(wo.c.tenant_id == tenant_id, wo.c.created_at < t1,
               or_(wo.c.finished_at.is_(None), wo.c.finished_at >= t0))
        .order_by(wo.c.number)).mappings())


def _order_table(conn: Connection, tenant_id: UUID, rows: list[Any], names: dict[UUID, str],
                 now: datetime) -> TableSection:
    out = []
    for r in rows:
        booked = None
        if r["d_start"] is not None:
            booked = min(r["d_end"] or now, now) - r["d_start"]
        labour = timedelta(minutes=r["labour_minutes"]) if r["labour_minutes"] is not None else None
        on_time = {True: "yes", False: "late", None: ""}[r["on_time"]]
        out.append((number_label(r["number"]), r["kind"], names[r["asset_id"]], r["title"],
                    STATUS.get(r["status"], r["status"]), r["created_at"], r["finished_at"], on_time, labour, booked))
    labour_total = sum((x[8] for x in out if x[8] is not None), timedelta())
    down_total = sum((x[9] for x in out if x[9] is not None), timedelta())
    totals = (f"{len(out)} orders", None, None, None, None, None, None, None, labour_total, down_total)
    return TableSection("work_orders", "Work orders", ORDER_COLUMNS, tuple(out), totals, ORDER_NOTE)


def _compliance(conn: Connection, tenant_id: UUID, rows: list[Any], names: dict[UUID, str]) -> TableSection:
    plans = {p["id"]: p for p in conn.execute(select(mp).where(mp.c.tenant_id == tenant_id)).mappings()}
    per: dict[UUID, list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in rows:
        if r["kind"] != "preventive" or r["plan_id"] is None:
            continue
        if r["status"] == "done":
            per[r["plan_id"]][0] += 1
            per[r["plan_id"]][1] += bool(r["on_time"])
        elif r["status"] != "cancelled":
            per[r["plan_id"]][2] += 1
    out = []
    for plan_id, (done, on_time, open_) in sorted(per.items(), key=lambda kv: plans[kv[0]]["name"]):
        plan = plans[plan_id]
        out.append((plan["name"], names.get(plan["asset_id"], ""), done, on_time, on_time / done if done else None,
                    open_))
    done = sum(x[2] for x in out)
    on_time = sum(x[3] for x in out)
    totals = ("Total", None, done, on_time, on_time / done if done else None, sum(x[5] for x in out))
    return TableSection("pm_compliance", "Preventive maintenance on time", COMPLIANCE_COLUMNS, tuple(out), totals,
                        COMPLIANCE_NOTE)


def secs(v: float | None) -> timedelta | None:
    return None if v is None else timedelta(seconds=v)


def _reliability(rel: list[Reliability]) -> tuple[TableSection, TableSection]:
    out = []

    for r in rel:
        out.append((r.asset_name, secs(r.run_seconds), r.failures, secs(r.unplanned_stop_seconds),
                    secs(r.mtbf_seconds), secs(r.mttr_seconds)))
    run = sum(r.run_seconds for r in rel)
    stop = sum(r.unplanned_stop_seconds for r in rel)
    failures = sum(r.failures for r in rel)
    totals = ("All machines", secs(run), failures, secs(stop), secs(run / failures) if failures else None,
              secs(stop / failures) if failures else None)
    per_asset = TableSection("reliability", "MTBF and MTTR per asset", RELIABILITY_COLUMNS, tuple(out), totals,
                             RELIABILITY_NOTE)
    pairs = tuple((r.asset_name, f"{x.name} ({x.code})" if x.code else x.name, x.failures, secs(x.stop_seconds),
                   secs(x.mtbf_seconds), secs(x.mttr_seconds)) for r in rel for x in r.reasons)
    reason_totals = ("All assets", None, sum(p[2] for p in pairs),
                     sum((p[3] for p in pairs if p[3] is not None), timedelta()), None, None)
    per_reason = TableSection("reliability_reasons", "MTBF and MTTR by failure reason",
                              ASSET_REASON_COLUMNS, pairs, reason_totals, ASSET_REASON_NOTE)
    return per_asset, per_reason


def _reasons(rel: list[Reliability], limit: int = 10) -> list[Section]:
    """The failures of all assets by reason (the per-asset reasons summed), most stop time first."""
    per: dict[tuple[str | None, str], list[float]] = defaultdict(lambda: [0, 0.0])
    for r in rel:
        for x in r.reasons:
            per[(x.code, x.name)][0] += x.failures
            per[(x.code, x.name)][1] += x.stop_seconds
    top = sorted(per.items(), key=lambda kv: (-kv[1][1], kv[0][0] or "~"))[:limit]
    rows = tuple((f"{name} ({code})" if code else name, int(n), timedelta(seconds=round(t)),
                  timedelta(seconds=round(t / n))) for (code, name), (n, t) in top)
    totals = ("Total", sum(r[1] for r in rows), sum((r[2] for r in rows), timedelta()), None)
    out: list[Section] = []
    if any(r[2] > timedelta() for r in rows):
        out.append(ParetoChart("failure_pareto", "Top failure reasons", "Downtime", T.DURATION,
                               tuple(name[:40] for (_, name), _ in top), tuple(r[2] for r in rows)))
    out.append(TableSection("failure_reasons", "Failure reasons", REASON_COLUMNS, rows, totals,
                            "All assets' failures by reason, most stop time first (the table per asset and "
                            "reason summed); MTTR is the reason's time over its failures."))
    return out


def _parts(rows: list[Any]) -> TableSection:
    per: dict[str, list[Any]] = defaultdict(lambda: [Decimal(0), 0])
    for r in rows:
        for p in r["parts"]:
            per[p["name"]][0] += Decimal(str(p["quantity"]))
            per[p["name"]][1] += 1
    out = tuple((name, q, n) for name, (q, n) in sorted(per.items()))
    return TableSection("parts", "Spare parts used", PART_COLUMNS, out, None,
                        "As written on the work orders (free text for now).")


def build_maintenance_report(conn: Connection, tenant_id: UUID, *, start: date, end: date, generated_by: str,
                             now: datetime) -> BuiltMaintenanceReport:
    if end < start:
        raise ValidationFailed("the period ends before it starts", code="invalid_range", field="to")
    if (end - start).days >= MAX_DAYS:
        raise ValidationFailed(f"at most {MAX_DAYS} days per report", code="range_too_long", field="to")
    site_name, zone, zone_notes = _zone(conn, tenant_id)
    t0 = datetime.combine(start, time(), zone)
    t1 = datetime.combine(end + timedelta(days=1), time(), zone)
    rows = _orders(conn, tenant_id, t0, t1)
    rel = reliability(conn, tenant_id, t0, t1, now)
    assets = conn.execute(select(ma).where(ma.c.tenant_id == tenant_id)).mappings().all()
    names = {a["id"]: display_name(conn, tenant_id, a) for a in assets}
    company = conn.execute(select(companies.c.name).where(companies.c.tenant_id == tenant_id)).scalar_one()
    header = ReportHeader(company=company, site=site_name, timezone=str(zone), start=t0,
                          end=min(t1, max(now, t0 + timedelta(seconds=1))), kind=ReportKind.MAINTENANCE,
                          generated_by=generated_by, generated_at=now)
    sections: list[Section] = [_order_table(conn, tenant_id, rows, names, now), _compliance(conn, tenant_id, rows, names),
                               *_reliability(rel)]
    sections += _reasons(rel)
    sections.append(_parts(rows))
    notes = zone_notes + (() if rows else ("No work order was raised or open in the period.",))
    return BuiltMaintenanceReport(start, end, ReportDocument(header=header, sections=tuple(sections), notes=notes),
                                  len(rows))
