"""The global catalog: shared by every company, edited only by the company that added an entry."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from factoryos.db.tenant import tenant_transaction
from tests.accounts import new_company
from tests.production import plant
from tests.production.plant import problem


def test_entries_are_shared_but_only_the_author_edits(api: httpx.Client) -> None:
    author, other = new_company(api), new_company(api)
    maker = f"Prusa-{uuid.uuid4().hex[:6]}"
    r = api.post("/api/v1/catalog/machine-models", json={"category": "3d_printer", "manufacturer": maker,
                                                         "name": "MK4", "specs": {"build_volume_mm": [250, 210, 220]}},
                 headers=author.headers)
    assert r.status_code == 201, r.text
    mk4 = r.json()
    assert mk4["author_company_id"] == author.tenant_id and mk4["editable"] is True

    seen = api.get("/api/v1/catalog/machine-models", params={"manufacturer": maker}, headers=other.headers).json()
    assert [(e["id"], e["editable"]) for e in seen["items"]] == [(mk4["id"], False)]
    body = problem(api.post("/api/v1/catalog/machine-models", json={"category": "3d_printer", "manufacturer": maker.upper(),
                                                                    "name": "mk4"}, headers=other.headers),
                   409, "catalog_duplicate", "name")
    assert body["existing_id"] == mk4["id"]
    problem(api.patch(f"/api/v1/catalog/machine-models/{mk4['id']}", json={"name": "MK4S"}, headers=other.headers),
            403, "catalog_not_author")
    problem(api.delete(f"/api/v1/catalog/machine-models/{mk4['id']}", headers=other.headers), 403, "catalog_not_author")

    # Another company builds on it; then the author can no longer delete it.
    site = plant.site(api, other)
    plant.machine(api, other, site["id"], catalog_model_id=mk4["id"])
    r = api.patch(f"/api/v1/catalog/machine-models/{mk4['id']}", json={"specs": {"nozzle_mm": 0.4}}, headers=author.headers)
    assert r.status_code == 200 and r.json()["specs"] == {"nozzle_mm": 0.4}
    problem(api.delete(f"/api/v1/catalog/machine-models/{mk4['id']}", headers=author.headers), 409,
            "catalog_entry_in_use")
    assert api.get(f"/api/v1/catalog/machine-models/{mk4['id']}", headers=other.headers).json()["name"] == "MK4"
    problem(api.get(f"/api/v1/catalog/materials/{mk4['id']}", headers=other.headers), 404, "catalog_entry_not_found")


def test_materials_and_their_validation(api: httpx.Client) -> None:
    company = new_company(api)
    h = company.headers
    r = api.post("/api/v1/catalog/materials", json={"category": "filament", "manufacturer": f"Polymaker-{uuid.uuid4().hex[:4]}",
                                                    "name": "PolyLite PETG", "specs": {"diameter_mm": 1.75}}, headers=h)
    assert r.status_code == 201, r.text
    petg = r.json()
    problem(api.post("/api/v1/catalog/materials", json={"category": "Filament!", "manufacturer": "X", "name": "Y"},
                     headers=h), 422, "validation_failed", "category")
    problem(api.post("/api/v1/catalog/materials", json={"category": "resin", "manufacturer": "X", "name": ""},
                     headers=h), 422, "validation_failed", "name")
    site = plant.site(api, company)
    machine = plant.machine(api, company, site["id"])
    problem(api.patch(f"/api/v1/machines/{machine['id']}", json={"catalog_model_id": petg["id"]}, headers=h),
            422, "catalog_entry_not_found", "catalog_model_id")
    mine = api.get("/api/v1/catalog/materials", params={"mine": True, "q": "petg"}, headers=h).json()["items"]
    assert [m["id"] for m in mine] == [petg["id"]]
    assert api.delete(f"/api/v1/catalog/materials/{petg['id']}", headers=h).status_code == 204


def test_the_database_itself_keeps_writes_to_the_author(api: httpx.Client, app_engine) -> None:
    author, other = new_company(api), new_company(api)
    entry = api.post("/api/v1/catalog/materials", json={"category": "resin", "manufacturer": uuid.uuid4().hex,
                                                        "name": "Tough 2000"}, headers=author.headers).json()
    with tenant_transaction(app_engine, uuid.UUID(other.tenant_id)) as conn:
        assert conn.execute(text("select count(*) from catalog_entries where id = :i"), {"i": entry["id"]}).scalar() == 1
        changed = conn.execute(text("update catalog_entries set name = 'hijacked' where id = :i"), {"i": entry["id"]})
        deleted = conn.execute(text("delete from catalog_entries where id = :i"), {"i": entry["id"]})
        assert (changed.rowcount, deleted.rowcount) == (0, 0)
    with pytest.raises(ProgrammingError, match="row-level security"), \
            tenant_transaction(app_engine, uuid.UUID(other.tenant_id)) as conn:
        conn.execute(text("insert into catalog_entries (kind, category, manufacturer, name, author_tenant_id) "
                          "values ('material', 'resin', 'x', 'y', :a)"), {"a": author.tenant_id})
