"""Counter continuity, plausibility and gap spreading: the pure counter, bucket and monitor logic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from factoryos.connectivity.buckets import MinuteBuckets, Snapshot, spread
from factoryos.connectivity.counters import CounterTracker, StoredCounter, parts_bound
from factoryos.connectivity.driver import CounterSample, Reading
from factoryos.connectivity.errors import EndpointUnavailable
from factoryos.connectivity.events import CountDelta, CounterAnomaly, CounterBaseline, minute_of
from factoryos.connectivity.machine_config import ModbusMachine, parse_machine_config
from factoryos.connectivity.monitor import MachineMonitor
from factoryos.errors import ValidationFailed

U16, U32 = 1 << 16, 1 << 32
T0 = datetime(2026, 3, 1, 6, 0, 10, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def machine(ideal: float | None = 1.0, plausibility: dict | None = None, scale: float = 1.0) -> ModbusMachine:
    signals = {"good": {"address": 0, "data_type": "uint32", "scale": scale}, "reject": {"address": 2},
               "state": {"address": 3}}
    if plausibility is not None:
        signals["plausibility"] = plausibility
    config = parse_machine_config({"machine_id": "m1", "protocol": "modbus", "poll_interval": 1.0,
                                   "ideal_cycle_time": ideal, "endpoint": {"host": "plc"}, "signals": signals})
    assert isinstance(config, ModbusMachine)
    return config


def reading(good: int, reject: int = 0) -> Reading:
    return Reading(CounterSample(good, U32), CounterSample(reject, U16), state_code=1)


def counts(events: list) -> tuple[int, int]:
    deltas = [e for e in events if isinstance(e, CountDelta)]
    return sum(d.good for d in deltas), sum(d.reject for d in deltas)


def by_minute(events: list) -> dict[datetime, int]:
    out: dict[datetime, int] = {}
    for e in events:
        if isinstance(e, CountDelta):
            out[e.minute_utc] = out.get(e.minute_utc, 0) + e.good
    return out


# -- the counter ------------------------------------------------------------------------

def test_a_stored_baseline_counts_the_first_reading_from_it() -> None:
    tracker = CounterTracker(baseline=StoredCounter(1000, T0))
    assert tracker.update(1048, modulus=U32, at=at(22)) == 48
    assert tracker.baseline == StoredCounter(1048, at(22))


def test_plc_reset_while_down_counts_what_was_made_since() -> None:
    # 32-bit counter reset to 0 while FactoryOS was down, then 30 parts: a reset, not a 4-billion wrap.
    tracker = CounterTracker(baseline=StoredCounter(70_000, T0))
    assert tracker.update(30, modulus=U32, max_step=100, at=at(60)) == 30
    # A 16-bit counter that went round while down is a wrap when the time allows it.
    wrapped = CounterTracker(baseline=StoredCounter(65_500, T0))
    assert wrapped.update(20, modulus=U16, max_step=500, at=at(60)) == 56


@pytest.mark.parametrize("scale, pulses", [(0.5, [10, 11, 12, 13, 15, 16]), (0.25, [0, 3, 5, 9, 10, 14])])
def test_a_scaled_counter_loses_nothing_across_restarts(scale: float, pulses: list[int]) -> None:
    """n pulses per part: the stored baseline is the raw value at the last whole part."""
    whole = CounterTracker(scale)
    expected = sum(whole.update(p, modulus=U32, at=at(i)) for i, p in enumerate(pulses))
    total, tracker = 0, CounterTracker(scale)
    for i, p in enumerate(pulses):
        total += tracker.update(p, modulus=U32, at=at(i))
        stored = tracker.baseline
        assert stored is not None
        tracker = CounterTracker(scale, stored)  # restart after every reading
    assert total == expected == int((pulses[-1] - pulses[0]) * scale)


def test_parts_bound() -> None:
    assert parts_bound(1.0, 1.0) == 2  # 1 s at 1 s/part × 1.5 + 1
    assert parts_bound(10.0, 2.0) == 8
    assert parts_bound(10.0, 2.0, factor=3) == 16
    assert parts_bound(10.0, 2.0, fixed_max=5) == 5
    assert parts_bound(10.0, None, fixed_max=5) == 5
    assert parts_bound(10.0, None) is None
    assert parts_bound(-3.0, 1.0) == 1  # a clock stepped back: one part at most


def test_plausibility_settings_are_validated_and_default() -> None:
    assert machine().signals.plausibility.bound_of("good") == (1.5, None)
    tuned = machine(plausibility={"factor": 2, "reject": {"factor": 4, "max_parts": 50}})
    assert tuned.signals.plausibility.bound_of("good") == (2, None)
    assert tuned.signals.plausibility.bound_of("reject") == (4, 50)
    with pytest.raises(ValidationFailed) as bad:
        machine(plausibility={"good": {"max_parts": 0}})
    assert bad.value.field == "signals.plausibility.good.max_parts"
    with pytest.raises(ValidationFailed) as bad:
        machine(plausibility={"factor": 0.5})
    assert bad.value.field == "signals.plausibility.factor"


# -- spreading and baselines in the buckets ------------------------------------------------

def test_spread_is_proportional_and_whole() -> None:
    start, end = datetime(2026, 3, 1, 6, 0, 30, tzinfo=UTC), datetime(2026, 3, 1, 6, 3, 0, tzinfo=UTC)
    shares = spread(start, end, 150)  # 30 s + 60 s + 60 s: 1 part per second
    assert list(shares.values()) == [30, 60, 60]
    assert sum(spread(start, end, 7).values()) == 7
    assert spread(start, end, 7) == {start.replace(second=0): 1, end - timedelta(minutes=2): 3,
                                     end - timedelta(minutes=1): 3}
    assert spread(end, end, 4) == {end: 4}
    assert spread(start, end, 0) == {}


def test_a_delta_carries_only_a_baseline_whose_parts_were_all_emitted() -> None:
    buckets = MinuteBuckets("m1", "run")
    s1, s2 = Snapshot(100, 0, at(1)), Snapshot(103, 0, at(55))
    buckets.add(at(1), 3, 0, before=Snapshot(97, 0, at(0)))
    buckets.note(s1)
    buckets.add(at(55), 3, 0, before=s1)  # 06:01:05: the next minute
    buckets.note(s2)
    (closed,) = buckets.close_before(at(56))
    # The 06:00 delta closes reading 1; reading 2's parts are still open: its baseline must wait.
    assert (closed.good, closed.good_raw, closed.raw_at) == (3, 100, at(1))
    (rest,) = buckets.flush()
    assert (rest.good, rest.good_raw, rest.raw_at) == (3, 103, at(55))
    assert buckets.baseline_due() is None  # nothing moved since
    buckets.note(Snapshot(0, 0, at(58)))  # reset to 0 while idle: moves the baseline without parts
    assert buckets.baseline_due() is None  # not yet: at most every 5 s of readings
    buckets.note(Snapshot(0, 0, at(61)))
    assert buckets.baseline_due() == Snapshot(0, 0, at(61))


# -- the monitor ------------------------------------------------------------------------------

def test_an_impossible_jump_is_an_anomaly_and_the_next_deltas_count() -> None:
    monitor = MachineMonitor(machine(ideal=1.0), "run")
    monitor.on_reading(reading(500), at(0))
    monitor.on_reading(reading(502), at(1))
    events = monitor.on_reading(reading(1_000_502), at(2))
    anomalies = [e for e in events if isinstance(e, CounterAnomaly)]
    assert len(anomalies) == 1
    anomaly = anomalies[0]
    assert (anomaly.signal, anomaly.previous_raw, anomaly.raw, anomaly.delta, anomaly.allowed) == (
        "good", 502, 1_000_502, 1_000_000, 2)
    assert (anomaly.previous_at, anomaly.detected_at) == (at(1), at(2))
    # The parts before it were flushed ahead of it, with their baseline.
    (before,) = [e for e in events if isinstance(e, CountDelta)]
    assert events.index(before) < events.index(anomaly)
    assert (before.good, before.good_raw) == (2, 502)
    monitor.on_reading(reading(1_000_503), at(3))
    assert counts(monitor.flush()) == (1, 0)
    assert monitor.status().good_total == 3


def test_a_fixed_maximum_bounds_a_counter_without_an_ideal_cycle() -> None:
    monitor = MachineMonitor(machine(ideal=None, plausibility={"reject": {"max_parts": 10}}), "run")
    monitor.on_reading(reading(0, 0), at(0))
    events = monitor.on_reading(reading(5000, 11), at(1))  # good has no bound at all
    assert [(e.signal, e.allowed) for e in events if isinstance(e, CounterAnomaly)] == [("reject", 10)]
    assert counts(monitor.flush()) == (5000, 0)


def test_restart_from_a_stored_baseline_counts_and_spreads_over_the_gap() -> None:
    stored = {"good": StoredCounter(1000, at(0)), "reject": StoredCounter(10, at(0))}
    monitor = MachineMonitor(machine(ideal=1.0), "run", baselines=stored)
    events = monitor.on_reading(reading(1150, 13), at(150))  # down 150 s, 150 parts: 1 s/part
    assert not [e for e in events if isinstance(e, CounterAnomaly)]
    emitted = monitor.flush()
    assert counts(emitted) == (150, 3)
    assert by_minute(emitted) == {minute_of(at(0)): 50, minute_of(at(60)): 60, minute_of(at(120)): 40}
    assert (emitted[-1].good_raw, emitted[-1].reject_raw, emitted[-1].raw_at) == (1150, 13, at(150))


def test_the_bound_applies_to_the_first_delta_after_a_restart() -> None:
    monitor = MachineMonitor(machine(ideal=1.0), "run", baselines={"good": StoredCounter(1000, at(0))})
    events = monitor.on_reading(reading(1500), at(100))  # 500 parts in 100 s at 1 s/part
    (anomaly,) = [e for e in events if isinstance(e, CounterAnomaly)]
    assert (anomaly.previous_raw, anomaly.previous_at, anomaly.delta, anomaly.allowed) == (1000, at(0), 500, 151)


def test_parts_found_after_a_lost_connection_are_spread_over_the_gap() -> None:
    monitor = MachineMonitor(machine(ideal=2.0), "run")
    monitor.on_reading(reading(0), at(0))
    lost = EndpointUnavailable("gone")
    for second in range(5, 125, 5):
        monitor.on_failure(lost, at(second))
    monitor.on_reading(reading(60), at(125))  # 60 parts in 125 s at 2 s/part: plausible
    minutes = by_minute(monitor.flush())
    assert sum(minutes.values()) == 60
    assert minutes == {minute_of(at(0)): 24, minute_of(at(60)): 29, minute_of(at(120)): 7}
    for minute, parts in minutes.items():  # never more than the ideal rate in any minute
        assert parts <= 60 / 2.0 + 1, minute


def test_an_idle_counter_reset_is_sent_as_a_baseline() -> None:
    monitor = MachineMonitor(machine(ideal=1.0), "run")
    monitor.on_reading(reading(400), at(0))
    assert [e for e in monitor.close_minutes(at(0)) if isinstance(e, CounterBaseline)]
    monitor.on_reading(reading(0), at(1))  # reset while idle: no parts, the baseline moves
    assert monitor.close_minutes(at(1)) == []  # not every poll …
    monitor.on_reading(reading(0), at(7))
    (baseline,) = monitor.close_minutes(at(7))  # … but within seconds
    assert isinstance(baseline, CounterBaseline) and (baseline.good_raw, baseline.at) == (0, at(7))
