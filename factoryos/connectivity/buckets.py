"""Per-minute count buckets for one machine, and the counter baseline that goes with them.

Counts are attributed to the UTC minute of the reading that observed them, or spread over
the minutes of a gap (`spread`) when one reading covers a long time (a lost connection, a
restart). A minute is emitted when it is over, and the current minute's counts so far every
`partial_every` seconds, so a live dashboard sees parts within seconds while the database
still gets only a few rows per machine and minute instead of one per poll. Each emission is
a delta with its own key; the database adds the deltas of a minute.

The last delta of each emission carries the counters' baseline (`Snapshot`) that is safe to
store with it: the latest reading all of whose parts have been emitted (this emission or an
earlier one). A baseline stored ahead of its parts would lose them after a crash; one stored
behind them would count them twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from factoryos.connectivity.events import CountDelta, minute_of

_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Both counters' baselines as of one reading."""

    good_raw: int
    reject_raw: int
    at: datetime


@dataclass(slots=True)
class _Open:
    good: int
    reject: int
    before: Snapshot | None  # the baseline before the first reading counted here (None: already stored)


def spread(start: datetime, end: datetime, parts: int) -> dict[datetime, int]:
    """`parts` whole parts over the minutes from `start` to `end` in proportion to time.

    Nothing is lost to rounding: each minute gets its share rounded down, and the parts left
    go to the minutes with the largest remainders (the later one on a tie)."""
    if parts <= 0:
        return {}
    if end <= start or minute_of(start) == minute_of(end):
        return {minute_of(end): parts}
    weights: dict[datetime, int] = {}
    minute = minute_of(start)
    while minute <= end:
        lo, hi = max(start, minute), min(end, minute + _MINUTE)
        if hi > lo:
            weights[minute] = (hi - lo) // timedelta(microseconds=1)
        minute += _MINUTE
    total = sum(weights.values())
    shares = {m: divmod(parts * w, total) for m, w in weights.items()}
    out = {m: q for m, (q, _) in shares.items()}
    left = parts - sum(out.values())
    for m in sorted(shares, key=lambda m: (shares[m][1], m), reverse=True)[:left]:
        out[m] += 1
    return {m: n for m, n in out.items() if n}


class MinuteBuckets:
    def __init__(self, machine_id: str, run_id: str, *, partial_every: float | None = None,
                 phase: float = 0.0, baseline_every: float = 5.0) -> None:
        self._machine_id = machine_id
        self._run_id = run_id
        self._open: dict[datetime, _Open] = {}
        self._seq = 0
        self._partial_every = timedelta(seconds=partial_every) if partial_every else None
        # Machines started together would otherwise all emit their partials in the same round.
        self._phase = timedelta(seconds=phase)
        self._next_partial: datetime | None = None
        self._baseline_every = timedelta(seconds=baseline_every)
        self._latest: Snapshot | None = None  # the last reading's baseline
        self._persisted: Snapshot | None = None  # the last one sent

    def add(self, at: datetime, good: int, reject: int, *, before: Snapshot | None = None) -> None:
        if good or reject:
            self._put(minute_of(at), good, reject, before)

    def add_minutes(self, counts: dict[datetime, tuple[int, int]], *, before: Snapshot | None = None) -> None:
        for minute, (good, reject) in counts.items():
            if good or reject:
                self._put(minute, good, reject, before)

    def _put(self, minute: datetime, good: int, reject: int, before: Snapshot | None) -> None:
        entry = self._open.get(minute)
        if entry is None:
            self._open[minute] = _Open(good, reject, before)
        else:
            entry.good += good
            entry.reject += reject

    def note(self, latest: Snapshot) -> None:
        """The baseline after the reading just counted."""
        self._latest = latest

    def safe(self) -> Snapshot | None:
        """The newest baseline whose parts have all been emitted; None if nothing new is known."""
        if not self._open:
            return self._latest
        befores = [entry.before for entry in self._open.values()]
        known = [b for b in befores if b is not None]
        if len(known) < len(befores):
            return None
        return min(known, key=lambda b: b.at)

    def baseline_due(self, *, force: bool = False) -> Snapshot | None:
        """A baseline to send on its own when it moved since the last one sent, at most every
        `baseline_every` seconds of reading time (at once with `force`)."""
        snap = self.safe()
        if snap is None or snap == self._persisted:
            return None
        if (not force and self._persisted is not None
                and snap.at - self._persisted.at < self._baseline_every):
            return None
        self._persisted = snap
        return snap

    def close_before(self, now: datetime) -> list[CountDelta]:
        """Deltas for every minute that ended before `now`'s minute, and the current minute's
        counts so far when a partial is due."""
        current = minute_of(now)
        minutes = [m for m in self._open if m < current]
        if self._partial_every is not None and current in self._open:
            if self._next_partial is None:
                self._next_partial = now + self._phase
            if now >= self._next_partial:
                minutes.append(current)
                self._next_partial = now + self._partial_every
        return self._emit(minutes)

    def flush(self) -> list[CountDelta]:
        """Deltas for every open minute, including the current one (shutdown, tests)."""
        return self._emit(list(self._open))

    def _emit(self, minutes: list[datetime]) -> list[CountDelta]:
        deltas = []
        for minute in sorted(minutes):
            entry = self._open.pop(minute)
            self._seq += 1
            key = f"{self._machine_id}|{minute:%Y-%m-%dT%H:%MZ}|{self._run_id}.{self._seq}"
            deltas.append(CountDelta(machine_id=self._machine_id, minute_utc=minute, good=entry.good,
                                     reject=entry.reject, key=key))
        snap = self.safe()
        if deltas and snap is not None and snap != self._persisted:
            deltas[-1] = deltas[-1].model_copy(update={"good_raw": snap.good_raw, "reject_raw": snap.reject_raw,
                                                       "raw_at": snap.at})
            self._persisted = snap
        return deltas
