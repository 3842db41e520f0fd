"""One report document per topic, built from the database for a resolved period."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import Connection, select

from factoryos.kpi import KpiTotals
from factoryos.reports import sections as s
from factoryos.reports.builders.figures import PeriodTotals, load_totals, machine_labels, window_label
from factoryos.reports.builders.machine_orders import orders_table
from factoryos.reports.builders.naming import report_filename
from factoryos.reports.builders.operators import UNASSIGNED, operators_of_record, user_names
from factoryos.reports.builders.period import Period, resolve_period
from factoryos.reports.builders.query import ReportQuery, ReportTopic
from factoryos.reports.builders.raw import raw_entries
from factoryos.reports.builders.reasons import ReasonTree, downtime_reasons, rejection_reasons, setup_stretches
from factoryos.reports.builders.shift_sheet import ShiftSheet, comparison
from factoryos.reports.model import (
    BarChart,
    Column,
    ReportDocument,
    ReportHeader,
    Section,
    TableSection,
    ValueType,
)
from factoryos.reports.paper import site_paper
from factoryos.reports.render import ReportFormat
from factoryos.reports.values import format_instant
from factoryos.schema.plant import lines
from factoryos.schema.tenancy import companies

T = ValueType
MACHINE_KEYS = (Column("code", "Code"), Column("machine", "Machine"))
SHIFT_KEYS = (Column("shift_start", "Shift start", T.DATETIME), Column("shift", "Shift"))
OPERATOR_NOTE = ("Each machine-shift counts for one operator: who booked most of its parts, else the first "
                 "planned operator, so the rows add up to the total.")
DOWNTIME_NOTE = ("Unplanned stops and setup inside the period's shifts, breaks excluded: the losses the Downtime "
                 "figure above counts, as OEE does. Planned stops and time machines could not be read (No data) "
                 "are listed apart below; the site's setting says how OEE counts No data.")


class _Builder:
    def __init__(self, conn: Connection, tenant_id: UUID, period: Period, now: datetime) -> None:
        self.conn = conn
        self.tenant_id = tenant_id
        self.period = period
        self.now = now
        self.totals: PeriodTotals = load_totals(conn, tenant_id, period, now)
        self.total: KpiTotals = self.totals.total
        self.labels = machine_labels(period.machines)
        self._tree: ReasonTree | None = None

    @property
    def tree(self) -> ReasonTree:
        if self._tree is None:
            self._tree = ReasonTree(self.conn, self.tenant_id)
        return self._tree

    # -- tables -------------------------------------------------------------------------

    def by_machine(self) -> TableSection:
        per = self.totals.by_machine()
        rows = [((m["code"], m["name"]), s.production_figures(per[m["id"]])) for m in self.period.machines]
        return s.production_table("by_machine", "Production by machine", MACHINE_KEYS, rows,
                                  totals=s.production_figures(self.total))

    def by_line(self) -> TableSection | None:
        if self.period.line is not None:
            return None
        names = dict(self.conn.execute(select(lines.c.id, lines.c.name).where(
            lines.c.tenant_id == self.tenant_id, lines.c.site_id == self.period.site["id"])).all())
        line_of = {m["id"]: m["line_id"] for m in self.period.machines}
        per = self.totals.by(lambda machine_id, _: line_of[machine_id])
        if not names or not per:
            return None
        ordered = sorted(per, key=lambda k: (k is None, names.get(k, "")))
        rows = [((names.get(k, "No line"),), s.production_figures(per[k])) for k in ordered]
        return s.production_table("by_line", "Production by line", [Column("line", "Line")], rows,
                                  totals=s.production_figures(self.total))

    def by_shift(self) -> TableSection:
        per = self.totals.by_window()
        rows = [(window_label(self.period.windows[idx]), s.production_figures(t)) for idx, t in sorted(per.items())]
        return s.production_table("by_shift", "Production by shift", SHIFT_KEYS, rows,
                                  totals=s.production_figures(self.total))

    def shift_machines(self) -> TableSection:
        windows = self.period.windows
        operators = operators_of_record(self.conn, self.tenant_id, (w.instance_id for w in windows))
        names = user_names(self.conn, operators.values())
        order = {m["id"]: i for i, m in enumerate(self.period.machines)}
        keys = sorted(self.totals.parts, key=lambda k: (k[1], order[k[0]]))
        rows = []
        for machine_id, idx in keys:
            operator = operators.get((machine_id, windows[idx].instance_id))  # type: ignore[arg-type]
            label = (*window_label(windows[idx]), self.labels[machine_id],
                     names.get(operator, UNASSIGNED) if operator else UNASSIGNED)
            rows.append((label, s.production_figures(self.totals.parts[(machine_id, idx)])))
        key_columns = (*SHIFT_KEYS, Column("machine", "Machine"), Column("operator", "Operator"))
        return s.production_table("shift_machines", "Machines per shift", key_columns, rows,
                                  totals=s.production_figures(self.total))

    def by_operator(self) -> tuple[TableSection, BarChart]:
        windows = self.period.windows
        operators = operators_of_record(self.conn, self.tenant_id, (w.instance_id for w in windows))
        per = self.totals.by(lambda machine_id, idx: operators.get((machine_id, windows[idx].instance_id)))  # type: ignore[arg-type]
        names = user_names(self.conn, [k for k in per if k is not None])
        ordered = sorted(per, key=lambda k: (k is None, names.get(k, "") if k else ""))
        rows = [((names.get(k, UNASSIGNED) if k else UNASSIGNED,), s.production_figures(per[k])) for k in ordered]
        table = s.production_table("by_operator", "Production by operator", [Column("operator", "Operator")], rows,
                                   totals=s.production_figures(self.total), note=OPERATOR_NOTE)
        chart = BarChart(key="good_by_operator", title="Good parts by operator", value_label="Good",
                         value_type=T.INT, categories=tuple(r[0][0] for r in rows),
                         values=tuple(per[k].good_count for k in ordered))
        return table, chart

    # -- charts and reasons -------------------------------------------------------------

    def oee_chart(self) -> BarChart:
        per = self.totals.by_machine()
        return s.oee_chart((self.labels[m["id"]], s.production_figures(per[m["id"]]).oee)
                           for m in self.period.machines)

    def downtime(self) -> tuple[list[s.ReasonFigures], list[s.ReasonFigures]]:
        """(losses: unplanned stops and setup, as the Downtime figure; the rest: planned stops, no data)."""
        reasons = downtime_reasons(self.conn, self.tenant_id, self.period, self.now, self.tree)
        losses = [r for r in reasons if not r.planned]
        setup = s.setup_reason(self.total, losses, setup_stretches(self.conn, self.tenant_id, self.period, self.now))
        no_data = s.no_data_reason(self.total)
        other = [r for r in reasons if r.planned] + ([no_data] if no_data else [])
        return losses + ([setup] if setup else []), other

    def downtime_sections(self, *, table: bool = False) -> list[Section]:
        losses, other = self.downtime()
        out: list[Section] = []
        if table:
            t = s.downtime_table(losses)
            out.append(TableSection(t.key, t.title, t.columns, t.rows, t.totals, DOWNTIME_NOTE))
        out.append(s.downtime_pareto(losses))
        if other:
            loss_total = sum((r.duration or timedelta() for r in losses), timedelta())
            figure = s.production_figures(self.total).downtime
            out.append(s.not_downtime_table(other, loss_total, figure))
        return out

    def rejections(self) -> list[s.ReasonFigures]:
        return rejection_reasons(self.conn, self.tenant_id, self.period, self.total.reject_count, self.tree)

    def orders(self) -> list[Section]:
        """The orders that ran on the machines, when any did."""
        table = orders_table(self.conn, self.tenant_id, self.period, self.now, self.labels)
        return [table] if table is not None else []

    def sheet(self) -> ShiftSheet:
        rejects = {k: v.reject_count for k, v in self.totals.by_machine().items()}
        return ShiftSheet(self.conn, self.tenant_id, self.period, self.now, self.labels, self.tree, rejects)

    def one_shift(self) -> list[Section]:
        """The report a supervisor signs (the sign-off itself is added once the figures are hashed)."""
        sheet = self.sheet()
        return [self.shift_machines(), *sheet.hourly(), *self.orders(), self.oee_chart(), *sheet.stop_sections(),
                *self.downtime_sections(), sheet.open_stops(), s.rejections_chart(self.rejections()),
                sheet.rejections_by_machine(), sheet.comments(), sheet.handover()]

    def sections(self, topic: ReportTopic) -> Sequence[Section]:
        if topic is ReportTopic.MACHINES:
            return [self.by_machine(), *self.orders(), self.oee_chart(), *self.downtime_sections()]
        if topic is ReportTopic.SHIFTS:
            several = len(self.period.windows) > 1
            if self.period.shift is not None:
                return self.one_shift()
            return [*([self.by_shift()] if several else []), self.shift_machines(), *self.orders(), self.oee_chart(),
                    *self.downtime_sections(), s.rejections_chart(self.rejections())]
        if topic is ReportTopic.OPERATORS:
            return list(self.by_operator())
        if topic is ReportTopic.REJECTIONS:
            reasons = self.rejections()
            return [s.rejections_table(reasons), s.rejections_chart(reasons)]
        if topic is ReportTopic.DOWNTIME:
            return self.downtime_sections(table=True)
        line = self.by_line()
        return [self.oee_chart(), *([line] if line else []), self.by_machine(),
                *self.downtime_sections(), s.rejections_chart(self.rejections())]


def _title(topic: ReportTopic, period: Period) -> str | None:
    if period.shift is None:
        return None
    shift = period.shift
    name = "Shift report" if topic is ReportTopic.SHIFTS else topic.kind.label
    return f"{name}: {shift['name']} {shift['local_date']:%a %Y-%m-%d}"


@dataclass(frozen=True)
class BuiltReport:
    topic: ReportTopic
    document: ReportDocument
    period: Period

    def filename(self, fmt: ReportFormat) -> str:
        shift, line = self.period.shift, self.period.line
        return report_filename(self.topic.value, str(self.period.site["code"]), self.document, fmt,
                               shift=str(shift["name"]) if shift else None,
                               line_code=str(line["code"] or line["name"]) if line else None,
                               days=self.period.days)


def build_report(conn: Connection, tenant_id: UUID, topic: ReportTopic, query: ReportQuery, *,
                 generated_by: str, now: datetime, signoff: bool = True) -> BuiltReport:
    """The `topic` report of `query`'s site or line and period, in the site's timezone.

    A one-shift `shifts` report ends with the comparison and its sign-off line (`signoff=False`:
    without either, as hashed for signing)."""
    period = resolve_period(conn, tenant_id, query, now)
    builder = _Builder(conn, tenant_id, period, now)
    company = conn.execute(select(companies.c.name).where(companies.c.tenant_id == tenant_id)).scalar_one()
    header = ReportHeader(
        company=company, site=period.scope_name, timezone=period.site["timezone"], start=period.start,
        end=period.end, kind=topic.kind, generated_by=generated_by, generated_at=now, title=_title(topic, period),
    )
    notes = []
    if period.ongoing:
        notes.append(f"The period has not ended: figures up to {format_instant(period.end, header.tz)}.")
    if builder.totals.reported:
        codes = {m["id"]: m["code"] for m in period.machines}
        upto = ", ".join(
            f"{codes[mid]} {'nothing yet' if at <= period.start else format_instant(at, header.tz)[11:16]}"
            for mid, at in sorted(builder.totals.reported.items(), key=lambda kv: codes[kv[0]]))
        notes.append(f"Machines entered by hand count in the running shift only up to their last entry: {upto}.")
    if any(not w.whole_instance for w in period.windows if w.instance is not None):
        notes.append("Shifts marked (partial) are cut by the period or still running: only their time inside it "
                     "counts.")
    if not period.windows:
        notes.append("No shift of this site runs in the period.")
    document = ReportDocument(
        header=header,
        kpis=s.kpi_summary(builder.total),
        sections=tuple(builder.sections(topic)),
        raw=raw_entries(conn, tenant_id, period) if query.raw else None,
        notes=tuple(notes),
        paper=site_paper(period.site),
    )
    if signoff and topic is ReportTopic.SHIFTS and period.shift is not None:
        document = _with_signoff(conn, tenant_id, query, builder, document, generated_by, now)
    return BuiltReport(topic, document, period)


def _with_signoff(conn: Connection, tenant_id: UUID, query: ReportQuery, builder: _Builder,
                  document: ReportDocument, generated_by: str, now: datetime) -> ReportDocument:
    from dataclasses import replace

    from factoryos.reports.handover import figures_hash

    period = builder.period
    if period.line is None:
        signed_hash = figures_hash(document)
    else:  # a signature covers the site's report: compare with that
        site_query = query.model_copy(update={"site_id": period.site["id"], "line_id": None, "raw": False})
        signed_hash = figures_hash(build_report(conn, tenant_id, ReportTopic.SHIFTS, site_query,
                                                generated_by=generated_by, now=now, signoff=False).document)
    compared = comparison(conn, tenant_id, period, query, now, s.production_figures(builder.total))
    extra = ([compared] if compared else []) + [builder.sheet().signoff(signed_hash)]
    return replace(document, sections=document.sections + tuple(extra))
