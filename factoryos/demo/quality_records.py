"""Demo quality records: two nonconformances and one CAPA on the demo plant, made through the API.

The operator reports both NCs at the moulder and the machining cell of order MO-1001; the
supervisor decides their dispositions; the manager signs the first one closed. A CAPA owned by
the supervisor answers both, its containment approved by the manager's signature and one action
already overdue, so the Quality screen shows every state.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Protocol

from factoryos.demo.credentials import DemoLogin

API = "/api/v1"


class Seeder(Protocol):
    http: Any  # the provisioner's HTTP client (only factoryos.demo.provision imports one)
    logins: dict[str, DemoLogin]

    def login(self, key: str) -> dict[str, Any] | None: ...

    def headers(self, key: str = "manager") -> dict[str, str]: ...


def _ok(r: Any, what: str) -> Any:
    from factoryos.demo.provision import DemoSetupError  # the demo's own error (imported late: no cycle)

    if r.status_code >= 400:
        raise DemoSetupError(f"{what} failed ({r.status_code}): {r.text[:300]}")
    return r.json() if r.content else None


def seed_quality(seeder: Seeder) -> dict[str, Any]:
    """Make the demo's NCs and CAPA; returns what was made (ids by name)."""
    http = seeder.http
    for key in ("manager", "supervisor", "operator"):
        if seeder.login(key) is None:
            raise _missing(key)
    order = _ok(http.get(f"{API}/orders", params={"number": "MO-1001"}, headers=seeder.headers()), "MO-1001")
    detail = _ok(http.get(f"{API}/orders/{order['items'][0]['id']}", headers=seeder.headers()), "MO-1001")
    ops = detail["operations"]
    moulder = ops[0]["machine_id"]
    machining = (ops[1]["allowed"][0]["machine_id"] if len(ops) > 1 and ops[1]["allowed"] else moulder)

    def nc(who: str, body: dict[str, Any]) -> dict[str, Any]:
        return _ok(http.post(f"{API}/nonconformances", json=body, headers=seeder.headers(who)), "a demo NC")

    short = nc("operator", {"machine_id": moulder, "product_id": detail["product_id"], "order_id": detail["id"],
                            "quantity": 14, "description": "Short shot: rim not filled at the gate side"})
    oversize = nc("operator", {"machine_id": machining, "product_id": detail["product_id"], "order_id": detail["id"],
                               "quantity": 6, "description": "Bore Ø12 H7 oversize by 0.03 mm"})
    for item, decision, note in ((short, "scrap", "Cannot be refilled"), (oversize, "rework", "Sleeve and re-bore")):
        _ok(http.post(f"{API}/nonconformances/{item['id']}/disposition", json={"disposition": decision, "note": note},
                      headers=seeder.headers("supervisor")), "a demo disposition")
    manager = seeder.logins["manager"]
    signature = {"password": manager.password, "meaning": "approved", "reason": "Scrap confirmed at the cell"}
    _ok(http.post(f"{API}/nonconformances/{short['id']}/close", json={"signature": signature},
                  headers=seeder.headers()), "signing the demo NC closed")

    supervisor_id = _ok(http.get(f"{API}/auth/me", headers=seeder.headers("supervisor")), "me")["account"]["id"]
    operator_id = _ok(http.get(f"{API}/auth/me", headers=seeder.headers("operator")), "me")["account"]["id"]
    capa = _ok(http.post(f"{API}/capas", headers=seeder.headers("supervisor"), json={
        "title": "Short shots and oversize bores on MO-1001", "owner_id": supervisor_id,
        "problem": "Two defects on the first pump housing order in one shift",
        "nonconformance_ids": [short["id"], oversize["id"]],
        "containment": "100 % visual check of moulded housings; bores gauged until the cause is fixed"}),
        "the demo CAPA")
    _ok(http.patch(f"{API}/capas/{capa['id']}", headers=seeder.headers("supervisor"), json={
        "whys": ["The rim did not fill", "Melt too cold at the gate", "Barrel zone 3 ran 15 K low",
                 "Heater band failing", "No alarm on the zone temperature"],
        "root_cause": "Failing heater band on barrel zone 3, not alarmed"}), "the demo 5-Why")
    _ok(http.post(f"{API}/capas/{capa['id']}/approve", headers=seeder.headers(),
                  json={"step": "containment", "signature": signature | {"reason": "Containment in place"}}),
        "approving the demo containment")
    today = date.today()
    for owner, text, due in ((supervisor_id, "Replace heater band zone 3", today - timedelta(days=1)),
                             (operator_id, "Add a zone temperature alarm to the moulder", today + timedelta(days=5))):
        _ok(http.post(f"{API}/capas/{capa['id']}/actions", headers=seeder.headers("supervisor"), json={
            "kind": "corrective", "description": text, "owner_id": owner, "due_date": due.isoformat()}),
            "a demo CAPA action")
    return {"nonconformances": [short["id"], oversize["id"]], "capa": capa["id"]}


def _missing(key: str) -> Exception:
    from factoryos.demo.provision import DemoSetupError

    return DemoSetupError(f"the demo {key} cannot sign in to add quality records")
