"""A demo stopped and started again: the simulated PLCs resume their counters, so the first readings
after the restart count from the stored baselines and nothing is invented or held as a jump."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from factoryos.config import Settings
from factoryos.connectivity.simulator import Simulator
from factoryos.db.engine import admin_engine
from factoryos.demo.simulators import DEMO_SEED
from tests.conftest import free_port
from tests.demo.test_demo import _start_demo

pytestmark = pytest.mark.slow


def test_a_restarted_demo_counts_on_from_where_its_plcs_stopped(pg_tmp: Path) -> None:
    first = _start_demo(pg_tmp, free_port(), 20)
    _, err = first.communicate(timeout=240)
    assert first.returncode == 0, err
    kept_file = pg_tmp / "demo" / "simulator-counters.json"
    kept = json.loads(kept_file.read_text())["machines"]
    assert len(kept) == 24
    second = _start_demo(pg_tmp, free_port(), 20)
    _, err = second.communicate(timeout=240)
    assert second.returncode == 0, err
    resumed = json.loads(kept_file.read_text())["machines"]
    # No counter went back: the PLCs resumed where they stopped, and made parts only while running.
    assert all(resumed[m]["good"] >= c["good"] and resumed[m]["reject"] >= c["reject"] for m, c in kept.items())
    assert sum(resumed[m]["good"] - c["good"] for m, c in kept.items()) > 0
    with admin_engine(Settings(data_dir=pg_tmp / "demo")) as engine, engine.connect() as conn:
        jumps = conn.execute(text("select count(*) from counter_anomalies")).scalar_one()
        good, reject = conn.execute(text("select coalesce(sum(good), 0), coalesce(sum(reject), 0) "
                                         "from machine_count_buckets")).one()
    assert jumps == 0, "the restart was read as a counter jump"
    # Everything stored was made: never more than the counters moved since their seeded values.
    seeded = {m.machine_id: (m.good, m.reject) for m in Simulator(24, protocol="both", seed=DEMO_SEED).machines}
    assert 0 < good <= sum(r["good"] - seeded[m][0] for m, r in resumed.items())
    assert reject <= sum(r["reject"] - seeded[m][1] for m, r in resumed.items())
