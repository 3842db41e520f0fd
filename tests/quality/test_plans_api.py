"""Inspection plans over HTTP: versions draft → released (frozen) → superseded, checks, audit."""

from __future__ import annotations

from sqlalchemy import text

from tests.accounts import join
from tests.production import plant
from tests.production.plant import problem
from tests.quality import support


def test_plan_versions_draft_release_supersede(api, owner, app_engine, superuser_engine) -> None:
    shop = support.running_shop(api, owner, app_engine)
    p = support.plan(api, owner, product_id=shop["product"]["id"])
    assert (p["product_number"], p["draft_version"], p["released_version"]) == (
        shop["product"]["number"], 1, None)
    v1 = support.get_version(api, owner, p["id"])
    assert v1["status"] == "draft" and [c["name"] for c in v1["characteristics"]] == ["Bore", "Surface"]
    bore = v1["characteristics"][0]
    assert (float(bore["lsl"]), float(bore["usl"]), bore["sample_size"], float(bore["min_value"])) == (
        9.95, 10.05, 3, 0)

    # A draft can change.
    path = f"/api/v1/quality/plans/{p['id']}/versions/1"
    r = api.put(path, json=support.version(every_parts=20), headers=owner.headers)
    assert r.status_code == 200 and r.json()["every_parts"] == 20, r.text
    assert r.json()["characteristics"][0]["lineage_id"] == bore["lineage_id"]  # same name: same chart

    r = support.release(api, owner, p["id"])
    assert r.status_code == 200, r.text
    released = r.json()
    assert released["status"] == "released" and len(released["content_hash"]) == 64
    assert released["released_by"] == owner.user_id

    # Released: frozen. Editing or releasing again is refused.
    problem(api.put(path, json=support.version(every_parts=10), headers=owner.headers), 409, "plan_released",
            "version")
    problem(support.release(api, owner, p["id"]), 409, "plan_released")

    # The next version is a copy of the latest; only one draft at a time.
    r = api.post(f"/api/v1/quality/plans/{p['id']}/versions", json={}, headers=owner.headers)
    assert r.status_code == 201, r.text
    v2 = r.json()
    assert (v2["version"], v2["status"], v2["every_parts"]) == (2, "draft", 20)
    assert v2["characteristics"][0]["lineage_id"] == bore["lineage_id"]
    assert v2["characteristics"][0]["id"] != bore["id"]
    problem(api.post(f"/api/v1/quality/plans/{p['id']}/versions", json={}, headers=owner.headers), 409,
            "plan_draft_exists")
    r = support.release(api, owner, p["id"], 2)
    assert r.status_code == 200, r.text
    assert support.get_version(api, owner, p["id"], 1)["status"] == "superseded"
    got = api.get(f"/api/v1/quality/plans/{p['id']}", headers=owner.headers).json()
    assert (got["released_version"], got["draft_version"]) == (2, None)
    assert [v["status"] for v in got["versions"]] == ["superseded", "released"]

    listed = api.get("/api/v1/quality/plans", params={"product_id": shop["product"]["id"]},
                     headers=owner.headers).json()
    assert [i["id"] for i in listed["items"]] == [p["id"]]

    # Audited: one row per change, the release naming the hash.
    with superuser_engine.connect() as conn:
        rows = conn.execute(text("select action, entity_type, after from audit_log where tenant_id = :t "
                                 "and entity_type like 'inspection_plan%' order by seq"),
                            {"t": owner.tenant_id}).mappings().all()
    assert [(r["action"], r["entity_type"]) for r in rows] == [
        ("create", "inspection_plan"), ("update", "inspection_plan_version"), ("update", "inspection_plan_version"),
        ("create", "inspection_plan_version"), ("update", "inspection_plan_version")]
    assert rows[2]["after"]["content_hash"] == released["content_hash"]

    # The database keeps one released version per plan.
    with superuser_engine.connect() as conn:
        n = conn.execute(text("select count(*) from inspection_plan_versions where plan_id = :p and "
                              "status = 'released'"), {"p": p["id"]}).scalar()
    assert n == 1


def test_bad_plans_refused_at_the_field(api, owner) -> None:
    s = plant.site(api, owner)
    m = plant.machine(api, owner, s["id"])
    post = lambda **b: api.post("/api/v1/quality/plans", json={"name": "P", "machine_id": m["id"],  # noqa: E731
                                                                "version": support.version()} | b,
                                headers=owner.headers)
    problem(api.post("/api/v1/quality/plans", json={"name": "P", "version": support.version()},
                     headers=owner.headers), 422, "plan_scope_required", "product_id")
    problem(post(version=support.version(characteristics=[support.bore(lsl=None, usl=None)])), 422,
            "limits_required", "version.characteristics[0].usl")
    problem(post(version=support.version(characteristics=[support.bore(lsl="10.1")])), 422, "invalid_limits",
            "version.characteristics[0].lsl")
    problem(post(version=support.version(characteristics=[support.bore(min_value="10")])), 422,
            "invalid_physical_limits", "version.characteristics[0].lsl")
    problem(post(version=support.version(characteristics=[support.bore(sample_size=11)])), 422, "validation_failed",
            "version.characteristics[0].sample_size")
    problem(post(version=support.version(characteristics=[support.surface(lsl="1")])), 422, "invalid_limits")
    problem(post(version=support.version(characteristics=[support.bore(), support.bore()])), 422,
            "duplicate_characteristic", "version.characteristics[1].name")
    problem(post(version=support.version(record_roles=["wizard"])), 422, "invalid_role", "version.record_roles")
    problem(post(product_id="00000000-0000-0000-0000-000000000001"), 422, "unknown_product", "product_id")
    problem(api.get("/api/v1/quality/plans/00000000-0000-0000-0000-000000000001", headers=owner.headers), 404,
            "inspection_plan_not_found")


def test_permissions_operator_reads_only_supervisor_cannot_release(api, owner) -> None:
    s = plant.site(api, owner)
    m = plant.machine(api, owner, s["id"])
    p = support.plan(api, owner, machine_id=m["id"])
    operator = join(api, owner, "operator")
    supervisor = join(api, owner, "supervisor")
    assert api.get(f"/api/v1/quality/plans/{p['id']}", headers=operator.headers).status_code == 200
    problem(api.post("/api/v1/quality/plans", json={"name": "X", "machine_id": m["id"],
                                                    "version": support.version()}, headers=operator.headers),
            403, "permission_denied")
    problem(support.release(api, supervisor, p["id"]), 403, "permission_denied")


def test_release_signature_second_person_and_tampering(api, owner, superuser_engine) -> None:
    s = plant.site(api, owner)
    m = plant.machine(api, owner, s["id"])
    p = support.plan(api, owner, machine_id=m["id"], version=support.version(second_person=True))
    # The author may not sign the release of a plan that asks a second person.
    problem(support.release(api, owner, p["id"]), 403, "signature_same_person", "signature")
    manager = join(api, owner, "plant_manager")
    body = problem(support.release(api, manager, p["id"], signature=support.signature(manager, password="wrong")),
                   403, "signature_invalid", "signature.password")
    assert body["session_ended"] is False
    assert support.get_version(api, owner, p["id"])["status"] == "draft"
    problem(support.release(api, manager, p["id"], signature={"password": manager.password}), 422,
            "validation_failed", "signature.meaning")

    r = support.release(api, manager, p["id"], signature=support.signature(manager, reason="first release"))
    assert r.status_code == 200, r.text
    v = r.json()
    [sig] = v["signatures"]
    assert (sig["signer_id"], sig["meaning"], sig["reason"], sig["valid"]) == (
        manager.user_id, "approved", "first release", True)
    assert sig["content_hash"] == v["content_hash"] and v["released_by"] == manager.user_id

    # Changed behind the application's back: the signature shows as no longer valid.
    with superuser_engine.begin() as conn:
        conn.execute(text("update inspection_characteristics set usl = 10.5 where id = :c"),
                     {"c": v["characteristics"][0]["id"]})
    assert support.get_version(api, owner, p["id"])["signatures"][0]["valid"] is False
