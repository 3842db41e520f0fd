"""Jobs belong to one company: others neither see them nor reach them; permissions hold."""

from __future__ import annotations

import uuid

from tests.accounts import join, new_company
from tests.onboarding.support import csv_bytes, errors_by_row, jobs_of, small_plant, upload
from tests.production.plant import problem

HEADER = ["Job", "Product", "Qty", "Due", "Machine"]


def test_another_company_cannot_see_or_reach_the_jobs(api, owner) -> None:
    small_plant(api, owner)
    assert upload(api, owner, csv_bytes([HEADER, ["J-1", "Bracket", "5", "2026-09-01", "PRESS-01"]]),
                  dry_run=False).status_code == 200
    mine = jobs_of(api, owner)
    other = new_company(api)
    assert jobs_of(api, other) == [] and jobs_of(api, other, q="J-1") == []
    problem(api.get(f"/api/v1/jobs/{mine[0]['id']}", headers=other.headers), 404, "job_not_found")
    problem(api.get(f"/api/v1/jobs/{uuid.uuid4()}", headers=owner.headers), 404, "job_not_found")
    # The other company's import cannot use this company's machine codes, and its numbers are its own.
    body = upload(api, other, csv_bytes([HEADER, ["J-1", "Bracket", "5", "2026-09-01", "PRESS-01"]])).json()
    assert errors_by_row(body) == {2: [("machine_code", "unknown_machine")]}
    done = upload(api, other, csv_bytes([HEADER, ["J-1", "Bracket", "5", "2026-09-01", ""]]), dry_run=False)
    assert done.status_code == 200 and done.json()["imported"] == 1
    assert [j["id"] for j in jobs_of(api, owner)] == [mine[0]["id"]]
    assert jobs_of(api, other)[0]["id"] != mine[0]["id"]


def test_reading_needs_orders_view_and_importing_orders_act(api, owner) -> None:
    data = csv_bytes([HEADER, ["J-1", "Bracket", "5", "2026-09-01", ""]])
    operator = join(api, owner, "operator")  # orders.view only
    assert jobs_of(api, operator) == []
    problem(upload(api, operator, data), 403, "permission_denied")
    problem(api.get("/api/v1/jobs/import/limits", headers=operator.headers), 403, "permission_denied")
    supervisor = join(api, owner, "supervisor")  # orders.act
    assert upload(api, supervisor, data, dry_run=False).status_code == 200
    r = api.patch(f"/api/v1/users/{operator.user_id}/permissions", json={"denied": ["orders.view"]},
                  headers=owner.headers)
    assert r.status_code == 200, r.text
    problem(api.get("/api/v1/jobs", headers=operator.headers), 403, "permission_denied")


def test_anonymous_callers_learn_nothing(api) -> None:
    r = api.post("/api/v1/jobs/import", json={"file_name": "x.csv", "content": "eA=="})
    assert (r.status_code, r.json()["code"]) == (401, "missing_token")
