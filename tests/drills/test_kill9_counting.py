"""kill -9 of the server while simulated PLCs count: what is stored equals what they made."""

from __future__ import annotations

import pytest

from scripts.drills.kill9_counting import run_drill
from tests.conftest import TEST_DB

pytestmark = pytest.mark.slow


async def test_counts_survive_kill9_exactly(db_urls, pg_tmp, session_duties) -> None:
    # The drill's `factoryos serve` must hold the duties (its poller is one): the session server stands aside.
    with session_duties.handed_over():
        outcome = await run_drill(db_urls, pg_tmp, machines=12, seconds=20, kills=1, down=6, database=TEST_DB,
                                  log=lambda _: None)

    made_good, made_reject, _, _ = outcome.totals()
    assert made_good > 50, outcome.summary()  # the PLCs really counted, also while the server was down
    assert outcome.anomalies == 0, outcome.summary()
    assert outcome.mismatches == {}, outcome.summary()
    assert outcome.exact, outcome.summary()
