"""The quality report of one product over a period: inspections, out-of-spec rate, control
charts, capability, and rejects by reason and machine.

    report = build_quality_report(conn, tenant_id, product="P-100", start=date(2026, 11, 1),
                                  end=date(2026, 11, 30), generated_by="Ann", now=now)
    render(report.document, "pdf", stream)  # named report.filename(ReportFormat.PDF)

The period is whole local days of the site where the product was inspected most (UTC when
it was not inspected). The figures per characteristic are those of /api/v1/quality/spc for
the same period (factoryos.quality.spc), one chart per characteristic across plan versions.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, func, select

from factoryos.errors import NotFound, ValidationFailed
from factoryos.nonconformances import service as ncs
from factoryos.quality import plans as plan_versions
from factoryos.quality.spc_data import spc_for
from factoryos.reports.builders.naming import safe_part
from factoryos.reports.model import (
    Column,
    LineChart,
    LineSeries,
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
from factoryos.schema.jobs import jobs
from factoryos.schema.materials import items, lots
from factoryos.schema.nonconformances import nonconformances
from factoryos.schema.orders import order_operations, products
from factoryos.schema.plant import machines, sites
from factoryos.schema.production import loss_reasons, rejection_entries
from factoryos.schema.quality import inspection_characteristics as chars
from factoryos.schema.quality import inspection_plan_versions as versions
from factoryos.schema.quality import inspection_plans as plans
from factoryos.schema.quality import inspection_results as results
from factoryos.schema.quality import inspections
from factoryos.schema.tenancy import companies
from factoryos.signatures.models import SignatureOut
from factoryos.signatures.service import signatures_for

T = ValueType
MAX_DAYS = 366
MAX_CHARTS = 8  # characteristics charted; the capability table lists every one

MACHINE_COLUMNS = (
    Column("machine", "Machine"),
    Column("inspections", "Inspections", T.INT, total=TotalRule.SUM),
    Column("passed", "Passed", T.INT, total=TotalRule.SUM),
    Column("failed", "Failed", T.INT, total=TotalRule.SUM),
    Column("rate", "Out-of-spec rate", T.PERCENT, formula="{failed}/{inspections}", total=TotalRule.FORMULA),
)
CAPABILITY_COLUMNS = (
    Column("characteristic", "Characteristic"), Column("spec", "Specification"),
    Column("subgroups", "Subgroups", T.INT, total=TotalRule.NONE),
    Column("values", "Values (n)", T.INT, total=TotalRule.NONE),
    Column("mean", "Mean", T.DECIMAL, decimals=4, total=TotalRule.NONE),
    Column("cp", "Cp", T.DECIMAL, decimals=2, total=TotalRule.NONE),
    Column("cpk", "Cpk", T.DECIMAL, decimals=2, total=TotalRule.NONE),
    Column("pp", "Pp", T.DECIMAL, decimals=2, total=TotalRule.NONE),
    Column("ppk", "Ppk", T.DECIMAL, decimals=2, total=TotalRule.NONE),
    Column("signals", "Rule signals", T.INT, total=TotalRule.NONE),
    Column("out", "Out of spec", T.INT, total=TotalRule.NONE),
)
SUBGROUP_COLUMNS = (
    Column("at", "Inspected", T.DATETIME), Column("mean", "X̄ / value", T.DECIMAL, decimals=4, total=TotalRule.NONE),
    Column("spread", "R / MR", T.DECIMAL, decimals=4, total=TotalRule.NONE),
    Column("lcl", "LCL", T.DECIMAL, decimals=4, total=TotalRule.NONE),
    Column("cl", "CL", T.DECIMAL, decimals=4, total=TotalRule.NONE),
    Column("ucl", "UCL", T.DECIMAL, decimals=4, total=TotalRule.NONE),
    Column("rules", "Signals"),
)
REJECT_COLUMNS = (
    Column("machine", "Machine"), Column("reason", "Reason"),
    Column("quantity", "Rejected", T.INT, total=TotalRule.SUM),
)
NC_QTY_DECIMALS = 3  # an NC's quantity is recorded with up to 3 decimals; each shows the decimals it has
SIGNED_COLUMNS = (
    Column("record", "Record"), Column("what", "What"),
    Column("quantity", "Qty", T.DECIMAL, decimals=NC_QTY_DECIMALS, total=TotalRule.NONE, trim=True),
    Column("unit", "Unit"), Column("status", "Status"),
    Column("signer", "Signed by"), Column("meaning", "Meaning"), Column("signed", "Signed", T.DATETIME),
    Column("signature", "Signature"),
)
NO_LONGER_VALID = "NO LONGER VALID: changed since signed"
MAX_SIGNED_NCS = 200
RULES = {"beyond_limits": "beyond 3σ", "run_one_side": "8 on one side", "trend": "6 trending"}
CAPABILITY_NOTE = ("Cp and Cpk use the within-subgroup σ = R̄/d2 (MR̄/1.128 for single values); Pp and Ppk the "
                   "overall sample standard deviation of all n values. Control limits from the data: X̄ ± A2·R̄ "
                   "(constants after ASTM STP-15D). Signals: a point beyond 3σ, 8 in a row on one side of the "
                   "centre line, 6 in a row rising or falling.")


@dataclass(frozen=True)
class BuiltQualityReport:
    product_number: str
    start: date
    end: date
    document: ReportDocument

    def filename(self, fmt: ReportFormat) -> str:
        return f"quality-{safe_part(self.product_number)}-{self.start.isoformat()}-{self.end.isoformat()}.{fmt.value}"


def _product(conn: Connection, tenant_id: UUID, ref: str) -> Any:
    stmt = select(products).where(products.c.tenant_id == tenant_id)
    try:
        by_id = UUID(ref)
    except ValueError:
        by_id = None
    row = conn.execute(stmt.where(products.c.id == by_id) if by_id else
                       stmt.where(func.lower(products.c.number) == ref.strip().lower())).mappings().first()
    if row is None:
        raise NotFound(f"no product {ref!r}", code="product_not_found", field="product")
    return row


def _zone(conn: Connection, tenant_id: UUID, product_id: UUID) -> tuple[Any, ZoneInfo]:
    row = conn.execute(
        select(sites.c.name, sites.c.timezone, func.count())
        .select_from(inspections.join(machines, and_(machines.c.tenant_id == inspections.c.tenant_id,
                                                     machines.c.id == inspections.c.machine_id))
                     .join(sites, and_(sites.c.tenant_id == machines.c.tenant_id, sites.c.id == machines.c.site_id)))
        .where(inspections.c.tenant_id == tenant_id, inspections.c.product_id == product_id)
        .group_by(sites.c.name, sites.c.timezone).order_by(func.count().desc()).limit(1)).first()
    return (row.name, ZoneInfo(row.timezone)) if row else ("", ZoneInfo("UTC"))


def _machine_table(rows: list[Any]) -> TableSection:
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        per[r.machine][r.result] += 1
    out = []
    for machine in sorted(per):
        n, failed = sum(per[machine].values()), per[machine]["fail"]
        out.append((machine, n, n - failed, failed, failed / n if n else None))
    n, failed = len(rows), sum(1 for r in rows if r.result == "fail")
    totals = ("Total", n, n - failed, failed, failed / n if n else None)
    return TableSection("inspections", "Inspections by machine", MACHINE_COLUMNS, tuple(out), totals,
                        "An inspection fails when any characteristic is out of specification.")


def _spec(c: Any) -> str:
    unit = f" {c['unit']}" if c["unit"] else ""
    lsl = format(c["lsl"].normalize(), "f") if c["lsl"] is not None else "—"
    usl = format(c["usl"].normalize(), "f") if c["usl"] is not None else "—"
    return f"{lsl} … {usl}{unit}"


def _characteristics(conn: Connection, tenant_id: UUID, product_id: UUID, start: datetime,
                     end: datetime) -> list[tuple[Any, int]]:
    """Measured characteristics inspected in the period (the latest version's row per lineage), with their
    out-of-spec result counts."""
    rows = conn.execute(
        select(chars, versions.c.version, func.count().filter(results.c.out_of_spec).label("out"))
        .select_from(results.join(inspections, and_(inspections.c.tenant_id == results.c.tenant_id,
                                                     inspections.c.id == results.c.inspection_id))
                     .join(chars, and_(chars.c.tenant_id == results.c.tenant_id,
                                       chars.c.id == results.c.characteristic_id))
                     .join(versions, and_(versions.c.tenant_id == chars.c.tenant_id,
                                          versions.c.id == chars.c.version_id)))
        .where(results.c.tenant_id == tenant_id, inspections.c.product_id == product_id,
               inspections.c.recorded_at >= start, inspections.c.recorded_at < end)
        .group_by(chars.c.id, versions.c.version).order_by(versions.c.version, chars.c.seq)).mappings().all()
    latest: dict[UUID, tuple[Any, int]] = {}  # by lineage: the newest version's row, out-of-spec summed
    for r in rows:
        before = latest.get(r["lineage_id"])
        latest[r["lineage_id"]] = (r, r["out"] + (before[1] if before else 0))
    return sorted(latest.values(), key=lambda item: item[0]["seq"])


def _rejects(conn: Connection, tenant_id: UUID, product_id: UUID, start: datetime, end: datetime) -> list[Any]:
    return list(conn.execute(
        select(machines.c.code.label("machine"), loss_reasons.c.name.label("reason"),
               func.sum(rejection_entries.c.quantity).label("quantity"))
        .select_from(rejection_entries
                     .join(order_operations, and_(order_operations.c.tenant_id == rejection_entries.c.tenant_id,
                                                  order_operations.c.id == rejection_entries.c.operation_id))
                     .join(jobs, and_(jobs.c.tenant_id == order_operations.c.tenant_id,
                                      jobs.c.id == order_operations.c.job_id))
                     .join(machines, and_(machines.c.tenant_id == rejection_entries.c.tenant_id,
                                          machines.c.id == rejection_entries.c.machine_id))
                     .join(loss_reasons, and_(loss_reasons.c.tenant_id == rejection_entries.c.tenant_id,
                                              loss_reasons.c.id == rejection_entries.c.reason_id)))
        .where(rejection_entries.c.tenant_id == tenant_id, jobs.c.product_id == product_id,
               rejection_entries.c.occurred_at >= start, rejection_entries.c.occurred_at < end)
        .group_by(machines.c.code, loss_reasons.c.name)
        .order_by(func.sum(rejection_entries.c.quantity).desc(), machines.c.code, loss_reasons.c.name)))


def _reject_sections(rows: list[Any]) -> list[Section]:
    if not rows:
        return [TableSection("rejects", "Rejects by reason and machine", REJECT_COLUMNS, (), None,
                             "No rejects were booked to orders of this product in the period.")]
    table = TableSection("rejects", "Rejects by reason and machine", REJECT_COLUMNS,
                         tuple((r.machine, r.reason, int(r.quantity)) for r in rows),
                         ("Total", None, sum(int(r.quantity) for r in rows)))
    by_reason: Counter[str] = Counter()
    for r in rows:
        by_reason[r.reason] += int(r.quantity)
    ordered = by_reason.most_common()
    pareto = ParetoChart("rejects_by_reason", "Rejects by reason", "Parts", T.INT,
                         tuple(k for k, _ in ordered), tuple(v for _, v in ordered))
    return [table, pareto]


def _signals(spc: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Out-of-control points of the X̄ / I chart (beyond its limits, 8 on one side, 6 trending) and of the
    R / MR chart (beyond its limits): a point's rules name both charts' signals together."""
    loc, spread = spc.location, spc.spread
    on_location = tuple(i for i, p in enumerate(spc.points)
                        if not loc.lower <= p.value <= loc.upper or any(r != "beyond_limits" for r in p.rules))
    on_spread = tuple(i for i, p in enumerate(spc.points)
                      if p.spread is not None and not spread.lower <= p.spread <= spread.upper)
    return on_location, on_spread


def _point_signals(spc: Any, point: Any, xbar: bool) -> str:
    """A subgroup's signals, each naming its chart: the row shows only the X̄ (or I) limits, so an
    R (or MR) beyond its own limits must not read as the mean's."""
    location, spread = ("X̄", "R") if xbar else ("I", "MR")
    out = [f"{location} {RULES.get(r, r)}" for r in point.rules if r != "beyond_limits"]
    if point.spread is not None and not spc.spread.lower <= point.spread <= spc.spread.upper:
        out.insert(0, f"{spread} {RULES['beyond_limits']}")
    if not spc.location.lower <= point.value <= spc.location.upper:
        out.insert(0, f"{location} {RULES['beyond_limits']}")
    return ", ".join(out)


def _control_chart(key: str, title: str, label: str, values: tuple[float | None, ...], limits: Any,
                   marked: tuple[int, ...], decimals: int) -> LineChart:
    n = len(values)
    return LineChart(key, title, label, T.DECIMAL, tuple(str(i + 1) for i in range(n)), (
        LineSeries(label, values, "data"),
        LineSeries("UCL", (limits.upper,) * n, "limit"),
        LineSeries("CL", (limits.centre,) * n, "centre"),
        LineSeries("LCL", (limits.lower,) * n, "limit"),
    ), marked=marked, marked_label="Out of control", decimals=decimals)


def _chart_sections(spc: Any) -> list[Section]:
    """Per characteristic: the X̄ (or I) chart and the R (or MR) chart as lines with their centre line and
    control limits, out-of-control points marked; then the subgroups against their limits as a table."""
    if spc.location is None or spc.spread is None:
        return []
    loc = spc.location
    key = f"spc_{safe_part(spc.name).lower()[:20]}"
    xbar = spc.kind == "xbar_r"
    rows = tuple((p.recorded_at, p.value, p.spread, loc.lower, loc.centre, loc.upper,
                  _point_signals(spc, p, xbar)) for p in spc.points)
    kind = "X̄-R" if xbar else "I-MR"
    table = TableSection(key, f"{spc.name}: {kind} chart (n = {spc.n})", SUBGROUP_COLUMNS, rows, None,
                         f"{len(spc.points)} subgroups; {spc.violations} with a rule signal.")
    unit = f" ({spc.unit})" if spc.unit else ""
    decimals = min(6, (2 if spc.decimals is None else spc.decimals) + 1)  # limits carry one decimal more than the readings
    on_location, on_spread = _signals(spc)
    location = _control_chart(f"{key}_x"[:31], f"{spc.name}: {'X̄ (subgroup means)' if xbar else 'I (values)'}",
                              ("X̄" if xbar else "I") + unit, tuple(p.value for p in spc.points), loc,
                              on_location, decimals)
    spread = _control_chart(f"{key}_r"[:31], f"{spc.name}: {'R (ranges)' if xbar else 'MR (moving ranges)'}",
                            ("R" if xbar else "MR") + unit, tuple(p.spread for p in spc.points), spc.spread,
                            on_spread, decimals)
    return [location, spread, table]


def _signed_rows(record: tuple[str, str, Decimal | None, str | None], status: str, signed: list[SignatureOut],
                 unsigned: str) -> list[tuple[Any, ...]]:
    """One row per signature, each saying whether the record still matches what was signed. `record`: its
    name, what it is, and for an NC how many and in what unit."""
    if not signed:
        return [(*record, status, None, None, None, unsigned)]
    return [(*record, status, s.signer_name, s.meaning, s.signed_at, "valid" if s.valid else NO_LONGER_VALID)
            for s in signed]


def _signatures_section(conn: Connection, tenant_id: UUID, product_id: UUID, unit: str, start: datetime,
                        end: datetime) -> TableSection:
    """The signed records behind the figures: the plan versions inspected against, the NCs opened (with how
    many, in `unit`, the product's, unless the NC names a lot)."""
    rows: list[tuple[Any, ...]] = []
    used = conn.execute(
        select(versions.c.id, versions.c.version, versions.c.status, plans.c.name).distinct()
        .select_from(inspections.join(versions, and_(versions.c.tenant_id == inspections.c.tenant_id,
                                                     versions.c.id == inspections.c.version_id))
                     .join(plans, and_(plans.c.tenant_id == versions.c.tenant_id, plans.c.id == versions.c.plan_id)))
        .where(inspections.c.tenant_id == tenant_id, inspections.c.product_id == product_id,
               inspections.c.recorded_at >= start, inspections.c.recorded_at < end)
        .order_by(plans.c.name, versions.c.version)).all()
    for v in used:
        signed = signatures_for(conn, tenant_id, plan_versions.RECORD_TYPE, v.id,
                                    plan_versions.version_content(conn, tenant_id, v.id))
        rows += _signed_rows((f"Plan v{v.version}", v.name, None, None), v.status, signed, "not signed")
    # An NC's unit is its lot's item's, else the product's (as in the trace report).
    opened = conn.execute(
        select(nonconformances, machines.c.code.label("machine"),
               func.coalesce(items.c.unit, unit).label("unit"))
        .select_from(nonconformances.join(machines, and_(machines.c.tenant_id == nonconformances.c.tenant_id,
                                                         machines.c.id == nonconformances.c.machine_id))
                     .outerjoin(lots, and_(lots.c.tenant_id == nonconformances.c.tenant_id,
                                           lots.c.id == nonconformances.c.lot_id))
                     .outerjoin(items, and_(items.c.tenant_id == lots.c.tenant_id, items.c.id == lots.c.item_id)))
        .where(nonconformances.c.tenant_id == tenant_id, nonconformances.c.product_id == product_id,
               nonconformances.c.created_at >= start, nonconformances.c.created_at < end)
        .order_by(nonconformances.c.number).limit(MAX_SIGNED_NCS)).mappings().all()
    for nc in opened:
        signed = signatures_for(conn, tenant_id, ncs.RECORD_TYPE, nc["id"], ncs.nc_content(nc))
        what = nc["machine"] + (f", {nc['disposition'].replace('_', ' ')}" if nc["disposition"] else "")
        rows += _signed_rows((ncs.nc_code(nc["number"]), what, nc["quantity"], nc["unit"]), nc["status"], signed,
                             "not closed yet")
    note = ("Electronic signatures (21 CFR Part 11): who, when and with what meaning. A signature no longer "
            "valid means the record changed after it was signed.")
    return TableSection("signatures", "Signed records", SIGNED_COLUMNS, tuple(rows), None, note)


def build_quality_report(conn: Connection, tenant_id: UUID, *, product: str, start: date, end: date,
                         generated_by: str, now: datetime) -> BuiltQualityReport:
    if end < start:
        raise ValidationFailed("the period ends before it starts", code="invalid_range", field="to")
    if (end - start).days >= MAX_DAYS:
        raise ValidationFailed(f"at most {MAX_DAYS} days per report", code="range_too_long", field="to")
    p = _product(conn, tenant_id, product)
    site_name, zone = _zone(conn, tenant_id, p["id"])
    t0 = datetime.combine(start, time(), zone)
    t1 = datetime.combine(end + timedelta(days=1), time(), zone)
    rows = list(conn.execute(
        select(inspections.c.result, machines.c.code.label("machine"))
        .select_from(inspections.join(machines, and_(machines.c.tenant_id == inspections.c.tenant_id,
                                                     machines.c.id == inspections.c.machine_id)))
        .where(inspections.c.tenant_id == tenant_id, inspections.c.product_id == p["id"],
               inspections.c.recorded_at >= t0, inspections.c.recorded_at < t1)))
    company = conn.execute(select(companies.c.name).where(companies.c.tenant_id == tenant_id)).scalar_one()
    header = ReportHeader(company=company, site=site_name, timezone=str(zone), start=t0,
                          end=min(t1, max(now, t0 + timedelta(seconds=1))), kind=ReportKind.QUALITY, generated_by=generated_by, generated_at=now,
                          title=f"Quality: {p['number']} {p['name']}")
    sections: list[Section] = [_machine_table(rows)]
    capability: list[tuple[Any, ...]] = []
    charts: list[Section] = []
    for c, out in _characteristics(conn, tenant_id, p["id"], t0, t1):
        if c["kind"] != "measured":
            capability.append((c["name"], "pass / fail", None, None, None, None, None, None, None, None, out))
            continue
        spc = spc_for(conn, tenant_id, c["id"], t0, t1, limit=2000)
        cap = spc.capability
        capability.append((c["name"], _spec(c), len(spc.points), cap.values if cap else None,
                           cap.mean if cap else None, cap.cp if cap else None, cap.cpk if cap else None,
                           cap.pp if cap else None, cap.ppk if cap else None, spc.violations, out))
        if len(charts) < 3 * MAX_CHARTS:
            charts += _chart_sections(spc)
    sections.append(TableSection("capability", "Characteristics and capability", CAPABILITY_COLUMNS,
                                 tuple(capability), None, CAPABILITY_NOTE))
    sections += charts
    sections += _reject_sections(_rejects(conn, tenant_id, p["id"], t0, t1))
    sections.append(_signatures_section(conn, tenant_id, p["id"], p["unit"], t0, t1))
    notes = () if rows else (f"No inspection of {p['number']} in the period.",)
    document = ReportDocument(header=header, sections=tuple(sections), notes=notes)
    return BuiltQualityReport(p["number"], start, end, document)

