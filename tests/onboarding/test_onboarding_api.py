"""Onboarding state per company: read by members, changed by owners and admins, resumes anywhere."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.accounts import join, login, new_company, session_of
from tests.production.plant import problem

STEPS = ["connect_erp", "import_jobs", "configure_machines", "setup_roles", "invite_team", "complete"]


def _state(api, who) -> dict:
    r = api.get("/api/v1/onboarding", headers=who.headers)
    assert r.status_code == 200, r.text
    return r.json()


def _statuses(state: dict) -> dict[str, str]:
    return {s["step"]: s["status"] for s in state["steps"]}


def _audits(engine, tenant: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            text("select * from audit_log where tenant_id = :t and entity_type = 'onboarding' order by seq"),
            {"t": tenant}).mappings()]


def test_a_new_company_starts_at_the_first_step_and_reading_writes_nothing(api, owner, superuser_engine) -> None:
    state = _state(api, owner)
    assert state["current_step"] == "connect_erp" and state["completed"] is False
    assert [s["step"] for s in state["steps"]] == STEPS
    assert [s["title"] for s in state["steps"]][:2] == ["Connect ERP", "Import Jobs"]
    assert set(_statuses(state).values()) == {"pending"}
    with superuser_engine.connect() as conn:
        rows = conn.execute(text("select count(*) from onboarding_state where tenant_id = :t"),
                            {"t": owner.tenant_id}).scalar()
    assert rows == 0 and _audits(superuser_engine, owner.tenant_id) == []


def test_steps_done_or_skipped_move_on_and_resume_after_signing_in_again(api, owner, superuser_engine) -> None:
    r = api.post("/api/v1/onboarding/steps/connect_erp", json={"status": "done", "data": {"file_name": "jobs.csv"}},
                 headers=owner.headers)
    assert r.status_code == 200, r.text
    assert r.json()["current_step"] == "import_jobs"
    r = api.post("/api/v1/onboarding/steps/import_jobs", json={"status": "skipped"}, headers=owner.headers)
    assert r.json()["current_step"] == "configure_machines"
    again = session_of(login(api, owner.email).json(), owner.email)
    state = _state(api, again)
    assert state["current_step"] == "configure_machines" and not state["completed"]
    assert _statuses(state) | {} == {"connect_erp": "done", "import_jobs": "skipped", "configure_machines": "pending",
                                     "setup_roles": "pending", "invite_team": "pending", "complete": "pending"}
    first = state["steps"][0]
    assert first["data"] == {"file_name": "jobs.csv"} and first["updated_by"] == owner.user_id
    audits = _audits(superuser_engine, owner.tenant_id)
    assert [(a["action"], a["entity_id"]) for a in audits] == [("update", owner.tenant_id)] * 2
    assert audits[0]["before"] == {"current_step": "connect_erp", "steps": {}, "completed": False}
    assert audits[1]["after"]["steps"] == {"connect_erp": "done", "import_jobs": "skipped"}


def test_moving_back_keeps_what_was_done_and_moving_to_complete_finishes(api, owner) -> None:
    for step in STEPS[:3]:
        api.post(f"/api/v1/onboarding/steps/{step}", json={"status": "done"}, headers=owner.headers)
    r = api.put("/api/v1/onboarding", json={"current_step": "import_jobs"}, headers=owner.headers)
    assert r.status_code == 200 and r.json()["current_step"] == "import_jobs"
    assert _statuses(_state(api, owner))["configure_machines"] == "done"
    done = api.put("/api/v1/onboarding", json={"current_step": "complete"}, headers=owner.headers).json()
    assert done["completed"] is True and done["completed_at"] and _statuses(done)["complete"] == "done"
    # Going back later to look at a step does not undo the completion.
    back = api.put("/api/v1/onboarding", json={"current_step": "setup_roles"}, headers=owner.headers).json()
    assert back["completed"] is True and back["completed_at"] == done["completed_at"]


def test_the_last_real_step_completes_the_onboarding(api, owner) -> None:
    r = api.post("/api/v1/onboarding/steps/invite_team", json={"status": "skipped"}, headers=owner.headers)
    assert (r.json()["current_step"], r.json()["completed"]) == ("complete", True)


@pytest.mark.parametrize(
    ("method", "path", "body", "field", "code"),
    [
        ("POST", "/api/v1/onboarding/steps/launch_rockets", {"status": "done"}, "step", "unknown_step"),
        ("POST", "/api/v1/onboarding/steps/connect_erp", {"status": "maybe"}, "status", "validation_failed"),
        ("POST", "/api/v1/onboarding/steps/connect_erp", {}, "status", "validation_failed"),
        ("POST", "/api/v1/onboarding/steps/connect_erp", {"status": "done", "data": {"Bad Key": 1}}, "data.Bad Key",
         "validation_failed"),
        ("POST", "/api/v1/onboarding/steps/connect_erp", {"status": "done", "data": {"f": "x" * 600}}, "data.f",
         "validation_failed"),
        ("POST", "/api/v1/onboarding/steps/connect_erp", {"status": "done", "data": {"f": {"nested": 1}}}, "data.f",
         None),
        ("POST", "/api/v1/onboarding/steps/complete", {"status": "skipped"}, "status", "cannot_skip_complete"),
        ("POST", "/api/v1/onboarding/steps/connect_erp", {"status": "done", "data": {f"k{i}": i for i in range(21)}},
         "data", "validation_failed"),
        ("PUT", "/api/v1/onboarding", {"current_step": "step_7"}, "current_step", "validation_failed"),
        ("PUT", "/api/v1/onboarding", {"current_step": "complete", "extra": 1}, "extra", "validation_failed"),
    ],
)
def test_bad_steps_and_bodies_are_422_naming_the_field(api, owner, method, path, body, field, code) -> None:
    r = api.request(method, path, json=body, headers=owner.headers)
    assert r.status_code == 422, r.text
    assert r.json()["field"].startswith(field), r.json()
    if code:
        assert r.json()["code"] == code
    assert _state(api, owner)["current_step"] == "connect_erp"


def test_not_a_number_in_step_data_is_refused(api, owner) -> None:
    r = api.post("/api/v1/onboarding/steps/connect_erp", headers={**owner.headers, "Content-Type": "application/json"},
                 content=b'{"status": "done", "data": {"rows": NaN}}')
    assert r.status_code == 422 and r.json()["field"].startswith("data.rows")


def test_members_read_but_only_owners_and_admins_change_it(api, owner) -> None:
    operator = join(api, owner, "operator")
    manager = join(api, owner, "plant_manager")
    admin = join(api, owner, "admin")
    assert _state(api, operator)["current_step"] == "connect_erp"
    for who in (operator, manager):
        problem(api.put("/api/v1/onboarding", json={"current_step": "complete"}, headers=who.headers), 403,
                "permission_denied")
        problem(api.post("/api/v1/onboarding/steps/connect_erp", json={"status": "done"}, headers=who.headers), 403,
                "permission_denied")
    assert api.post("/api/v1/onboarding/steps/connect_erp", json={"status": "done"},
                    headers=admin.headers).status_code == 200
    assert _state(api, operator)["current_step"] == "import_jobs"


def test_each_company_has_its_own_state(api, owner) -> None:
    other = new_company(api)
    api.put("/api/v1/onboarding", json={"current_step": "complete"}, headers=owner.headers)
    assert _state(api, owner)["completed"] is True
    assert _state(api, other)["completed"] is False and _state(api, other)["current_step"] == "connect_erp"
