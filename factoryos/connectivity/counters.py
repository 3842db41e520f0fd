"""Turn successive readings of a PLC part counter into non-negative increments.

Rules:
- The first reading only sets the baseline (we cannot know what was produced before),
  unless a stored baseline was given: then it counts from that (see Continuity below).
- Counter went up: the difference.
- Counter went down: either it wrapped past its maximum (a 16-bit counter after 65,535)
  or the PLC reset it. It is a wrap when the forward distance `modulus - previous + new`
  is plausible: at most `max_step` parts (derived from the ideal cycle time and the time
  since the last reading when known, otherwise a quarter of the counter's range).
  Anything else is a reset, and the new value is what was produced since the reset.
  Never negative.
- Counters without a fixed width (floats) have no wrap: every drop is a reset.

Plausibility (`parts_bound`): a delta above what the machine could make since the previous
reading, ideal rate × factor × elapsed + 1 part (factor 1.5 unless configured), capped by an
optional fixed maximum, is not production: the monitor reports it as a counter anomaly and
the baseline moves on to the new value, so the next deltas count normally. Without an ideal
cycle time and without a fixed maximum there is no bound.

A suspect reset holds both counters: when the good and the reject counter of a machine both
go down in the same reading (a PLC restarted with preset or stale values, a program download)
and either one's delta is held as an anomaly, the other's delta is held as an anomaly of its
own too, however small, for the supervisor to accept or discard: a reset that claims the
impossible for one counter proves nothing for the other. A single counter's drop, and a drop
of both whose deltas are both plausible (a genuine reset after a normal run), count as before.

The two drops need not come in one reading: a subscription (OPC-UA, Sparkplug) may push the
counters with distinct source times, and a poll may fall between the two writes of a restart.
So a drop of one counter alone (a wrap or a reset) waits for the other counter's next reading,
for at most `SUSPECT_GRACE` seconds of reading time: a poll of the PLC reads it again at once;
a pushed value (a subscription, or an MQTT message that a poll only picks up) when it changes.
Meanwhile the drop's parts (and the counter's parts after it) are held back, and the stored
baseline keeps that counter's value from before the drop, so a crash loses nothing (the drop
is read again from there). If the other counter drops within the grace and either side claims
the impossible, everything held and the other's delta become anomalies, as in one reading;
otherwise the held parts count at their own times, as before. Stopping the monitor counts what
waits. A drop to a value that claims no parts holds nothing.

Continuity: the baseline (last raw value and when it was read) is stored in the database
in the same transaction as the counts it closes, so after a restart the first reading counts
from it, under the same rules:
- PLC reset while FactoryOS was down: the drop is read as a wrap when the forward distance
  is plausible for the time elapsed, otherwise as a reset (the new value is what was made
  since the reset). Parts made before the reset and after the last stored reading are not
  known to anyone and cannot be counted.
- Counter replaced (another register, node, data type or PLC in the settings): the old
  baseline means nothing for it; the first reading of the new counter is a new baseline.
- The jump since the stored value is bounded like any other delta, with the elapsed time
  since the stored reading: a counter that moved more than the machine could make while
  FactoryOS was down becomes an anomaly, not production.

Scaled counters (scale ≠ 1, e.g. 0.5 for two pulses per part) carry the fraction of a part
between readings exactly (in rational arithmetic). The stored baseline is the raw value at
the last whole part, so for scale 1/n (n pulses per part) a restart loses nothing: the pulses
of the unfinished part are counted again from the stored value. For other fractional scales
(e.g. 0.3) a restart may drop less than one part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

DEFAULT_FACTOR = 1.5
# Seconds a lone drop of one counter waits for a drop of the other (a PLC restart writes both
# within a scan; sampling servers and edge scan classes may stamp them up to a second or two apart).
SUSPECT_GRACE = 3.0


@dataclass(frozen=True, slots=True)
class StoredCounter:
    """A counter's last raw value folded into stored counts, and when it was read."""

    raw: int
    read_at: datetime


def plausible_step(elapsed: float, ideal_cycle_time: float | None) -> int | None:
    """Most parts a machine can make in `elapsed` seconds (with generous slack), if known.

    Only decides whether a drop is a wrap or a reset; `parts_bound` is the production bound."""
    if ideal_cycle_time is None:
        return None
    return math.ceil(2 * elapsed / ideal_cycle_time) + 16


def parts_bound(elapsed: float, ideal_cycle_time: float | None, factor: float = DEFAULT_FACTOR,
                fixed_max: int | None = None) -> int | None:
    """Most parts a counter may claim for `elapsed` seconds: ideal rate × factor × elapsed + 1,
    capped by `fixed_max`; None when neither an ideal cycle time nor a maximum is known."""
    bound = None
    if ideal_cycle_time:
        bound = math.floor(factor * max(0.0, elapsed) / ideal_cycle_time + 1 + 1e-9)
    if fixed_max is not None:
        bound = fixed_max if bound is None else min(bound, fixed_max)
    return bound


class CounterTracker:
    """Delta of one raw counter; optionally scaled (e.g. 2 pulses per part, scale 0.5)."""

    def __init__(self, scale: float = 1.0, baseline: StoredCounter | None = None) -> None:
        self._last: int | None = baseline.raw if baseline else None
        self._last_at: datetime | None = baseline.read_at if baseline else None
        self._modulus: int | None = None
        ratio = Fraction(scale).limit_denominator(1_000_000)
        self._num, self._den = ratio.numerator, ratio.denominator  # scale = num / den
        self._carry = 0  # the unfinished part, in 1/den parts

    @property
    def last(self) -> int | None:
        """The raw value last read."""
        return self._last

    @property
    def last_at(self) -> datetime | None:
        return self._last_at

    @property
    def baseline(self) -> StoredCounter | None:
        """What to store: the raw value at the last whole part, and when it was read."""
        if self._last is None or self._last_at is None:
            return None
        pending = self._carry // self._num  # whole raw units not yet turned into a part
        raw = self._last - pending
        if raw < 0:
            raw = raw % self._modulus if self._modulus else 0
        return StoredCounter(raw, self._last_at)

    def raw_delta(self, value: int, *, modulus: int | None, max_step: int | None = None) -> int:
        """Unscaled increment since the previous reading (0 for the first one)."""
        previous, self._last = self._last, value
        self._modulus = modulus
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

    def update(self, value: int, *, modulus: int | None, max_step: int | None = None,
               at: datetime | None = None) -> int:
        """Parts produced since the previous reading, after scaling (fractions carried over)."""
        delta = self.raw_delta(value, modulus=modulus, max_step=max_step)
        self._last_at = at
        if self._num == self._den:
            return delta
        total = self._carry + delta * self._num
        parts, self._carry = divmod(total, self._den)
        return parts
