"""SPC over HTTP: the chart of recorded inspections carries the hand-computed figures of
tests/quality/test_spc.py (five subgroups of three, specification 5 … 17)."""

from __future__ import annotations

import pytest

from tests.production import plant
from tests.production.plant import problem
from tests.quality import support

GROUPS = [["10", "12", "11"], ["11", "13", "12"], ["9", "11", "10"], ["12", "12", "12"], ["10", "14", "12"]]


def _length(**over):
    return {"name": "Length", "kind": "measured", "nominal": "11", "lsl": "5", "usl": "17", "unit": "mm",
            "decimals": 1, "min_value": "0", "sample_size": 3} | over


def test_spc_chart_from_inspections_across_versions(api, owner) -> None:
    s = plant.site(api, owner)
    m = plant.machine(api, owner, s["id"])
    p = support.plan(api, owner, machine_id=m["id"], version={"characteristics": [_length()]})
    support.release(api, owner, p["id"])
    v1 = support.get_version(api, owner, p["id"])
    length = v1["characteristics"][0]

    def record(values):
        r = api.post("/api/v1/inspections", headers=owner.headers, json={
            "machine_id": m["id"], "plan_id": p["id"],
            "results": [{"characteristic_id": cid(), "values": values}]})
        assert r.status_code == 201, r.text

    current = {"id": length["id"]}

    def cid():
        return current["id"]

    for g in GROUPS[:3]:
        record(g)
    # Version 2 tightens nothing but the decimals: the chart follows the characteristic on.
    r = api.post(f"/api/v1/quality/plans/{p['id']}/versions", headers=owner.headers,
                 json={"content": {"characteristics": [_length(decimals=2)]}})
    assert r.status_code == 201, r.text
    support.release(api, owner, p["id"], 2)
    current["id"] = support.get_version(api, owner, p["id"], 2)["characteristics"][0]["id"]
    assert current["id"] != length["id"]
    for g in GROUPS[3:]:
        record(g)

    r = api.get("/api/v1/quality/spc", params={"characteristic_id": current["id"]}, headers=owner.headers)
    assert r.status_code == 200, r.text
    chart = r.json()
    assert (chart["kind"], chart["n"], len(chart["points"])) == ("xbar_r", 3, 5)
    assert [pt["value"] for pt in chart["points"]] == [11, 12, 10, 12, 12]
    assert chart["location"]["centre"] == pytest.approx(11.4)
    assert chart["location"]["upper"] == pytest.approx(13.446)
    assert chart["location"]["lower"] == pytest.approx(9.354)
    assert chart["spread"]["upper"] == pytest.approx(5.148)
    cap = chart["capability"]
    assert (cap["values"], cap["subgroups"]) == (15, 5)
    assert cap["cp"] == pytest.approx(1.693, abs=1e-6) and cap["cpk"] == pytest.approx(1.580133, abs=1e-6)
    assert cap["pp"] == pytest.approx(1.540416, abs=1e-6) and cap["ppk"] == pytest.approx(1.437722, abs=1e-6)
    assert chart["violations"] == 0

    # A period with no inspections: nothing to chart, said so.
    r = api.get("/api/v1/quality/spc", params={"characteristic_id": current["id"], "to": "2020-01-01T00:00:00Z"},
                headers=owner.headers)
    assert r.status_code == 200 and (r.json()["kind"], r.json()["points"]) == (None, [])
    problem(api.get("/api/v1/quality/spc", params={"characteristic_id": current["id"], "to": "2020-01-01T00:00:00"},
                    headers=owner.headers), 422, "naive_datetime", "to")
    problem(api.get("/api/v1/quality/spc", params={"characteristic_id": "00000000-0000-0000-0000-000000000001"},
                    headers=owner.headers), 404, "characteristic_not_found")
