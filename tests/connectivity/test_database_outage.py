"""The database goes down for 30 s while machines are polled: nothing is lost, nothing doubled.

A PostgreSQL of its own (never the session's) is stopped and started again under the
running poller; counts made meanwhile wait in the spool and reach the buckets exactly.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, pool, text

from factoryos.connectivity.backoff import Backoff
from factoryos.connectivity.connection_models import ConnectionIn
from factoryos.connectivity.connections import put_connection
from factoryos.connectivity.events import Event
from factoryos.connectivity.machine_ref import poll_id
from factoryos.connectivity.poller import PollerSettings
from factoryos.connectivity.runtime import PollerRuntime
from factoryos.connectivity.simulator import SimCode, Simulator
from factoryos.db import migrate
from factoryos.db.embedded import EmbeddedPostgres
from factoryos.db.engine import embedded_urls, make_engine
from factoryos.db.roles import init_database
from factoryos.db.tenant import tenant_transaction
from factoryos.identity.keys import DerivedKeys
from tests.connectivity.plant_wiring import HAND_SET, SIM_MAPPING, connection_body
from tests.connectivity.support import eventually, free_port

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.slow]
OUTAGE = 30.0


def _seed(superuser: Engine, machines: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    tenant = uuid.uuid4()
    with superuser.begin() as conn:
        conn.execute(text("insert into companies (tenant_id, name) values (:t, 'Outage Works')"), {"t": tenant})
        site = conn.execute(text("insert into sites (tenant_id, name, code, timezone) values (:t, 'Plant', 'P', 'UTC') "
                                 "returning id"), {"t": tenant}).scalar_one()
        ids = [
            conn.execute(text("insert into machines (tenant_id, site_id, name, code, ideal_cycle_seconds, "
                              "status_mapping) values (:t, :s, 'Press', :c, 1, cast(:m as jsonb)) returning id"),
                         {"t": tenant, "s": site, "c": f"M{i}", "m": json.dumps(SIM_MAPPING)}).scalar_one()
            for i in range(machines)
        ]
    return tenant, ids


def _totals(superuser: Engine, machine_id: uuid.UUID) -> list[int]:
    with superuser.connect() as conn:
        row = conn.execute(text("select coalesce(sum(good), 0), coalesce(sum(reject), 0) from machine_count_buckets "
                                "where machine_id = :m"), {"m": machine_id}).one()
    return [row[0], row[1]]


async def test_database_down_for_30_s_loses_and_doubles_nothing(pg_tmp: Path, tmp_path: Path) -> None:
    pg = EmbeddedPostgres(pg_tmp).start()
    try:
        urls = embedded_urls(pg, "outage")
        init_database(urls.admin, "outage")
        migrate.upgrade(urls.owner)
        superuser = create_engine(pg.url("postgres", "outage"), poolclass=pool.NullPool)
        engine = make_engine(urls.app, pool_size=2)
        try:
            await _poll_through_outage(pg, engine, superuser, tmp_path)
        finally:
            engine.dispose()
            superuser.dispose()
    finally:
        pg.stop()


async def _poll_through_outage(pg: EmbeddedPostgres, engine: Engine, superuser: Engine, tmp_path: Path) -> None:
    tenant, machine_ids = _seed(superuser, 2)
    keys = DerivedKeys.from_secret("outage-test-secret-" + "x" * 32)
    loop = asyncio.get_running_loop()
    async with Simulator(2, protocol="modbus", seed=3, modbus_port=free_port(), tick=None) as sim:
        with tenant_transaction(engine, tenant) as conn:
            for machine_id, config in zip(machine_ids, sim.machine_configs(), strict=True):
                put_connection(conn, tenant, machine_id, ConnectionIn(**connection_body(config, 0.2, HAND_SET)), keys)
        runtime = PollerRuntime(engine, keys, tmp_path / "poller", reload_interval=0.5, sweep_interval=1.0,
                                settings=PollerSettings(coalesce_window=0.01), sink_backoff=Backoff(0.2, 2.0))
        stored: list[Event] = []
        write = runtime.sink.write

        async def recording(events: Sequence[Event]) -> None:  # the real sink, remembering what it stored
            await write(events)
            stored.extend(events)

        runtime.sink.write = recording  # type: ignore[method-assign]
        await runtime.start()
        try:
            assert runtime.poller is not None and runtime.forwarder is not None
            poller, forwarder = runtime.poller, runtime.forwarder
            pids = [poll_id(tenant, m) for m in machine_ids]
            assert set(poller.machines) == set(pids)
            plc = dict(zip(pids, sim.machines, strict=True))
            by_machine = dict(zip(pids, machine_ids, strict=True))
            expected = {pid: [0, 0] for pid in pids}

            async def bump(good: int, reject: int) -> None:
                for pid, machine in plc.items():
                    await sim.set_counters(machine.machine_id, good=machine.good + good, reject=machine.reject + reject)
                    expected[pid][0] += good
                    expected[pid][1] += reject
                await eventually(lambda: all(poller.status(p).good_raw == m.good_counter for p, m in plc.items()),
                                 what="counters read")
                poller.flush()

            await eventually(lambda: all(poller.status(p).good_raw == m.good_counter for p, m in plc.items()),
                             what="baselines")
            await bump(10, 1)
            assert await forwarder.wait_delivered(10)
            assert [_totals(superuser, by_machine[p]) for p in plc] == [expected[p] for p in plc]

            pg.stop()
            down_at = loop.time()
            first = sim.machines[0]
            step = 0
            while loop.time() - down_at < OUTAGE:
                step += 1
                await bump(3 + step, step % 2)
                if step == 3:
                    await sim.force_state(first.machine_id, SimCode.FAULT, alarm=101)
                if step == 6:
                    await sim.force_state(first.machine_id, SimCode.RUNNING)
                await asyncio.sleep(2.5)
            assert forwarder.last_error is not None and runtime.last_reload_error is not None
            assert set(poller.machines) == set(pids)  # a failed reload keeps polling what it had
            assert len(forwarder.spool) > 0
            pg.start()

            assert await forwarder.wait_delivered(30), f"{forwarder.pending} events still spooled"
            assert [_totals(superuser, by_machine[p]) for p in plc] == [expected[p] for p in plc]
            with superuser.connect() as conn:
                states = conn.execute(text("select state from machine_state_intervals where machine_id = :m "
                                           "order by started_at"), {"m": machine_ids[0]}).scalars()
                assert list(states) == ["running", "unplanned_stop", "running"]

            # Delivering everything a second time (as after a crash before the spool was acknowledged).
            await write(stored)
            assert [_totals(superuser, by_machine[p]) for p in plc] == [expected[p] for p in plc]
        finally:
            await runtime.stop()
