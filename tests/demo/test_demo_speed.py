"""`factoryos demo --speed N`: the demo's PLCs at N× speed still never make parts faster than the
machines' rated cycle, so performance (and OEE) stay real figures, not N× invented ones."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from factoryos.config import Settings
from factoryos.db.engine import DatabaseUrls, admin_engine, embedded_urls
from factoryos.demo.credentials import DemoLogin
from factoryos.demo.dataset import PEOPLE, machine_codes
from factoryos.demo.provision import Provisioner
from factoryos.demo.simulators import SimulatorThread
from tests.cluster_template import start_migrated
from tests.conftest import TEST_DB, LiveServer, free_port
from tests.demo.test_demo import _start_demo, _wait_for
from tests.waiting import until

pytestmark = pytest.mark.slow  # a cluster and a polling server of its own, and half a minute of production

SPEED = 10
WINDOW = 30  # s of production judged: long enough that one part more or less per machine cannot tip it


@pytest.fixture()
def own_cluster(pg_tmp: Path) -> Iterator[DatabaseUrls]:
    """A migrated cluster of this test's own: its poller reads the demo's PLCs and nobody else's machines."""
    server = start_migrated(pg_tmp, TEST_DB)
    try:
        yield embedded_urls(server, TEST_DB)
    finally:
        server.stop()


def test_a_fast_demo_shows_performance_at_most_the_rated_rate(own_cluster: DatabaseUrls, settings: Settings,
                                                               authenticator, tmp_path: Path) -> None:
    from server.app import create_app

    mine = settings.model_copy(update={"data_dir": tmp_path, "poller_reload_seconds": 0.5})
    tag = uuid.uuid4().hex[:8]
    logins = {p.key: DemoLogin(p.key, f"{p.key}-{tag}@demo.example.com", f"pw-{tag}-{p.key}", p.role, p.display_name)
              for p in PEOPLE}
    sims = SimulatorThread(len(machine_codes()), opcua_port=free_port(), modbus_port=free_port(), speed=SPEED)
    configs = sims.start()
    server = LiveServer(create_app(mine, own_cluster.app, authenticator=authenticator, poller=True), free_port())
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            prov = Provisioner(http, logins)
            plant = prov.seed(configs)
            # Counts are kept per minute: the range starts on a whole minute before the first reading
            # (each machine's time then starts at its first reading, its counts all fall inside).
            start = datetime.now(UTC).replace(second=0, microsecond=0)
            prov.connect(plant, configs)
            prov.login("supervisor")
            headers = prov.headers("supervisor")

            def live() -> list[dict]:
                return [m for s in plant.sites.values() for m in http.get(
                    "/api/v1/production/live", params={"site_id": s["id"]}, headers=headers).json()["machines"]]

            until(lambda: sum(m["state"] != "offline" for m in live()) >= 20, "the poller reading the PLCs", 60, 0.5)
            time.sleep(WINDOW)
            end = datetime.now(UTC)
            ideal = run = 0.0
            for site in plant.sites.values():
                r = http.get("/api/v1/kpis/oee", headers=headers, params={
                    "scope": "site", "id": site["id"], "from": start.isoformat(), "to": end.isoformat()})
                assert r.status_code == 200, r.text
                ideal += r.json()["totals"]["ideal_seconds"]
                run += r.json()["totals"]["run_seconds"]
    finally:
        server.stop()
        sims.stop()
    # The plant's figure (times summed, divided last): parts made at speed N against their real
    # standard read N× too fast.
    assert run > 0
    assert 0 < ideal / run <= 1, f"performance {ideal / run:.0%} (ideal {ideal:.0f} s, run {run:.0f} s)"


def test_runs_at_different_speeds_keep_the_counters_and_add_up_to_a_real_figure(pg_tmp: Path) -> None:
    """`factoryos demo --speed 10`, then `--speed 1` on the same data: the PLCs resume their counters
    (no jump, none went back), and the shift's figure over both runs stays at most the rated rate."""
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    fast = _start_demo(pg_tmp, free_port(), 20, "--speed", str(SPEED))
    out, err = fast.communicate(timeout=240)
    assert fast.returncode == 0, err
    assert f"speed {SPEED}: " in out and "rated cycle" in out
    kept_file = pg_tmp / "demo" / "simulator-counters.json"
    kept = json.loads(kept_file.read_text())["machines"]

    port = free_port()
    slow = _start_demo(pg_tmp, port, 40)
    try:
        sup = json.loads((pg_tmp / "demo" / "demo-credentials.json").read_text())["supervisor"]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            token = _wait_for(lambda: http.post("/api/v1/auth/login", json={
                "email": sup["email"], "password": sup["password"]}).json()["access_token"], 90, "the second run")
            headers = {"Authorization": f"Bearer {token}"}
            sites = http.get("/api/v1/sites", headers=headers).json()["items"]
            time.sleep(20)  # the second run's production, at the real pace
            ideal = run = 0.0
            for site in sites:
                r = http.get("/api/v1/kpis/oee", headers=headers, params={
                    "scope": "site", "id": site["id"], "from": start.isoformat(), "to": datetime.now(UTC).isoformat()})
                assert r.status_code == 200, r.text
                ideal += r.json()["totals"]["ideal_seconds"]
                run += r.json()["totals"]["run_seconds"]
        out, err = slow.communicate(timeout=150)
    finally:
        if slow.poll() is None:
            slow.kill()
    assert slow.returncode == 0, err
    assert "come and go" not in out  # nothing to say at the real pace
    assert run > 0 and 0 < ideal / run <= 1, f"performance {ideal / run:.0%} (ideal {ideal:.0f} s, run {run:.0f} s)"
    resumed = json.loads(kept_file.read_text())["machines"]
    assert all(resumed[m]["good"] >= c["good"] and resumed[m]["reject"] >= c["reject"] for m, c in kept.items())
    assert sum(resumed[m]["good"] - c["good"] for m, c in kept.items()) > 0
    with admin_engine(Settings(data_dir=pg_tmp / "demo")) as engine, engine.connect() as conn:
        assert conn.execute(text("select count(*) from counter_anomalies")).scalar_one() == 0
