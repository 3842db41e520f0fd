"""Back-off grows exponentially to its cap and starts over after a success."""

from __future__ import annotations

import pytest

from factoryos.connectivity.backoff import Backoff


def test_doubles_up_to_the_cap_then_resets() -> None:
    backoff = Backoff(initial=0.5, cap=4.0, jitter=0.0)
    assert [backoff.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5


def test_jitter_only_shortens() -> None:
    backoff = Backoff(initial=1.0, cap=8.0, jitter=0.25)
    delays = [backoff.next_delay() for _ in range(5)]
    for delay, base in zip(delays, [1, 2, 4, 8, 8], strict=True):
        assert base * 0.75 <= delay <= base


def test_bad_parameters() -> None:
    with pytest.raises(ValueError):
        Backoff(initial=2.0, cap=1.0)
