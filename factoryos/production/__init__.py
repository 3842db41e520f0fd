"""Shifts, plans, production and rejection entries, downtime with reason trees, machine
signals (per-minute counts and state intervals) and the loader that feeds `factoryos.kpi`.

Signal writers (the connectivity sink) call, inside a tenant transaction:

    record_counts(conn, tenant_id, rows)                                  # per-minute buckets
    record_state_change(conn, tenant_id, machine_id, state, raw_code, at)  # state intervals
    record_state_changes(conn, tenant_id, [StateRow(...), ...])           # the same, set-wise
    flag_overdue_stops(conn, tenant_id, now)                              # periodic sweep
"""

from factoryos.production.signals import CountRow, flag_overdue_stops, record_counts, record_state_change
from factoryos.production.state_batch import StateRow, record_state_changes

__all__ = ["CountRow", "StateRow", "flag_overdue_stops", "record_counts", "record_state_change",
           "record_state_changes"]
