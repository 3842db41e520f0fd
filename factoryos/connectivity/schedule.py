"""When polls are due, and how punctually they started.

Polls lie on a grid `phase + k × interval`: machines of one endpoint share it (one phase
per endpoint), so their reads keep coalescing into one batch; different endpoints wake at
different phases.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field


def next_slot(due: float, now: float, interval: float, phase: float = 0.0) -> float:
    """When the poll after the one due at `due` is due, on the grid `phase + k × interval`.

    The machines of one endpoint share a grid, so they keep landing in one batch read even
    after a slow round made some of them late (drifting schedules would split the batch and
    make every read wait for another); endpoints get different phases so they do not all
    wake at once. A poll that overran its slot runs at once; slots missed entirely are
    skipped, not caught up.
    """
    following = phase + (math.floor((due - phase) / interval + 1e-6) + 1) * interval
    if now - following >= interval:
        following = phase + math.floor((now - phase) / interval + 1e-6) * interval
    return following


def stable_offset(key: str, span: float) -> float:
    """A fixed pseudo-random offset in [0, span) for `key`: an endpoint's phase on its grid, or a
    machine's health heartbeat phase, so thousands of them do not all come at the same instant."""
    return zlib.crc32(key.encode()) / 2**32 * span


_STEP = 0.005  # lateness histogram resolution (s)
_STEPS = 400  # up to 2 s; later polls share the last bucket


@dataclass
class PollTiming:
    """How punctually polls start: counts and a 5 ms histogram of lateness (for the benchmark)."""

    polls: int = 0
    late: int = 0
    max_lateness: float = 0.0
    histogram: list[int] = field(default_factory=lambda: [0] * (_STEPS + 1))

    def record(self, lateness: float, late_after: float) -> None:
        self.polls += 1
        if lateness > late_after:
            self.late += 1
        self.max_lateness = max(self.max_lateness, lateness)
        self.histogram[min(_STEPS, max(0, int(lateness / _STEP)))] += 1

    def percentile(self, q: float) -> float:
        """Upper bound of the lateness of the fastest `q` share of polls (0 < q ≤ 1)."""
        wanted, seen = q * self.polls, 0
        for index, count in enumerate(self.histogram):
            seen += count
            if seen >= wanted and seen:
                return min((index + 1) * _STEP, self.max_lateness)
        return self.max_lateness
