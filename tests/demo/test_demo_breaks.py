"""The demo's simulated machines stop for their site's shift breaks: parts made in a break would be
counted against no running time (OEE leaves breaks out) and read as performance above 100 %."""

from __future__ import annotations

from datetime import UTC, datetime

from factoryos.connectivity.simulator import SimCode
from factoryos.demo.breaks import machines_on_break, on_break
from factoryos.demo.dataset import SITES, machine_codes
from factoryos.demo.simulators import SimulatorThread
from tests.conftest import free_port
from tests.waiting import until

LINZ, CHICAGO = SITES
LINZ_EARLY_BREAK = datetime(2026, 12, 4, 9, 10, tzinfo=UTC)  # 10:10 in Linz (CET), 03:10 in Chicago
CHICAGO_SWING_BREAK = datetime(2026, 7, 2, 0, 45, tzinfo=UTC)  # 19:45 in Chicago (CDT), 02:45 in Linz


def test_breaks_are_read_on_each_sites_wall_clock() -> None:
    assert on_break(LINZ, LINZ_EARLY_BREAK) and not on_break(CHICAGO, LINZ_EARLY_BREAK)
    assert not on_break(LINZ, datetime(2026, 12, 4, 8, 59, 59, tzinfo=UTC))  # 09:59:59 in Linz
    assert not on_break(LINZ, datetime(2026, 12, 4, 9, 30, tzinfo=UTC))  # 10:30: the break is over
    assert on_break(CHICAGO, CHICAGO_SWING_BREAK) and not on_break(LINZ, CHICAGO_SWING_BREAK)
    linz = {i for i, (site, _, _) in enumerate(machine_codes()) if site == "LNZ"}
    assert len(linz) == 12 and machines_on_break(LINZ_EARLY_BREAK) == linz
    assert machines_on_break(CHICAGO_SWING_BREAK) == set(range(24)) - linz
    assert machines_on_break(datetime(2026, 12, 4, 12, 0, tzinfo=UTC)) == set()


def test_breaks_on_dst_days_are_those_the_kpis_count() -> None:
    # Linz's night break is 02:00–02:30. The clocks go back at 03:00 CEST on 2026-10-25: the break
    # is the first 02:00–02:30 (CEST), not the repeated one.
    assert on_break(LINZ, datetime(2026, 10, 25, 0, 15, tzinfo=UTC))
    assert not on_break(LINZ, datetime(2026, 10, 25, 1, 15, tzinfo=UTC))
    # On 2027-03-28 the clock jumps from 02:00 to 03:00: a break wholly in the gap lasts nothing.
    assert not any(on_break(LINZ, datetime(2027, 3, 28, 0, m, tzinfo=UTC)) for m in range(0, 60, 5))
    assert not any(on_break(LINZ, datetime(2027, 3, 28, 1, m, tzinfo=UTC)) for m in range(0, 60, 5))


def test_machines_stop_for_a_break_and_run_again_after_it() -> None:
    now = [LINZ_EARLY_BREAK]
    sims = SimulatorThread(len(machine_codes()), opcua_port=free_port(), modbus_port=free_port(),
                           clock=lambda: now[0])
    sims.start()
    try:
        linz = [m for i, m in enumerate(sims.machines) if machine_codes()[i][0] == "LNZ"]
        chicago = [m for i, m in enumerate(sims.machines) if machine_codes()[i][0] == "CHI"]
        faulted = sims.machines[3]
        sims.fault(3)  # held in a fault, but on a break first
        assert all(m.code == SimCode.PLANNED_STOP and m.forced for m in linz)
        counters = [m.values()[:2] for m in linz]
        made = sum(m.good + m.reject for m in chicago)
        until(lambda: sum(m.good + m.reject for m in chicago) > made, "Chicago making parts", 30)
        assert [m.values()[:2] for m in linz] == counters, "parts made in a break"

        now[0] = datetime(2026, 12, 4, 9, 31, tzinfo=UTC)  # the break is over
        until(lambda: not any(m.forced for m in linz if m is not faulted), "Linz released from the break", 10)
        assert (faulted.code, faulted.alarm, faulted.forced) == (SimCode.FAULT, 201, True)
        made = sum(m.good + m.reject for m in linz)
        until(lambda: sum(m.good + m.reject for m in linz) > made, "Linz making parts again", 30)
        assert faulted.values()[:2] == counters[linz.index(faulted)]
    finally:
        sims.stop()
