"""What an operation has produced: the counts that belong to its runs.

A PLC minute bucket belongs to the run on that machine whose [started_at, ended_at) holds the
minute's midpoint (minute + 30 s); hand entries and rejections belong to the operation they
name. The operator's final figures, given at completion, override what was counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from sqlalchemy import Connection, text

# Buckets are matched by their minute (the primary key's last column) so the index serves the range.
_COUNTS = text(
    """
    with ops as (
      select o.id, o.final_good, o.final_scrap from order_operations o
      where o.tenant_id = :tenant and o.id = any(cast(:ids as uuid[]))
    ), plc as (
      select r.operation_id, sum(b.good) as good, sum(b.reject) as reject
      from operation_runs r
      join machine_count_buckets b
        on b.tenant_id = r.tenant_id and b.machine_id = r.machine_id
       and b.minute >= r.started_at - interval '30 seconds'
       and (r.ended_at is null or b.minute < r.ended_at - interval '30 seconds')
      where r.tenant_id = :tenant and r.operation_id in (select id from ops)
      group by r.operation_id
    ), hand as (
      select e.operation_id, sum(e.good_quantity) as good from production_entries e
      where e.tenant_id = :tenant and e.operation_id in (select id from ops) group by e.operation_id
    ), scrap as (
      select j.operation_id, sum(j.quantity) as reject from rejection_entries j
      where j.tenant_id = :tenant and j.operation_id in (select id from ops) group by j.operation_id
    )
    select o.id,
           coalesce(o.final_good, coalesce(plc.good, 0) + coalesce(hand.good, 0)) as good,
           coalesce(o.final_scrap, coalesce(plc.reject, 0) + coalesce(scrap.reject, 0)) as scrap
    from ops o
    left join plc on plc.operation_id = o.id
    left join hand on hand.operation_id = o.id
    left join scrap on scrap.operation_id = o.id
    """
)


def operation_counts(conn: Connection, tenant_id: UUID, operation_ids: Iterable[UUID]) -> dict[UUID, tuple[int, int]]:
    """(good, scrap) per operation; operations of another tenant or unknown ids are left out."""
    ids = [str(i) for i in dict.fromkeys(operation_ids)]
    if not ids:
        return {}
    rows = conn.execute(_COUNTS, {"tenant": tenant_id, "ids": ids})
    return {r.id: (int(r.good), int(r.scrap)) for r in rows}


# The same rule for one run: what it counted (for its confirmation when it ends).
_RUN_COUNTS = text(
    """
    select
      coalesce((select sum(b.good) from machine_count_buckets b
                where b.tenant_id = r.tenant_id and b.machine_id = r.machine_id
                  and b.minute >= r.started_at - interval '30 seconds'
                  and (cast(:until as timestamptz) is null
                       or b.minute < cast(:until as timestamptz) - interval '30 seconds')), 0)
      + coalesce((select sum(e.good_quantity) from production_entries e
                  where e.tenant_id = r.tenant_id and e.operation_id = r.operation_id and e.machine_id = r.machine_id
                    and e.started_at >= r.started_at
                    and (cast(:until as timestamptz) is null or e.started_at < cast(:until as timestamptz))), 0) as good,
      coalesce((select sum(b.reject) from machine_count_buckets b
                where b.tenant_id = r.tenant_id and b.machine_id = r.machine_id
                  and b.minute >= r.started_at - interval '30 seconds'
                  and (cast(:until as timestamptz) is null
                       or b.minute < cast(:until as timestamptz) - interval '30 seconds')), 0)
      + coalesce((select sum(j.quantity) from rejection_entries j
                  where j.tenant_id = r.tenant_id and j.operation_id = r.operation_id and j.machine_id = r.machine_id
                    and j.occurred_at >= r.started_at
                    and (cast(:until as timestamptz) is null or j.occurred_at < cast(:until as timestamptz))), 0) as scrap
    from operation_runs r where r.tenant_id = :tenant and r.id = :run
    """
)


def run_counts(conn: Connection, tenant_id: UUID, run_id: UUID, until: datetime | None) -> tuple[int, int]:
    """(good, scrap) counted in one run up to `until` (its end; None: all of a run still open)."""
    row = conn.execute(_RUN_COUNTS, {"tenant": tenant_id, "run": run_id, "until": until}).one()
    return int(row.good), int(row.scrap)
