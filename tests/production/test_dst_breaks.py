"""The documented rule for breaks in a DST hour, through the real API (Europe/Berlin, 2026).

Each break boundary resolves on its own to the first instant the site's clock shows that
wall time or later: in spring the skipped hour shrinks a break, in autumn a time in the
repeated hour is its first pass, so a break from inside that hour to after it spans both passes.
"""

from __future__ import annotations

import httpx
import pytest

from tests.accounts import Session, new_company
from tests.production import plant

SPRING, AUTUMN = "2026-03-28", "2026-10-24"  # the night shifts that start on these dates


@pytest.fixture(scope="module")
def owner(api: httpx.Client) -> Session:
    return new_company(api)


def night_break(api: httpx.Client, owner: Session, start: str, end: str, night: str) -> list[dict]:
    site = plant.site(api, owner, timezone="Europe/Berlin")
    plant.shift(api, owner, site["id"], "Night", "22:00", "06:00", [(start, end)])
    r = api.get("/api/v1/shifts/instances", params={"site_id": site["id"], "from": night, "to": night},
                headers=owner.headers)
    assert r.status_code == 200, r.text
    (instance,) = r.json()
    return [(b["start"], b["end"]) for b in instance["breaks"]]


@pytest.mark.parametrize(
    ("start", "end", "night", "utc"),
    [
        # Spring: 02:00–03:00 never happens (01:00 UTC the clock jumps from 02:00 to 03:00).
        ("02:15", "02:45", SPRING, []),
        ("01:45", "02:30", SPRING, [("2026-03-29T00:45:00Z", "2026-03-29T01:00:00Z")]),
        ("02:30", "03:30", SPRING, [("2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z")]),
        # Autumn: 02:00–03:00 happens twice (summer time until 01:00 UTC, then winter time).
        ("02:00", "02:30", AUTUMN, [("2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z")]),
        ("02:30", "03:00", AUTUMN, [("2026-10-25T00:30:00Z", "2026-10-25T02:00:00Z")]),  # 1 h 30 min
        ("01:45", "02:15", AUTUMN, [("2026-10-24T23:45:00Z", "2026-10-25T00:15:00Z")]),
    ],
)
def test_breaks_in_a_dst_hour(api: httpx.Client, owner: Session, start: str, end: str, night: str,
                              utc: list[tuple[str, str]]) -> None:
    assert night_break(api, owner, start, end, night) == utc
