"""The quality report's subgroup table names the chart of each signal.

The table shows each subgroup's mean against the X̄ chart's limits. A subgroup whose range was
beyond the R chart's limits read "beyond 3σ" next to a mean well inside the X̄ limits printed
on the same row: a supervisor would look for a mean out of control that is not there. Real
server over HTTP, inspections recorded through the API (the quality tests' shop).
"""

from __future__ import annotations

from tests.onboarding.conftest import api, owner, spec  # noqa: F401  (fixtures, used by name)
from tests.quality.test_quality_report_charts import OFF_MEAN, WIDE_RANGE, expected_marks, history


def test_each_signal_names_its_chart(api, owner, app_engine) -> None:  # noqa: F811
    world = history(api, owner, app_engine)
    assert expected_marks(world["spc"]) == ([OFF_MEAN], [WIDE_RANGE])  # one mean off, one range wide
    r = api.get("/api/v1/reports/quality", params=world["params"] | {"format": "json"}, headers=owner.headers)
    assert r.status_code == 200, r.text
    (table,) = [s for s in r.json()["sections"] if s["key"] == "spc_bore"]
    signals = [row["rules"] for row in table["rows"]]

    assert signals[WIDE_RANGE] == "R beyond 3σ"  # the range's, not the mean's
    assert signals[OFF_MEAN].startswith("X̄ beyond 3σ")
    assert all(s in ("", None) for i, s in enumerate(signals) if i not in (OFF_MEAN, WIDE_RANGE))
