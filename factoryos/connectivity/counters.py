"""Turn successive readings of a PLC part counter into non-negative increments.

Rules:
- The first reading only sets the baseline (we cannot know what was produced before).
- Counter went up: the difference.
- Counter went down: either it wrapped past its maximum (a 16-bit counter after 65,535)
  or the PLC reset it. It is a wrap when the forward distance `modulus - previous + new`
  is plausible: at most `max_step` parts (derived from the ideal cycle time and the time
  since the last reading when known, otherwise a quarter of the counter's range).
  Anything else is a reset, and the new value is what was produced since the reset.
  Never negative.
- Counters without a fixed width (floats) have no wrap: every drop is a reset.
"""

from __future__ import annotations

import math


def plausible_step(elapsed: float, ideal_cycle_time: float | None) -> int | None:
    """Most parts a machine can make in `elapsed` seconds (with generous slack), if known."""
    if ideal_cycle_time is None:
        return None
    return math.ceil(2 * elapsed / ideal_cycle_time) + 16


class CounterTracker:
    """Delta of one raw counter; optionally scaled (e.g. 2 pulses per part, scale 0.5)."""

    def __init__(self, scale: float = 1.0) -> None:
        self._last: int | None = None
        self._scale = scale
        self._scaled_total = 0.0
        self._emitted = 0

    @property
    def last(self) -> int | None:
        return self._last

    def raw_delta(self, value: int, *, modulus: int | None, max_step: int | None = None) -> int:
        """Unscaled increment since the previous reading (0 for the first one)."""
        previous, self._last = self._last, value
        if previous is None:
            return 0
        if value >= previous:
            return value - previous
        if modulus is not None:
            forward = modulus - previous + value
            limit = max_step if max_step is not None else modulus // 4
            if 0 < forward <= limit:
                return forward
        return value

    def update(self, value: int, *, modulus: int | None, max_step: int | None = None) -> int:
        """Parts produced since the previous reading, after scaling (fractions carried over)."""
        delta = self.raw_delta(value, modulus=modulus, max_step=max_step)
        if self._scale == 1.0:
            return delta
        self._scaled_total += delta * self._scale
        parts = math.floor(self._scaled_total + 1e-9) - self._emitted
        self._emitted += parts
        return parts
