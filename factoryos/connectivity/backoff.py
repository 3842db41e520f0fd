"""Exponential back-off with a cap and a little jitter (so endpoints do not retry in lockstep)."""

from __future__ import annotations

import random


class Backoff:
    def __init__(self, initial: float = 0.5, cap: float = 30.0, factor: float = 2.0, jitter: float = 0.1) -> None:
        if initial <= 0 or cap < initial or factor < 1 or not 0 <= jitter < 1:
            raise ValueError("need 0 < initial ≤ cap, factor ≥ 1, 0 ≤ jitter < 1")
        self.initial, self.cap, self.factor, self.jitter = initial, cap, factor, jitter
        self.failures = 0

    def next_delay(self) -> float:
        """Delay before the next attempt after one more failure."""
        base = min(self.cap, self.initial * self.factor**self.failures)
        self.failures += 1
        return base * (1 - self.jitter * random.random())

    def reset(self) -> None:
        self.failures = 0
