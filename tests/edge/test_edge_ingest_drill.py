"""The edge → broker → shared-subscription ingest drill in its short (CI) size: one ingest process
killed and the broker stopped while the PLCs count; stored totals equal what they made."""

from __future__ import annotations

import pytest

from scripts.drills.edge_ingest import run_drill
from tests.conftest import TEST_DB

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="session")]


async def test_edge_ingest_drill_short(db_urls, pg_tmp) -> None:
    outcome = await run_drill(db_urls, pg_tmp, machines=20, seconds=24, down=5, database=TEST_DB,
                              log=lambda _: None)
    made_good = sum(g for g, _ in outcome.made.values())
    assert made_good > 100, outcome.summary()  # the PLCs really counted, also during the faults
    assert outcome.spooled_peak > 0, outcome.summary()  # the edges spooled while the broker was down
    assert outcome.mismatches == {}, outcome.summary()
    assert outcome.exact, outcome.summary()
