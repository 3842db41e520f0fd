"""The short version of the standby promotion drill (scripts/drills/standby_promotion.py)."""

from __future__ import annotations

import pytest

from scripts.drills.standby_promotion import run


@pytest.mark.slow  # two clusters, a clone, a kill and a promotion
@pytest.mark.timeout(240)
def test_killing_the_primary_and_promoting_the_standby_keeps_the_streamed_entries() -> None:
    figures = run(seconds=4, rate=40, say=lambda message: None)
    assert figures.writer_error is not None  # the primary really died under the writer
    assert len(figures.acked) > 20
    # Nothing in the middle lost, and at most the last second of entries (asynchronous streaming).
    assert figures.promoted_last is not None and figures.promoted_count == figures.promoted_last
    assert figures.rpo_entries <= 40
    assert figures.rto_seconds < 60
