"""Site-scoped members over the real app over HTTP: the cross-site twin of cross-company tests.

A company with two sites, A and B, each with a line, a machine, a round-the-clock shift, an
entry, a rejection, a downtime and a plan. A member limited to site A reads nothing of B
(lists, one-record reads, KPIs, the live view even while B's snapshot is fresh, reports and
exports) and writes nothing to it (404 like another company's); an unscoped member with the
same role sees both. Every GET route of the API is walked for B's ids, so a new route that
forgets the scope fails here.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.accounts import Session, join, new_company
from tests.production import plant

LIVE = "/api/v1/production/live"


@dataclass
class SitePlant:
    site: dict[str, Any]
    line: dict[str, Any]
    machine: dict[str, Any]
    ids: set[str] = field(default_factory=set)  # every id of a row bound to this site


@dataclass
class Company:
    owner: Session
    a: SitePlant
    b: SitePlant
    scoped: Session  # admin limited to site A
    unscoped: Session  # admin of every site


def _created(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 201, r.text
    return r.json()


def _site_plant(http: httpx.Client, owner: Session, tag: str, reason: str) -> SitePlant:
    s = plant.site(http, owner, timezone="UTC", name=f"Plant {tag}", code=plant.code(tag))
    plant.operator(http, owner, s["id"], owner.user_id)
    plant.shift(http, owner, s["id"], "Round the clock", "00:00", "00:00")
    ln = plant.line(http, owner, s["id"], name=f"Line {tag}")
    m = plant.machine(http, owner, s["id"], cycle=1, line_id=ln["id"], name=f"Press {tag}")
    p = SitePlant(s, ln, m)
    entry = _created(http.post("/api/v1/production/entry", json={"machine_id": m["id"], "good_quantity": 40},
                               headers=owner.headers))
    rejection = _created(http.post("/api/v1/rejections", json={"machine_id": m["id"], "quantity": 2,
                                                               "reason_id": reason}, headers=owner.headers))
    p.ids |= {s["id"], ln["id"], m["id"], entry["id"], entry["shift_instance_id"], rejection["id"]}
    return p


def _bound_ids(engine: Engine, tenant: str, site_id: str) -> set[str]:
    """Ids of every row the database binds to this site (read behind RLS)."""
    with engine.connect() as conn:
        machine_rows = conn.execute(text(
            "select t.table_name from information_schema.columns t where t.column_name = 'machine_id' "
            "and t.table_schema = 'public' and exists (select 1 from information_schema.columns i where "
            "i.table_name = t.table_name and i.column_name = 'id' and i.data_type = 'uuid') "
            "and exists (select 1 from pg_policies p where p.tablename = t.table_name and p.policyname = 'site_scope')"
        )).scalars().all()
        ids = {str(i) for i in conn.execute(text("select id from machines where tenant_id = :t and site_id = :s"),
                                            {"t": tenant, "s": site_id}).scalars()}
        machines = list(ids)
        for table in machine_rows:
            ids |= {str(i) for i in conn.execute(text(f"select id from {table} where tenant_id = :t and "
                                                      "machine_id = any(cast(:m as uuid[]))"),
                                                 {"t": tenant, "m": machines}).scalars()}
        for table in ("lines", "areas", "shift_instances", "shift_patterns"):
            ids |= {str(i) for i in conn.execute(text(f"select id from {table} where tenant_id = :t and site_id = :s"),
                                                 {"t": tenant, "s": site_id}).scalars()}
    return ids | {site_id}


@pytest.fixture(scope="module")
def company(live_server, superuser_engine: Engine) -> Company:
    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        owner = new_company(http)
        reasons = http.get("/api/v1/downtime/reasons", params={"limit": 500}, headers=owner.headers).json()["items"]
        reject_reason = next(r["id"] for r in reasons if r["code"].startswith("DEFECT"))
        a = _site_plant(http, owner, "ALPHA", reject_reason)
        b = _site_plant(http, owner, "BETA", reject_reason)
        scoped, unscoped = join(http, owner, "admin"), join(http, owner, "admin")
        plant.operator(http, owner, a.site["id"], scoped.user_id)
        r = http.put(f"/api/v1/users/{scoped.user_id}/sites", json={"site_ids": [a.site["id"]]}, headers=owner.headers)
        assert r.status_code == 200 and r.json()["site_ids"] == [a.site["id"]], r.text
    for p in (a, b):
        p.ids |= _bound_ids(superuser_engine, owner.tenant_id, p.site["id"])
    return Company(owner, a, b, scoped, unscoped)


@pytest.fixture()
def api(live_server) -> httpx.Client:
    with httpx.Client(base_url=live_server.url, timeout=60) as client:
        yield client


def _ids_in(body: str, ids: set[str]) -> set[str]:
    return {i for i in ids if i in body}


def test_lists_and_reads_show_only_the_members_sites(api: httpx.Client, company: Company) -> None:
    c = company
    sites = api.get("/api/v1/sites", headers=c.scoped.headers).json()["items"]
    assert [s["id"] for s in sites] == [c.a.site["id"]]
    machines = api.get("/api/v1/machines", headers=c.scoped.headers).json()["items"]
    assert [m["id"] for m in machines] == [c.a.machine["id"]]
    all_machines = api.get("/api/v1/machines", headers=c.unscoped.headers).json()["items"]
    assert {m["id"] for m in all_machines} == {c.a.machine["id"], c.b.machine["id"]}
    for path in (f"/api/v1/sites/{c.b.site['id']}", f"/api/v1/machines/{c.b.machine['id']}",
                 f"/api/v1/lines/{c.b.line['id']}"):
        assert api.get(path, headers=c.scoped.headers).status_code == 404, path
        assert api.get(path, headers=c.unscoped.headers).status_code == 200, path


def test_kpis_of_the_other_site_are_unknown_and_own_are_whole(api: httpx.Client, company: Company) -> None:
    c = company
    now = datetime.now(UTC)
    period = {"from": (now - timedelta(days=1)).isoformat(), "to": (now + timedelta(days=1)).isoformat()}
    for scope, other in (("site", c.b.site["id"]), ("machine", c.b.machine["id"]), ("line", c.b.line["id"])):
        r = api.get("/api/v1/kpis/oee", params={"scope": scope, "id": other, **period}, headers=c.scoped.headers)
        # The id is a query reference: 422 naming it, exactly as for another company's.
        assert r.status_code == 422 and r.json()["code"] == f"{scope}_not_found" and r.json()["field"] == "id", r.text
        r = api.get("/api/v1/kpis/oee", params={"scope": scope, "id": other, **period}, headers=c.unscoped.headers)
        assert r.status_code == 200, r.text
    own = api.get("/api/v1/kpis/oee", params={"scope": "site", "id": c.a.site["id"], **period}, headers=c.scoped.headers)
    full = api.get("/api/v1/kpis/oee", params={"scope": "site", "id": c.a.site["id"], **period},
                   headers=c.unscoped.headers)
    assert own.status_code == 200 and own.json()["totals"] == full.json()["totals"]
    assert own.json()["totals"]["good_count"] == 40


def test_live_view_of_the_other_site_is_not_found_while_its_snapshot_is_fresh(api: httpx.Client, company: Company) -> None:
    c = company
    for _ in range(2):  # the unscoped reader leaves B's snapshot fresh, then the scoped one asks
        r = api.get(LIVE, params={"site_id": c.b.site["id"]}, headers=c.unscoped.headers)
        assert r.status_code == 200 and c.b.machine["id"] in r.text
        for params in ({"site_id": c.b.site["id"]}, {"site_id": c.b.site["id"], "line_id": c.b.line["id"]}):
            r = api.get(LIVE, params=params, headers=c.scoped.headers)
            assert r.status_code == 404, r.text
            assert r.json()["code"] == "site_not_found" and c.b.machine["id"] not in r.text
    r = api.get(LIVE, params={"site_id": c.a.site["id"]}, headers=c.scoped.headers)
    assert r.status_code == 200 and [m["machine_id"] for m in r.json()["machines"]] == [c.a.machine["id"]]


@pytest.mark.parametrize("fmt", ["json", "xlsx", "pdf"])
def test_reports_and_exports_of_the_other_site_are_refused(api: httpx.Client, company: Company, fmt: str) -> None:
    c = company
    today = datetime.now(UTC).date()
    period = {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1)), "format": fmt}
    for target, code in (({"site_id": c.b.site["id"]}, "site_not_found"), ({"line_id": c.b.line["id"]}, "line_not_found")):
        # A site in the query is a reference, not the URL: 422 naming the field, as for another company's.
        r = api.get("/api/v1/reports/production", params={**period, **target}, headers=c.scoped.headers)
        assert r.status_code == 422 and r.json()["code"] == code and r.json()["field"] in target, r.text
        assert api.get("/api/v1/reports/production", params={**period, **target},
                       headers=c.unscoped.headers).status_code == 200
    r = api.get("/api/v1/reports/machines", params={**period, "site_id": c.a.site["id"]}, headers=c.scoped.headers)
    assert r.status_code == 200, r.text
    if fmt == "json":
        assert c.a.machine["id"] in r.text or c.a.machine["code"] in r.text
        assert not _ids_in(r.text, c.b.ids) and c.b.machine["code"] not in r.text


def test_writes_to_the_other_site_answer_like_another_companys(api: httpx.Client, company: Company) -> None:
    c = company
    stranger = new_company(api)
    foreign_site = plant.site(api, stranger, timezone="UTC")
    foreign = plant.machine(api, stranger, foreign_site["id"])

    def entry(machine_id: str) -> httpx.Response:
        return api.post("/api/v1/production/entry", json={"machine_id": machine_id, "good_quantity": 1},
                        headers=c.scoped.headers)

    theirs, other_site = entry(foreign["id"]), entry(c.b.machine["id"])
    assert other_site.status_code == theirs.status_code and other_site.status_code in (404, 422), other_site.text
    assert other_site.json()["code"] == theirs.json()["code"]
    r = api.patch(f"/api/v1/machines/{c.b.machine['id']}", json={"name": "Renamed"}, headers=c.scoped.headers)
    assert r.status_code == 404, r.text
    r = api.post("/api/v1/sites", json={"name": "New", "code": plant.code("N"), "timezone": "UTC"},
                 headers=c.scoped.headers)
    assert r.status_code == 403 and r.json()["code"] == "site_scope_exceeds_own", r.text
    r = api.post("/api/v1/lines", json={"site_id": c.b.site["id"], "name": "Sneaky", "code": plant.code("X")},
                 headers=c.scoped.headers)
    assert r.status_code in (404, 422) and r.json()["code"] == "site_not_found", r.text
    # Nothing changed behind the scope.
    r = api.get(f"/api/v1/machines/{c.b.machine['id']}", headers=c.unscoped.headers)
    assert r.json()["name"] == "Press BETA"
    # Its own site still takes writes: one part in an hour of yesterday's shift (the fixture's entry
    # ran until a moment ago, too short a time since then for a part at the machine's rate).
    yesterday = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0) - timedelta(days=1)
    r = api.post("/api/v1/production/entry", headers=c.scoped.headers, json={
        "machine_id": c.a.machine["id"], "good_quantity": 1, "started_at": yesterday.isoformat(),
        "ended_at": (yesterday + timedelta(hours=1)).isoformat()})
    assert r.status_code == 201, r.text


def _get_routes(spec: dict[str, Any]) -> list[tuple[str, set[str]]]:
    """(path, query parameter names) of every GET route of the company API."""
    out = []
    for path, item in spec["paths"].items():
        get = item.get("get")
        if get is None or not path.startswith("/api/v1/") or "/auth/sso/" in path or path in NOT_SITE_BOUND:
            continue
        out.append((path, {p["name"] for p in get.get("parameters", []) if p.get("in") == "query"}))
    return out


# Company-wide by nature, with the reason.
NOT_SITE_BOUND = {
    "/api/v1/audit": "the audit trail records the company's actions (audit.view); rows carry no site",
}

_PARAM = re.compile(r"\{([a-z_]+)\}")


def _walk(api: httpx.Client, who: Session, routes: list[tuple[str, set[str]]], target: SitePlant,
          ids: set[str]) -> dict[str, set[str]]:
    """GET every route (path ids and site/line/machine filters pointing at `target`); which of `ids` each shows."""
    by_param = {"site_id": target.site["id"], "line_id": target.line["id"], "machine_id": target.machine["id"]}
    seen: dict[str, set[str]] = {}
    for path, query in routes:
        params = _PARAM.findall(path)
        if any(p not in by_param for p in params):
            continue
        url = _PARAM.sub(lambda m: by_param[m.group(1)], path)
        variants = [{}] + [{k: v} for k, v in by_param.items() if k in query]
        for extra in variants:
            q = dict(extra) | ({"format": "json"} if "format" in query else {})
            if {"from", "to"} <= query:
                today = datetime.now(UTC).date()
                q |= {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))}
            r = api.get(url, params=q, headers=who.headers)
            assert r.status_code < 500, (url, q, r.text)
            if r.status_code == 200:
                found = _ids_in(r.text, ids)
                if found:
                    seen.setdefault(f"{url} {q}", set()).update(found)
    return seen


def test_every_get_route_hides_the_other_site(api: httpx.Client, company: Company) -> None:
    c = company
    routes = _get_routes(api.get("/api/v1/openapi.json").json())
    assert len(routes) > 50
    leaks = _walk(api, c.scoped, routes, c.b, c.b.ids - c.a.ids)
    assert leaks == {}, f"site B shown to a member of site A only: {leaks}"
    # The same walk as a member of every site finds B in many places: the walk is not vacuous.
    shown = _walk(api, c.unscoped, routes, c.b, c.b.ids - c.a.ids)
    assert len(shown) >= 10, shown


def test_a_scope_change_applies_on_the_next_request_and_clearing_gives_every_site(
        api: httpx.Client, company: Company, superuser_engine: Engine) -> None:
    c = company
    member = join(api, c.owner, "plant_manager")
    assert len(api.get("/api/v1/sites", headers=member.headers).json()["items"]) == 2
    r = api.put(f"/api/v1/users/{member.user_id}/sites", json={"site_ids": [c.b.site["id"]]}, headers=c.owner.headers)
    assert r.status_code == 200, r.text
    assert [s["id"] for s in api.get("/api/v1/sites", headers=member.headers).json()["items"]] == [c.b.site["id"]]
    r = api.put(f"/api/v1/users/{member.user_id}/sites", json={"site_ids": None}, headers=c.owner.headers)
    assert r.status_code == 200 and r.json()["site_ids"] is None
    assert len(api.get("/api/v1/sites", headers=member.headers).json()["items"]) == 2
    with superuser_engine.connect() as conn:
        rows = conn.execute(text("select before, after from audit_log where tenant_id = :t and entity_type = 'membership' "
                                 "and entity_id = :u and action = 'update' order by seq"),
                            {"t": c.owner.tenant_id, "u": member.user_id}).all()
    assert [r.after["site_ids"] for r in rows] == [[c.b.site["id"]], None]
    assert rows[0].before["site_ids"] is None


def test_setting_sites_refuses_what_it_must(api: httpx.Client, company: Company) -> None:
    c = company
    member = join(api, c.owner, "operator")

    def put(who: Session, user_id: str, site_ids: Any) -> httpx.Response:
        return api.put(f"/api/v1/users/{user_id}/sites", json={"site_ids": site_ids}, headers=who.headers)

    for bad, code in (([str(uuid.uuid4())], "unknown_site"), ([], "validation_failed"), (["nope"], "validation_failed")):
        r = put(c.owner, member.user_id, bad)
        assert r.status_code == 422 and r.json()["code"] == code, r.text
        assert r.json().get("field", "").startswith("site_ids") or any(
            e.get("field", "").startswith("site_ids") for e in r.json().get("errors", [])), r.text
    stranger = new_company(api)
    r = put(c.owner, member.user_id, [plant.site(api, stranger)["id"]])
    assert r.status_code == 422 and r.json()["code"] == "unknown_site" and r.json()["field"] == "site_ids"
    assert put(c.owner, c.owner.user_id, [c.a.site["id"]]).json()["code"] in ("cannot_scope_self", "owner_immutable")
    assert put(c.unscoped, c.owner.user_id, [c.a.site["id"]]).json()["code"] == "owner_immutable"
    assert put(c.unscoped, c.unscoped.user_id, [c.a.site["id"]]).json()["code"] == "cannot_scope_self"
    # A member of site A only hands out site A, and never every site.
    r = put(c.scoped, member.user_id, [c.b.site["id"]])
    assert r.status_code == 403 and r.json()["code"] == "target_outranks_you", r.text  # member sees every site
    assert put(c.owner, member.user_id, [c.a.site["id"]]).status_code == 200
    r = put(c.scoped, member.user_id, [c.b.site["id"]])
    assert r.status_code == 422 and r.json()["code"] == "unknown_site", r.text
    r = put(c.scoped, member.user_id, None)
    assert r.status_code == 403 and r.json()["code"] == "site_scope_exceeds_own", r.text
    assert put(c.scoped, member.user_id, [c.a.site["id"]]).status_code == 200
