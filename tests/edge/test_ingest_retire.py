"""Ingest processes that leave the shared subscription for good, on a real Mosquitto (MQTT 5,
persistence on, queues unbounded for offline sessions).

A process stopped cleanly ends its session (DISCONNECT with session expiry 0): everything published
afterwards reaches the process that stays, at once. A process that crashed (`factoryos ingest`
killed with SIGKILL) keeps a session at the broker that queues a share of the messages for it; the
`factoryos ingest --retire CLIENT_ID` command stores what was queued and ends that session, after
which the one left gets everything; it refuses to touch the session of a process that is running.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest

from factoryos.connectivity.events import CountDelta
from factoryos.connectivity.sparkplug import events as spb
from factoryos.connectivity.sparkplug.host import NAMESPACE
from factoryos.ingest.service import IngestService
from tests.cli_support import Outcome, one_red_line
from tests.connectivity.support import eventually
from tests.edge.broker import INGEST_PASSWORD, INGEST_USER, EdgeBroker
from tests.edge.harness import build_company, ingest_broker, register_edge, totals, write_broker_files

pytestmark = pytest.mark.asyncio(loop_scope="session")
BURST = 40  # messages per burst: with two members, about half would wait for one gone
SOON = 5.0  # s within which a burst is stored by the process that stays


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EdgeBroker]:
    b = EdgeBroker(tmp_path / "broker")
    yield b
    b.stop()


def _minute():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime.now(UTC).replace(second=0, microsecond=0)


def _tls(broker: EdgeBroker):  # type: ignore[no-untyped-def]
    import ssl

    return ssl.create_default_context(cafile=str(broker.ca))


async def _burst(broker: EdgeBroker, edge: dict, group: str, machine_poll_id: str, count: int) -> None:
    """`count` DDATA messages of one part each, as the edge publishes them (QoS 1)."""
    device = machine_poll_id.split("/")[1]
    async with aiomqtt.Client("127.0.0.1", broker.port, username=edge["mqtt_username"], password=edge["secret"],
                              protocol=aiomqtt.ProtocolVersion.V5, tls_context=_tls(broker)) as client:
        for seq in range(count):
            delta = CountDelta(machine_id=machine_poll_id, minute_utc=_minute(), good=1, reject=0,
                               key=f"part-{uuid.uuid4().hex}")
            await client.publish(spb.topic(group, "DDATA", edge["mqtt_username"], device),
                                 spb.device_data([delta], seq % 256), qos=1)


async def _online(broker: EdgeBroker, client_id: str, timeout: float = 20.0) -> None:
    """Until the ingest process `client_id` says it is subscribed (its STATE heartbeat)."""
    async with aiomqtt.Client("127.0.0.1", broker.port, username=INGEST_USER, password=INGEST_PASSWORD,
                              protocol=aiomqtt.ProtocolVersion.V5, tls_context=_tls(broker)) as client:
        await client.subscribe(f"{NAMESPACE}/STATE/{client_id}", qos=1)
        async with asyncio.timeout(timeout):
            async for message in client.messages:
                if spb.host_online(bytes(message.payload)):  # type: ignore[arg-type]
                    return


def _cli(broker: EdgeBroker, db_url: str, data_dir: Path, *args: str) -> tuple[list[str], dict[str, str]]:
    env = os.environ | {"FACTORYOS_DATABASE_URL": db_url, "FACTORYOS_INGEST_PASSWORD": INGEST_PASSWORD,
                        "FACTORYOS_DATA_DIR": str(data_dir), "FACTORYOS_LOG_LEVEL": "info"}
    command = [sys.executable, "-c", "from cli.main import main; main()", "ingest", "--broker", broker.url, "--username", INGEST_USER,
               "--ca-certificate", str(broker.ca), *args]
    return command, env


async def test_a_cleanly_stopped_ingest_leaves_and_the_other_gets_everything_at_once(
        http, live_server, app_engine, superuser_engine, broker: EdgeBroker) -> None:
    company = build_company(http, 1)
    edge = register_edge(http, company)
    write_broker_files(broker, app_engine, [company.tenant_id])
    broker.start()
    share = f"t{uuid.uuid4().hex[:6]}"
    staying, leaving = (IngestService(app_engine, ingest_broker(broker), client_id=f"{share}-{n}", share=share,
                                      directory_ttl=0.5) for n in ("stays", "leaves"))
    stops = [asyncio.Event(), asyncio.Event()]
    tasks = [asyncio.create_task(s.run(stop)) for s, stop in zip((staying, leaving), stops, strict=True)]
    group, machine = str(company.tenant_id), company.machines[0]
    try:
        for s in (staying, leaving):
            await asyncio.wait_for(s.connected.wait(), 10)
        await _burst(broker, edge, group, company.poll_id(machine), BURST)  # both share this one
        await eventually(lambda: totals(superuser_engine, machine["id"]) == [BURST, 0], what="first burst stored")
        assert staying.stats.messages > 0 and leaving.stats.messages > 0  # the load was shared

        stops[1].set()  # a clean stop: the session ends with it
        await asyncio.wait_for(tasks[1], 15)
        before = staying.stats.messages
        await _burst(broker, edge, group, company.poll_id(machine), BURST)
        await eventually(lambda: totals(superuser_engine, machine["id"]) == [2 * BURST, 0], timeout=SOON,
                         what="every message published after the clean stop stored by the one that stays")
        assert staying.stats.messages - before == BURST
    finally:
        for stop in stops:
            stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)


@pytest.mark.slow
async def test_a_crashed_ingest_is_retired_and_what_was_queued_for_it_is_stored(
        http, live_server, app_engine, superuser_engine, db_urls, broker: EdgeBroker, tmp_path: Path) -> None:
    company = build_company(http, 1)
    edge = register_edge(http, company)
    write_broker_files(broker, app_engine, [company.tenant_id])
    broker.start()
    share = f"t{uuid.uuid4().hex[:6]}"
    crashing = f"{share}-crashes"
    staying = IngestService(app_engine, ingest_broker(broker), client_id=f"{share}-stays", share=share,
                            directory_ttl=0.5)
    stop = asyncio.Event()
    task = asyncio.create_task(staying.run(stop))
    group, machine = str(company.tenant_id), company.machines[0]
    pid = company.poll_id(machine)
    command, env = _cli(broker, db_urls.app, tmp_path / "data", "--client-id", crashing, "--share", share)
    output = (tmp_path / "ingest.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT,
                               cwd=Path(__file__).resolve().parents[2])
    try:
        await asyncio.wait_for(staying.connected.wait(), 10)
        await _online(broker, crashing)
        command, env = _cli(broker, db_urls.app, tmp_path / "data", "--retire", crashing, "--share", share)
        refused = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True,
                                          timeout=120, cwd=Path(__file__).resolve().parents[2])
        one_red_line(Outcome(refused.returncode, refused.stdout, refused.stderr), f"ingest {crashing} is running")
        process.send_signal(signal.SIGKILL)  # no DISCONNECT: the broker keeps its session and queues for it
        process.wait(10)

        await _burst(broker, edge, group, pid, BURST)
        await asyncio.sleep(SOON)
        stored = totals(superuser_engine, machine["id"])[0]
        assert 0 < stored < BURST, f"{stored} of {BURST} stored: the dead session should hold a share"

        done = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True,
                                       text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])
        assert done.returncode == 0, done.stderr
        assert f"{BURST - stored} queued messages stored" in done.stdout, done.stdout
        assert totals(superuser_engine, machine["id"]) == [BURST, 0]  # nothing of the dead share lost

        await _burst(broker, edge, group, pid, BURST)
        await eventually(lambda: totals(superuser_engine, machine["id"]) == [2 * BURST, 0], timeout=SOON,
                         what="every message after the retirement stored by the one that stays")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        output.close()
        stop.set()
        await asyncio.gather(task, return_exceptions=True)
