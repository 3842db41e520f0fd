"""The demo's quality records, seeded through the real API on a small plant shaped like the demo's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from factoryos.demo.credentials import DemoLogin
from factoryos.demo.quality_records import seed_quality
from tests.accounts import PASSWORD, Session, login
from tests.nonconformances.support import CAPA, NC, ok, quality_plant


@dataclass
class _Seeder:
    """What the demo's Provisioner offers: sign in by key, then that member's headers."""

    http: httpx.Client
    logins: dict[str, DemoLogin]
    tokens: dict[str, str] = field(default_factory=dict)

    def login(self, key: str) -> dict[str, Any] | None:
        r = login(self.http, self.logins[key].email, self.logins[key].password)
        if r.status_code != 200:
            return None
        self.tokens[key] = r.json()["access_token"]
        return r.json()

    def headers(self, key: str = "manager") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[key]}"}


def _demo_login(key: str, who: Session, role: str) -> DemoLogin:
    return DemoLogin(key, who.email, PASSWORD, role, key.title())


def test_the_demo_gets_two_ncs_and_a_capa_in_every_state(http) -> None:
    p = quality_plant(http)
    lathe = ok(http.post("/api/v1/machines", json={"site_id": p.site["id"], "name": "Lathe", "code": "LATHE-1",
                                                   "ideal_cycle_seconds": 20}, headers=p.owner.headers), 201)
    product = ok(http.post("/api/v1/products", json={"number": "HSG-100", "name": "Pump housing"},
                           headers=p.owner.headers), 201)
    ok(http.put(f"/api/v1/products/{product['id']}/routing", headers=p.owner.headers, json={"operations": [
        {"seq": 10, "name": "Moulding", "resources": [{"machine_id": p.machine["id"], "cycle_seconds": 30}]},
        {"seq": 20, "name": "Machining", "resources": [{"machine_id": lathe["id"], "cycle_seconds": 20}]}]}))
    order = ok(http.post("/api/v1/orders", headers=p.owner.headers, json={
        "job_number": "MO-1001", "product_id": product["id"], "quantity": 100, "due_date": "2030-01-01",
        "status": "released"}), 201)
    ok(http.post(f"/api/v1/machines/{p.machine['id']}/run", json={"operation_id": order["operations"][0]["id"]},
                 headers=p.owner.headers), 201)
    logins = {"manager": _demo_login("manager", p.owner, "owner"),
              "supervisor": _demo_login("supervisor", p.supervisor, "supervisor"),
              "operator": _demo_login("operator", p.operator, "operator")}
    made = seed_quality(_Seeder(http, logins))

    first, second = (ok(http.get(f"{NC}/{i}", headers=p.owner.headers)) for i in made["nonconformances"])
    assert (first["status"], first["disposition"], first["machine_id"]) == ("closed", "scrap", p.machine["id"])
    assert first["signatures"][0]["valid"] and first["order_number"] == "MO-1001"
    assert (second["status"], second["disposition"], second["machine_id"]) == ("dispositioned", "rework", lathe["id"])
    capa = ok(http.get(f"{CAPA}/{made['capa']}", headers=p.owner.headers))
    assert capa["owner_id"] == p.supervisor.user_id and len(capa["whys"]) == 5
    assert [s["approved"] for s in capa["steps"]] == [True, False, False, False]
    overdue = ok(http.get(f"{CAPA}/actions", params={"overdue": "true"}, headers=p.supervisor.headers))
    assert [a["description"] for a in overdue] == ["Replace heater band zone 3"]
