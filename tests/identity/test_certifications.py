"""Per-machine certification over the real app over HTTP (migration 0025, PUT /users/{id}/machines).

One site, one line, three machines with an entry each. An operator certified for machine A only
sees A in lists, one-record reads, KPIs and the live view (even while the site's shared snapshot,
computed for an uncertified reader, is fresh), and recording on another machine is refused exactly
as for another company's machine. Unknown and other companies' machines are field errors; every
change is audited; lifting the limit (null) gives the whole site back on the next request.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.accounts import Session, join, new_company
from tests.production import plant

LIVE = "/api/v1/production/live"


@dataclass
class Plant:
    owner: Session
    operator: Session  # certified for machine a only
    colleague: Session  # same role, no limit
    site: dict[str, Any]
    line: dict[str, Any]
    a: dict[str, Any]
    b: dict[str, Any]
    c: dict[str, Any]
    entries: dict[str, str]  # machine id → entry id


@pytest.fixture()
def api(live_server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=60) as client:
        yield client


def _machines(api: httpx.Client, who: Session) -> list[str]:
    return [m["id"] for m in api.get("/api/v1/machines", headers=who.headers).json()["items"]]


@pytest.fixture(scope="module")
def floor(live_server) -> Plant:
    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        owner = new_company(http)
        s = plant.site(http, owner, timezone="UTC")
        plant.shift(http, owner, s["id"], "Round the clock", "00:00", "00:00")
        ln = plant.line(http, owner, s["id"])
        a, b, c = (plant.machine(http, owner, s["id"], cycle=1, line_id=ln["id"], name=f"Press {n}") for n in "ABC")
        operator, colleague = join(http, owner, "operator"), join(http, owner, "operator")
        for who in (owner, operator, colleague):
            plant.operator(http, owner, s["id"], who.user_id)
        entries = {}
        for m in (a, b, c):
            r = http.post("/api/v1/production/entry", json={"machine_id": m["id"], "good_quantity": 10},
                          headers=owner.headers)
            assert r.status_code == 201, r.text
            entries[m["id"]] = r.json()["id"]
        r = http.put(f"/api/v1/users/{operator.user_id}/machines", json={"machine_ids": [a["id"]]},
                     headers=owner.headers)
        assert r.status_code == 200 and r.json()["machine_ids"] == [a["id"]], r.text
    return Plant(owner, operator, colleague, s, ln, a, b, c, entries)


def test_member_shows_the_certified_machines_and_the_change_is_audited(api, floor: Plant,
                                                                       superuser_engine: Engine) -> None:
    f = floor
    member = api.get(f"/api/v1/users/{f.operator.user_id}", headers=f.owner.headers).json()
    assert member["machine_ids"] == [f.a["id"]] and member["site_ids"] is None
    listed = {m["id"]: m for m in api.get("/api/v1/users", headers=f.owner.headers).json()["items"]}
    assert listed[f.operator.user_id]["machine_ids"] == [f.a["id"]]
    assert listed[f.colleague.user_id]["machine_ids"] is None
    with superuser_engine.connect() as conn:
        row = conn.execute(text(
            "select before, after from audit_log where tenant_id = :t and entity_type = 'membership' "
            "and entity_id = :u and action = 'update' order by seq desc limit 1"),
            {"t": f.owner.tenant_id, "u": f.operator.user_id}).mappings().one()
    assert row["before"]["machine_ids"] is None and row["after"]["machine_ids"] == [f.a["id"]]


def test_lists_reads_and_kpis_show_only_the_certified_machine(api, floor: Plant) -> None:
    f = floor
    assert _machines(api, f.operator) == [f.a["id"]]
    assert set(_machines(api, f.colleague)) == {f.a["id"], f.b["id"], f.c["id"]}
    for path in (f"/api/v1/machines/{f.b['id']}", f"/api/v1/production/entry/{f.entries[f.b['id']]}"):
        assert api.get(path, headers=f.operator.headers).status_code == 404, path
        assert api.get(path, headers=f.colleague.headers).status_code == 200, path
    entries = api.get("/api/v1/production/entry", params={"limit": 500}, headers=f.operator.headers)
    assert entries.status_code == 200, entries.text
    assert {e["machine_id"] for e in entries.json()["items"]} == {f.a["id"]}
    now = datetime.now(UTC)
    period = {"from": (now - timedelta(days=1)).isoformat(), "to": (now + timedelta(days=1)).isoformat()}
    own = api.get("/api/v1/kpis/oee", params={"scope": "site", "id": f.site["id"], **period},
                  headers=f.operator.headers)
    whole = api.get("/api/v1/kpis/oee", params={"scope": "site", "id": f.site["id"], **period},
                    headers=f.colleague.headers)
    assert own.status_code == 200 and whole.status_code == 200, own.text
    listed = api.get("/api/v1/production/entry", params={"limit": 500}, headers=f.colleague.headers).json()["items"]
    on_a = sum(e["good_quantity"] for e in listed if e["machine_id"] == f.a["id"])
    assert on_a >= 10 and own.json()["totals"]["good_count"] == on_a
    assert whole.json()["totals"]["good_count"] == sum(e["good_quantity"] for e in listed) > on_a
    r = api.get("/api/v1/kpis/oee", params={"scope": "machine", "id": f.b["id"], **period}, headers=f.operator.headers)
    assert r.status_code == 422 and r.json()["code"] == "machine_not_found" and r.json()["field"] == "id", r.text


def test_live_view_is_filtered_even_while_the_shared_snapshot_is_fresh(api, floor: Plant) -> None:
    f = floor
    everyone = {f.a["id"], f.b["id"], f.c["id"]}
    for _ in range(2):
        # The uncertified colleague reads first (the shared snapshot is now fresh), then the operator.
        r = api.get(LIVE, params={"site_id": f.site["id"]}, headers=f.colleague.headers)
        assert r.status_code == 200 and {m["machine_id"] for m in r.json()["machines"]} == everyone
        for params in ({"site_id": f.site["id"]}, {"site_id": f.site["id"], "line_id": f.line["id"]}):
            r = api.get(LIVE, params=params, headers=f.operator.headers)
            assert r.status_code == 200, r.text
            assert [m["machine_id"] for m in r.json()["machines"]] == [f.a["id"]]
            assert f.b["id"] not in r.text and f.c["id"] not in r.text
    # The operator reading first never leaves a partial view for the others.
    r = api.get(LIVE, params={"site_id": f.site["id"]}, headers=f.operator.headers)
    assert [m["machine_id"] for m in r.json()["machines"]] == [f.a["id"]]
    r = api.get(LIVE, params={"site_id": f.site["id"]}, headers=f.colleague.headers)
    assert {m["machine_id"] for m in r.json()["machines"]} == everyone


def test_recording_on_another_machine_answers_like_another_companys(api, floor: Plant) -> None:
    f = floor
    stranger = new_company(api)
    foreign = plant.machine(api, stranger, plant.site(api, stranger, timezone="UTC")["id"])

    def entry(machine_id: str) -> httpx.Response:
        return api.post("/api/v1/production/entry", json={"machine_id": machine_id, "good_quantity": 1},
                        headers=f.operator.headers)

    theirs, uncertified = entry(foreign["id"]), entry(f.b["id"])
    assert uncertified.status_code == theirs.status_code and uncertified.status_code in (404, 422), uncertified.text
    assert uncertified.json()["code"] == theirs.json()["code"]
    r = api.get("/api/v1/production/entry", params={"limit": 500}, headers=f.colleague.headers)
    assert sum(1 for e in r.json()["items"] if e["machine_id"] == f.b["id"]) == 1  # nothing was written
    # An entry without times runs from the machine's last entry to now: let one 1 s cycle pass since
    # the last one (an earlier test or the fixture may have booked A a moment ago).
    time.sleep(1.5)
    r = entry(f.a["id"])
    assert r.status_code == 201, r.text


def test_bad_machine_lists_are_field_errors(api, floor: Plant) -> None:
    f = floor
    stranger = new_company(api)
    foreign = plant.machine(api, stranger, plant.site(api, stranger, timezone="UTC")["id"])
    url = f"/api/v1/users/{f.colleague.user_id}/machines"
    for body, field in (({"machine_ids": [f.a["id"], foreign["id"]]}, "machine_ids[1]"),
                        ({"machine_ids": ["00000000-0000-4000-8000-000000000000"]}, "machine_ids[0]")):
        r = api.put(url, json=body, headers=f.owner.headers)
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json"), r.text
        assert r.json()["code"] == "unknown_machine" and r.json()["field"] == field, r.text
    r = api.put(url, json={"machine_ids": []}, headers=f.owner.headers)
    assert r.status_code == 422 and r.json()["field"].startswith("machine_ids"), r.text
    r = api.put(url, json={"machine_ids": ["not-a-uuid"]}, headers=f.owner.headers)
    assert r.status_code == 422, r.text
    # Another company cannot certify this company's member, nor can the operator change their own list.
    r = api.put(url, json={"machine_ids": [foreign["id"]]}, headers=stranger.headers)
    assert r.status_code == 404, r.text
    r = api.put(f"/api/v1/users/{f.operator.user_id}/machines", json={"machine_ids": None},
                headers=f.operator.headers)
    assert r.status_code == 403, r.text
    assert api.get(f"/api/v1/users/{f.colleague.user_id}", headers=f.owner.headers).json()["machine_ids"] is None


def test_a_limited_admin_hands_out_only_their_own_machines(api, floor: Plant) -> None:
    f = floor
    admin, worker = join(api, f.owner, "admin"), join(api, f.owner, "operator")
    r = api.put(f"/api/v1/users/{admin.user_id}/machines", json={"machine_ids": [f.a["id"], f.b["id"]]},
                headers=f.owner.headers)
    assert r.status_code == 200, r.text
    url = f"/api/v1/users/{worker.user_id}/machines"
    r = api.put(url, json={"machine_ids": [f.a["id"]]}, headers=admin.headers)
    assert r.status_code == 403 and r.json()["code"] == "target_outranks_you", r.text  # worker sees every machine
    assert api.put(url, json={"machine_ids": [f.b["id"]]}, headers=f.owner.headers).status_code == 200
    r = api.put(url, json={"machine_ids": [f.c["id"]]}, headers=admin.headers)
    assert r.status_code == 422 and r.json()["code"] == "unknown_machine", r.text  # c is outside their own list
    r = api.put(url, json={"machine_ids": None}, headers=admin.headers)
    assert r.status_code == 403 and r.json()["code"] == "machine_scope_exceeds_own", r.text
    r = api.put(url, json={"machine_ids": [f.a["id"], f.b["id"]]}, headers=admin.headers)
    assert r.status_code == 200 and r.json()["machine_ids"] == [f.a["id"], f.b["id"]], r.text


def test_lifting_the_limit_applies_on_the_next_request(api, floor: Plant) -> None:
    f = floor
    worker = join(api, f.owner, "operator")
    url = f"/api/v1/users/{worker.user_id}/machines"
    assert api.put(url, json={"machine_ids": [f.c["id"]]}, headers=f.owner.headers).status_code == 200
    assert _machines(api, worker) == [f.c["id"]]
    assert api.put(url, json={"machine_ids": None}, headers=f.owner.headers).status_code == 200
    assert set(_machines(api, worker)) == {f.a["id"], f.b["id"], f.c["id"]}


def test_machine_and_site_limits_combine(api) -> None:
    owner = new_company(api)
    near_site, far_site = (plant.site(api, owner, timezone="UTC", code=plant.code(c)) for c in ("S1", "S2"))
    near, far = (plant.machine(api, owner, s["id"], cycle=1) for s in (near_site, far_site))
    plant.machine(api, owner, near_site["id"], cycle=1)  # one they are not certified for
    worker = join(api, owner, "operator")
    assert api.put(f"/api/v1/users/{worker.user_id}/machines", json={"machine_ids": [near["id"], far["id"]]},
                   headers=owner.headers).status_code == 200
    assert set(_machines(api, worker)) == {near["id"], far["id"]}
    assert api.put(f"/api/v1/users/{worker.user_id}/sites", json={"site_ids": [near_site["id"]]},
                   headers=owner.headers).status_code == 200
    assert _machines(api, worker) == [near["id"]]  # certified there too, but that site is not theirs


def test_a_limited_admin_cannot_add_a_machine_they_would_not_see(api, floor: Plant) -> None:
    f = floor
    admin = join(api, f.owner, "admin")
    assert api.put(f"/api/v1/users/{admin.user_id}/machines", json={"machine_ids": [f.a["id"]]},
                   headers=f.owner.headers).status_code == 200
    r = api.post("/api/v1/machines", json={"site_id": f.site["id"], "name": "Sneaky", "code": plant.code("SN"),
                                           "ideal_cycle_seconds": 10}, headers=admin.headers)
    assert r.status_code == 403 and r.json()["code"] == "machine_scope_exceeds_own", r.text
    names = [m["name"] for m in api.get("/api/v1/machines", headers=f.owner.headers).json()["items"]]
    assert "Sneaky" not in names and "Press A" in names


def _machine_bound_ids(engine: Engine, tenant: str, machine_id: str) -> set[str]:
    """Ids of every row the database binds to this machine (read behind RLS, as the superuser)."""
    with engine.connect() as conn:
        tables = conn.execute(text(
            "select p.tablename from pg_policies p where p.policyname = 'machine_scope' and p.tablename <> 'machines' "
            "and exists (select 1 from information_schema.columns i where i.table_schema = 'public' and "
            "i.table_name = p.tablename and i.column_name = 'id' and i.data_type = 'uuid')")).scalars().all()
        ids = {machine_id}
        for table in tables:
            ids |= {str(i) for i in conn.execute(text(f"select id from {table} where tenant_id = :t and machine_id = :m"),
                                                 {"t": tenant, "m": machine_id}).scalars()}
    return ids


def test_every_get_route_hides_the_uncertified_machine(api, superuser_engine: Engine) -> None:
    """Every GET route of the API, walked by an admin certified for machine A with B's ids in
    paths and filters, shows nothing of B; the same walk by an unlimited admin finds B often."""
    from tests.foundation.test_site_scope_http import SitePlant, _get_routes, _walk

    owner = new_company(api)
    s = plant.site(api, owner, timezone="UTC")
    plant.operator(api, owner, s["id"], owner.user_id)
    plant.shift(api, owner, s["id"], "Round the clock", "00:00", "00:00")
    ln = plant.line(api, owner, s["id"])
    a, b = (plant.machine(api, owner, s["id"], cycle=1, line_id=ln["id"], name=f"Press {n}") for n in "AB")
    reasons = api.get("/api/v1/downtime/reasons", params={"limit": 500}, headers=owner.headers).json()["items"]
    reject = next(r["id"] for r in reasons if r["code"].startswith("DEFECT"))
    for m in (a, b):
        assert api.post("/api/v1/production/entry", json={"machine_id": m["id"], "good_quantity": 5},
                        headers=owner.headers).status_code == 201
        assert api.post("/api/v1/rejections", json={"machine_id": m["id"], "quantity": 1, "reason_id": reject},
                        headers=owner.headers).status_code == 201
    certified, unlimited = join(api, owner, "admin"), join(api, owner, "admin")
    assert api.put(f"/api/v1/users/{certified.user_id}/machines", json={"machine_ids": [a["id"]]},
                   headers=owner.headers).status_code == 200
    hidden = _machine_bound_ids(superuser_engine, owner.tenant_id, b["id"]) - {a["id"]}
    assert len(hidden) >= 3, hidden
    routes = _get_routes(api.get("/api/v1/openapi.json").json())
    target = SitePlant(s, ln, b)
    leaks = _walk(api, certified, routes, target, hidden)
    assert leaks == {}, f"machine B shown to a member certified for A only: {leaks}"
    shown = _walk(api, unlimited, routes, target, hidden)
    assert len(shown) >= 5, shown
