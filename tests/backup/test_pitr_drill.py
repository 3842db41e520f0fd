"""The short version of the storage-loss drill (scripts/drills/pitr_storage_loss.py)."""

from __future__ import annotations

import pytest

from scripts.drills.pitr_storage_loss import run


@pytest.mark.slow  # its own cluster, a base backup, a restore and a restart
def test_losing_the_data_directory_mid_stream_restores_every_entry_the_archive_received() -> None:
    figures = run(seconds=5, rate=40, say=lambda message: None)
    assert figures.writer_error is not None  # the storage really went away under the writer
    assert len(figures.acked) > 20
    # Nothing in the middle lost, every chain verified, and at most the last second of entries missing.
    assert figures.restored_last is not None and figures.restored_count == figures.restored_last
    assert figures.chains_ok == 1
    assert figures.rpo_entries <= 40
