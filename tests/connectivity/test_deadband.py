"""Per-signal deadband on status values, against the simulators' real servers: a change up to the
deadband is ignored (by the OPC-UA server's DataChangeFilter in subscription mode, by FactoryOS
when polling), and counters, which take none, still count every part."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest
import pytest_asyncio

from factoryos.connectivity.deadband import Deadband
from factoryos.connectivity.events import CountDelta, Event, StateChange
from factoryos.connectivity.machine_config import (
    Acquisition,
    ModbusMachine,
    OpcUaDeadbands,
    OpcUaMachine,
    parse_machine_config,
)
from factoryos.connectivity.poller import Poller, PollerSettings
from factoryos.connectivity.simulator import SimCode, Simulator
from factoryos.connectivity.states import MachineState
from factoryos.errors import ValidationFailed
from tests.connectivity.support import eventually, free_port, hand_set

FAST = PollerSettings(backoff_initial=0.05, backoff_cap=0.3, coalesce_window=0.01)
# Codes 1 → 2 → 4 → 5 with a deadband of 1.5: 2 and 5 are within it (of 1 and of 4), 4 is not.
CODES = (SimCode.RUNNING, SimCode.IDLE, SimCode.FAULT, SimCode.SETUP)
SEEN = [(MachineState.RUNNING, 1), (MachineState.UNPLANNED_STOP, 4)]


class Collected:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, events: Sequence[Event]) -> None:
        self.events.extend(events)

    def counts(self, machine_id: str) -> tuple[int, int]:
        deltas = [e for e in self.events if isinstance(e, CountDelta) and e.machine_id == machine_id]
        return sum(d.good for d in deltas), sum(d.reject for d in deltas)

    def states(self, machine_id: str) -> list[tuple[MachineState, int | None]]:
        return [(e.state, e.raw_code) for e in self.events if isinstance(e, StateChange) and e.machine_id == machine_id]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def sim() -> AsyncIterator[Simulator]:
    simulator = Simulator(4, protocol="both", seed=3, opcua_port=free_port(), modbus_port=free_port(), tick=None)
    await simulator.start()
    yield simulator
    await simulator.stop()


def with_state_deadband(config: OpcUaMachine | ModbusMachine, width: float, *,
                        subscription: bool = False) -> OpcUaMachine | ModbusMachine:
    if isinstance(config, ModbusMachine):
        state = config.signals.state.model_copy(update={"deadband": width})
        return config.model_copy(update={"signals": config.signals.model_copy(update={"state": state})})
    signals = config.signals.model_copy(update={"deadband": OpcUaDeadbands(state=width)})
    endpoint = config.endpoint
    if subscription:
        endpoint = endpoint.model_copy(update={"acquisition": Acquisition.SUBSCRIPTION, "publishing_interval": 0.05})
    return config.model_copy(update={"signals": signals, "endpoint": endpoint})


async def run_codes(sim: Simulator, poller: Poller, mid: str) -> None:
    machine = sim.machine(mid)
    for code in CODES:
        await sim.force_state(mid, code)
        await sim.set_counters(mid, good=machine.good + 3, reject=machine.reject + 1)  # parts in every state
        await eventually(lambda: poller.status(mid).good_raw == machine.good_counter, what=f"code {code} read")
    await eventually(lambda: poller.status(mid).raw_code is not None, what="a status")


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("mode", ["opcua-polling", "opcua-subscription", "modbus-polling"])
async def test_status_deadband_ignores_small_changes_and_counts_every_part(sim: Simulator, mode: str) -> None:
    protocol = mode.split("-")[0]
    index = {"opcua-polling": 0, "opcua-subscription": 2, "modbus-polling": 1}[mode]
    base = hand_set(sim.machine_configs(poll_interval=0.05))[index]
    assert base.protocol == protocol
    config = with_state_deadband(base, 1.5, subscription=mode.endswith("subscription"))
    mid = config.machine_id
    collected = Collected()
    poller = Poller([config], collected, settings=FAST)
    await poller.start()
    try:
        await eventually(lambda: poller.status(mid).last_ok is not None, what="first read")
        start = (sim.machine(mid).good_counter, sim.machine(mid).reject_counter)
        await sim.force_state(mid, SimCode.RUNNING)
        await eventually(lambda: poller.status(mid).state is MachineState.RUNNING, what="running")
        await run_codes(sim, poller, mid)
        await eventually(lambda: poller.status(mid).raw_code in (4, 5), what="last code read")
        raw_code = poller.status(mid).raw_code
    finally:
        await poller.stop()
    assert collected.states(mid)[-2:] == SEEN
    made = (sim.machine(mid).good_counter - start[0], sim.machine(mid).reject_counter - start[1])
    assert collected.counts(mid) == made == (12, 4)
    # The server's filter never sent the 5 (within 1.5 of the 4); a poll reads it and FactoryOS drops it.
    assert raw_code == (4 if mode == "opcua-subscription" else 5)


def test_deadband_passes_only_changes_beyond_it() -> None:
    band = Deadband(1.5)
    assert [band.apply(v) for v in (10, 11, 9, 12, 13, 10, 10)] == [10, 10, 10, 12, 12, 10, 10]
    assert [Deadband(None).apply(v) for v in (1, 2)] == [1, 2]


@pytest.mark.parametrize(
    ("signals", "field"),
    [
        ({"good": {"address": 0, "deadband": 2}, "reject": {"address": 2}, "state": {"address": 4}}, "signals.good"),
        ({"good": {"address": 0}, "reject": {"address": 2, "deadband": 1}, "state": {"address": 4}},
         "signals.reject"),
        ({"good": {"address": 0}, "reject": {"address": 2}, "state": {"address": 4, "deadband": 0}},
         "signals.state.deadband"),
    ],
)
def test_modbus_counters_take_no_deadband(signals: dict, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_machine_config({"protocol": "modbus", "machine_id": "m", "endpoint": {"host": "plc"}, "signals": signals})
    assert caught.value.field == field
    if field != "signals.state.deadband":
        assert "counter" in str(caught.value)


def test_opcua_counters_take_no_deadband() -> None:
    signals = {"good": "ns=2;s=G", "reject": "ns=2;s=R", "state": "ns=2;s=S", "deadband": {"good": 5}}
    with pytest.raises(ValidationFailed) as caught:
        parse_machine_config({"protocol": "opcua", "machine_id": "m", "endpoint": {"url": "opc.tcp://plc:4840"},
                              "signals": signals})
    assert caught.value.field == "signals.deadband" and "counter" in str(caught.value)
