"""kill -9 of the API process mid-way through operator entries: every entry stored once."""

from __future__ import annotations

import pytest

from scripts.drills.kill9_entries import run_drill
from tests.conftest import TEST_DB

pytestmark = pytest.mark.slow


def test_entries_survive_kill9_exactly_once(db_urls, pg_tmp) -> None:
    outcome = run_drill(db_urls, pg_tmp, entries=240, machines=8, kills=2, database=TEST_DB, log=lambda _: None)

    assert outcome.kill_at and len(outcome.kill_at) == 2, outcome.summary()
    assert outcome.failures == [], outcome.failures[:5]
    assert outcome.duplicates == {}, outcome.summary()
    assert outcome.missing == [], outcome.summary()
    assert outcome.stored == outcome.stored_keys == 240
    assert outcome.answered == 240
    assert outcome.retries > 0  # the kills really cut requests off
