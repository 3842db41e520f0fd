"""Shift patterns (site local time) and their instances (exact UTC windows via `factoryos.kpi`).

An instance is stored the first time a plan or entry refers to it; from then on its UTC
window and breaks are frozen, so editing a pattern changes future shifts only, never the
figures of shifts already recorded.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Connection, RowMapping, bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from factoryos.db.repository import Page, TenantRepository
from factoryos.errors import Conflict, ValidationFailed
from factoryos.kpi import Interval, ShiftInstance, ShiftPattern, load_zone, resolve_shift
from factoryos.plant.constraints import constraint_errors
from factoryos.plant.patching import changes
from factoryos.plant.records import SiteRecord
from factoryos.plant.sites import Sites, require_site
from factoryos.production.records import ShiftInstanceRecord
from factoryos.production.shift_models import (
    Break,
    ShiftInstanceOut,
    ShiftPatternIn,
    ShiftPatternOut,
    ShiftPatternPatch,
    ShiftPatternQuery,
    UtcInterval,
    check_pattern,
)
from factoryos.schema.production import shift_instances as si
from factoryos.schema.production import shift_patterns as sp


class ShiftPatterns(TenantRepository[RowMapping]):
    table = sp
    entity = "shift"


class ShiftInstances(TenantRepository[ShiftInstanceRecord]):
    table = si
    entity = "shift instance"


def _name_taken(name: str) -> Conflict:
    return Conflict(f"this site already has a shift named {name!r}", code="shift_name_taken", field="name")


def _row_values(name: str, start: Any, end: Any, breaks: list[Break], weekdays: list[int]) -> dict[str, Any]:
    return {
        "name": name,
        "start_time": start,
        "end_time": end,
        "breaks": [[b.start.isoformat(), b.end.isoformat()] for b in breaks],
        "weekdays": sorted(set(weekdays)),
    }


def pattern_out(row: RowMapping) -> ShiftPatternOut:
    return ShiftPatternOut(
        id=row["id"], site_id=row["site_id"], name=row["name"], start=row["start_time"], end=row["end_time"],
        breaks=[Break(start=b[0], end=b[1]) for b in row["breaks"]], weekdays=list(row["weekdays"]),
        active=row["active"], created_at=row["created_at"], updated_at=row["updated_at"],
    )


def kpi_pattern(row: RowMapping) -> ShiftPattern:
    out = pattern_out(row)
    return ShiftPattern(out.name, out.start, out.end, tuple((b.start, b.end) for b in out.breaks),
                        frozenset(out.weekdays))


# -- patterns ---------------------------------------------------------------------------


def create_pattern(conn: Connection, tenant_id: UUID, data: ShiftPatternIn) -> RowMapping:
    require_site(conn, tenant_id, data.site_id)
    values = _row_values(data.name, data.start, data.end, data.breaks, data.weekdays)
    with constraint_errors(conn, {"uq_shift_patterns_tenant_site_name": _name_taken(data.name)}):
        return ShiftPatterns(conn, tenant_id).insert(site_id=data.site_id, active=data.active, **values)


def list_patterns(conn: Connection, tenant_id: UUID, query: ShiftPatternQuery) -> Page:
    clauses = []
    if query.site_id is not None:
        clauses.append(sp.c.site_id == query.site_id)
    if query.active is not None:
        clauses.append(sp.c.active == query.active)
    return ShiftPatterns(conn, tenant_id).page(
        *clauses, limit=query.limit, cursor=query.cursor, search=query.q, search_columns=("name",)
    )


def update_pattern(
    conn: Connection, tenant_id: UUID, pattern_id: UUID, patch: ShiftPatternPatch
) -> tuple[RowMapping, RowMapping]:
    repo = ShiftPatterns(conn, tenant_id)
    before = repo.require(pattern_id, for_update=True)
    values = changes(patch)
    if not values:
        return before, before
    current = pattern_out(before)
    merged = {
        "name": values.get("name", current.name),
        "start": values.get("start", current.start),
        "end": values.get("end", current.end),
        "breaks": patch.breaks if patch.breaks is not None else current.breaks,
        "weekdays": values.get("weekdays", current.weekdays),
    }
    check_pattern(**merged)
    row = _row_values(**merged)
    if "active" in values:
        row["active"] = values["active"]
    row["updated_at"] = func.now()
    with constraint_errors(conn, {"uq_shift_patterns_tenant_site_name": _name_taken(merged["name"])}):
        after = repo.update(pattern_id, **row)
    assert after is not None
    return before, after


def delete_pattern(conn: Connection, tenant_id: UUID, pattern_id: UUID) -> RowMapping:
    repo = ShiftPatterns(conn, tenant_id)
    before = repo.require(pattern_id, for_update=True)
    in_use = Conflict("production was recorded in this shift: set active to false instead",
                      code="shift_in_use", field="id")
    with constraint_errors(conn, {}, fallback=in_use):
        repo.delete(pattern_id)
    return before


# -- instances --------------------------------------------------------------------------


def _breaks_json(instance: ShiftInstance) -> list[list[str]]:
    return [[b.start.isoformat(), b.end.isoformat()] for b in instance.breaks]


def kpi_instance(row: ShiftInstanceRecord) -> ShiftInstance:
    """A stored instance as the KPI engine's value."""
    breaks = tuple(Interval(datetime.fromisoformat(b[0]), datetime.fromisoformat(b[1])) for b in row["breaks"])
    return ShiftInstance(row["name"], row["local_date"], row["starts_at"], row["ends_at"], breaks)


def instance_out(row: ShiftInstanceRecord) -> ShiftInstanceOut:
    inst = kpi_instance(row)
    return ShiftInstanceOut(
        id=row.get("id"), pattern_id=row["pattern_id"], site_id=row["site_id"], name=row["name"],
        local_date=row["local_date"], starts_at=row["starts_at"], ends_at=row["ends_at"],
        breaks=[UtcInterval(start=b.start, end=b.end) for b in inst.breaks],
        length_seconds=inst.length.total_seconds(), break_seconds=inst.break_time.total_seconds(),
    )


def _computed(pattern: RowMapping, instance: ShiftInstance) -> ShiftInstanceRecord:
    return {
        "id": None, "pattern_id": pattern["id"], "site_id": pattern["site_id"], "name": instance.name,
        "local_date": instance.local_date, "starts_at": instance.start, "ends_at": instance.end,
        "breaks": _breaks_json(instance),
    }


# Built once: read on every entry, rejection and live view.
_PATTERNS = select(sp).where(sp.c.tenant_id == bindparam("tenant"), sp.c.site_id == bindparam("site"))
_ACTIVE_PATTERNS = _PATTERNS.where(sp.c.active).order_by(sp.c.start_time, sp.c.name)
_ALL_PATTERNS = _PATTERNS.order_by(sp.c.start_time, sp.c.name)
_STORED = select(si).where(si.c.tenant_id == bindparam("tenant"), si.c.site_id == bindparam("site"),
                           si.c.local_date.between(bindparam("first"), bindparam("last")))
_STORED_OF_PATTERN = _STORED.where(si.c.pattern_id == bindparam("pattern"))


def _patterns(conn: Connection, tenant_id: UUID, site_id: UUID, *, active_only: bool) -> list[RowMapping]:
    stmt = _ACTIVE_PATTERNS if active_only else _ALL_PATTERNS
    return list(conn.execute(stmt, {"tenant": tenant_id, "site": site_id}).mappings())


def list_instances(
    conn: Connection, tenant_id: UUID, site_id: UUID, first: date, last: date, pattern_id: UUID | None = None
) -> list[ShiftInstanceRecord]:
    """Instances starting on local dates first..last: stored ones as recorded, others computed."""
    site = Sites(conn, tenant_id).require(site_id)
    return site_instances(conn, tenant_id, site, first, last, pattern_id)


def site_instances(
    conn: Connection, tenant_id: UUID, site: SiteRecord, first: date, last: date,
    pattern_id: UUID | None = None,
) -> list[ShiftInstanceRecord]:
    """`list_instances` for a site row the caller already holds."""
    params = {"tenant": tenant_id, "site": site["id"], "first": first, "last": last, "pattern": pattern_id}
    stored_stmt = _STORED if pattern_id is None else _STORED_OF_PATTERN
    found: dict[tuple[UUID, date], ShiftInstanceRecord] = {
        (r["pattern_id"], r["local_date"]): cast(ShiftInstanceRecord, dict(r)) for r in conn.execute(stored_stmt, params).mappings()
    }
    for pattern in _patterns(conn, tenant_id, site["id"], active_only=True):
        if pattern_id is not None and pattern["id"] != pattern_id:
            continue
        shape = kpi_pattern(pattern)
        day = first
        while day <= last:
            if shape.runs_on(day) and (pattern["id"], day) not in found:
                found[(pattern["id"], day)] = _computed(pattern, resolve_shift(shape, day, site["timezone"]))
            day += timedelta(days=1)
    return sorted(found.values(), key=lambda r: (r["starts_at"], r["name"]))


def ensure_instance(conn: Connection, tenant_id: UUID, pattern: RowMapping, local_date: date) -> ShiftInstanceRecord:
    """The stored instance of `pattern` on `local_date`, storing (freezing) it on first use."""
    existing = _stored(conn, tenant_id, pattern["id"], local_date)
    if existing is not None:
        return existing
    site = Sites(conn, tenant_id).require(pattern["site_id"])
    shape = kpi_pattern(pattern)
    if not shape.runs_on(local_date):
        raise ValidationFailed(
            f"shift {pattern['name']!r} does not run on {local_date:%A} {local_date.isoformat()}",
            code="shift_not_scheduled", field="shift_date",
        )
    instance = resolve_shift(shape, local_date, site["timezone"])
    values = {k: v for k, v in _computed(pattern, instance).items() if k != "id"}
    conn.execute(pg_insert(si).values(tenant_id=tenant_id, **values).on_conflict_do_nothing())
    stored = _stored(conn, tenant_id, pattern["id"], local_date)
    assert stored is not None
    return stored


def _stored(conn: Connection, tenant_id: UUID, pattern_id: UUID, local_date: date) -> ShiftInstanceRecord | None:
    return ShiftInstances._record(conn.execute(
        select(si).where(si.c.tenant_id == tenant_id, si.c.pattern_id == pattern_id, si.c.local_date == local_date)
    ).mappings().first())


def running_instance(conn: Connection, tenant_id: UUID, site: SiteRecord, at: datetime) -> ShiftInstanceRecord | None:
    """The instance holding instant `at` at the site, stored or computed (nothing is written).

    At a handover the shift starting there holds the instant; of overlapping shifts the one
    that started latest wins (the crew that took over), as in `factoryos.kpi.instance_at`.
    """
    holding = [r for r in instances_overlapping(conn, tenant_id, site, at, at + timedelta(microseconds=1))
               if r["starts_at"] <= at < r["ends_at"]]
    return holding[-1] if holding else None


def instance_at(conn: Connection, tenant_id: UUID, site: SiteRecord, at: datetime) -> ShiftInstanceRecord | None:
    """Like `running_instance`, storing (freezing) the instance when it was only computed."""
    found = running_instance(conn, tenant_id, site, at)
    if found is None:
        return None
    if found["id"] is not None:
        return found  # a stored row, read just now
    pattern = ShiftPatterns(conn, tenant_id).require(found["pattern_id"])
    return ensure_instance(conn, tenant_id, pattern, found["local_date"])


def require_instance(
    conn: Connection, tenant_id: UUID, instance_id: UUID, field: str = "shift_instance_id"
) -> ShiftInstanceRecord:
    row = ShiftInstances(conn, tenant_id).get(instance_id)
    if row is None:
        raise ValidationFailed(f"shift instance {instance_id} not found", code="shift_instance_not_found", field=field)
    return row


def resolve_instance(
    conn: Connection,
    tenant_id: UUID,
    site: SiteRecord,
    *,
    shift_instance_id: UUID | None,
    shift_id: UUID | None,
    shift_date: date | None,
    at: datetime | None,
) -> ShiftInstanceRecord:
    """The shift instance a request names: by id, by pattern + local date, or the one running at `at`."""
    if shift_instance_id is not None:
        row = require_instance(conn, tenant_id, shift_instance_id)
    elif shift_id is not None or shift_date is not None:
        if shift_id is None or shift_date is None:
            missing = "shift_id" if shift_id is None else "shift_date"
            raise ValidationFailed("give shift_id and shift_date together", code="shift_ref_incomplete", field=missing)
        pattern = ShiftPatterns(conn, tenant_id).get(shift_id)
        if pattern is None:
            raise ValidationFailed(f"shift {shift_id} not found", code="shift_not_found", field="shift_id")
        row = ensure_instance(conn, tenant_id, pattern, shift_date)
    else:
        assert at is not None
        found = instance_at(conn, tenant_id, site, at)
        if found is None:
            raise ValidationFailed(
                f"no shift of site {site['code']} is running at {at.isoformat()}: give shift_instance_id "
                "or shift_id and shift_date",
                code="no_running_shift", field="shift_instance_id",
            )
        row = found
    if row["site_id"] != site["id"]:
        raise ValidationFailed("that shift belongs to another site than the machine",
                               code="shift_other_site", field="shift_instance_id")
    return row


def instances_overlapping(
    conn: Connection, tenant_id: UUID, site: SiteRecord, start: datetime, end: datetime
) -> list[ShiftInstanceRecord]:
    """Stored-or-computed instances of a site overlapping ``[start, end)``, ordered by start."""
    zone = load_zone(site["timezone"])
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date()
    return [
        r for r in site_instances(conn, tenant_id, site, first, last)
        if r["starts_at"] < end and start < r["ends_at"]
    ]
