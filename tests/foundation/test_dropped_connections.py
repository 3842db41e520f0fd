"""The request pool is not pinged per checkout: a connection the database dropped is replaced on use."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import text

from tests.accounts import new_company


def test_requests_after_the_database_dropped_the_pools_connections_succeed(http: httpx.Client,
                                                                           superuser_engine) -> None:
    owner = new_company(http)
    with ThreadPoolExecutor(4) as pool:  # several pooled connections, all idle afterwards
        assert {r.status_code for r in pool.map(lambda _: http.get("/api/v1/sites", headers=owner.headers),
                                                range(8))} == {200}
    with superuser_engine.connect() as conn:  # what a database restart does to them
        dropped = conn.execute(text(
            "select count(pg_terminate_backend(pid)) from pg_stat_activity "
            "where application_name = 'factoryos-server' and pid <> pg_backend_pid()")).scalar_one()
    assert dropped >= 1
    for _ in range(6):
        r = http.get("/api/v1/sites", headers=owner.headers)
        assert r.status_code == 200, r.text
