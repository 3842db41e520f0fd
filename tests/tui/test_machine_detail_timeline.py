"""The detail screen's text pictures, computed by hand: the Gantt's step, cells and hour axis,
and the hourly target spread over the shift's working time (breaks make no parts)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

from factoryos.client.models import HourCounts, ShiftInstanceOut, StateSpan
from tui.widgets.shift_timeline import gantt, hour_lines, hour_target, pick_step

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def t(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def plain(markup: str) -> str:
    """The text without its colour tags ([$state-running]…[/])."""
    return re.sub(r"\[(/|\$[\w-]+)\]", "", markup)


SHIFT = ShiftInstanceOut(id=None, pattern_id=uuid4(), site_id=uuid4(), name="Early", local_date=date(2026, 3, 2),
                         starts_at=t(0), ends_at=t(480), breaks=[{"start": t(240), "end": t(270)}],
                         length_seconds=28_800, break_seconds=1_800)


def test_the_step_is_the_smallest_that_fits() -> None:
    assert pick_step(480, 76) == 10  # 8 h: 48 characters
    assert pick_step(480, 116) == 5  # 96 characters at 120 columns
    assert pick_step(720, 76) == 10  # 12 h: 72 characters
    assert pick_step(1440, 76) == 20


def test_each_cell_shows_the_state_that_filled_most_of_it_and_the_future_stays_blank() -> None:
    spans = [StateSpan(state="running", started_at=t(0), ended_at=t(14)),
             StateSpan(state="unplanned_stop", started_at=t(14), ended_at=t(30)),  # 6 of cell 2, all of cell 3
             StateSpan(state="running", started_at=t(30), ended_at=None)]
    g = gantt(spans, t(0), t(60), t(45), ZoneInfo("Europe/Berlin"), 6)  # now in the fifth cell
    assert g.step_minutes == 10
    # 0-10 run; 10-20: 4 min run, 6 stopped; 20-30 stopped; 30-40 run; 40-45 run (then now); 50-60 to come.
    assert plain(g.bar) == "█XX██ "
    assert g.axis == "07"  # 06:00 UTC is 07:00 in Berlin, at the first character
    assert "running" in g.legend and "stopped" in g.legend and "idle" not in g.legend


def test_hours_without_a_recorded_state_say_no_signal() -> None:
    g = gantt([], t(0), t(120), t(120), None, 12)
    assert plain(g.bar) == "·" * 12 and "no signal" in g.legend
    assert g.axis == "06    07"  # a label where each hour begins


def test_the_target_is_spread_over_working_time() -> None:
    # 480 parts in 7.5 working hours: 64 an hour; the hour holding the 30-minute break 32.
    assert hour_target(480, SHIFT, t(0), t(60)) == 64
    assert hour_target(480, SHIFT, t(240), t(300)) == 32
    assert hour_target(None, SHIFT, t(0), t(60)) is None


def test_hour_lines_say_below_or_on_target_in_words() -> None:
    hours = [HourCounts(start=t(0), end=t(60), good=70, reject=1), HourCounts(start=t(60), end=t(120), good=50,
                                                                            reject=0),
             HourCounts(start=t(120), end=t(180), good=10, reject=0), HourCounts(start=t(180), end=t(240), good=0,
                                                                                  reject=0)]
    lines = [plain(line) for line in hour_lines(hours, 480, SHIFT, t(150), UTC, 10)]
    assert lines[0].startswith("06:00") and "70 / 64" in lines[0] and "on target ✗1" in lines[0]
    assert "50 / 64" in lines[1] and "below (-14)" in lines[1]
    assert "10 / 32" in lines[2] and "below (-22)" in lines[2] and "◀ now" in lines[2]  # half an hour so far
    assert "/ 64" in lines[3] and "upcoming" in lines[3]


def test_hours_before_monitoring_say_no_data_not_below_target() -> None:
    # Monitoring began at 07:30: the 06:00 hour has no count and no state of the machine's own, so
    # it is not judged; the 07:00 hour was observed (running from 07:30) and is below its 64.
    hours = [HourCounts(start=t(0), end=t(60), good=0, reject=0), HourCounts(start=t(60), end=t(120), good=20,
                                                                           reject=0),
             HourCounts(start=t(120), end=t(180), good=0, reject=0)]
    states = [StateSpan(state="no_data", started_at=t(0), ended_at=t(90)),
              StateSpan(state="running", started_at=t(90), ended_at=t(130)),
              StateSpan(state="unplanned_stop", started_at=t(130), ended_at=None)]
    lines = [plain(line) for line in hour_lines(hours, 480, SHIFT, t(170), UTC, 10, states)]
    assert "no data" in lines[0] and "below" not in lines[0]
    assert "20 / 64" in lines[1] and "below (-44)" in lines[1]
    # Stopped all of the 08:00 hour is observed: zero made is below target, not "no data".
    assert "below" in lines[2] and "◀ now" in lines[2]
    # Without states (a caller that has none), the old reading stays.
    assert "below" in plain(hour_lines(hours[:1], 480, SHIFT, t(170), UTC, 10)[0])
