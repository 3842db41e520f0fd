"""The ingest benchmark's two paths store every event (the benchmark compares their speed)."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest
from sqlalchemy import text

from scripts.bench.ingest import (
    CYCLE,
    EPOCH,
    count_rows,
    run_counts,
    run_raw_counts,
    run_raw_states,
    run_states,
    state_events,
)
from scripts.drills.plant import new_company, seed_plant

pytestmark = pytest.mark.slow  # a drill: scripts/test.sh --all and CI run it

MACHINES = 4


def _buckets(engine, tenant, start, end):
    with engine.connect() as conn:
        return conn.execute(text("select count(*), coalesce(sum(good), 0), coalesce(sum(reject), 0) "
                                 "from machine_count_buckets where tenant_id = :t and minute >= :a and minute < :b"),
                            {"t": tenant, "a": start, "b": end}).one()


def _intervals(engine, tenant, start, end):
    with engine.connect() as conn:
        return conn.execute(text("select count(*), count(*) filter (where ended_at is null) "
                                 "from machine_state_intervals where tenant_id = :t "
                                 "and started_at >= :a and started_at < :b"),
                            {"t": tenant, "a": start, "b": end}).one()


def test_both_paths_store_every_event(http, app_engine, superuser_engine) -> None:
    owner = new_company(http, "Ingest test works")
    plant = seed_plant(http, owner, machines=MACHINES)
    tenant = UUID(owner.tenant_id)
    machines = [UUID(m) for m in plant.machine_ids]

    rows = count_rows(machines, 1000, EPOCH)
    run_counts(app_engine, tenant, rows, 300)
    run_counts(app_engine, tenant, rows[:300], 300)  # a replayed spool batch adds nothing
    raw = count_rows(machines, 1000, EPOCH + timedelta(days=1))
    run_raw_counts(app_engine, tenant, raw, 300)
    for made, start in ((rows, EPOCH), (raw, EPOCH + timedelta(days=1))):
        assert tuple(_buckets(superuser_engine, tenant, start, start + timedelta(days=1))) == (
            len(made), sum(r.good for r in made), sum(r.reject for r in made))

    later, earlier = EPOCH + timedelta(days=10), EPOCH - timedelta(days=10)
    events = state_events(machines, 120, later)
    run_states(app_engine, tenant, events, 50)
    raw_events = state_events(machines, 120, earlier)
    run_raw_states(app_engine, tenant, raw_events, 50)
    assert tuple(_intervals(superuser_engine, tenant, later, later + timedelta(days=5))) == (120, MACHINES)
    assert tuple(_intervals(superuser_engine, tenant, earlier, earlier + timedelta(days=5))) == (120, 0)

    # Every closed unplanned stop of the cycle outlasts the 120 s micro-stop threshold: one downtime each.
    stops = sum(1 for i, e in enumerate(events) if e[1] == "unplanned_stop" and i + MACHINES < len(events))
    assert CYCLE[-1][2] >= 120 and stops > 0
    with superuser_engine.connect() as conn:
        flagged = conn.execute(text("select count(*) from downtime_events where tenant_id = :t and needs_reason"),
                               {"t": tenant}).scalar_one()
    assert flagged == stops
