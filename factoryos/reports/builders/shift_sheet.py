"""The sections of one shift's report a supervisor signs: hour by hour against target, every stop,
the reasons with their MTTR, rejections by machine, what people wrote, the stops still waiting for a
reason, the comparison with the previous shift and the same shift a week before, and the sign-off.

Counts follow the KPI loader's rules (a minute bucket by its minute, an entry by its start, a
rejection by when it occurred, inside the shift's windows), so the hours add up to the Good figure;
stop durations are their overlap with the shift outside breaks, as the reason tables count them.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, func, or_, select, text

from factoryos.errors import FactoryOSError
from factoryos.kpi import Interval
from factoryos.kpi.intervals import intersect, total
from factoryos.production.records import ShiftInstanceRecord
from factoryos.production.shifts import site_instances
from factoryos.reports import sections as s
from factoryos.reports.builders.figures import load_totals
from factoryos.reports.builders.operators import user_names
from factoryos.reports.builders.period import Period, resolve_period
from factoryos.reports.builders.query import ReportQuery
from factoryos.reports.builders.reasons import MACHINE_COUNTED, NO_REASON, ReasonTree, covered_time
from factoryos.reports.model import BarChart, Column, Section, TableSection, TotalRule, ValueType
from factoryos.reports.values import format_duration
from factoryos.schema.handover import shift_handover_notes as notes_t
from factoryos.schema.handover import shift_signoffs as signoffs_t
from factoryos.schema.production import downtime_events as de
from factoryos.schema.production import production_entries as pe
from factoryos.schema.production import production_plans as plans

T = ValueType
SIGN_HERE = "_" * 28
TOP_REASONS = 10

_HOURLY = text("""
select floor(extract(epoch from x.at - :origin) / 3600)::int as slot, sum(x.good)::bigint
from (
  select minute as at, good from machine_count_buckets
   where tenant_id = :tenant and machine_id = any(cast(:machines as uuid[])) and minute >= :s and minute < :e
  union all
  select started_at, good_quantity from production_entries
   where tenant_id = :tenant and machine_id = any(cast(:machines as uuid[])) and started_at >= :s and started_at < :e
) x group by 1
""")

_REJECTS = text("""
select t.machine_id, t.reason_id, sum(t.quantity)::bigint from rejection_entries t
where t.tenant_id = :tenant and t.machine_id = any(cast(:machines as uuid[])) and t.occurred_at >= :s
  and t.occurred_at < :e
group by 1, 2
""")


class ShiftSheet:
    """The single-shift sections, for a period of exactly one shift instance."""

    def __init__(self, conn: Connection, tenant_id: UUID, period: Period, now: datetime, labels: dict[UUID, str],
                 tree: ReasonTree, rejects_by_machine: dict[UUID, int]) -> None:
        self.conn, self.tenant_id, self.period, self.now = conn, tenant_id, period, now
        self.labels, self.tree, self.rejects_by_machine = labels, tree, rejects_by_machine
        self.machine_ids = [m["id"] for m in period.machines]
        self.instance_id: UUID | None = period.shift.get("id") if period.shift else None
        self.covered = covered_time(period)

    def _window(self) -> tuple[datetime, datetime] | None:
        if not self.period.windows:
            return None
        return self.period.windows[0].interval.start, self.period.windows[-1].interval.end

    # -- hour by hour ------------------------------------------------------------------

    def hourly(self) -> list[Section]:
        window = self._window()
        shift = self.period.shift
        if window is None or shift is None or not self.machine_ids:
            return []
        origin = shift["starts_at"]
        good: dict[int, int] = {}
        for w in self.period.windows:
            params = {"tenant": self.tenant_id, "machines": self.machine_ids, "origin": origin,
                      "s": w.interval.start, "e": w.interval.end}
            for slot, n in self.conn.execute(_HOURLY, params):
                good[slot] = good.get(slot, 0) + int(n)
        target_total = self._target()
        whole = _working_time(shift)
        rate = target_total / (whole.total_seconds() / 3600) if target_total and whole else None
        categories, values, rows = [], [], []
        slot, hour = 0, origin
        planned_so_far = 0.0  # rounded cumulatively, so the hours add up to the plan
        end = min(shift["ends_at"], window[1])
        while hour < end:
            nxt = min(hour + timedelta(hours=1), shift["ends_at"])
            cut = min(nxt, end)
            worked = total(intersect([Interval(hour, cut)], self.covered))
            target = None
            if rate is not None:
                before = round(planned_so_far)
                planned_so_far += rate * worked.total_seconds() / 3600
                target = round(planned_so_far) - before
            n = good.get(slot, 0)
            label = _hour_label(hour, nxt, self.period.site["timezone"])
            partial = cut < nxt
            status = None if target is None else ("below target" if n < target else "on or above target")
            categories.append(label + (" *" if partial else ""))
            values.append(n)
            rows.append((hour, label + (" (running)" if partial else ""), worked, n, target,
                         None if target is None else n - target, status))
            slot, hour = slot + 1, nxt
        chart = BarChart(key="hourly_chart", title="Good parts per hour", value_label="Good", value_type=T.INT,
                         categories=tuple(categories), values=tuple(values),
                         target=None if rate is None else round(rate))
        columns = (Column("hour_start", "Hour start", T.DATETIME), Column("hour", "Hour"),
                   Column("working", "Working time", T.DURATION, total=TotalRule.SUM),
                   Column("good", "Good", T.INT, total=TotalRule.SUM),
                   Column("target", "Target", T.INT, total=TotalRule.SUM),
                   Column("delta", "vs target", T.INT, formula="{good}-{target}", total=TotalRule.FORMULA),
                   Column("status", "Status"))
        sum_target = sum(r[4] for r in rows if r[4] is not None) if rate is not None else None
        totals = (None, "Shift", sum((r[2] for r in rows), timedelta()), sum(values), sum_target,
                  None if sum_target is None else sum(values) - sum_target, None)
        planned, machines = self._planned_machines(), len(self.machine_ids)
        note = ("The target is the planned quantity spread over the shift's working time (breaks excluded); the "
                "line on the chart is a full working hour's share. Hatched bars are below target. "
                + (f"Only {planned} of {machines} machines have a plan: their target is compared with every "
                   "machine's parts. " if rate is not None and planned < machines else "")
                + ("* the hour is still running. " if any(c.endswith("*") for c in categories) else "")
                + ("" if rate is not None else "No quantity is planned for this shift: no target."))
        table = TableSection("hourly", "Production per hour", columns, tuple(rows), totals, note.strip())
        return [chart, table]

    def _planned_machines(self) -> int:
        if self.instance_id is None:
            return 0
        return int(self.conn.execute(select(func.count(func.distinct(plans.c.machine_id))).where(
            plans.c.tenant_id == self.tenant_id, plans.c.shift_instance_id == self.instance_id,
            plans.c.machine_id.in_(self.machine_ids), plans.c.target_quantity > 0)).scalar_one())

    def _target(self) -> int:
        if self.instance_id is None:
            return 0
        return int(self.conn.execute(select(func.coalesce(func.sum(plans.c.target_quantity), 0)).where(
            plans.c.tenant_id == self.tenant_id, plans.c.shift_instance_id == self.instance_id,
            plans.c.machine_id.in_(self.machine_ids))).scalar_one())

    # -- stops ----------------------------------------------------------------------------

    def _stops(self) -> list[RowMapping]:
        window = self._window()
        if window is None or not self.machine_ids:
            return []
        return list(self.conn.execute(select(de).where(
            de.c.tenant_id == self.tenant_id, de.c.machine_id.in_(self.machine_ids), de.c.started_at < window[1],
            or_(de.c.ended_at.is_(None), de.c.ended_at > window[0])).order_by(de.c.started_at)).mappings())

    def _in_shift(self, stop: RowMapping) -> timedelta:
        end = min(stop["ended_at"] or self.now, self.now)
        if end <= stop["started_at"]:
            return timedelta()
        return total(intersect([Interval(stop["started_at"], end)], self.covered))

    def _reason(self, stop: RowMapping) -> str:
        # As the Pareto names it; the stops still waiting for a reason are listed apart.
        return self.tree.name(stop["reason_id"]) if stop["reason_id"] is not None else NO_REASON

    def stop_sections(self) -> list[Section]:
        events: list[tuple[Any, ...]] = []
        per_reason: dict[tuple[str, str], tuple[int, timedelta]] = {}
        window = self._window()
        shift_end = window[1] if window else self.now
        ended = shift_end < self.now  # a past shift: the state at its end, not today's (a signature stays valid)
        for stop in self._stops():
            duration = self._in_shift(stop)
            if duration <= timedelta():
                continue
            kind = "Planned" if stop["planned"] else "Unplanned"
            reason = self._reason(stop)
            if stop["ended_at"] is not None and stop["ended_at"] <= shift_end:
                state = ""
            else:
                state = "went on after the shift" if ended else "still stopped"
            events.append((stop["started_at"], self.labels.get(stop["machine_id"], "?"), duration, reason, kind,
                           state, stop["note"] or ""))
            key = (reason, kind)
            count, spent = per_reason.get(key, (0, timedelta()))
            per_reason[key] = (count + 1, spent + duration)
        columns = (Column("start", "Start", T.DATETIME), Column("machine", "Machine"),
                   Column("duration", "Duration", T.DURATION, total=TotalRule.SUM), Column("reason", "Reason"),
                   Column("kind", "Planned?"), Column("state", "State"), Column("note", "Note"))
        unplanned = sum((e[2] for e in events if e[4] == "Unplanned"), timedelta())
        planned = sum((e[2] for e in events if e[4] == "Planned"), timedelta())
        table = TableSection("stop_events", "Stops in this shift", columns, tuple(events),
                             (None, f"{len(events)} stops", unplanned + planned, None, None, None, None),
                             "Durations are the time inside the shift, breaks excluded. Planned stops are not "
                             f"downtime: {format_duration(planned)} planned, {format_duration(unplanned)} "
                             "unplanned (stops shorter than the micro-stop threshold count as speed loss, "
                             "not as Downtime).")
        ordered = sorted(per_reason.items(), key=lambda kv: (-kv[1][1], kv[0][0]))[:TOP_REASONS]
        top_rows = tuple((reason, kind, count, spent, spent / count) for (reason, kind), (count, spent) in ordered)
        top = TableSection("top_reasons", "Top stop reasons", (
            Column("reason", "Reason"), Column("kind", "Planned?"),
            Column("stops", "Stops", T.INT, total=TotalRule.SUM),
            Column("duration", "Duration", T.DURATION, total=TotalRule.SUM),
            Column("mttr", "MTTR", T.DURATION)), top_rows,
            note="MTTR: mean time to restore, the reason's duration divided by its stops.")
        return [table, top]

    def open_stops(self) -> TableSection:
        rows = []
        for stop in self._stops():
            if stop["reason_id"] is None and stop["needs_reason"]:
                rows.append((stop["started_at"], self.labels.get(stop["machine_id"], "?"),
                             min(stop["ended_at"] or self.now, self.now) - stop["started_at"],
                             "still stopped" if stop["ended_at"] is None else "ended"))
        return TableSection("open_stops", "Stops waiting for a reason", (
            Column("start", "Start", T.DATETIME), Column("machine", "Machine"),
            Column("duration", "Duration", T.DURATION), Column("state", "State")), tuple(rows))

    # -- rejections -----------------------------------------------------------------------

    def rejections_by_machine(self) -> TableSection:
        booked: dict[UUID, int] = {}
        rows = []
        for w in self.period.windows:
            params = {"tenant": self.tenant_id, "machines": self.machine_ids, "s": w.interval.start,
                      "e": w.interval.end}
            for machine_id, reason_id, n in self.conn.execute(_REJECTS, params) if self.machine_ids else ():
                rows.append((self.labels.get(machine_id, "?"), self.tree.name(reason_id), int(n)))
                booked[machine_id] = booked.get(machine_id, 0) + int(n)
        for machine_id, n in self.rejects_by_machine.items():
            if n > booked.get(machine_id, 0):
                rows.append((self.labels.get(machine_id, "?"), MACHINE_COUNTED, n - booked.get(machine_id, 0)))
        rows.sort(key=lambda r: (r[0], -r[2], r[1]))
        return TableSection("rejections_by_machine", "Rejections by machine", (
            Column("machine", "Machine"), Column("reason", "Reason"),
            Column("quantity", "Rejected", T.INT, total=TotalRule.SUM)), tuple(rows),
            (None, None, sum(r[2] for r in rows)))

    # -- what people wrote ----------------------------------------------------------------

    def comments(self) -> TableSection:
        window = self._window()
        found = [] if window is None or not self.machine_ids else list(self.conn.execute(
            select(pe.c.started_at, pe.c.machine_id, pe.c.operator_id, pe.c.note).where(
                pe.c.tenant_id == self.tenant_id, pe.c.machine_id.in_(self.machine_ids),
                pe.c.started_at >= window[0], pe.c.started_at < window[1], pe.c.note.is_not(None),
                func.length(func.btrim(pe.c.note)) > 0).order_by(pe.c.started_at)))
        names = user_names(self.conn, [r.operator_id for r in found])
        rows = tuple((r.started_at, self.labels.get(r.machine_id, "?"), names.get(r.operator_id, "?"), r.note)
                     for r in found)
        return TableSection("operator_comments", "Operator comments", (
            Column("at", "Time", T.DATETIME), Column("machine", "Machine"), Column("operator", "Operator"),
            Column("comment", "Comment")), rows)

    def handover(self) -> TableSection:
        found = [] if self.instance_id is None else list(self.conn.execute(
            select(notes_t.c.created_at, notes_t.c.author_id, notes_t.c.body).where(
                notes_t.c.tenant_id == self.tenant_id, notes_t.c.shift_instance_id == self.instance_id)
            .order_by(notes_t.c.created_at, notes_t.c.id)))
        names = user_names(self.conn, [r.author_id for r in found])
        rows = tuple((r.created_at, names.get(r.author_id, "?"), r.body) for r in found)
        return TableSection("handover_notes", "Handover notes", (
            Column("at", "Written", T.DATETIME), Column("author", "By"), Column("note", "Note")), rows)

    # -- sign-off -------------------------------------------------------------------------

    def signoff(self, current_hash: str | None) -> TableSection:
        found = [] if self.instance_id is None else list(self.conn.execute(
            select(signoffs_t).where(signoffs_t.c.tenant_id == self.tenant_id,
                                     signoffs_t.c.shift_instance_id == self.instance_id)
            .order_by(signoffs_t.c.signed_at, signoffs_t.c.id)).mappings())
        columns = (Column("signed_by", "Signed by"), Column("signed_at", "Signed at", T.DATETIME),
                   Column("meaning", "Meaning"), Column("reason", "Reason"), Column("figures", "Figures"))
        if not found:  # lines to sign on paper
            paper = (Column("signed_by", "Name"), Column("date", "Date and time"), Column("signature", "Signature"))
            return TableSection("signoff", "Sign-off", paper, ((SIGN_HERE, SIGN_HERE, SIGN_HERE),),
                                note="Not signed yet: sign here on paper, or in FactoryOS (the password is asked "
                                     "again).")
        rows = tuple((r["signer_name"], r["signed_at"], r["meaning"], r["reason"] or "",
                      "as signed" if current_hash == r["content_hash"] else "changed since signed")
                     for r in found)
        changed = any(r[4] != "as signed" for r in rows)
        return TableSection("signoff", "Sign-off", columns, rows, note=(
            "The figures changed after signing (a late entry or a stop's reason): review and sign again."
            if changed else "Electronically signed: the signer entered their password at signing."))


def comparison(conn: Connection, tenant_id: UUID, period: Period, query: ReportQuery, now: datetime,
               this: s.ProductionFigures) -> TableSection | None:
    """This shift beside the shift before it and the same shift a week before, with the differences."""
    shift = period.shift
    if shift is None:
        return None
    day: date = shift["local_date"]
    earlier = [i for i in site_instances(conn, tenant_id, period.site, day - timedelta(days=2), day)
               if i["starts_at"] < shift["starts_at"]]
    others: list[tuple[str, date, str]] = []
    if earlier:
        prev = max(earlier, key=lambda i: i["starts_at"])
        others.append(("Previous shift", prev["local_date"], str(prev["pattern_id"])))
    others.append(("Same shift last week", day - timedelta(days=7), str(shift["pattern_id"])))
    rows: list[tuple[Any, ...]] = [("This shift", shift["starts_at"], str(shift["name"]), this.oee, this.good,
                                    this.rejects, this.downtime, None, None, None, None)]
    for label, other_day, pattern in others:
        other = _figures(conn, tenant_id, query, other_day, pattern, now)
        if other is None:
            continue
        figures, start, name = other
        rows.append((label, start, name, figures.oee, figures.good, figures.rejects, figures.downtime,
                     None if this.oee is None or figures.oee is None else this.oee - figures.oee,
                     this.good - figures.good, this.rejects - figures.rejects, this.downtime - figures.downtime))
    columns = (Column("compared", "Compared with"), Column("start", "Shift start", T.DATETIME),
               Column("shift", "Shift"), Column("oee", "OEE", T.PERCENT), Column("good", "Good", T.INT),
               Column("scrap", "Scrap", T.INT), Column("downtime", "Downtime", T.DURATION),
               Column("d_oee", "This − OEE", T.PERCENT), Column("d_good", "This − good", T.INT),
               Column("d_scrap", "This − scrap", T.INT), Column("d_downtime", "This − downtime", T.DURATION))
    return TableSection("comparison", "Compared with other shifts", columns, tuple(rows),
                        note="Differences are this shift minus the other (OEE in percentage points).")


def _figures(conn: Connection, tenant_id: UUID, query: ReportQuery, day: date, pattern: str,
             now: datetime) -> tuple[s.ProductionFigures, datetime, str] | None:
    other = query.model_copy(update={"day": day, "shift": pattern, "from_": None, "to": None})
    try:
        period = resolve_period(conn, tenant_id, other, now)
    except FactoryOSError:  # that shift did not run that day
        return None
    if period.shift is None or period.shift["starts_at"] >= now:
        return None
    return (s.production_figures(load_totals(conn, tenant_id, period, now).total), period.shift["starts_at"],
            str(period.shift["name"]) + ("" if all(w.whole_instance for w in period.windows) else " (partial)"))


def _working_time(shift: ShiftInstanceRecord) -> timedelta:
    from factoryos.production.shifts import kpi_instance

    inst = kpi_instance(shift)  # type: ignore[arg-type]
    spans = [Interval(inst.start, inst.end)]
    breaks = sum((b.end - b.start for b in inst.breaks), timedelta())
    return total(spans) - breaks


def _hour_label(start: datetime, end: datetime, zone: str) -> str:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(zone)
    return f"{start.astimezone(tz):%H:%M}–{end.astimezone(tz):%H:%M}"
