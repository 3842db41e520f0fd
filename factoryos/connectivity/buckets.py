"""Per-minute count buckets for one machine.

Counts are attributed to the UTC minute of the reading that observed them. A minute is
emitted when it is over, and the current minute's counts so far every `partial_every`
seconds, so a live dashboard sees parts within seconds while the database still gets only
a few rows per machine and minute instead of one per poll. Each emission is a delta with
its own key; the database adds the deltas of a minute.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from factoryos.connectivity.events import CountDelta, minute_of


class MinuteBuckets:
    def __init__(self, machine_id: str, run_id: str, *, partial_every: float | None = None,
                 phase: float = 0.0) -> None:
        self._machine_id = machine_id
        self._run_id = run_id
        self._open: dict[datetime, list[int]] = {}
        self._seq = 0
        self._partial_every = timedelta(seconds=partial_every) if partial_every else None
        # Machines started together would otherwise all emit their partials in the same round.
        self._phase = timedelta(seconds=phase)
        self._next_partial: datetime | None = None

    def add(self, at: datetime, good: int, reject: int) -> None:
        if good or reject:
            counts = self._open.setdefault(minute_of(at), [0, 0])
            counts[0] += good
            counts[1] += reject

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
            good, reject = self._open.pop(minute)
            self._seq += 1
            key = f"{self._machine_id}|{minute:%Y-%m-%dT%H:%MZ}|{self._run_id}.{self._seq}"
            deltas.append(CountDelta(machine_id=self._machine_id, minute_utc=minute, good=good, reject=reject, key=key))
        return deltas
