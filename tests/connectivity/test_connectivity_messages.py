"""What a plant's admin reads: errors name the machine code and the OS reason; no per-poll log lines."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from factoryos.connectivity.errors import EndpointUnavailable, SignalReadFailed, os_reason
from factoryos.connectivity.machine_config import ModbusMachine, OpcUaEndpoint, OpcUaMachine
from factoryos.connectivity.modbus_driver import ModbusDriver
from factoryos.connectivity.opcua_driver import OpcUaDriver
from factoryos.connectivity.poller import PollerSettings
from factoryos.connectivity.service import ConnectivityService
from factoryos.connectivity.simulator import Simulator
from tests.connectivity.support import MemorySink, eventually, free_port

pytestmark = pytest.mark.asyncio(loop_scope="session")
INTERNAL_ID = f"{uuid4()}/{uuid4()}"  # what the poller calls a machine: tenant/machine


@pytest.fixture
def fresh_library_loggers() -> Iterator[None]:
    """As in a new process: nobody configured the protocol libraries' loggers yet."""
    names = ("asyncua", "pymodbus")
    saved = {n: logging.getLogger(n).level for n in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.NOTSET)
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


async def test_os_reasons_in_plain_words() -> None:
    assert os_reason(ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed")).startswith("connection refused")
    assert os_reason(TimeoutError()) == "timed out"
    assert os_reason(OSError(errno.EHOSTUNREACH, "No route to host")) == "no route to host"
    assert os_reason(OSError(errno.ENETUNREACH, "Network is unreachable")) == "network unreachable"
    # asyncio's text when every address of a name failed
    several = OSError("Multiple exceptions: [Errno 113] Connect call failed, [Errno 111] …")
    assert os_reason(several) == "no route to host"
    assert os_reason(socket.gaierror(socket.EAI_NONAME, "Name or service not known")) == "host name not found"


async def test_modbus_cannot_connect_says_why(
    fresh_library_loggers: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    port = free_port()  # nothing listens there
    with pytest.raises(EndpointUnavailable) as refused:
        await ModbusDriver("127.0.0.1", port, timeout=1.0).connect()
    assert refused.value.detail == (
        f"modbus://127.0.0.1:{port}: cannot connect: connection refused (nothing listens on that port)"
    )
    with pytest.raises(EndpointUnavailable) as unknown:
        await ModbusDriver("no-such-plc.invalid", 502, timeout=1.0).connect()
    assert "cannot connect: host name" in unknown.value.detail
    # pymodbus' own "Failed to connect" warning is not repeated: the session reports ours once.
    assert not [r for r in caplog.records if r.name.startswith("pymodbus") and r.levelno >= logging.INFO]


async def test_modbus_signal_error_names_machine_code() -> None:
    async with Simulator(1, protocol="modbus", seed=2, modbus_port=free_port(), tick=None) as sim:
        assert sim.modbus is not None
        (config,) = sim.machine_configs()
        assert isinstance(config, ModbusMachine)
        machine = config.model_copy(update={"machine_id": INTERNAL_ID, "name": "M-07"})
        sim.modbus.refuse(1, {config.signals.state.address})
        driver = ModbusDriver(sim.modbus.host, sim.modbus.port)
        await driver.connect()
        try:
            result = (await driver.read([machine]))[INTERNAL_ID]
        finally:
            await driver.close()
    assert isinstance(result, SignalReadFailed)
    address = config.signals.state.address
    assert result.detail == (
        f"M-07 on modbus://127.0.0.1:{sim.modbus.port} unit 1: "
        f"status at holding {address}: illegal data address (Modbus exception 2)"
    )


async def test_opcua_errors_name_machine_code_and_reason() -> None:
    port = free_port()
    with pytest.raises(EndpointUnavailable) as refused:
        await OpcUaDriver(OpcUaEndpoint(url=f"opc.tcp://127.0.0.1:{port}", timeout=2)).connect()
    assert refused.value.detail == (
        f"opc.tcp://127.0.0.1:{port}: cannot connect: connection refused (nothing listens on that port)"
    )

    async with Simulator(1, protocol="opcua", seed=2, opcua_port=free_port(), tick=None) as sim:
        (config,) = sim.machine_configs()
        assert isinstance(config, OpcUaMachine)
        signals = config.signals.model_copy(update={"reject": "ns=2;s=Nowhere.RejectCount"})
        machine = config.model_copy(update={"machine_id": INTERNAL_ID, "name": "M-07", "signals": signals})
        driver = OpcUaDriver(config.endpoint)
        await driver.connect()
        try:
            result = (await driver.read([machine]))[INTERNAL_ID]
        finally:
            await driver.close()
    assert isinstance(result, SignalReadFailed)
    assert result.detail == (
        f"M-07 on {config.endpoint.url}: reject count ns=2;s=Nowhere.RejectCount: "
        "no such node on the server (BadNodeIdUnknown)"
    )


async def test_polling_at_info_logs_no_line_per_poll(
    fresh_library_loggers: None, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.INFO)
    async with Simulator(2, protocol="opcua", seed=4, opcua_port=free_port(), tick=None) as sim:
        svc = ConnectivityService(sim.machine_configs(poll_interval=0.05), MemorySink(), tmp_path / "spool.sqlite3",
                                  settings=PollerSettings(coalesce_window=0.01))
        await svc.start()
        try:
            assert svc.poller is not None
            poller = svc.poller
            caplog.clear()
            await eventually(lambda: min(s.polls for s in poller.statuses()) >= 40, what="forty polls each")
            await asyncio.sleep(0)
        finally:
            await svc.stop()
    noisy = [r for r in caplog.records if r.name.startswith("asyncua") and r.levelno <= logging.INFO]
    assert noisy == []
    assert len(caplog.records) < 10  # a few lines for start and stop, none per poll
    # Warnings of the library still pass.
    assert logging.getLogger("asyncua.client.ua_client").isEnabledFor(logging.WARNING)
