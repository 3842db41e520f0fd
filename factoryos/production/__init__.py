"""Shifts, plans, production and rejection entries, downtime with reason trees, machine
signals (per-minute counts and state intervals) and the loader that feeds `factoryos.kpi`.

Signal writers (the connectivity sink) call, inside a tenant transaction:

    signals.record_counts(conn, tenant_id, rows)                                  # per-minute buckets
    signals.record_state_change(conn, tenant_id, machine_id, state, raw_code, at)  # state intervals
    state_batch.record_state_changes(conn, tenant_id, [StateRow(...), ...])       # the same, set-wise
    signals.flag_overdue_stops(conn, tenant_id, now)                              # periodic sweep

Nothing is re-exported here: the client and the TUI import the pure `*_models` modules,
and importing a package runs its `__init__` first, so this file must stay free of SQL.
"""
