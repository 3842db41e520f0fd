"""Simulated PLCs → poller runtime → PostgreSQL → `/production/live` over HTTP.

Real Modbus TCP and OPC-UA servers on loopback, settings made through the API, the
poller runtime reading them as the app role, and the live view read back over HTTP.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import httpx
import pytest

from factoryos.connectivity.runtime import PollerRuntime
from factoryos.connectivity.simulator import SimCode, Simulator
from factoryos.identity.keys import DerivedKeys
from tests.connectivity.plant_wiring import HAND_SET, Plant, build_plant, connect, disconnect, live, live_until
from tests.connectivity.support import eventually, free_port

pytestmark = pytest.mark.asyncio(loop_scope="session")






def simulator(machines: int, protocol: str) -> Simulator:
    return Simulator(machines, protocol=protocol, seed=7, opcua_port=free_port(), modbus_port=free_port(), tick=None)  # type: ignore[arg-type]


async def read_by_poller(rt: PollerRuntime, site: Plant, sim: Simulator) -> None:
    """Wait until the poller has read every simulated machine's current counters."""
    assert rt.poller is not None
    poller = rt.poller

    def done() -> bool:
        for i, m in enumerate(sim.machines):
            pid = site.poll_id(i)
            if pid not in poller.machines:
                return False
            status = poller.status(pid)
            if (status.good_raw, status.reject_raw) != (m.good_counter, m.reject_counter):
                return False
        return True

    await eventually(done, what="counters read by the poller")


async def delivered(rt: PollerRuntime) -> None:
    assert rt.poller is not None and rt.forwarder is not None
    rt.poller.flush()
    assert await rt.forwarder.wait_delivered(10)


@pytest.mark.parametrize("protocol", ["modbus", "opcua"])
async def test_counts_reach_the_live_view_exactly(protocol: str, http, client, runtime: PollerRuntime) -> None:
    site = build_plant(http, 2)
    async with simulator(2, protocol) as sim:
        await connect(client, site, sim, plausibility=HAND_SET)
        await runtime.reload()
        await read_by_poller(runtime, site, sim)  # baselines: what was made before is not counted
        first, second = sim.machines
        expected = [[0, 0], [0, 0]]

        async def bump(index: int, good: int, reject: int = 0) -> None:
            machine = sim.machines[index]
            await sim.set_counters(machine.machine_id, good=machine.good + good, reject=machine.reject + reject)
            expected[index][0] += good
            expected[index][1] += reject
            await read_by_poller(runtime, site, sim)

        await bump(0, 37, 3)
        await bump(1, 500)
        await bump(1, 4, 2)
        if protocol == "modbus":  # the first simulated Modbus machine has 16-bit counters: wrap it
            assert sim.modbus is not None and sim.modbus.layouts[first.machine_id].counter_bits == 16
            await bump(0, 65531 - first.good_counter)
            await bump(0, 12)  # 65531 → 7
            assert first.good_counter == 7
        # A PLC reset: the drop to zero is not a negative count; what follows counts.
        await sim.set_counters(second.machine_id, good=0, reject=0)
        await read_by_poller(runtime, site, sim)
        second.good, second.reject = 0, 0
        await bump(1, 25, 1)

        await delivered(runtime)
        rows = await live(client, site)
        got = [[rows[m["id"]]["good_count"], rows[m["id"]]["reject_count"]] for m in site.machines]
        assert got == expected
        for m in site.machines:
            row = rows[m["id"]]
            assert row["state"] == "running" and row["connection"]["protocol"] == protocol
            assert row["connection"]["health"]["last_error"] is None and row["connection"]["health"]["last_ok"]
        await disconnect(client, site)


@pytest.mark.slow  # waits past the site's micro-stop threshold in real time
async def test_long_unplanned_stop_opens_downtime_waiting_for_a_reason(http, client, runtime) -> None:
    site = build_plant(http, 1, micro_stop_seconds=2)
    mid = site.machines[0]["id"]
    async with simulator(1, "modbus") as sim:
        plc = sim.machines[0].machine_id
        await connect(client, site, sim)
        await runtime.reload()
        await live_until(client, site, lambda rows: rows[mid]["state"] == "running", "running")
        assert runtime.poller is not None
        status = lambda: runtime.poller.status(site.poll_id(0))  # noqa: E731

        # A micro-stop: shorter than the site's threshold, so no downtime event.
        await sim.force_state(plc, SimCode.FAULT, alarm=104)
        await eventually(lambda: status().raw_code == SimCode.FAULT, what="short fault seen")
        await sim.force_state(plc, SimCode.RUNNING)
        await eventually(lambda: status().raw_code == SimCode.RUNNING, what="running again")

        # A breakdown: still going on after the threshold, it waits for a reason …
        await sim.force_state(plc, SimCode.FAULT, alarm=207)
        rows = await live_until(client, site, lambda rows: rows[mid]["pending_downtime"], "downtime opened")
        row = rows[mid]
        assert (row["state"], row["raw_code"]) == ("unplanned_stop", SimCode.FAULT)
        (event,) = row["pending_downtime"]
        assert (event["source"], event["needs_reason"], event["ended_at"]) == ("machine", True, None)
        assert datetime.fromisoformat(event["started_at"]) == datetime.fromisoformat(row["state_since"])

        # … and keeps waiting for it once the machine runs again, now with its end.
        await sim.force_state(plc, SimCode.RUNNING)
        rows = await live_until(client, site, lambda rows: rows[mid]["pending_downtime"][0]["ended_at"], "closed")
        (event,) = rows[mid]["pending_downtime"]
        assert rows[mid]["state"] == "running" and event["needs_reason"]
        await disconnect(client, site)


@pytest.mark.slow  # a PLC goes unreachable and comes back: waits for no-data, then the reconnect
async def test_a_machine_that_goes_away_shows_offline_then_recovers(http, client, runtime) -> None:
    site = build_plant(http, 2)
    away, neighbour = (m["id"] for m in site.machines)
    async with simulator(2, "opcua") as sim:
        await connect(client, site, sim)
        await runtime.reload()
        rows = await live_until(client, site, lambda r: all(m["connection"]["health"]["last_ok"] for m in r.values()),
                                "first good polls")
        await sim.set_reachable(sim.machines[0].machine_id, False)
        rows = await live_until(client, site, lambda r: r[away]["state"] == "no_data", "no data")
        health = rows[away]["connection"]["health"]
        assert health["error_code"] == "signal_read_failed" and health["last_error"]
        assert rows[neighbour]["state"] == "running" and rows[neighbour]["connection"]["health"]["last_error"] is None

        await sim.set_reachable(sim.machines[0].machine_id, True)
        rows = await live_until(client, site, lambda r: r[away]["state"] == "running", "back")
        rows = await live_until(client, site, lambda r: r[away]["connection"]["health"]["last_error"] is None,
                                "healthy")
        assert datetime.fromisoformat(rows[away]["connection"]["health"]["last_ok"]) > datetime.fromisoformat(
            health["last_ok"])
        await disconnect(client, site)


async def test_reload_restarts_only_what_changed(http, client, runtime: PollerRuntime) -> None:
    site = build_plant(http, 3)
    async with simulator(3, "modbus") as sim:
        await connect(client, site, sim)
        await runtime.reload()  # (the periodic reload may have added them already)
        assert runtime.poller is not None
        assert set(runtime.poller.machines) >= {site.poll_id(i) for i in range(3)}
        sessions = dict(runtime.poller.sessions)
        assert (await runtime.reload()).added == ()  # nothing changed, nothing restarted

        stored = await _stored(client, site, 1)
        # Holding the reload lock keeps the periodic reload (every 0.3 s here) from taking these
        # changes first: this test's own reload must be the one that sees them.
        async with runtime._reloading:
            r = await client.put(f"/api/v1/machines/{site.machines[1]['id']}/connection",
                                 json={**stored, "poll_interval": 0.5}, headers=site.owner.headers)
            assert r.status_code == 200, r.text
            r = await client.delete(f"/api/v1/machines/{site.machines[2]['id']}/connection",
                                    headers=site.owner.headers)
            assert r.status_code == 204
            changes = await runtime._reload()
        assert (changes.added, changes.restarted, changes.removed) == ((), (site.poll_id(1),), (site.poll_id(2),))
        assert runtime.poller.machines[site.poll_id(1)].poll_interval == 0.5
        assert runtime.poller.sessions == sessions  # the shared Modbus connection stayed up

        # A retired machine is not polled; the connection stays for when it returns.
        async with runtime._reloading:
            r = await client.patch(f"/api/v1/machines/{site.machines[0]['id']}", json={"status": "retired"},
                                   headers=site.owner.headers)
            assert r.status_code == 200, r.text
            assert (await runtime._reload()).removed == (site.poll_id(0),)
        await disconnect(client, site)


async def _stored(client: httpx.AsyncClient, site: Plant, index: int) -> dict:
    r = await client.get(f"/api/v1/machines/{site.machines[index]['id']}/connection", headers=site.owner.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    return {k: body[k] for k in ("protocol", "enabled", "poll_interval", "endpoint", "signals")}


async def test_settings_the_poller_cannot_use_show_as_health(http, client, runtime, superuser_engine) -> None:
    site = build_plant(http, 1)
    async with simulator(1, "modbus") as sim:
        await connect(client, site, sim)
        # Mapping "offline" is refused by the API; written behind its back, the poller must say why.
        from sqlalchemy import text

        with superuser_engine.begin() as conn:
            conn.execute(text("""update machines set status_mapping = '{"codes": {"1": "offline"}}', """
                              "updated_at = now() where id = :m"),
                         {"m": site.machines[0]["id"]})
        await runtime.reload()
        rows = await live_until(client, site, lambda r: r[site.machines[0]["id"]]["connection"]["health"]["error_code"],
                                "config error reported")
        health = rows[site.machines[0]["id"]]["connection"]["health"]
        assert health["error_code"] == "invalid_machine_config" and "offline" in health["last_error"]
        assert runtime.poller is not None and site.poll_id(0) not in runtime.poller.machines
        await disconnect(client, site)


async def test_the_server_polls_as_a_lifespan_task(http, live_server, session_duties, settings, db_urls,
                                                    authenticator, tmp_path: Path) -> None:
    from factoryos.config import Settings
    from server.app import create_app
    from tests.conftest import LiveServer, duty_claim
    from tests.conftest import free_port as free_http_port
    from tests.waiting import until

    assert live_server.server.config.app.state.poller is None  # off unless a test turns it on
    site = build_plant(http, 1)
    mid = site.machines[0]["id"]
    polling = Settings(data_dir=tmp_path, secret_key=settings.secret_key, poller_reload_seconds=0.2)
    with session_duties.handed_over():  # polling is a duty: the server below holds them
        app = create_app(polling, db_urls.app, authenticator=authenticator, poller=polling.poller,
                         duties=duty_claim(db_urls.app))
        server = LiveServer(app, free_http_port()).start()
        try:
            until(lambda: app.state.primary, "the server holding the duties")
            assert isinstance(app.state.poller, PollerRuntime)
            async with simulator(1, "modbus") as sim, httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                await connect(client, site, sim)
                await live_until(client, site, lambda rows: rows[mid]["state"] == "running", "polled by the server")
                await sim.force_state(sim.machines[0].machine_id, SimCode.SETUP)
                await live_until(client, site, lambda rows: rows[mid]["state"] == "setup", "state change shown")
                await disconnect(client, site)
        finally:
            server.stop()
    assert (tmp_path / "connectivity" / "spool.sqlite3").is_file()


async def test_one_poller_per_data_directory(app_engine, settings, tmp_path: Path) -> None:
    from factoryos.connectivity.runtime import PollerBusy

    keys = DerivedKeys.from_secret(settings.secret_key.get_secret_value())
    async with PollerRuntime(app_engine, keys, tmp_path, reload_interval=60):
        with pytest.raises(PollerBusy, match="FACTORYOS_POLLER=0"):
            await PollerRuntime(app_engine, keys, tmp_path, reload_interval=60).start()
    async with PollerRuntime(app_engine, keys, tmp_path, reload_interval=60) as again:
        assert again.poller is not None  # the lock went with the first one
