"""Replication lag in health, status rows and metrics, on two real clusters: a primary with the
FactoryOS schema and a standby cloned from it, a live server on each. The primary's health names
its standby and its lag; the standby's health says it is one and warns once replay falls behind the
RPO; a standby gone is a warning on the primary and leaves the lag metric."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import make_url

from factoryos.backup.standby import REPLICATION_ROLE, clone, create_replication_role
from factoryos.client.health_rows import health_parts
from factoryos.db.embedded import EmbeddedPostgres
from factoryos.db.roles import APP_ROLE
from tests.backup.pitr_support import DATABASE, Archived
from tests.backup.support import backup_settings, sql, start_app
from tests.conftest import LiveServer, pg_data_dir

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

RPO = 10
TOKEN = "replication-metrics-token-" + "m" * 20


@dataclass
class Pair:
    primary: Archived
    standby: EmbeddedPostgres
    standby_dir: Path
    on_primary: LiveServer
    on_standby: LiveServer

    @property
    def standby_url(self) -> str:
        return self.standby.url("postgres", DATABASE)


def _app_url(superuser_url: str) -> str:
    return make_url(superuser_url).set(username=APP_ROLE).render_as_string(hide_password=False)



@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    with pg_data_dir() as root:
        primary = Archived(root / "a", root / "a-backups").start(prepare=True)
        standby: EmbeddedPostgres | None = None
        servers: list[LiveServer] = []
        try:
            create_replication_role(primary.source_url, "the-standbys-own-password")
            as_role = make_url(primary.source_url).set(username=REPLICATION_ROLE, database="postgres")
            clone(as_role.render_as_string(hide_password=False), root / "b" / "pg")
            standby = EmbeddedPostgres(root / "b").start()
            for name, url in (("srv-a", primary.source_url), ("srv-b", standby.url("postgres", DATABASE))):
                settings = backup_settings(root / name, DATABASE, rpo_seconds=RPO, metrics_token=TOKEN)
                servers.append(start_app(_app_url(url), settings, url))
            yield Pair(primary, standby, root / "b", servers[0], servers[1])
        finally:
            for server in servers:
                server.stop()
            if standby is not None:
                standby.stop()
            primary.stop()


def _replication(server: LiveServer, until: Any, timeout: float = 60) -> dict[str, Any]:
    """The health answer's replication part once `until(part)` holds (it is read every few seconds)."""
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=server.url, timeout=30) as http:
        while True:
            body = http.get("/api/v1/system/health").json()
            part = body.get("replication")
            if part is not None and until(part):
                return body
            assert time.monotonic() < deadline, f"replication part never as expected: {part}"
            time.sleep(0.5)


def _metrics(server: LiveServer) -> str:
    reply = httpx.get(f"{server.url}/metrics", headers={"authorization": f"Bearer {TOKEN}"}, timeout=30)
    assert reply.status_code == 200, reply.text
    return reply.text


def test_the_primary_shows_its_standby_streaming_and_its_lag(pair: Pair) -> None:
    pair.primary.sql("insert into pitr_probe (id) values (1)")
    body = _replication(pair.on_primary, lambda p: p["standbys"] and p["standbys"][0]["state"] == "streaming")
    part = body["replication"]
    assert part["role"] == "primary" and part["ok"] is True and part["detail"] is None and part["rpo_seconds"] == RPO
    [standby] = part["standbys"]
    assert standby["lag_bytes"] is not None and 0 <= standby["lag_bytes"] < 16 * 1024 * 1024
    assert standby["lag_seconds"] is not None and 0 <= standby["lag_seconds"] < RPO
    assert body["status"] == "ok"
    rows = {key: (state, detail) for key, _, state, detail in health_parts(body)}
    assert rows["replication"][0] == "OK"
    assert rows["replication"][1].startswith(f"primary, standby {standby['name']} streaming, lag ")
    # The archiver's pg_receivewal is a walsender too, but not a standby.
    assert all(s["name"] != "factoryos-wal" for s in part["standbys"])
    text_ = _metrics(pair.on_primary)
    assert f'factoryos_replication_lag_seconds{{standby="{standby["name"]}"}}' in text_
    assert f'factoryos_replication_lag_bytes{{standby="{standby["name"]}"}}' in text_


def test_the_standby_says_it_is_one_and_warns_past_the_rpo(pair: Pair) -> None:
    body = _replication(pair.on_standby, lambda p: p["role"] == "standby" and p["streaming"] and p["ok"])
    part = body["replication"]
    assert part["standbys"] == [] and part["lag_seconds"] is not None and part["lag_seconds"] <= RPO
    assert "a standby (read-only until `factoryos standby promote`)" in part["detail"]
    assert 'factoryos_replication_lag_seconds{standby="self"}' in _metrics(pair.on_standby)

    pair.primary.sql("insert into pitr_probe (id) values (2)")
    _replication(pair.on_standby, lambda p: p["ok"] and p["lag_seconds"] == 0)
    assert sql(pair.standby_url, "select count(*) from pitr_probe where id = 2") == 1
    sql(pair.standby_url, "select pg_wal_replay_pause()")
    try:
        pair.primary.sql("insert into pitr_probe (id) values (3)")
        body = _replication(pair.on_standby, lambda p: not p["ok"], timeout=RPO + 30)
        part = body["replication"]
        assert part["lag_seconds"] > RPO and part["lag_bytes"] > 0
        assert part["detail"] == (f"this standby is {part['lag_seconds']:.0f} s behind its primary, more than the "
                                  f"RPO of {RPO} s")  # fmt: skip
        rows = {key: (state, detail) for key, _, state, detail in health_parts(body)}
        assert rows["replication"][0] == "PROBLEM" and rows["replication"][1].startswith("standby, streaming, lag ")
    finally:
        sql(pair.standby_url, "select pg_wal_replay_resume()")
    _replication(pair.on_standby, lambda p: p["ok"])
    assert sql(pair.standby_url, "select count(*) from pitr_probe where id in (2, 3)") == 2


def test_a_standby_gone_is_a_warning_on_the_primary(pair: Pair) -> None:
    # Caught up first: a lag left from an earlier test would make the primary "not ok" while still streaming.
    streaming = _replication(pair.on_primary, lambda p: p["ok"] and p["standbys"])
    name = streaming["replication"]["standbys"][0]["name"]
    assert f'factoryos_replication_lag_seconds{{standby="{name}"}}' in _metrics(pair.on_primary)
    pair.standby.stop()
    try:
        body = _replication(pair.on_primary, lambda p: not p["ok"] and p["standbys"][0]["state"] != "streaming")
        part = body["replication"]
        [away] = part["standbys"]
        assert away["state"] == "disconnected" and away["lag_seconds"] is None
        assert part["detail"] == f"standby {away['name']} is disconnected"
        assert body["status"] == "ok"  # replication informs; the database decides 200/503
        # (Both test servers share this process's metrics: the standby's own figure is there too.)
        text_ = _metrics(pair.on_primary)
        assert f'factoryos_replication_lag_seconds{{standby="{name}"}}' not in text_  # unknown, not 0
        assert f'factoryos_replication_lag_bytes{{standby="{name}"}}' in text_  # the WAL kept for it
    finally:
        pair.standby = EmbeddedPostgres(pair.standby_dir).start()
    _replication(pair.on_primary, lambda p: p["ok"] and p["standbys"][0]["state"] == "streaming")
