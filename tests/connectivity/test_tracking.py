"""Counter deltas (wrap, reset, baseline), minute buckets, state changes and health."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from factoryos.connectivity.buckets import MinuteBuckets
from factoryos.connectivity.counters import CounterTracker, plausible_step
from factoryos.connectivity.health import HealthTracker
from factoryos.connectivity.machine_config import StatusMapping
from factoryos.connectivity.state_tracker import StateTracker
from factoryos.connectivity.states import DEFAULT_UNMAPPED_STATE, MachineState

U16, U32 = 1 << 16, 1 << 32
T0 = datetime(2026, 3, 1, 6, 0, 10, tzinfo=UTC)


def deltas(values: list[int], modulus: int | None, max_step: int | None = None, scale: float = 1.0) -> list[int]:
    tracker = CounterTracker(scale)
    return [tracker.update(v, modulus=modulus, max_step=max_step) for v in values]


def test_first_reading_is_a_baseline_then_differences() -> None:
    assert deltas([500, 500, 503, 510], U32) == [0, 0, 3, 7]


def test_16_bit_wrap() -> None:
    assert deltas([65530, 65535, 4, 10], U16) == [0, 5, 5, 6]


def test_32_bit_wrap() -> None:
    assert deltas([U32 - 3, 2], U32) == [0, 5]


def test_reset_counts_the_new_value_never_negative() -> None:
    assert deltas([40_000, 40_010, 3, 8], U32) == [0, 10, 3, 5]
    # 16-bit counter far from its limit: a drop is a reset, not a 25k-part wrap.
    assert deltas([40_000, 0, 6], U16) == [0, 0, 6]
    # Float counters have no fixed width: every drop is a reset.
    assert deltas([100, 2], None) == [0, 2]


def test_plausibility_decides_between_wrap_and_reset() -> None:
    # 1 s after 65,400 at 2 s/part: at most a couple dozen parts, so landing on 50 is a reset …
    step = plausible_step(1.0, 2.0)
    assert step is not None and step < 200
    assert deltas([65_400, 50], U16, max_step=step) == [0, 50]
    # … but after an hour offline the same readings are a wrap of 186 parts.
    assert deltas([65_400, 50], U16, max_step=plausible_step(3600, 2.0)) == [0, 186]
    assert plausible_step(5, None) is None


def test_scale_carries_fractions() -> None:
    # Two pulses per part: 1+1+1+1 pulses are 2 parts, none lost to rounding.
    assert deltas([10, 11, 12, 13, 14], U32, scale=0.5) == [0, 0, 1, 0, 1]


def test_minute_buckets_close_when_the_minute_ends() -> None:
    buckets = MinuteBuckets("m1", "run")
    buckets.add(T0, 3, 1)
    buckets.add(T0 + timedelta(seconds=30), 2, 0)
    buckets.add(T0 + timedelta(seconds=55), 0, 0)
    assert buckets.close_before(T0 + timedelta(seconds=40)) == []
    buckets.add(T0 + timedelta(seconds=60), 4, 0)  # 06:01:10
    (closed,) = buckets.close_before(T0 + timedelta(seconds=60))
    assert (closed.minute_utc, closed.good, closed.reject) == (datetime(2026, 3, 1, 6, 0, tzinfo=UTC), 5, 1)
    (rest,) = buckets.flush()
    assert (rest.minute_utc.minute, rest.good) == (1, 4)
    assert closed.key != rest.key and closed.key.startswith("m1|2026-03-01T06:00Z|run.")
    buckets.add(T0 + timedelta(seconds=61), 1, 0)
    (again,) = buckets.flush()
    assert again.minute_utc == rest.minute_utc and again.key != rest.key  # same minute, new part
    assert buckets.flush() == []


def test_state_changes_and_offline() -> None:
    tracker = StateTracker("m1", StatusMapping(codes={1: MachineState.RUNNING, 4: MachineState.UNPLANNED_STOP}))
    first = tracker.observe(1, 0, T0)
    assert first is not None and first.state is MachineState.RUNNING and first.raw_code == 1
    assert tracker.observe(1, 0, T0 + timedelta(seconds=1)) is None
    fault = tracker.observe(4, 205, T0 + timedelta(seconds=2))
    assert fault is not None and (fault.state, fault.alarm_code) == (MachineState.UNPLANNED_STOP, 205)
    other_alarm = tracker.observe(4, 207, T0 + timedelta(seconds=3))
    assert other_alarm is not None and other_alarm.alarm_code == 207
    unknown = tracker.observe(99, None, T0 + timedelta(seconds=4))
    assert unknown is not None and unknown.state is DEFAULT_UNMAPPED_STATE and unknown.raw_code == 99
    lost = tracker.lost(T0 + timedelta(seconds=5), "timeout")
    assert lost is not None and lost.state is MachineState.NO_DATA and lost.raw_code is None
    assert lost.reason == "timeout"
    assert tracker.lost(T0 + timedelta(seconds=6), "timeout") is None
    back = tracker.observe(1, 0, T0 + timedelta(seconds=7))
    assert back is not None and back.state is MachineState.RUNNING
    keys = {e.key for e in (first, fault, other_alarm, unknown, lost, back)}
    assert len(keys) == 6


def test_health_reports_changes_at_once_and_errors_with_the_heartbeat() -> None:
    health = HealthTracker("m1", heartbeat=60)
    first = health.ok(T0)
    assert first is not None and first.last_ok == T0 and first.last_error is None
    assert health.ok(T0 + timedelta(seconds=1)) is None
    failed = health.failed(T0 + timedelta(seconds=2), "connection refused", "endpoint_unavailable")
    assert failed is not None and failed.last_ok == T0 + timedelta(seconds=1)
    assert failed.error_code == "endpoint_unavailable"
    assert health.failed(T0 + timedelta(seconds=3), "connection refused", "endpoint_unavailable") is None
    assert health.failed(T0 + timedelta(seconds=61), "connection refused", "endpoint_unavailable") is None
    again = health.failed(T0 + timedelta(seconds=62), "connection refused", "endpoint_unavailable")
    assert again is not None and again.last_error == "connection refused"
    recovered = health.ok(T0 + timedelta(seconds=63))
    assert recovered is not None and recovered.last_error is None and recovered.last_ok == T0 + timedelta(seconds=63)


def test_a_machine_that_keeps_answering_reports_its_last_ok_every_few_seconds() -> None:
    health = HealthTracker("m1", heartbeat=60, ok_every=5)
    reports = [r for s in range(0, 31) if (r := health.ok(T0 + timedelta(seconds=s))) is not None]
    assert [r.at for r in reports] == [T0 + timedelta(seconds=s) for s in (0, 5, 10, 15, 20, 25, 30)]
    assert all(r.last_ok == r.at and r.last_error is None for r in reports)


def test_ok_reports_are_bounded_per_machine_whatever_the_poll_rate() -> None:
    # 2,000 machines polled every second for a minute: at most one OK report per 5 s each,
    # i.e. ≤ 400 a second for the sink to write in batches.
    trackers = [HealthTracker(f"m{i}", heartbeat=60, phase=i * 0.03) for i in range(2000)]
    per_second, per_machine = [0] * 60, [0] * len(trackers)
    for second in range(60):
        at = T0 + timedelta(seconds=second)
        for i, tracker in enumerate(trackers):
            if tracker.ok(at) is not None:
                per_second[second] += 1
                per_machine[i] += 1
    assert per_second[0] == 2000  # the first poll of each is news
    assert max(per_second[1:]) <= 400  # then one every 5 s each, spread by the phase
    assert max(per_machine) <= 1 + 12 and min(per_machine) >= 12  # never staler than 5 s either


def test_a_heartbeat_phase_spreads_machines_started_together() -> None:
    early, late = HealthTracker("m1", heartbeat=60, phase=20), HealthTracker("m2", heartbeat=60)
    assert early.failed(T0, "refused", "e") is not None and late.failed(T0, "refused", "e") is not None
    assert early.failed(T0 + timedelta(seconds=39), "refused", "e") is None
    assert early.failed(T0 + timedelta(seconds=41), "refused", "e") is not None  # 20 s ahead of the other one …
    assert late.failed(T0 + timedelta(seconds=41), "refused", "e") is None
    assert early.failed(T0 + timedelta(seconds=95), "refused", "e") is None  # … and a full period after its own
    assert early.failed(T0 + timedelta(seconds=101), "refused", "e") is not None
    # OK reports take the same share (20/60) of their 5 s period: 1.67 s ahead.
    early, late = HealthTracker("m1", heartbeat=60, phase=20), HealthTracker("m2", heartbeat=60)
    assert early.ok(T0) is not None and late.ok(T0) is not None
    assert early.ok(T0 + timedelta(seconds=3.3)) is None
    assert early.ok(T0 + timedelta(seconds=3.4)) is not None
    assert late.ok(T0 + timedelta(seconds=4.9)) is None and late.ok(T0 + timedelta(seconds=5)) is not None


def test_partials_of_the_current_minute_add_up_to_its_count() -> None:
    buckets = MinuteBuckets("m1", "run", partial_every=5, phase=2)
    emitted = []
    for second in range(0, 70):  # T0 is 06:00:10, so this runs into 06:01:20
        at = T0 + timedelta(seconds=second)
        buckets.add(at, 1, second % 10 == 0)
        emitted += buckets.close_before(at)
    minute = T0.replace(second=0)
    first = [d for d in emitted if d.minute_utc == minute]
    # Partials at +2 s (the phase), then every 5 s, then the rest when the minute ends.
    assert len(first) > 5
    assert sum(d.good for d in first) == 50 and sum(d.reject for d in first) == 5
    assert len({d.key for d in emitted}) == len(emitted), "every delta has its own key"
    rest = buckets.flush()
    assert sum(d.good for d in emitted + rest) == 70

