"""`factoryos serve --workers 2`: /metrics adds up both workers, whichever of them answers."""

from __future__ import annotations

import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from scripts.drills.stack import ServerProcess, scratch_dir

pytestmark = pytest.mark.slow  # a real server with two worker processes

TOKEN = "workers-scrape-token"
HEALTH = "/api/v1/system/health"
REQUESTS = 30


def _figures(client: httpx.Client) -> dict[str, float]:
    r = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}", "Connection": "close"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    out: dict[str, float] = {"health": 0.0}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            if s.name == "factoryos_http_requests_total" and s.labels["route"] == HEALTH:
                out["health"] += s.value
            if s.name == "factoryos_db_pool_connections" and s.labels["state"] == "size":
                out["pool"] = s.value
    return out


def test_two_workers_figures_are_summed(db_urls) -> None:
    with scratch_dir("factoryos-metrics-") as data:
        server = ServerProcess(db_urls.app, data, workers=2, env={"FACTORYOS_METRICS_TOKEN": TOKEN,
                                                                  "FACTORYOS_DB_POOL_SIZE": "3"}).start(timeout=180)
        try:
            with httpx.Client(base_url=server.url, timeout=10) as client:
                deadline = time.monotonic() + 60
                while _figures(client).get("pool") != 6 and time.monotonic() < deadline:
                    time.sleep(0.2)  # until both workers have started and sampled their pools
                start = _figures(client)["health"]  # ServerProcess.start polled health a few times
                for _ in range(REQUESTS):  # fresh connections, which the kernel hands to either worker
                    assert client.get(HEALTH, headers={"Connection": "close"}).status_code == 200
                scrapes = [_figures(client) for _ in range(8)]
            # Each worker writes its figures to files in the directory the supervisor made.
            assert len(list((data / "server" / "server" / "metrics").glob("counter_*.db"))) == 2
        finally:
            server.stop()
    # Each scrape, whichever worker answered it, counts every request of both workers.
    assert [s["health"] - start for s in scrapes] == [REQUESTS] * len(scrapes)
    assert all(s["pool"] == 6 for s in scrapes)  # 3 per worker, both alive
