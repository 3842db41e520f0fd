"""Demo inspection plans and inspections on the demo plant, made through the API.

The pump housing's moulding has a released plan (first article, then every 200 parts): wall
thickness measured on five parts and a visual check. The operator has inspected MO-1001 on
its moulder a dozen times, one wall out of tolerance, so the SPC chart, the capability and
the quality report have data from the first start. The first machining cell has a plan of
its own (spindle runout every two hours), due at the terminal two hours after the first start.
"""

from __future__ import annotations

import random
from typing import Any

from factoryos.demo.quality_records import API, Seeder

WALL = {"name": "Wall thickness", "kind": "measured", "nominal": "2.50", "lsl": "2.40", "usl": "2.60", "unit": "mm",
        "decimals": 2, "min_value": "0", "max_value": "20", "sample_size": 5}
VISUAL = {"name": "Visual", "kind": "attribute", "defects": ["Short shot", "Flash", "Sink mark"]}
RUNOUT = {"name": "Spindle runout", "kind": "measured", "nominal": "0", "usl": "0.020", "unit": "mm", "decimals": 3,
          "min_value": "0", "max_value": "1", "sample_size": 1}
SUBGROUPS = 12


def _ok(r: Any, what: str) -> Any:
    from factoryos.demo.provision import DemoSetupError  # imported late: provision imports this module

    if r.status_code >= 400:
        raise DemoSetupError(f"{what} failed ({r.status_code}): {r.text[:300]}")
    return r.json() if r.content else None


def _walls(rng: random.Random, i: int) -> list[str]:
    """Five walls around 2.50 mm (σ ≈ 0.025); the ninth subgroup has one thick wall (2.63 mm)."""
    values = [round(rng.gauss(2.50, 0.025), 2) for _ in range(5)]
    if i == 8:
        values[2] = 2.63
    return [f"{v:.2f}" for v in values]


def seed_inspections(seeder: Seeder) -> dict[str, Any]:
    """Make the demo's inspection plans (released, signed by the manager) and inspections."""
    http = seeder.http
    for key in ("manager", "operator"):
        if seeder.login(key) is None:
            from factoryos.demo.provision import DemoSetupError

            raise DemoSetupError(f"the demo {key} cannot sign in")
    order = _ok(http.get(f"{API}/orders", params={"number": "MO-1001"}, headers=seeder.headers()), "MO-1001")
    detail = _ok(http.get(f"{API}/orders/{order['items'][0]['id']}", headers=seeder.headers()), "MO-1001")
    moulding, machining = detail["operations"][0], detail["operations"][-1]
    routing = _ok(http.get(f"{API}/products/{detail['product_id']}/routing", headers=seeder.headers()), "routing")
    mould_op = next(o["id"] for o in routing["operations"] if o["seq"] == moulding["seq"])
    cell = machining["allowed"][0]["machine_id"] if machining["allowed"] else None

    manager = seeder.logins["manager"]
    signature = {"password": manager.password, "meaning": "approved", "reason": "Released for production"}

    def plan(body: dict[str, Any]) -> dict[str, Any]:
        made = _ok(http.post(f"{API}/quality/plans", json=body, headers=seeder.headers()), f"plan {body['name']}")
        _ok(http.post(f"{API}/quality/plans/{made['id']}/versions/1/release", json={"signature": signature},
                      headers=seeder.headers()), f"releasing plan {body['name']}")
        return _ok(http.get(f"{API}/quality/plans/{made['id']}/versions/1", headers=seeder.headers()), "a version")

    housing = plan({"name": "Pump housing — moulding", "product_id": detail["product_id"],
                    "routing_operation_id": mould_op,
                    "version": {"first_article": True, "every_parts": 200, "characteristics": [WALL, VISUAL]}})
    made = {"housing_plan": housing["plan_id"]}
    if cell is not None:
        made["spindle_plan"] = plan({"name": "Spindle check", "machine_id": cell, "version": {
            "every_minutes": 120, "characteristics": [RUNOUT]}})["plan_id"]

    wall, visual = (c["id"] for c in housing["characteristics"])
    rng = random.Random(1001)  # the same demo data on every fresh start
    for i in range(SUBGROUPS):
        passed = i != 5
        results = [{"characteristic_id": wall, "values": _walls(rng, i)},
                   {"characteristic_id": visual, "passed": passed, "defect": None if passed else "Flash"}]
        _ok(http.post(f"{API}/inspections", headers=seeder.headers("operator"), json={
            "machine_id": moulding["machine_id"], "plan_id": housing["plan_id"], "results": results,
            "trigger": "first_article" if i == 0 else "parts"}), "a demo inspection")
    return made
