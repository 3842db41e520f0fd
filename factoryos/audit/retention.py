"""Retention report: audit rows are kept at least seven years and never deleted by code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, text

RETENTION_YEARS = 7


@dataclass(frozen=True)
class PartitionInfo:
    name: str
    month: date | None
    rows: int
    past_retention: bool


def report(conn: Connection, today: date) -> list[PartitionInfo]:
    names = conn.execute(
        text(
            "select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid "
            "where i.inhparent = 'public.audit_log'::regclass order by c.relname"
        )
    ).scalars()
    cutoff = date(today.year - RETENTION_YEARS, today.month, 1)
    out = []
    for name in names:
        month = None
        if name != "audit_log_default":
            year, mon = name.removeprefix("audit_log_").split("_")
            month = date(int(year), int(mon), 1)
        rows = conn.execute(text(f'select count(*) from public."{name}"')).scalar_one()
        out.append(PartitionInfo(name, month, rows, month is not None and month < cutoff))
    return out
