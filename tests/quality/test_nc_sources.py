"""An NC opened from an out-of-spec inspection or from a rejection over HTTP (each answer checked against
the OpenAPI document): what the source knows fills the NC; bad sources are refused at `source_id`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.accounts import join, new_company
from tests.production import plant
from tests.production.plant import problem
from tests.quality import support

NC = "/api/v1/nonconformances"


def _open(api, who, **body):
    return api.post(NC, json=body, headers=who.headers)


def test_an_nc_from_an_out_of_spec_inspection_takes_what_it_found(api, owner, app_engine) -> None:
    shop = support.running_shop(api, owner, app_engine)
    m = shop["machine"]["id"]
    p = support.plan(api, owner, product_id=shop["product"]["id"])
    assert support.release(api, owner, p["id"]).status_code == 200
    ver = support.get_version(api, owner, p["id"])
    good = support.inspect(api, owner, m, p["id"], ver).json()
    bad = support.inspect(api, owner, m, p["id"], ver, values=["10.06", "10.07", "10.00"], passed=False,
                          defect="Burr").json()
    assert bad["result"] == "fail"
    operator = join(api, owner, "operator")

    r = _open(api, operator, source="inspection", source_id=bad["id"])
    assert r.status_code == 201, r.text
    nc = r.json()
    assert (nc["source"], nc["source_id"], nc["machine_id"], nc["product_id"], nc["order_id"]) == (
        "inspection", bad["id"], m, shop["product"]["id"], shop["order"]["id"])
    assert nc["quantity"] == "2.000"  # two bores above the limit; the burr is on one part
    assert nc["description"] == ("Inspection Bracket final v1: Bore: 10.07 is above the upper limit 10.05 mm by "
                                 "0.02; Surface: failed: Burr")
    assert nc["reported_by"] == operator.user_id and nc["history"][0]["details"]["source"] == "inspection"

    # What the operator sends wins over what the inspection says.
    r = _open(api, operator, source="inspection", source_id=bad["id"], quantity=5, description="Whole tray")
    assert (r.json()["quantity"], r.json()["description"]) == ("5.000", "Whole tray")

    problem(_open(api, operator, source="inspection", source_id=good["id"]), 422, "inspection_in_spec",
            field="source_id")
    problem(_open(api, operator, source="inspection", source_id=str(uuid.uuid4())), 422, "inspection_not_found",
            field="source_id")
    problem(_open(api, operator, source="inspection"), 422, "required", field="source_id")
    problem(_open(api, operator, source="inspection", source_id=bad["id"], machine_id=plant.machine(
        api, owner, shop["site"]["id"])["id"]), 422, "validation_failed", field="machine_id")
    # Another company's inspection is not found.
    problem(_open(api, new_company(api), source="inspection", source_id=bad["id"]), 422, "inspection_not_found",
            field="source_id")


def test_an_nc_from_a_rejection_takes_its_machine_order_quantity_and_reason(api, owner, app_engine) -> None:
    shop = support.running_shop(api, owner, app_engine)
    plant.shift(api, owner, shop["site"]["id"], "Day", "00:00", "00:00")  # 24 h: rejections can be booked
    m = shop["machine"]["id"]
    reasons = {r["code"]: r for r in api.get("/api/v1/downtime/reasons", headers=owner.headers).json()["items"]}
    at = (datetime.now(UTC) - timedelta(minutes=2)).isoformat()
    r = api.post("/api/v1/rejections", headers=owner.headers, json={
        "machine_id": m, "occurred_at": at, "quantity": 7, "reason_id": reasons["DEFECT.DIMENSION"]["id"],
        "operation_id": shop["operation_id"], "note": "flange"})
    assert r.status_code == 201, r.text
    rejection = r.json()
    operator = join(api, owner, "operator")

    r = _open(api, operator, source="rejection", source_id=rejection["id"])
    assert r.status_code == 201, r.text
    nc = r.json()
    assert (nc["source"], nc["source_id"], nc["machine_id"], nc["quantity"]) == ("rejection", rejection["id"], m,
                                                                                "7.000")
    assert (nc["order_id"], nc["product_id"]) == (shop["order"]["id"], shop["product"]["id"])
    assert nc["description"] == f"Rejected: {reasons['DEFECT.DIMENSION']['name']} (flange)"

    problem(_open(api, operator, source="rejection", source_id=str(uuid.uuid4())), 422, "rejection_not_found",
            field="source_id")


def test_by_hand_machine_quantity_and_description_are_required(api, owner) -> None:
    site = plant.site(api, owner)
    m = plant.machine(api, owner, site["id"])["id"]
    problem(_open(api, owner, quantity=1, description="Dent"), 422, "required", field="machine_id")
    problem(_open(api, owner, machine_id=m, description="Dent"), 422, "required", field="quantity")
    problem(_open(api, owner, machine_id=m, quantity=1), 422, "required", field="description")
    problem(_open(api, owner, machine_id=m, quantity=1, description="Dent", source_id=str(uuid.uuid4())), 422,
            "validation_failed", field="source")
    assert _open(api, owner, machine_id=m, quantity=1, description="Dent").status_code == 201
