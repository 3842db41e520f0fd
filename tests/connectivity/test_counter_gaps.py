"""Settings changes and lost connections against a real Modbus TCP simulator (no database).

A settings change restarts a machine's polling: a counter still read from the same register
keeps its baseline (nothing lost), a counter moved elsewhere starts anew. Parts found when a
lost PLC answers again are spread over the gap.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from factoryos.connectivity.events import CountDelta, CounterAnomaly, Event
from factoryos.connectivity.machine_config import ModbusMachine
from factoryos.connectivity.poller import Poller, PollerSettings
from factoryos.connectivity.simulator import Simulator
from tests.connectivity.support import eventually, free_port, hand_set

pytestmark = pytest.mark.asyncio(loop_scope="session")
FAST = PollerSettings(backoff_initial=0.05, backoff_cap=0.2, coalesce_window=0.01, count_partial_every=None)


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(2, protocol="modbus", seed=31, modbus_port=free_port(), tick=None) as simulator:
        yield simulator


def goods(events: list[Event], machine_id: str) -> int:
    return sum(e.good for e in events if isinstance(e, CountDelta) and e.machine_id == machine_id)


async def read(poller: Poller, sim: Simulator, machine_id: str) -> None:
    m = sim.machine(machine_id)
    await eventually(lambda: machine_id in poller.machines and poller.status(machine_id).good_raw == m.good_counter,
                     what=f"{machine_id} read")


async def test_a_settings_change_keeps_the_baseline_unless_the_counter_moved(sim: Simulator) -> None:
    config = hand_set(sim.machine_configs(poll_interval=0.1))[1]  # 32-bit counters, set by hand
    assert isinstance(config, ModbusMachine)
    mid, plc = config.machine_id, sim.machines[1]
    events: list[Event] = []
    poller = Poller([config], events.extend, settings=FAST)
    await poller.start()
    try:
        await read(poller, sim, mid)
        await sim.set_counters(mid, good=plc.good + 3)
        await read(poller, sim, mid)

        # Another poll interval, same registers: restarted, and the part made meanwhile (while
        # nothing could read it) counts.
        assert sim.modbus is not None
        await sim.modbus.stop()
        await sim.set_counters(mid, good=plc.good + 1)
        slower = config.model_copy(update={"poll_interval": 0.15})
        changes = await poller.update([slower])
        assert changes.restarted == (mid,)
        await sim.modbus.start()
        await read(poller, sim, mid)
        poller.flush()
        assert goods(events, mid) == 4

        # The good counter moved to another register (here: the reject counter's): a replaced
        # counter. Its first reading is a new baseline, not a jump from the old register's value.
        moved = slower.model_copy(update={"signals": slower.signals.model_copy(
            update={"good": slower.signals.reject})})
        assert plc.reject_counter != plc.good_counter
        await poller.update([moved])
        await eventually(lambda: poller.status(mid).good_raw == plc.reject_counter, what="moved counter read")
        await sim.set_counters(mid, reject=plc.reject + 2)
        await eventually(lambda: poller.status(mid).good_raw == plc.reject_counter, what="moved counter counts")
        poller.flush()
        assert goods(events, mid) == 6
        assert not [e for e in events if isinstance(e, CounterAnomaly)]
    finally:
        await poller.stop()


async def test_parts_made_while_the_plc_was_lost_are_spread_over_the_gap(sim: Simulator) -> None:
    """The PLC is unreachable; the clock the poller stamps readings with jumps 150 s meanwhile,
    so the gap spans three minutes without the test waiting for them."""
    config = sim.machine_configs(poll_interval=0.1)[1]
    mid, plc = config.machine_id, sim.machines[1]
    ideal = config.ideal_cycle_time
    assert ideal is not None
    shift = [timedelta(0)]
    poller = Poller([config], (events := []).extend, settings=FAST,
                    clock=lambda: datetime.now(UTC) + shift[0])
    await poller.start()
    try:
        await read(poller, sim, mid)
        assert sim.modbus is not None
        await sim.modbus.stop()
        await eventually(lambda: poller.status(mid).last_error is not None, what="PLC lost")
        lost_at = datetime.now(UTC) + shift[0]
        shift[0] += timedelta(seconds=150)
        made = int(150 / ideal)  # what the machine makes at its ideal rate in that time
        await sim.set_counters(mid, good=plc.good + made)
        await sim.modbus.start()
        await read(poller, sim, mid)
        poller.flush()
    finally:
        await poller.stop()
    deltas = [e for e in events if isinstance(e, CountDelta) and e.good]
    assert sum(d.good for d in deltas) == made
    assert not [e for e in events if isinstance(e, CounterAnomaly)]
    per_minute: dict[datetime, int] = {}
    for d in deltas:
        per_minute[d.minute_utc] = per_minute.get(d.minute_utc, 0) + d.good
    # Spread from where the PLC was lost: the first part lands within one cycle of it (a loss a second
    # before a minute's end leaves that minute less than a part, so it may start the next minute).
    first_part = lost_at + timedelta(seconds=ideal + 1)
    assert len(per_minute) >= 3 and min(per_minute) <= first_part.replace(second=0, microsecond=0)
    for minute, parts in per_minute.items():  # never more than the ideal rate allows
        assert parts <= 60 / ideal + 1, (minute, parts, ideal)
