"""A short run of the load generator: no errors, and every accepted entry stored once."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from scripts.bench.api_load import Stats, generate
from scripts.drills.plant import join, new_company, seed_plant

pytestmark = pytest.mark.slow  # a drill: scripts/test.sh --all and CI run it


def test_short_load_has_no_errors_and_loses_nothing(http, live_server, superuser_engine) -> None:
    owner = new_company(http, "Short load works")
    plant = seed_plant(http, owner, machines=6, per_line=3, terminals=6, cycle_seconds="0.01")
    dashboards = [join(http, owner, "read_only", "Wall board")]
    stats = Stats()

    asyncio.run(generate(live_server.url, plant, dashboards, 8.0, stats))

    assert dict(stats.errors) == {}, stats.error_samples
    assert stats.entries_lost == 0
    assert {"POST entry", "GET live (line)", "GET live (site)", "GET kpis/oee (site)"} <= set(stats.latencies)
    with superuser_engine.connect() as conn:
        stored = conn.execute(text("select count(*), count(distinct (machine_id, started_at)) "
                                   "from production_entries where tenant_id = :t"), {"t": owner.tenant_id}).one()
    assert stats.entries_created > 0
    assert tuple(stored) == (stats.entries_created, stats.entries_created)
