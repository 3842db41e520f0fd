"""Sites, areas, lines, machines and site operators over HTTP: CRUD, validation, isolation, paging."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text

from tests.accounts import Session, join, new_company
from tests.production import plant
from tests.production.plant import problem


@pytest.fixture(scope="module")
def owner(api: httpx.Client) -> Session:
    return new_company(api)


def test_site_crud_and_validation(api: httpx.Client, owner: Session) -> None:
    h = owner.headers
    s = plant.site(api, owner, address="Hafenstr. 1", micro_stop_seconds=90)
    assert (s["timezone"], s["micro_stop_seconds"], s["setup_is_planned"]) == ("Europe/Berlin", 90, False)

    problem(api.post("/api/v1/sites", json={"name": "X", "code": "X1", "timezone": "Mars/Olympus"}, headers=h),
            422, "validation_failed", "timezone")
    problem(api.post("/api/v1/sites", json={"name": "Dup", "code": s["code"], "timezone": "UTC"}, headers=h),
            409, "site_code_taken", "code")
    problem(api.post("/api/v1/sites", json={"name": "X", "code": "X2", "timezone": "UTC", "micro_stop_seconds": -1},
                     headers=h), 422, "validation_failed", "micro_stop_seconds")

    r = api.patch(f"/api/v1/sites/{s['id']}", json={"setup_is_planned": True, "address": None}, headers=h)
    assert r.status_code == 200 and r.json()["setup_is_planned"] is True and r.json()["address"] is None
    problem(api.patch(f"/api/v1/sites/{s['id']}", json={"name": None}, headers=h), 422, "null_not_allowed", "name")
    assert api.get(f"/api/v1/sites/{s['id']}", headers=h).json()["setup_is_planned"] is True

    assert api.delete(f"/api/v1/sites/{s['id']}", headers=h).status_code == 204
    problem(api.get(f"/api/v1/sites/{s['id']}", headers=h), 404, "site_not_found")


def test_areas_lines_and_what_they_protect(api: httpx.Client, owner: Session) -> None:
    h = owner.headers
    s = plant.site(api, owner)
    other = plant.site(api, owner)
    r = api.post("/api/v1/areas", json={"site_id": s["id"], "name": "Hall 1", "code": "H1"}, headers=h)
    area = r.json()
    assert r.status_code == 201 and area["site_id"] == s["id"]
    problem(api.post("/api/v1/areas", json={"site_id": s["id"], "name": "Again", "code": "H1"}, headers=h),
            409, "area_code_taken", "code")
    ln = plant.line(api, owner, s["id"], area_id=area["id"])
    problem(api.post("/api/v1/lines", json={"site_id": other["id"], "area_id": area["id"], "name": "L", "code": "L9"},
                     headers=h), 422, "area_not_found", "area_id")
    r = api.patch(f"/api/v1/lines/{ln['id']}", json={"area_id": None, "name": "Assembly"}, headers=h)
    assert r.status_code == 200 and r.json()["area_id"] is None and r.json()["name"] == "Assembly"
    assert [a["id"] for a in api.get("/api/v1/areas", params={"site_id": s["id"]}, headers=h).json()["items"]] == [area["id"]]
    assert api.get(f"/api/v1/lines/{ln['id']}", headers=h).json()["name"] == "Assembly"

    m = plant.machine(api, owner, s["id"], line_id=ln["id"])
    problem(api.delete(f"/api/v1/lines/{ln['id']}", headers=h), 409, "line_in_use")
    problem(api.delete(f"/api/v1/sites/{s['id']}", headers=h), 409, "site_in_use")
    assert api.delete(f"/api/v1/machines/{m['id']}", headers=h).status_code == 204
    assert api.delete(f"/api/v1/lines/{ln['id']}", headers=h).status_code == 204
    assert api.patch(f"/api/v1/areas/{area['id']}", json={"name": "Hall A"}, headers=h).json()["name"] == "Hall A"
    assert api.get(f"/api/v1/areas/{area['id']}", headers=h).status_code == 200
    assert api.delete(f"/api/v1/areas/{area['id']}", headers=h).status_code == 204


def test_machine_crud_speed_and_status_mapping(api: httpx.Client, owner: Session) -> None:
    h = owner.headers
    s = plant.site(api, owner)
    ln = plant.line(api, owner, s["id"])
    mapping = {"codes": {"1": "running", "2": "idle", "7": "setup"}, "default": "unplanned_stop"}
    m = plant.machine(api, owner, s["id"], cycle=None, ideal_rate_per_hour=120, line_id=ln["id"],
                      status_mapping=mapping, capacity_per_hour=150)
    assert (m["ideal_cycle_seconds"], m["ideal_rate_per_hour"], m["capacity_per_hour"]) == (30.0, 120.0, 150.0)
    assert m["status_mapping"] == mapping and m["status"] == "active"

    base = {"site_id": s["id"], "name": "X", "code": plant.code("M")}
    problem(api.post("/api/v1/machines", json=base, headers=h), 422, "invalid_cycle_time", "ideal_cycle_seconds")
    problem(api.post("/api/v1/machines", json=base | {"ideal_cycle_seconds": 10, "ideal_rate_per_hour": 5}, headers=h),
            422, "invalid_cycle_time", "ideal_cycle_seconds")
    problem(api.post("/api/v1/machines", json=base | {"ideal_cycle_seconds": -3}, headers=h),
            422, "validation_failed", "ideal_cycle_seconds")
    problem(api.post("/api/v1/machines", json=base | {"ideal_cycle_seconds": 5,
                                                     "status_mapping": {"codes": {"9": "offline"}}}, headers=h),
            422, "validation_failed", "status_mapping.codes")
    problem(api.post("/api/v1/machines", json=base | {"ideal_cycle_seconds": 5, "status_mapping": {"codes": {"x": "running"}}},
                     headers=h), 422, "validation_failed")
    problem(api.post("/api/v1/machines", json=base | {"ideal_cycle_seconds": 5, "code": m["code"]}, headers=h),
            409, "machine_code_taken", "code")
    elsewhere = plant.line(api, owner, plant.site(api, owner)["id"])
    problem(api.post("/api/v1/machines", json=base | {"ideal_cycle_seconds": 5, "line_id": elsewhere["id"]}, headers=h),
            422, "line_other_site", "line_id")
    problem(api.post("/api/v1/machines", json=base | {"ideal_cycle_seconds": 5, "site_id": elsewhere["site_id"],
                                                     "line_id": ln["id"]}, headers=h), 422, "line_other_site", "line_id")

    r = api.patch(f"/api/v1/machines/{m['id']}", json={"ideal_cycle_seconds": 45, "status": "retired"}, headers=h)
    assert r.status_code == 200 and r.json()["ideal_rate_per_hour"] == 80.0 and r.json()["status"] == "retired"
    listed = api.get("/api/v1/machines", params={"site_id": s["id"], "status": "retired"}, headers=h).json()
    assert [x["id"] for x in listed["items"]] == [m["id"]]
    assert api.get(f"/api/v1/machines/{m['id']}", headers=h).json()["ideal_cycle_seconds"] == 45.0
    problem(api.get("/api/v1/machines", params={"status": "broken"}, headers=h), 422, "validation_failed", "status")
    problem(api.get("/api/v1/machines", params={"colour": "red"}, headers=h), 422, "validation_failed", "colour")


def test_site_operators(api: httpx.Client, owner: Session) -> None:
    h = owner.headers
    s = plant.site(api, owner)
    staff = join(api, owner, "operator")
    op = plant.operator(api, owner, s["id"], staff.user_id)
    assert op["email"] == staff.email and op["site_id"] == s["id"]
    problem(api.post(f"/api/v1/sites/{s['id']}/operators", json={"user_id": staff.user_id}, headers=h),
            409, "operator_exists", "user_id")
    stranger = new_company(api)
    problem(api.post(f"/api/v1/sites/{s['id']}/operators", json={"user_id": stranger.user_id}, headers=h),
            422, "not_a_member", "user_id")
    assert [o["user_id"] for o in api.get(f"/api/v1/sites/{s['id']}/operators", headers=h).json()] == [staff.user_id]
    assert api.delete(f"/api/v1/sites/{s['id']}/operators/{staff.user_id}", headers=h).status_code == 204
    assert api.get(f"/api/v1/sites/{s['id']}/operators", headers=h).json() == []

    # An operator may look but not change the plant.
    problem(api.post("/api/v1/sites", json={"name": "X", "code": "X", "timezone": "UTC"}, headers=staff.headers),
            403, "permission_denied")
    assert api.get("/api/v1/machines", headers=staff.headers).status_code == 200


def test_other_companies_see_nothing(api: httpx.Client, owner: Session) -> None:
    s = plant.site(api, owner)
    m = plant.machine(api, owner, s["id"])
    rival = new_company(api)
    problem(api.get(f"/api/v1/sites/{s['id']}", headers=rival.headers), 404, "site_not_found")
    problem(api.get(f"/api/v1/machines/{m['id']}", headers=rival.headers), 404, "machine_not_found")
    problem(api.patch(f"/api/v1/machines/{m['id']}", json={"name": "Mine"}, headers=rival.headers), 404,
            "machine_not_found")
    assert api.get("/api/v1/machines", headers=rival.headers).json()["items"] == []
    own = plant.site(api, rival)
    problem(api.post("/api/v1/machines", json={"site_id": s["id"], "name": "X", "code": "X", "ideal_cycle_seconds": 1},
                     headers=rival.headers), 422, "site_not_found", "site_id")
    problem(api.post("/api/v1/lines", json={"site_id": own["id"], "name": "X", "code": "X", "area_id": s["id"]},
                     headers=rival.headers), 422, "area_not_found", "area_id")


def test_pagination_is_stable_under_inserts_and_searchable(api: httpx.Client, superuser_engine) -> None:
    owner = new_company(api)
    s = plant.site(api, owner)
    made = [plant.machine(api, owner, s["id"], name=f"Lathe {i}")["id"] for i in range(7)]
    seen: list[str] = []
    page = api.get("/api/v1/machines", params={"limit": 3}, headers=owner.headers).json()
    seen += [m["id"] for m in page["items"]]
    made.append(plant.machine(api, owner, s["id"], name="Late arrival")["id"])  # inserted while paging
    while page["next_cursor"]:
        page = api.get("/api/v1/machines", params={"limit": 3, "cursor": page["next_cursor"]},
                       headers=owner.headers).json()
        seen += [m["id"] for m in page["items"]]
    assert seen == made  # every machine once, in creation order, the late one last
    found = api.get("/api/v1/machines", params={"q": "late"}, headers=owner.headers).json()["items"]
    assert [m["id"] for m in found] == [made[-1]]
    problem(api.get("/api/v1/machines", params={"cursor": "garbage"}, headers=owner.headers), 422, "invalid_cursor",
            "cursor")
    with superuser_engine.connect() as conn:
        audited = conn.execute(text("select count(*) from audit_log where tenant_id = :t and entity_type = 'machine' "
                                    "and action = 'create'"), {"t": owner.tenant_id}).scalar()
    assert audited == len(made)
