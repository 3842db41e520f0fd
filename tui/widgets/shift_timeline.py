"""Text pictures of one machine's shift: a state Gantt (one character per N minutes, with
its legend and an hour axis) and counts per hour against the target.

Pure functions returning Rich markup, so they are tested without a screen. Each state has
its own character as well as its colour: the picture reads in the high-contrast theme and
on a monochrome terminal too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from factoryos.client.models import HourCounts, ShiftInstanceOut, StateSpan

# One character per this many minutes: the smallest step that fits the width.
STEPS = (1, 2, 5, 10, 15, 20, 30, 60, 120)
GLYPHS: dict[str, tuple[str, str, str]] = {  # state → (character, colour variable, legend)
    "running": ("█", "$state-running", "running"),
    "idle": ("░", "$state-idle", "idle"),
    "setup": ("s", "$state-setup", "setup"),
    "planned_stop": ("p", "$state-planned-stop", "planned stop"),
    "unplanned_stop": ("X", "$state-unplanned-stop", "stopped"),
    "offline": ("o", "$state-offline", "offline"),
    "no_data": ("?", "$state-no-data", "no data"),
}
NO_SIGNAL = ("·", "$text-muted", "no signal")


@dataclass(frozen=True)
class Gantt:
    step_minutes: int
    bar: str  # markup, one character per step
    axis: str  # hour labels under the bar (plain text)
    legend: str  # markup, only the states shown


def pick_step(minutes: float, width: int) -> int:
    return next((s for s in STEPS if minutes / s <= width), STEPS[-1])


def _dominant(spans: Sequence[StateSpan], lo: datetime, hi: datetime, now: datetime) -> str | None:
    """The state that filled most of [lo, hi) (None when no state was recorded in it)."""
    best, best_us = None, 0.0
    for span in spans:
        end = span.ended_at or now
        overlap = (min(end, hi) - max(span.started_at, lo)).total_seconds()
        if overlap > best_us:
            best, best_us = span.state, overlap
    return best


def gantt(spans: Sequence[StateSpan], start: datetime, end: datetime, now: datetime, zone: ZoneInfo | None,
          width: int) -> Gantt:
    """The period [start, end) in at most `width` characters; time after `now` stays blank."""
    step = pick_step((end - start).total_seconds() / 60, width)
    cells: list[str] = []
    used: dict[str, tuple[str, str, str]] = {}
    at = start
    while at < end:
        hi = min(at + timedelta(minutes=step), end)
        if at >= now:
            cells.append(" ")
        else:
            state = _dominant(spans, at, min(hi, now), now)
            glyph = GLYPHS.get(state or "", NO_SIGNAL)
            used[glyph[2]] = glyph
            cells.append(f"[{glyph[1]}]{glyph[0]}[/]")
        at = hi
    order = [g[2] for g in (*GLYPHS.values(), NO_SIGNAL)]
    legend = "  ".join(f"[{c}]{ch}[/] {name}" for ch, c, name in sorted(used.values(), key=lambda g: order.index(g[2])))
    return Gantt(step, "".join(cells), _axis(start, end, step, zone, len(cells)), legend)


def _axis(start: datetime, end: datetime, step: int, zone: ZoneInfo | None, length: int) -> str:
    """Local hour labels ("06") under the characters where each hour begins, as many as fit."""
    line = [" "] * (length + 2)
    first = start.astimezone(zone).replace(minute=0, second=0, microsecond=0)
    if first < start:
        first += timedelta(hours=1)
    every = 1
    while (60 * every) / step < 3:  # a label needs 2 characters and a gap
        every += 1
    at = first
    while at < end:
        col = int((at - start).total_seconds() // (step * 60))
        if at.astimezone(zone).hour % every == 0 and col + 2 <= len(line) and line[col] == " " and (
                col == 0 or line[col - 1] == " "):
            line[col:col + 2] = f"{at.astimezone(zone):%H}"
        at += timedelta(hours=1)
    return "".join(line).rstrip()


def planned_seconds(shift: ShiftInstanceOut | None, lo: datetime, hi: datetime) -> float:
    """Time of [lo, hi) inside the shift and outside its breaks."""
    if shift is None:
        return 0.0
    a, b = max(lo, shift.starts_at), min(hi, shift.ends_at)
    total = max(0.0, (b - a).total_seconds())
    for brk in shift.breaks:
        total -= max(0.0, (min(b, brk.end) - max(a, brk.start)).total_seconds())
    return max(0.0, total)


def hour_target(target: int | None, shift: ShiftInstanceOut | None, lo: datetime, hi: datetime) -> float | None:
    """The shift's target spread evenly over its working time (breaks make none)."""
    if not target or shift is None:
        return None
    working = shift.length_seconds - shift.break_seconds
    return target * planned_seconds(shift, lo, hi) / working if working > 0 else None


def hour_lines(hours: Sequence[HourCounts], target: int | None, shift: ShiftInstanceOut | None, now: datetime,
               zone: ZoneInfo | None, bar_width: int, states: Sequence[StateSpan] | None = None) -> list[str]:
    """One line per hour: a bar of good parts against the hour's target, with the figures and a
    word for below/on target (never colour alone). The running hour compares with its part so far.

    With the machine's `states`, an hour with no count and no state the machine reported (before
    monitoring began, or while it sent nothing) says "no data" rather than judging it below target."""
    wanted = [hour_target(target, shift, h.start, min(h.end, now)) for h in hours]
    scale = max([h.good for h in hours] + [round(w) for w in wanted if w] + [1])
    lines = []
    for h, want in zip(hours, wanted, strict=True):
        label = f"{h.start.astimezone(zone):%H:%M}"
        if h.start >= now:
            full = hour_target(target, shift, h.start, h.end)
            lines.append(f"{label}  {'':<{bar_width}}  {'':>5} / {_n(full):<5} upcoming")
            continue
        if states is not None and not (h.good or h.reject) and not _observed(states, h.start, min(h.end, now), now):
            lines.append(f"{label}  [$text-muted]{'·' * bar_width}[/]  {'–':>5} / {_n(want):<5} no data"
                         f"{' ◀ now' if h.end > now else ''}")
            continue
        filled = round(bar_width * h.good / scale)
        mark = round(bar_width * want / scale) if want else None
        cells = ["█" if i < filled else "·" for i in range(bar_width)]
        if mark is not None and 0 < mark <= bar_width:
            cells[mark - 1] = "┃" if mark > filled else cells[mark - 1]
        if want is None:
            verdict, colour = "", "$text"
        elif h.good >= round(want):
            verdict, colour = "on target", "$success"
        else:
            verdict, colour = f"below ({h.good - round(want):+d})", "$warning"
        now_mark = " ◀ now" if h.end > now else ""
        scrap = f" ✗{h.reject}" if h.reject else ""
        lines.append(f"{label}  [{colour}]{''.join(cells)}[/]  {h.good:>5} / {_n(want):<5} {verdict}{scrap}{now_mark}")
    return lines


def _observed(states: Sequence[StateSpan], start: datetime, end: datetime, now: datetime) -> bool:
    """Whether the machine reported a state of its own (not "no data" or "offline") within [start, end)."""
    return any(s.state not in ("no_data", "offline") and s.started_at < end and (s.ended_at or now) > start
               for s in states)


def _n(value: float | None) -> str:
    return "–" if value is None else str(round(value))
