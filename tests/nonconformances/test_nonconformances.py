"""Nonconformances through the real API: open from the terminal, list, edit, disposition, close (signed)."""

from __future__ import annotations

import pytest

from factoryos.licensing.document import Edition
from server.app import all_endpoints
from tests.accounts import new_company
from tests.nonconformances.support import NC, disposition, ok, open_nc, quality_plant, signature
from tests.production import plant
from tests.production.plant import problem


def test_every_quality_route_is_an_advanced_module() -> None:
    routes = [e for e in all_endpoints() if e.path.startswith(("/api/v1/nonconformances", "/api/v1/capas"))]
    assert len(routes) >= 6
    assert {e.module for e in routes} == {("Quality", Edition.ADVANCED)}


def test_nc_lifecycle_open_disposition_close_with_history(http) -> None:
    p = quality_plant(http)
    product = ok(http.post("/api/v1/products", json={"number": "BR-100", "name": "Bracket"}, headers=p.owner.headers),
                 201)
    nc = open_nc(http, p.operator, p.machine["id"], product_id=product["id"], quantity="12.5",
                 description="Bohrung außer Toleranz")
    assert (nc["status"], nc["code"], nc["quantity"], nc["source"]) == ("open", "NC-0001", "12.500", "manual")
    assert nc["machine_code"] == p.machine["code"] and nc["product_number"] == "BR-100"
    assert nc["reported_by"] == p.operator.user_id and nc["reported_by_name"] == "Sam Staff"
    # An operator opens and reads, but neither decides nor closes.
    problem(http.post(f"{NC}/{nc['id']}/disposition", json={"disposition": "scrap"}, headers=p.operator.headers),
            403, "permission_denied")
    problem(http.post(f"{NC}/{nc['id']}/close", json={"signature": signature(p.manager)},
                      headers=p.manager.headers), 409, "nonconformance_not_dispositioned")
    edited = ok(http.patch(f"{NC}/{nc['id']}", json={"quantity": 14, "reason": "recounted"},
                           headers=p.supervisor.headers))
    assert edited["quantity"] == "14.000"
    first = disposition(http, p.supervisor, nc["id"], "rework")
    assert (first["status"], first["disposition"], first["dispositioned_by"]) == ("dispositioned", "rework",
                                                                                 p.supervisor.user_id)
    changed = disposition(http, p.owner, nc["id"], "scrap", note="Rework would not hold the tolerance")
    assert changed["dispositioned_by_name"] is not None and changed["dispositioned_by"] == p.owner.user_id
    # A supervisor manages but does not approve.
    problem(http.post(f"{NC}/{nc['id']}/close", json={"signature": signature(p.supervisor)},
                      headers=p.supervisor.headers), 403, "permission_denied")
    closed = ok(http.post(f"{NC}/{nc['id']}/close", json={"signature": signature(p.manager)},
                          headers=p.manager.headers))
    assert closed["status"] == "closed" and closed["closed_by_name"] == "Sam Staff" and closed["closed_at"]
    history = closed["history"]
    assert [(e["kind"], e["from_status"], e["to_status"]) for e in history] == [
        ("opened", None, "open"), ("edited", "open", "open"), ("dispositioned", "open", "dispositioned"),
        ("dispositioned", "dispositioned", "dispositioned"), ("closed", "dispositioned", "closed")]
    assert history[1]["details"]["after"] == {"quantity": "14"} and history[1]["details"]["reason"] == "recounted"
    assert history[4]["details"]["signature_id"] == closed["signatures"][0]["id"]
    # Closed means closed: no second close (no password asked), no new disposition.
    problem(http.post(f"{NC}/{nc['id']}/close", json={"signature": signature(p.manager)},
                      headers=p.manager.headers), 409, "nonconformance_closed")
    problem(http.post(f"{NC}/{nc['id']}/disposition", json={"disposition": "rework"}, headers=p.owner.headers),
            409, "nonconformance_closed")


def test_bad_input_is_refused_at_its_field(http) -> None:
    p = quality_plant(http)
    m = p.machine["id"]
    problem(http.post(NC, json={"machine_id": m, "quantity": 0, "description": "x"}, headers=p.operator.headers),
            422, "validation_failed", "quantity")
    problem(http.post(NC, json={"machine_id": m, "quantity": 1, "description": "  "}, headers=p.operator.headers),
            422, "validation_failed", "description")
    problem(http.post(NC, json={"machine_id": "7f8c9a52-0d3c-4b39-9d59-9b0f5ef2d3a1", "quantity": 1,
                                "description": "x"}, headers=p.operator.headers), 422, "machine_not_found",
            "machine_id")
    problem(http.post(NC, json={"machine_id": m, "quantity": 1, "description": "x",
                                "product_id": "7f8c9a52-0d3c-4b39-9d59-9b0f5ef2d3a1"}, headers=p.operator.headers),
            422, "unknown_product", "product_id")
    problem(http.post(NC, json={"machine_id": m, "quantity": 1, "description": "x", "disposition": "scrap"},
                      headers=p.operator.headers), 422, "validation_failed")
    nc = open_nc(http, p.operator, m)
    problem(http.post(f"{NC}/{nc['id']}/disposition", json={"disposition": "burn"}, headers=p.owner.headers),
            422, "validation_failed", "disposition")
    problem(http.post(f"{NC}/{nc['id']}/close", json={"signature": {"password": "x", "meaning": "liked"}},
                      headers=p.owner.headers), 422, "validation_failed", "signature.meaning")
    problem(http.patch(f"{NC}/{nc['id']}", json={"description": None}, headers=p.owner.headers), 422,
            "null_not_allowed", "description")


def test_list_filters_search_and_pages_newest_first(http) -> None:
    p = quality_plant(http)
    other_machine = plant.machine(http, p.owner, p.site["id"])
    a = open_nc(http, p.operator, p.machine["id"], description="Kratzer auf Sichtfläche")
    b = open_nc(http, p.operator, other_machine["id"], description="Maß 12,5 zu groß")
    c = open_nc(http, p.operator, p.machine["id"], description="Grat an Bohrung")
    disposition(http, p.supervisor, b["id"], "use_as_is")
    page = ok(http.get(NC, params={"limit": 2}, headers=p.operator.headers))
    assert [i["number"] for i in page["items"]] == [3, 2] and page["next_cursor"]
    rest = ok(http.get(NC, params={"limit": 2, "cursor": page["next_cursor"]}, headers=p.operator.headers))
    assert [i["number"] for i in rest["items"]] == [1] and rest["next_cursor"] is None
    by_machine = ok(http.get(NC, params={"machine_id": p.machine["id"]}, headers=p.operator.headers))["items"]
    assert {i["id"] for i in by_machine} == {a["id"], c["id"]}
    assert [i["id"] for i in ok(http.get(NC, params={"status": "dispositioned"}, headers=p.operator.headers))["items"]
            ] == [b["id"]]
    assert [i["id"] for i in ok(http.get(NC, params={"q": "bohrung"}, headers=p.operator.headers))["items"]] == [c["id"]]
    assert ok(http.get(NC, params={"q": "%"}, headers=p.operator.headers))["items"] == []
    problem(http.get(NC, params={"cursor": "nonsense"}, headers=p.operator.headers), 422, "invalid_cursor")


def test_another_company_sees_none_of_it(http) -> None:
    p = quality_plant(http)
    nc = open_nc(http, p.operator, p.machine["id"])
    stranger = new_company(http)
    problem(http.get(f"{NC}/{nc['id']}", headers=stranger.headers), 404, "nonconformance_not_found")
    assert ok(http.get(NC, headers=stranger.headers))["items"] == []
    problem(http.post(NC, json={"machine_id": p.machine["id"], "quantity": 1, "description": "x"},
                      headers=stranger.headers), 422, "machine_not_found")
    problem(http.post(f"{NC}/{nc['id']}/disposition", json={"disposition": "scrap"}, headers=stranger.headers),
            404, "nonconformance_not_found")


def test_the_quality_module_opens_an_nc_for_an_out_of_spec_inspection(http, app_engine) -> None:
    """`open_from_inspection` runs in the caller's transaction; the NC names where it came from and what was
    found, and an inspection of another company is not found."""
    import uuid as _uuid

    from factoryos.db.tenant import tenant_transaction
    from factoryos.errors import ValidationFailed
    from factoryos.nonconformances.service import open_from_inspection
    from tests.quality import support as quality

    p = quality_plant(http)
    plan = quality.plan(http, p.owner, machine_id=p.machine["id"])
    assert quality.release(http, p.owner, plan["id"]).status_code == 200
    ver = quality.get_version(http, p.owner, plan["id"])
    inspection = ok(quality.inspect(http, p.operator, p.machine["id"], plan["id"], ver,
                                    values=["10.00", "10.06", "9.99"]), 201)
    with tenant_transaction(app_engine, p.owner.tenant_id, p.operator.user_id) as conn:
        nc_id = open_from_inspection(conn, _uuid.UUID(p.owner.tenant_id), inspection_id=_uuid.UUID(inspection["id"]),
                                     user_id=_uuid.UUID(p.operator.user_id))
    nc = ok(http.get(f"{NC}/{nc_id}", headers=p.operator.headers))
    assert (nc["source"], nc["source_id"], nc["quantity"], nc["status"], nc["machine_id"]) == (
        "inspection", inspection["id"], "1.000", "open", p.machine["id"])
    assert nc["description"] == "Inspection Bracket final v1: Bore: 10.06 is above the upper limit 10.05 mm by 0.01"
    assert nc["reported_by"] == p.operator.user_id and nc["history"][0]["details"]["source"] == "inspection"
    other = new_company(http)
    with tenant_transaction(app_engine, other.tenant_id, other.user_id) as conn, pytest.raises(ValidationFailed):
        open_from_inspection(conn, _uuid.UUID(other.tenant_id), inspection_id=_uuid.UUID(inspection["id"]),
                             user_id=_uuid.UUID(other.user_id))


def test_an_nc_may_put_its_lot_in_quarantine(http) -> None:
    from tests.materials import materials_support as materials

    p = quality_plant(http)
    steel = materials.item(http, p.owner)
    lot = materials.lot(http, p.owner, steel["id"])
    problem(http.post(NC, json={"machine_id": p.machine["id"], "quantity": 2, "description": "Cracked sheet",
                                "quarantine_lot": True}, headers=p.operator.headers), 422, "lot_required", "lot_id")
    nc = open_nc(http, p.operator, p.machine["id"], lot_id=lot["id"], quarantine_lot=True,
                 description="Cracked sheet")
    assert nc["lot_id"] == lot["id"] and nc["history"][0]["details"]["lot_status"] == "quarantine"
    shown = ok(http.get(f"/api/v1/materials/lots/{lot['id']}", headers=p.owner.headers))
    assert shown["status"] == "quarantine" and shown["status_reason"].startswith("NC-0001: Cracked sheet")
    # Naming a lot without quarantine leaves it as it is.
    other = materials.lot(http, p.owner, steel["id"])
    open_nc(http, p.operator, p.machine["id"], lot_id=other["id"])
    assert ok(http.get(f"/api/v1/materials/lots/{other['id']}", headers=p.owner.headers))["status"] == "available"
