"""The period's raw entries (production, rejections, downtime), streamed from a server-side cursor.

The renderers call `rows()` inside the request's transaction and see one batch at a time,
so a million-row export never sits in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, text

from factoryos.reports.builders.period import Period
from factoryos.reports.model import Column, RawEntries, Row, ValueType

T = ValueType
BATCH = 5000

RAW_COLUMNS = (
    Column("start", "Start", T.DATETIME),
    Column("end", "End", T.DATETIME),
    Column("machine", "Machine"),
    Column("code", "Code"),
    Column("shift", "Shift"),
    Column("operator", "Operator"),
    Column("event", "Event"),
    Column("reason", "Reason"),
    Column("duration", "Duration", T.DURATION),
    Column("good", "Good", T.INT),
    Column("rejects", "Rejects", T.INT),
    Column("note", "Note"),
)

_ENTRIES = """
select e.started_at as at, e.ended_at as until, e.machine_id, e.shift_instance_id, e.operator_id,
       'Production' as event, null::uuid as reason_id, e.good_quantity as good, 0 as rejects, e.note
from production_entries e
where e.tenant_id = :tenant and e.machine_id = any(cast(:machines as uuid[]))
  and e.started_at >= :start and e.started_at < :end
union all
select r.occurred_at, null, r.machine_id, r.shift_instance_id, r.operator_id,
       'Rejection', r.reason_id, 0, r.quantity, r.note
from rejection_entries r
where r.tenant_id = :tenant and r.machine_id = any(cast(:machines as uuid[]))
  and r.occurred_at >= :start and r.occurred_at < :end
union all
select d.started_at, d.ended_at, d.machine_id, null, null,
       case when d.planned then 'Planned stop' else 'Downtime' end, d.reason_id, null, null, d.note
from downtime_events d
where d.tenant_id = :tenant and d.machine_id = any(cast(:machines as uuid[]))
  and d.started_at < :end and (d.ended_at is null or d.ended_at > :start)
"""

_ROWS = text(f"""
select x.at, x.until, m.name, m.code,
       si.name || ' ' || to_char(si.local_date, 'YYYY-MM-DD'),
       coalesce(u.display_name, u.email), x.event, lr.name, x.until - x.at, x.good, x.rejects, x.note
from ({_ENTRIES}) x
join machines m on m.id = x.machine_id and m.tenant_id = :tenant
left join shift_instances si on si.id = x.shift_instance_id and si.tenant_id = :tenant
left join users u on u.id = x.operator_id
left join loss_reasons lr on lr.id = x.reason_id and lr.tenant_id = :tenant
order by x.at, m.code, x.event
""")

_COUNT = text(f"select count(*) from ({_ENTRIES}) x")


def raw_entries(conn: Connection, tenant_id: UUID, period: Period) -> RawEntries:
    params: dict[str, Any] = {"tenant": tenant_id, "machines": [m["id"] for m in period.machines],
                              "start": period.start, "end": period.end}
    count = int(conn.execute(_COUNT, params).scalar_one()) if period.machines else 0

    def rows() -> Iterator[Row]:
        if not period.machines:
            return
        # Per statement: `conn.execution_options()` would switch every later query to a cursor too.
        result = conn.execute(_ROWS, params, execution_options={"yield_per": BATCH})
        try:
            for row in result:
                yield tuple(row)
        finally:
            result.close()

    return RawEntries(columns=RAW_COLUMNS, rows=rows, count=count)
