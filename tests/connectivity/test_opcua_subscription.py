"""OPC-UA subscription mode against the simulator's real asyncua server: the server pushes each
change with its SourceTimestamp, and counts and states are stamped with it, not with the poll."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from factoryos.connectivity.backoff import Backoff
from factoryos.connectivity.events import CountDelta, Event, StateChange, minute_of
from factoryos.connectivity.machine_config import Acquisition, OpcUaMachine
from factoryos.connectivity.poller import Poller, PollerSettings
from factoryos.connectivity.service import ConnectivityService
from factoryos.connectivity.simulator import SimCode, Simulator
from factoryos.connectivity.states import MachineState
from tests.connectivity.support import MemorySink, eventually, free_port, hand_set

pytestmark = pytest.mark.asyncio(loop_scope="session")
FAST = PollerSettings(backoff_initial=0.05, backoff_cap=0.3, coalesce_window=0.01)


def subscribed(machine: OpcUaMachine, publishing_interval: float = 0.05) -> OpcUaMachine:
    endpoint = machine.endpoint.model_copy(update={"acquisition": Acquisition.SUBSCRIPTION,
                                                   "publishing_interval": publishing_interval})
    return machine.model_copy(update={"endpoint": endpoint})


def opcua_configs(sim: Simulator, poll_interval: float) -> list[OpcUaMachine]:
    configs = hand_set(sim.machine_configs(poll_interval=poll_interval))
    assert all(isinstance(c, OpcUaMachine) for c in configs)
    return configs


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def sim() -> AsyncIterator[Simulator]:
    simulator = Simulator(3, protocol="opcua", seed=11, opcua_port=free_port(), tick=None)
    await simulator.start()
    yield simulator
    await simulator.stop()


class Collected:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, events: Sequence[Event]) -> None:
        self.events.extend(events)

    def deltas(self, machine_id: str) -> list[CountDelta]:
        return [e for e in self.events if isinstance(e, CountDelta) and e.machine_id == machine_id]

    def counts(self, machine_id: str) -> tuple[int, int]:
        deltas = self.deltas(machine_id)
        return sum(d.good for d in deltas), sum(d.reject for d in deltas)

    def states(self, machine_id: str) -> list[StateChange]:
        return [e for e in self.events if isinstance(e, StateChange) and e.machine_id == machine_id]


async def both_read(pollers: Sequence[Poller], sim: Simulator, machine_id: str) -> None:
    machine = sim.machine(machine_id)
    want = (machine.good_counter, machine.reject_counter)
    await eventually(lambda: all((p.status(machine_id).good_raw, p.status(machine_id).reject_raw) == want
                                 for p in pollers), what=f"{machine_id} read by every poller")


async def test_subscription_counts_exactly_like_polling(sim: Simulator) -> None:
    """Same PLC, two pollers side by side: polling and subscription count the same parts and
    see the same states (wrap of a UInt32, reset, states), and the subscription reads nothing."""
    mid = sim.machines[0].machine_id
    machine = sim.machine(mid)
    await sim.force_state(mid, SimCode.RUNNING)
    polled, pushed = Collected(), Collected()
    configs = opcua_configs(sim, 0.05)
    polling = Poller(configs, polled, settings=FAST)
    subscription = Poller([subscribed(c) for c in configs], pushed, settings=FAST)
    await polling.start()
    await subscription.start()
    try:
        await both_read([polling, subscription], sim, mid)
        steps = [{"good": machine.good + 40, "reject": machine.reject + 2}, {"good": (1 << 32) - 2},
                 {"good": (1 << 32) + 5}, {"good": 0, "reject": 0}, {"good": 9, "reject": 1}]
        for step in steps:
            await sim.set_counters(mid, **step)
            await both_read([polling, subscription], sim, mid)
        await sim.force_state(mid, SimCode.FAULT, alarm=7)
        await eventually(lambda: all(p.status(mid).state is MachineState.UNPLANNED_STOP
                                     for p in (polling, subscription)), what="fault seen")
    finally:
        await polling.stop()
        await subscription.stop()
    assert pushed.counts(mid) == polled.counts(mid)
    assert pushed.counts(mid)[0] > 40  # not trivially equal: parts were counted
    assert [(s.state, s.raw_code, s.alarm_code) for s in pushed.states(mid)] == [
        (s.state, s.raw_code, s.alarm_code) for s in polled.states(mid)]
    (session,) = subscription.sessions.values()
    assert session.driver.pushed is not None  # type: ignore[attr-defined]


async def test_counts_and_states_carry_the_source_time_when_the_poll_is_late(sim: Simulator) -> None:
    """The poller's clock runs three minutes late (a loaded host): polling books the parts and the
    stop in the poll's minute, the subscription in the minute the PLC stamped them."""
    mid = sim.machines[1].machine_id
    machine = sim.machine(mid)
    await sim.force_state(mid, SimCode.RUNNING)

    def late() -> datetime:
        return datetime.now(UTC) + timedelta(minutes=3)

    polled, pushed = Collected(), Collected()
    configs = opcua_configs(sim, 0.05)
    polling = Poller(configs, polled, settings=FAST, clock=late)
    subscription = Poller([subscribed(c) for c in configs], pushed, settings=FAST, clock=late)
    await polling.start()
    await subscription.start()
    try:
        await both_read([polling, subscription], sim, mid)
        made_at = datetime.now(UTC)
        await sim.set_counters(mid, good=machine.good + 6, reject=machine.reject + 1, at=made_at)
        await both_read([polling, subscription], sim, mid)
        stopped_at = datetime.now(UTC)
        await sim.force_state(mid, SimCode.PLANNED_STOP, at=stopped_at)
        await eventually(lambda: all(p.status(mid).state is MachineState.PLANNED_STOP
                                     for p in (polling, subscription)), what="stop seen")
    finally:
        await polling.stop()
        await subscription.stop()
    assert pushed.counts(mid) == polled.counts(mid) == (6, 1)
    assert {d.minute_utc for d in pushed.deltas(mid) if d.good or d.reject} == {minute_of(made_at)}
    assert {d.minute_utc for d in polled.deltas(mid) if d.good or d.reject} != {minute_of(made_at)}
    (stop,) = [s for s in pushed.states(mid) if s.state is MachineState.PLANNED_STOP]
    assert abs(stop.at - stopped_at) < timedelta(milliseconds=1)
    (polled_stop,) = [s for s in polled.states(mid) if s.state is MachineState.PLANNED_STOP]
    assert polled_stop.at - stopped_at > timedelta(minutes=2)


async def test_future_and_stale_source_times_are_clamped(sim: Simulator) -> None:
    """A PLC clock far ahead is not believed (counted at arrival), nor one behind what was already
    read (counted then); the parts still count, nothing is invented."""
    mid = sim.machines[2].machine_id
    machine = sim.machine(mid)
    await sim.force_state(mid, SimCode.RUNNING)
    pushed = Collected()
    poller = Poller([subscribed(c) for c in opcua_configs(sim, 0.05)], pushed, settings=FAST)
    await poller.start()
    try:
        await both_read([poller], sim, mid)
        before = datetime.now(UTC)
        await sim.set_counters(mid, good=machine.good + 3, at=before + timedelta(hours=5))
        await both_read([poller], sim, mid)
        await sim.set_counters(mid, good=machine.good + 2, at=before - timedelta(hours=5))
        await both_read([poller], sim, mid)
        after = datetime.now(UTC)
        (session,) = poller.sessions.values()
        assert session.driver.pushed.clamped == 2  # type: ignore[attr-defined]
    finally:
        await poller.stop()
    assert pushed.counts(mid) == (5, 0)
    stamps = [d.raw_at for d in pushed.deltas(mid) if d.raw_at is not None]
    assert stamps and all(before - timedelta(seconds=1) <= s <= after for s in stamps)


@pytest_asyncio.fixture(loop_scope="session")
async def service(sim: Simulator, tmp_path: Path) -> AsyncIterator[tuple[ConnectivityService, MemorySink]]:
    sink = MemorySink()
    svc = ConnectivityService([subscribed(c, 0.1) for c in opcua_configs(sim, 0.1)], sink,
                              tmp_path / "spool.sqlite3", settings=FAST, sink_backoff=Backoff(0.05, 0.2))
    await svc.start()
    yield svc, sink
    await svc.stop()


async def test_server_restart_resubscribes_and_loses_no_counts(
    sim: Simulator, service: tuple[ConnectivityService, MemorySink]
) -> None:
    """Server down: no data (as when polling); parts made meanwhile count once it is back, on a
    subscription created anew; counts made after the restart arrive pushed again."""
    svc, sink = service
    poller = svc.poller
    assert poller is not None and sim.opcua is not None
    ids = [m.machine_id for m in sim.machines]
    first = sim.machine(ids[0])
    for mid in ids:
        await both_read([poller], sim, mid)
    (session,) = poller.sessions.values()
    driver = session.driver
    old_subscription = driver.pushed._subscription  # type: ignore[attr-defined]
    await sim.set_counters(first.machine_id, good=first.good + 3)
    await both_read([poller], sim, first.machine_id)

    await sim.opcua.stop()
    await eventually(lambda: all(poller.status(m).state is MachineState.NO_DATA for m in ids), what="no data")
    assert {poller.status(m).error_code for m in ids} == {"endpoint_unavailable"}
    await sim.set_counters(first.machine_id, good=first.good + 4, reject=first.reject + 1)
    await sim.opcua.start()
    await eventually(lambda: all(poller.status(m).last_error is None for m in ids), timeout=20, what="reconnected")
    await both_read([poller], sim, first.machine_id)
    assert driver.pushed._subscription is not old_subscription  # type: ignore[attr-defined]
    await sim.set_counters(first.machine_id, good=first.good + 2)  # pushed by the new subscription
    await both_read([poller], sim, first.machine_id)
    poller.flush()
    assert svc.forwarder is not None and await svc.forwarder.wait_delivered(5)
    assert sink.counts(first.machine_id) == (9, 1)


async def test_test_connection_reads_once_by_subscription(sim: Simulator) -> None:
    """*Test connection* with subscription settings: one reading, from the subscription's first values."""
    from factoryos.connectivity.probe import read_once

    config = subscribed(opcua_configs(sim, 1.0)[0])
    plc = sim.machine(config.machine_id)
    reading = await read_once(config)
    assert (reading.good.raw, reading.reject.raw, reading.state_code) == (
        plc.good_counter, plc.reject_counter, plc.values()[2])
    assert reading.at is not None


async def test_an_unknown_node_fails_its_machine_only(sim: Simulator) -> None:
    good, wrong = (subscribed(c) for c in opcua_configs(sim, 0.05)[:2])
    wrong = wrong.model_copy(update={"signals": wrong.signals.model_copy(update={"alarm": "ns=2;s=NoSuch.Alarm"})})
    poller = Poller([good, wrong], Collected(), settings=FAST)
    await poller.start()
    try:
        await eventually(lambda: poller.status(wrong.machine_id).last_error is not None, what="refused node")
        await both_read([poller], sim, good.machine_id)
        status = poller.status(wrong.machine_id)
        assert status.error_code == "signal_read_failed" and "BadNodeIdUnknown" in (status.last_error or "")
        assert poller.status(good.machine_id).last_error is None
    finally:
        await poller.stop()


async def test_a_subscription_the_server_dropped_is_noticed_and_made_again(sim: Simulator) -> None:
    """The server forgets the subscription (its lifetime ran out, say) while the connection stays up:
    the quiet is noticed, the subscription made again, and the parts made meanwhile count; the
    new subscription's first values (stamped with their last change) are not taken for late ones."""
    assert sim.opcua is not None and sim.opcua._server is not None
    config = subscribed(opcua_configs(sim, 0.05)[0])
    config = config.model_copy(update={"endpoint": config.endpoint.model_copy(update={"timeout": 1.0})})
    mid, plc = config.machine_id, sim.machine(config.machine_id)
    pushed = Collected()
    poller = Poller([config], pushed, settings=FAST)
    await poller.start()
    try:
        await both_read([poller], sim, mid)
        service = sim.opcua._server.iserver.subscription_service
        (first,) = service.subscriptions
        await service.delete_subscriptions([first])
        await sim.set_counters(mid, good=plc.good + 5)  # not pushed by anyone now
        await eventually(lambda: bool(service.subscriptions) and first not in service.subscriptions,
                         timeout=10, what="a new subscription")
        await both_read([poller], sim, mid)
        await sim.set_counters(mid, good=plc.good + 1)
        await both_read([poller], sim, mid)
        (session,) = poller.sessions.values()
        assert session.driver.pushed.clamped == 0  # type: ignore[attr-defined]
    finally:
        await poller.stop()
    assert pushed.counts(mid) == (6, 0)
