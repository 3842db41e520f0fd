"""What a site scope costs: one KPI request and one live-view request, by an admin of every site
and by one limited to the plant's site, over HTTP on a served plant.

    .venv/bin/python -m scripts.bench.site_scope [--machines 40] [--days 60] [--runs 30]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from datetime import timedelta
from typing import Any

import httpx

from scripts.bench.report_plant import PASSWORD, served_plant


def _member(http: httpx.Client, owner: dict[str, str], role: str) -> tuple[str, dict[str, str]]:
    code = http.post("/api/v1/invites", json={"role": role}, headers=owner).json()["code"]
    r = http.post("/api/v1/invites/accept", json={"code": code, "email": f"{role}-{uuid.uuid4().hex[:8]}@example.com",
                                                  "password": PASSWORD, "display_name": "Bench Admin"})
    r.raise_for_status()
    body = r.json()
    return body["account"]["id"], {"Authorization": f"Bearer {body['access_token']}"}


def _medians_ms(http: httpx.Client, path: str, params: dict[str, Any], who: list[dict[str, str]],
                runs: int) -> list[float]:
    """Median per caller, the callers taking turns so that a busy machine slows all of them alike."""
    times: list[list[float]] = [[] for _ in who]
    for run in range(runs + 2):
        for i, headers in enumerate(who):
            start = time.perf_counter()
            r = http.get(path, params=params, headers=headers)
            elapsed = time.perf_counter() - start
            r.raise_for_status()
            if run >= 2:  # the first two warm the caches
                times[i].append(elapsed)
    return [statistics.median(t) * 1000 for t in times]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--machines", type=int, default=40)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with served_plant(args.machines, args.days) as p:
        with httpx.Client(base_url=p.url, timeout=600) as http:
            other = http.post("/api/v1/sites", json={"name": "Other", "code": "O1", "timezone": "UTC"},
                              headers=p.headers).json()
            _, every = _member(http, p.headers, "admin")
            scoped_id, scoped = _member(http, p.headers, "admin")
            r = http.put(f"/api/v1/users/{scoped_id}/sites", json={"site_ids": [p.site_id]}, headers=p.headers)
            r.raise_for_status()
            kpi = {"scope": "site", "id": p.site_id, "from": f"{p.last_day - timedelta(days=29)}T00:00:00Z",
                   "to": f"{p.last_day}T00:00:00Z"}
            live = {"site_id": p.site_id}
            print(f"plant: {args.machines} machines, {args.days} days, {p.rows} records; other site {other['id'][:8]}")
            for name, path, params in (("KPI /kpis/oee, 30 days of a site", "/api/v1/kpis/oee", kpi),
                                       ("live view of a site (snapshot)", "/api/v1/production/live", live)):
                a, b = _medians_ms(http, path, params, [every, scoped], args.runs)
                print(f"{name}: every site {a:.1f} ms, scoped {b:.1f} ms (median of {args.runs})")


if __name__ == "__main__":
    main()
