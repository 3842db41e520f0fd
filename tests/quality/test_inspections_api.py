"""Inspections at the machine over HTTP: what is due (first article, parts, time, shift), recording
values with out-of-specification flags, bad input refused at the field, list, detail and audit."""

from __future__ import annotations

from sqlalchemy import text

from tests.accounts import join
from tests.production import plant
from tests.production.plant import problem
from tests.quality import support


def _due(api, who, machine_id):
    r = api.get("/api/v1/quality/due", params={"machine_id": machine_id}, headers=who.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_first_article_then_every_n_parts(api, owner, app_engine, superuser_engine) -> None:
    shop = support.running_shop(api, owner, app_engine)
    m = shop["machine"]["id"]
    p = support.plan(api, owner, product_id=shop["product"]["id"])
    assert _due(api, owner, m) == []  # a draft makes nothing due
    assert support.release(api, owner, p["id"]).status_code == 200
    ver = support.get_version(api, owner, p["id"])

    due = _due(api, owner, m)
    assert [(d["plan_id"], d["trigger"], d["overdue"], d["job_number"]) for d in due] == [
        (p["id"], "first_article", False, shop["order"]["job_number"])]
    # Twenty minutes after the order started (grace 15): overdue, on the company's overdue list too.
    support.backdate(app_engine, owner.tenant_id, "operation_runs", shop["run"]["id"], "started_at", 20)
    assert _due(api, owner, m)[0]["overdue"] is True
    overdue = api.get("/api/v1/quality/overdue", headers=owner.headers).json()["items"]
    assert [(o["machine_id"], o["trigger"]) for o in overdue] == [(m, "first_article")]

    r = support.inspect(api, owner, m, p["id"], ver)
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["trigger"], first["result"], first["out_of_spec"], first["job_number"]) == (
        "first_article", "pass", 0, shop["order"]["job_number"])
    assert _due(api, owner, m) == []

    # 50 parts (good and scrap, counted by the PLC) since the last inspection: due by count. (The
    # inspection is moved 10 minutes back so that the counts fall between it and now.)
    support.backdate(app_engine, owner.tenant_id, "inspections", first["id"], "recorded_at", 10)
    support.count(app_engine, owner.tenant_id, m, 45, 5, minute=support.ago(5))
    due = _due(api, owner, m)
    assert [(d["trigger"], d["parts_since"], d["overdue"]) for d in due] == [("parts", 50, False)]
    assert due[0]["reasons"] == ["every 50 parts: 50 made since the last inspection"]
    support.count(app_engine, owner.tenant_id, m, 50, minute=support.ago(3))
    assert _due(api, owner, m)[0]["overdue"] is True  # 100 parts: a whole interval missed

    # Out of specification: recorded, flagged at once in operator words.
    r = support.inspect(api, owner, m, p["id"], ver, values=["10.00", "10.07", "9.99"], passed=False,
                        defect="scratch")
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["trigger"], out["result"], out["out_of_spec"]) == ("parts", "fail", 2)
    bore, surface = out["results"]
    assert bore["out_of_spec"] is True
    assert bore["message"] == "10.07 is above the upper limit 10.05 mm by 0.02"
    assert (float(bore["mean"]), float(bore["range"])) == (10.02, 0.08)
    assert (surface["out_of_spec"], surface["defect"], surface["message"]) == (True, "Scratch", "failed: Scratch")
    assert _due(api, owner, m) == []

    detail = api.get(f"/api/v1/inspections/{out['id']}", headers=owner.headers).json()
    assert detail["results"] == out["results"] and detail["recorded_by"] == owner.user_id
    listed = api.get("/api/v1/inspections", params={"machine_id": m}, headers=owner.headers).json()["items"]
    assert [i["id"] for i in listed] == [out["id"], first["id"]]
    fails = api.get("/api/v1/inspections", params={"result": "fail"}, headers=owner.headers).json()["items"]
    assert [i["id"] for i in fails] == [out["id"]]

    with superuser_engine.connect() as conn:
        rows = conn.execute(text("select after from audit_log where tenant_id = :t and entity_type = 'inspection' "
                                 "and entity_id = :e and action = 'create'"),
                            {"t": owner.tenant_id, "e": out["id"]}).scalars().all()
    assert len(rows) == 1 and rows[0]["results"][0]["values"] == ["10", "10.07", "9.99"]


def test_bad_values_refused_at_the_field(api, owner, app_engine) -> None:
    s = plant.site(api, owner)
    m = plant.machine(api, owner, s["id"])
    p = support.plan(api, owner, machine_id=m["id"])
    ver = support.get_version(api, owner, p["id"])
    problem(support.inspect(api, owner, m["id"], p["id"], ver), 409, "plan_not_released", "plan_id")
    support.release(api, owner, p["id"])
    bore_id, surface_id = (c["id"] for c in ver["characteristics"])

    # A negative length cannot be measured: a typing or gauge error.
    body = problem(support.inspect(api, owner, m["id"], p["id"], ver, values=["10.00", "-10.01", "9.99"]), 422,
                   "value_outside_physical_limits", "results[0].values[1]")
    assert "may not be below 0.00 mm" in body["detail"]
    problem(support.inspect(api, owner, m["id"], p["id"], ver, values=["10.00", "10.01"]), 422,
            "sample_size_mismatch", "results[0].values")
    problem(support.inspect(api, owner, m["id"], p["id"], ver, passed=False, defect="Dent"), 422, "invalid_defect",
            "results[1].defect")
    problem(support.inspect(api, owner, m["id"], p["id"], ver, passed=False), 422, "invalid_defect",
            "results[1].defect")
    r = api.post("/api/v1/inspections", headers=owner.headers, json={
        "machine_id": m["id"], "plan_id": p["id"], "results": [{"characteristic_id": bore_id,
                                                                "values": ["10", "10", "10"]}]})
    problem(r, 422, "result_missing", "results")
    r = api.post("/api/v1/inspections", headers=owner.headers, json={
        "machine_id": m["id"], "plan_id": p["id"], "results": [{"characteristic_id": surface_id, "values": ["1"]},
                                                               {"characteristic_id": bore_id, "passed": True}]})
    problem(r, 422, "passed_required", "results[0].passed")
    problem(support.inspect(api, owner, m["id"], p["id"], ver, values=["10", "abc", "10"]), 422,
            "validation_failed", "results[0].values[1]")
    other = plant.machine(api, owner, s["id"])
    problem(support.inspect(api, owner, other["id"], p["id"], ver), 422, "plan_other_machine", "plan_id")
    problem(api.get("/api/v1/inspections/00000000-0000-0000-0000-000000000001", headers=owner.headers), 404,
            "inspection_not_found")


def test_time_and_shift_rules_and_who_may_record(api, owner, app_engine) -> None:
    s = plant.site(api, owner)
    for name, start, end in (("Early", "06:00", "14:00"), ("Late", "14:00", "22:00"), ("Night", "22:00", "06:00")):
        plant.shift(api, owner, s["id"], name, start, end)
    m = plant.machine(api, owner, s["id"])
    timed = support.plan(api, owner, name="Hourly", machine_id=m["id"],
                         version=support.version(first_article=False, every_parts=None, every_minutes=30))
    support.release(api, owner, timed["id"])
    assert _due(api, owner, m["id"]) == []  # 30 minutes from the release
    v = support.get_version(api, owner, timed["id"])
    support.backdate(app_engine, owner.tenant_id, "inspection_plan_versions", v["id"], "released_at", 40)
    due = _due(api, owner, m["id"])
    assert [(d["trigger"], d["overdue"]) for d in due] == [("time", False)]  # due 10 min ago, grace 15
    support.backdate(app_engine, owner.tenant_id, "inspection_plan_versions", v["id"], "released_at", 10)
    assert _due(api, owner, m["id"])[0]["overdue"] is True

    shifted = support.plan(api, owner, name="Per shift", machine_id=m["id"],
                           version=support.version(first_article=False, every_parts=None, per_shift=True,
                                                   record_roles=["supervisor"]))
    support.release(api, owner, shifted["id"])
    by_plan = {d["plan_id"]: d for d in _due(api, owner, m["id"])}
    assert by_plan[shifted["id"]]["trigger"] == "shift"
    assert by_plan[shifted["id"]]["reasons"][0].startswith("once per shift (")

    # Only the roles the plan names may record it (owner and admin always may).
    sv = support.get_version(api, owner, shifted["id"])
    operator = join(api, owner, "operator")
    problem(support.inspect(api, operator, m["id"], shifted["id"], sv), 403, "inspection_role_not_allowed",
            "plan_id")
    supervisor = join(api, owner, "supervisor")
    r = support.inspect(api, supervisor, m["id"], shifted["id"], sv)
    assert r.status_code == 201 and r.json()["trigger"] == "shift", r.text
    assert shifted["id"] not in {d["plan_id"] for d in _due(api, owner, m["id"])}
    # The operator records the hourly plan; it resets the time rule.
    r = support.inspect(api, operator, m["id"], timed["id"], v)
    assert r.status_code == 201 and r.json()["trigger"] == "time", r.text
    assert _due(api, owner, m["id"]) == []


def test_every_n_parts_from_hand_entries_and_rejections(api, owner, app_engine) -> None:
    """A machine without a PLC: the parts typed in (good entries and rejections) make the plan due."""
    s = plant.site(api, owner)
    plant.shift(api, owner, s["id"], "Day", "00:00", "00:00")
    m = plant.machine(api, owner, s["id"], cycle=1)
    plant.operator(api, owner, s["id"], owner.user_id)
    p = support.plan(api, owner, machine_id=m["id"], version=support.version(first_article=False, every_parts=50))
    assert support.release(api, owner, p["id"]).status_code == 200
    v = support.get_version(api, owner, p["id"])
    support.backdate(app_engine, owner.tenant_id, "inspection_plan_versions", v["id"], "released_at", 10)
    assert _due(api, owner, m["id"]) == []
    r = api.post("/api/v1/production/entry", headers=owner.headers, json={
        "machine_id": m["id"], "good_quantity": 40, "started_at": support.ago(5).isoformat(),
        "ended_at": support.ago(1).isoformat()})
    assert r.status_code == 201, r.text
    assert _due(api, owner, m["id"]) == []  # 40 of 50
    reasons = {x["code"]: x["id"] for x in api.get("/api/v1/downtime/reasons", headers=owner.headers).json()["items"]}
    r = api.post("/api/v1/rejections", headers=owner.headers, json={
        "machine_id": m["id"], "quantity": 10, "reason_id": reasons["DEFECT.DIMENSION"],
        "occurred_at": support.ago(1).isoformat()})
    assert r.status_code == 201, r.text
    due = _due(api, owner, m["id"])
    assert [(d["trigger"], d["parts_since"]) for d in due] == [("parts", 50)]
