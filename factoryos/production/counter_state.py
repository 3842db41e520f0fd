"""Machine counter baselines: the last raw value of each counter folded into stored counts.

The poller's sink writes them in the same tenant transaction as the count deltas (and
counter anomalies) they close, so the stored total and the baseline always agree: after a
restart the poller counts the first reading from here and neither loses nor doubles a part.
The newest reading wins: a replayed or older baseline changes nothing. Baselines of
machines that no longer exist are skipped (nothing will count from them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import Connection, select

from factoryos.schema.production import machine_counter_state as mcs

SIGNALS = ("good", "reject")

_UPSERT = """
    insert into machine_counter_state as s (tenant_id, machine_id, signal, raw, read_at)
    select %(tenant)s, u.machine_id, u.signal, u.raw, u.read_at
    from unnest(cast(%(machines)s as uuid[]), cast(%(signals)s as text[]), cast(%(raws)s as bigint[]),
                cast(%(ats)s as timestamptz[])) as u(machine_id, signal, raw, read_at)
    join machines m on m.tenant_id = %(tenant)s and m.id = u.machine_id
    on conflict (tenant_id, machine_id, signal) do update
      set raw = excluded.raw, read_at = excluded.read_at, updated_at = now()
      where s.read_at <= excluded.read_at
"""


@dataclass(frozen=True)
class CounterStateRow:
    machine_id: UUID
    signal: str  # 'good' or 'reject'
    raw: int
    read_at: datetime


def record_counter_state(conn: Connection, tenant_id: UUID, rows: Iterable[CounterStateRow]) -> None:
    """Store the newest baseline of each machine's counters (call in the counts' transaction)."""
    latest: dict[tuple[UUID, str], CounterStateRow] = {}
    for row in rows:
        if row.signal not in SIGNALS:
            raise ValueError(f"unknown counter {row.signal!r}")
        key = (row.machine_id, row.signal)
        if key not in latest or latest[key].read_at <= row.read_at:
            latest[key] = row
    if not latest:
        return
    items = sorted(latest.values(), key=lambda r: (str(r.machine_id), r.signal))  # one lock order for all writers
    conn.exec_driver_sql(_UPSERT, {
        "tenant": tenant_id,
        "machines": [r.machine_id for r in items],
        "signals": [r.signal for r in items],
        "raws": [r.raw for r in items],
        "ats": [r.read_at for r in items],
    })


def load_counter_state(conn: Connection, tenant_id: UUID, machine_ids: Iterable[UUID]) -> list[CounterStateRow]:
    """The stored baselines of these machines."""
    ids = list(machine_ids)
    if not ids:
        return []
    rows = conn.execute(select(mcs.c.machine_id, mcs.c.signal, mcs.c.raw, mcs.c.read_at)
                        .where(mcs.c.tenant_id == tenant_id, mcs.c.machine_id.in_(ids)))
    return [CounterStateRow(r.machine_id, r.signal, r.raw, r.read_at) for r in rows]
