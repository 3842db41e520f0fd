"""Per-minute count buckets for one machine.

Counts are attributed to the UTC minute of the reading that observed them and held
until that minute is over, so the database gets about one row per machine and minute
instead of one per poll.
"""

from __future__ import annotations

from datetime import datetime

from factoryos.connectivity.events import CountDelta, minute_of


class MinuteBuckets:
    def __init__(self, machine_id: str, run_id: str) -> None:
        self._machine_id = machine_id
        self._run_id = run_id
        self._open: dict[datetime, list[int]] = {}
        self._seq = 0

    def add(self, at: datetime, good: int, reject: int) -> None:
        if good or reject:
            counts = self._open.setdefault(minute_of(at), [0, 0])
            counts[0] += good
            counts[1] += reject

    def close_before(self, now: datetime) -> list[CountDelta]:
        """Deltas for every minute that ended before `now`'s minute."""
        current = minute_of(now)
        return self._emit([m for m in self._open if m < current])

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
