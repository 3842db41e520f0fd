"""A full backup disk: a clear error, no partial file, the older backup kept and intact."""

from __future__ import annotations

import pytest

from scripts.drills.backup_disk_full import MountUnavailable, run_drill
from tests.conftest import TEST_DB

pytestmark = pytest.mark.slow  # a drill: scripts/test.sh --all and CI run it


def test_full_backup_disk_fails_cleanly_and_keeps_old_backups(db_urls, pg_tmp) -> None:
    try:
        outcome = run_drill(db_urls, pg_tmp, database=TEST_DB)
    except MountUnavailable as exc:
        pytest.skip(str(exc))

    assert outcome.error_code == "backup_disk_full", outcome.summary()
    assert "space" in outcome.error and "\n" not in outcome.error
    assert outcome.leftovers == []
    assert outcome.first_verifies
    assert outcome.after_freeing
