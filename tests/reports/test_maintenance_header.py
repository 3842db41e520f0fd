"""The maintenance report covers every site's assets: its header must not name one site.

With a Linz and a Chicago plant the header read "Linz Plant" over a table of Chicago's presses
too, and nothing said that the days were Linz's. Real server over HTTP.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from tests.accounts import new_company
from tests.production import plant


def _maintenance(api: httpx.Client, owner) -> dict:
    today = datetime.now(UTC).date().isoformat()
    r = api.get("/api/v1/reports/maintenance", headers=owner.headers,
                params={"from": today, "to": today, "format": "json"})
    assert r.status_code == 200, r.text
    return r.json()


def test_header_of_a_company_with_two_sites_names_all_sites(api_client: httpx.Client) -> None:
    owner = new_company(api_client, timezone="Europe/Vienna")
    first = plant.site(api_client, owner, timezone="Europe/Vienna", name="Linz Plant")
    assert _maintenance(api_client, owner)["header"]["site"] == first["name"]  # one site: its name

    plant.site(api_client, owner, timezone="America/Chicago", name="Chicago Plant")
    doc = _maintenance(api_client, owner)

    assert doc["header"]["site"] == "All sites"
    assert doc["header"]["timezone"] == first["timezone"]
    assert any(first["name"] in note and first["timezone"] in note for note in doc["notes"])
