"""The quality report of a product over HTTP: PDF, XLSX and JSON; its capability figures are the
SPC endpoint's for the same period, rejects are those booked to the product's orders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.production import plant
from tests.production.plant import problem
from tests.quality import support

VALUES = [["10.00", "10.01", "9.99"], ["10.02", "10.00", "10.01"], ["9.98", "10.00", "9.99"],
          ["10.01", "10.03", "10.02"], ["10.00", "10.06", "10.01"], ["9.99", "10.00", "10.00"]]


def record_quality_history(api, owner, app_engine) -> dict:
    shop = support.running_shop(api, owner, app_engine)
    plant.shift(api, owner, shop["site"]["id"], "Day", "00:00", "00:00")  # 24 h: rejections can be booked
    m = shop["machine"]["id"]
    p = support.plan(api, owner, product_id=shop["product"]["id"])
    support.release(api, owner, p["id"])
    v = support.get_version(api, owner, p["id"])
    for i, values in enumerate(VALUES):
        r = support.inspect(api, owner, m, p["id"], v, values=values, passed=i != 2,
                            defect=None if i != 2 else "Burr")
        assert r.status_code == 201, r.text
    reasons = {r["code"]: r["id"] for r in api.get("/api/v1/downtime/reasons", headers=owner.headers).json()["items"]}
    at = (datetime.now(UTC) - timedelta(minutes=2)).isoformat()
    for code, qty in (("DEFECT.DIMENSION", 4), ("DEFECT.DIMENSION", 1)):
        r = api.post("/api/v1/rejections", headers=owner.headers, json={
            "machine_id": m, "occurred_at": at, "quantity": qty, "reason_id": reasons[code],
            "operation_id": shop["operation_id"]})
        assert r.status_code == 201, r.text
    today = datetime.now(ZoneInfo("Europe/Berlin")).date().isoformat()
    return shop | {"plan": p, "version": v, "today": today}


def test_quality_report_json_pdf_xlsx(api, owner, app_engine) -> None:
    world = record_quality_history(api, owner, app_engine)
    params = {"product": world["product"]["number"], "from": world["today"], "to": world["today"]}
    r = api.get("/api/v1/reports/quality", params=params | {"format": "json"}, headers=owner.headers)
    assert r.status_code == 200, r.text
    doc = r.json()
    sections = {s["key"]: s for s in doc["sections"]}
    inspections = sections["inspections"]
    # One out of spec (10.06), one with a burr: 2 of 6 failed.
    assert inspections["totals"] == {"machine": "Total", "inspections": 6, "passed": 4, "failed": 2,
                                     "rate": pytest.approx(2 / 6)}
    spc = api.get("/api/v1/quality/spc", headers=owner.headers,
                  params={"characteristic_id": world["version"]["characteristics"][0]["id"]}).json()
    bore = next(row for row in sections["capability"]["rows"] if row["characteristic"] == "Bore")
    assert (bore["subgroups"], bore["values"], bore["out"]) == (6, 18, 1)
    cap = spc["capability"]
    assert (bore["cp"], bore["cpk"], bore["pp"], bore["ppk"]) == pytest.approx(
        (cap["cp"], cap["cpk"], cap["pp"], cap["ppk"]))
    surface = next(row for row in sections["capability"]["rows"] if row["characteristic"] == "Surface")
    assert (surface["spec"], surface["out"]) == ("pass / fail", 1)
    rejects = sections["rejects"]["rows"]
    assert [(r["machine"], r["quantity"]) for r in rejects] == [(world["machine"]["code"], 5)]
    assert [c["key"] for c in doc["sections"] if c["type"] != "table"][:2] == ["spc_bore_x", "spc_bore_r"]
    xbar = sections["spc_bore"]
    assert [row["mean"] for row in xbar["rows"]] == pytest.approx([p["value"] for p in spc["points"]])
    assert xbar["rows"][0]["ucl"] == pytest.approx(spc["location"]["upper"])

    for fmt, magic in (("pdf", b"%PDF"), ("xlsx", b"PK")):
        r = api.get("/api/v1/reports/quality", params=params | {"format": fmt}, headers=owner.headers)
        assert r.status_code == 200 and r.content.startswith(magic), r.text[:200]
        assert f"quality-{world['product']['number']}" in r.headers["content-disposition"]

    problem(api.get("/api/v1/reports/quality", params=params | {"product": "NOPE"}, headers=owner.headers), 404,
            "product_not_found", "product")
    problem(api.get("/api/v1/reports/quality", params=params | {"to": "2020-01-01"}, headers=owner.headers), 422,
            "invalid_range", "to")
