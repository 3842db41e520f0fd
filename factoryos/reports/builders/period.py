"""A report request resolved against the database: the site, its machines and the KPI windows.

Windows come from the same functions `/api/v1/kpis/oee` uses (`scope_machines`,
`period_windows`), so a report and the KPI endpoint see exactly the same time for the
same range, shift or day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from uuid import UUID

from sqlalchemy import Connection, RowMapping, func, select

from factoryos.errors import ValidationFailed
from factoryos.kpi import load_zone, local_to_utc
from factoryos.plant.lines import require_line
from factoryos.plant.records import LineRecord, MachineRecord, SiteRecord
from factoryos.plant.sites import require_site
from factoryos.production.kpi_loader import Window, shift_windows
from factoryos.production.kpi_models import OeeQuery
from factoryos.production.oee import period_windows, scope_machines
from factoryos.production.records import ShiftInstanceRecord
from factoryos.production.shifts import list_instances, require_instance
from factoryos.reports.builders.query import ReportQuery
from factoryos.schema.production import shift_patterns as sp


@dataclass(frozen=True)
class Period:
    site: SiteRecord
    line: LineRecord | None
    machines: list[MachineRecord]
    windows: list[Window]
    start: datetime  # what the figures cover (UTC)
    end: datetime  # never after now
    ongoing: bool  # the period has not ended yet: figures so far
    shift: ShiftInstanceRecord | None = None  # the one shift instance asked for, if any
    oee_query: OeeQuery | None = None  # the `/kpis/oee` query with the same windows
    days: tuple[date, date] | None = None  # the local dates asked for, when shifts were chosen by them

    @property
    def scope_name(self) -> str:
        return f"{self.site['name']} — {self.line['name']}" if self.line else str(self.site["name"])


def parse_instant(text: str, zone_name: str, field: str, *, end: bool = False) -> datetime:
    """An ISO instant with offset, a local date-time, or a local date (`end`: the day after)."""
    zone = load_zone(zone_name)
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return local_to_utc(datetime.combine(day + timedelta(days=1 if end else 0), time()), zone)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        raise ValidationFailed(
            f"{field}: {text!r} is not a date (2026-11-20) or date-time (2026-11-20T06:00, offset optional)",
            code="invalid_datetime", field=field) from None
    return moment if moment.utcoffset() is not None else local_to_utc(moment, zone)


def _scope(conn: Connection, tenant_id: UUID, query: ReportQuery) -> tuple[SiteRecord, LineRecord | None]:
    line = require_line(conn, tenant_id, query.line_id) if query.line_id is not None else None
    if query.site_id is not None:
        site = require_site(conn, tenant_id, query.site_id)
        if line is not None and line["site_id"] != site["id"]:
            raise ValidationFailed("that line belongs to another site", code="line_other_site", field="line_id")
        return site, line
    assert line is not None
    return require_site(conn, tenant_id, line["site_id"], field="line_id"), line


def _pattern(conn: Connection, tenant_id: UUID, site: SiteRecord, ref: str) -> RowMapping:
    stmt = select(sp).where(sp.c.tenant_id == tenant_id, sp.c.site_id == site["id"])
    try:
        row = conn.execute(stmt.where(sp.c.id == UUID(ref))).mappings().first()
    except ValueError:
        row = conn.execute(stmt.where(func.lower(sp.c.name) == ref.strip().lower())).mappings().first()
    if row is None:
        names = conn.execute(stmt.with_only_columns(sp.c.name).order_by(sp.c.start_time)).scalars().all()
        known = f"; its shifts: {', '.join(names)}" if names else "; it has no shifts"
        raise ValidationFailed(f"site {site['code']} has no shift {ref!r}{known}", code="shift_not_found",
                               field="shift")
    return row


def _one_shift(conn: Connection, tenant_id: UUID, site: SiteRecord, scope: OeeQuery, ref: str, day: date,
               now: datetime) -> tuple[ShiftInstanceRecord, list[Window], datetime, datetime, OeeQuery | None]:
    pattern = _pattern(conn, tenant_id, site, ref)
    found = list_instances(conn, tenant_id, site["id"], day, day, pattern["id"])
    if not found:
        raise ValidationFailed(f"shift {pattern['name']} does not run on {day:%A} {day.isoformat()}",
                               code="shift_not_scheduled", field="date")
    instance = found[0]
    if instance["id"] is not None:  # recorded: exactly what /kpis/oee?shift_instance_id= reports
        oee_query = OeeQuery(scope=scope.scope, id=scope.id, shift_instance_id=instance["id"])
        windows, start, end = period_windows(conn, tenant_id, site, oee_query, now)
        return require_instance(conn, tenant_id, instance["id"]), windows, start, end, oee_query
    # Nothing entered by hand yet (machine signals may still have counted): the computed window.
    start, stop = instance["starts_at"], instance["ends_at"]
    return instance, shift_windows([instance], start, stop, now), start, max(start, min(stop, now)), None


def _local_date(text: str) -> date | None:
    value = text.strip()
    if len(value) != 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _whole_shifts(conn: Connection, tenant_id: UUID, site: SiteRecord, query: ReportQuery,
                  now: datetime) -> tuple[list[Window], datetime, datetime] | None:
    """A range of dates means the shifts starting on those dates, whole (a night shift belongs
    to the date it starts on, as on the floor): from the first one's start to the last one's
    end. None for a range given as instants, or a site without shifts (it runs around the clock)."""
    first, last = _local_date(query.from_ or ""), _local_date(query.to or "")
    if first is None or last is None:
        return None
    instances = list_instances(conn, tenant_id, site["id"], first, last)
    if not instances:
        return None
    start = min(r["starts_at"] for r in instances)
    end = max(r["ends_at"] for r in instances)
    return shift_windows(instances, start, end, now), start, end


def resolve_period(conn: Connection, tenant_id: UUID, query: ReportQuery, now: datetime) -> Period:
    site, line = _scope(conn, tenant_id, query)
    # Only the scope matters for the machine list; the period is resolved below.
    scope = OeeQuery.model_construct(scope="line", id=line["id"]) if line is not None else \
        OeeQuery.model_construct(scope="site", id=site["id"])
    _, machines = scope_machines(conn, tenant_id, scope)
    shift: ShiftInstanceRecord | None = None
    oee_query: OeeQuery | None
    days: tuple[date, date] | None = (query.day, query.day) if query.day is not None else None
    if query.shift is not None:
        assert query.day is not None
        shift, windows, start, end, oee_query = _one_shift(conn, tenant_id, site, scope, query.shift, query.day,
                                                           now)
    else:
        if query.day is not None:
            oee_query = OeeQuery(scope=scope.scope, id=scope.id, date=query.day)
        else:
            assert query.from_ is not None and query.to is not None
            tz = site["timezone"]
            oee_query = OeeQuery(scope=scope.scope, id=scope.id, **{
                "from": parse_instant(query.from_, tz, "from"), "to": parse_instant(query.to, tz, "to", end=True)})
        whole = _whole_shifts(conn, tenant_id, site, query, now) if query.day is None else None
        if whole is not None:
            # /kpis/oee over the same instants sees the same shifts (they neither start before nor
            # end after them), so the figures still match it.
            windows, start, end = whole
            days = (_local_date(query.from_ or ""), _local_date(query.to or ""))  # type: ignore[assignment]
            oee_query = OeeQuery(scope=scope.scope, id=scope.id, **{"from": start, "to": end})
            end = max(start, min(end, now))
        else:
            windows, start, end = period_windows(conn, tenant_id, site, oee_query, now)
    if end <= start:
        local = start.astimezone(load_zone(site["timezone"]))
        raise ValidationFailed(f"the period starts {local:%Y-%m-%d %H:%M}, in the future: nothing to report yet",
                               code="period_in_future", field="from" if query.from_ else "date")
    return Period(site, line, machines, windows, start, end, end >= now, shift, oee_query, days)
