"""The simulated PLCs' retentive counters: a simulator started again resumes where it stopped."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

import pytest

from factoryos.connectivity.simulator import Simulator, retentive
from tests.connectivity.support import eventually, free_port

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _counters(sim: Simulator) -> dict[str, tuple[int, int]]:
    return {m.machine_id: (m.good, m.reject) for m in sim.machines}


def _sim(retain: Path | None, **kwargs) -> Simulator:
    return Simulator(3, protocol="modbus", seed=42, modbus_port=free_port(), retain=retain, **kwargs)


async def test_a_restarted_simulator_resumes_its_counters(tmp_path: Path) -> None:
    kept = tmp_path / "counters.json"
    seeded = _counters(_sim(None, tick=None))
    async with _sim(kept, tick=None) as sim:
        assert _counters(sim) == seeded  # nothing kept yet: the seeded values
        await sim.advance(3600)
        made = _counters(sim)
    assert all(made[m][0] > seeded[m][0] for m in made), "an hour of production"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600 and not list(tmp_path.glob(".*.tmp"))
    again = _sim(kept, tick=None)
    assert _counters(again) == made  # not the seeded values: no drop for the counter rules
    # The registers publish the wrapped value of a 16-bit counter from the kept total.
    first = again.machines[0]
    assert first.good_counter == made[first.machine_id][0] % (1 << first.counter_bits)


async def test_counters_are_kept_every_few_seconds_while_running(tmp_path: Path) -> None:
    kept = tmp_path / "counters.json"
    async with _sim(kept, tick=0.05, speed=200, retain_every=0.1) as sim:
        seeded = _counters(_sim(None, tick=None))
        await eventually(lambda: kept.exists() and retentive.load(kept) != seeded, what="counters kept while running")
        await sim.hold()
        held = _counters(sim)
        await asyncio.sleep(0.2)
        assert _counters(sim) == held, "a held simulator makes no parts"
        assert retentive.load(kept) == held


async def test_an_unreadable_file_or_entry_leaves_the_seeded_values(tmp_path: Path) -> None:
    seeded = _counters(_sim(None, tick=None))
    ids = list(seeded)
    kept = tmp_path / "counters.json"
    kept.write_text('{"machines": {"SIM-0001": {"good": 12')  # cut off by a crash of an older writer
    assert _counters(_sim(kept, tick=None)) == seeded
    kept.write_text(json.dumps({"machines": {
        ids[0]: {"good": 100, "reject": 7},
        ids[1]: {"good": -5, "reject": 1},  # not a counter value
        ids[2]: {"good": "9", "reject": 1},
        "SIM-0099": {"good": 1, "reject": 1},  # a machine this simulator does not have
    }}))
    assert _counters(_sim(kept, tick=None)) == {ids[0]: (100, 7), ids[1]: seeded[ids[1]], ids[2]: seeded[ids[2]]}
    kept.write_text("[]")
    assert retentive.load(kept) == {}
