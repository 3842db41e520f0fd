"""The demo seeds inspection plans and inspections on its simulated machines (through the API)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from factoryos.demo.credentials import DemoLogin
from factoryos.demo.dataset import PEOPLE, machine_codes
from factoryos.demo.provision import Provisioner
from factoryos.demo.simulators import SimulatorThread
from tests.conftest import free_port

pytestmark = pytest.mark.slow


def test_demo_has_released_plans_inspections_and_a_chart(live_server) -> None:
    tag = uuid.uuid4().hex[:8]
    logins = {p.key: DemoLogin(p.key, f"{p.key}-{tag}@demo.example.com", f"pw-{tag}-{p.key}", p.role, p.display_name)
              for p in PEOPLE}
    sims = SimulatorThread(len(machine_codes()), opcua_port=free_port(), modbus_port=free_port())
    configs = sims.start()
    try:
        with httpx.Client(base_url=live_server.url, timeout=60) as http:
            prov = Provisioner(http, logins)
            prov.seed(configs)
            h = prov.headers()
            plans = http.get("/api/v1/quality/plans", headers=h).json()["items"]
            assert sorted(p["name"] for p in plans) == ["Pump housing — moulding", "Spindle check"]
            assert all(p["released_version"] == 1 for p in plans)
            housing = next(p for p in plans if p["product_number"] == "HSG-100")
            version = http.get(f"/api/v1/quality/plans/{housing['id']}/versions/1", headers=h).json()
            assert version["signatures"][0]["valid"] is True
            done = http.get("/api/v1/inspections", params={"plan_id": housing["id"]}, headers=h).json()["items"]
            assert len(done) == 12 and sum(i["result"] == "fail" for i in done) == 2
            spc = http.get("/api/v1/quality/spc", params={"characteristic_id": version["characteristics"][0]["id"]},
                           headers=h).json()
            assert (spc["kind"], spc["n"], spc["capability"]["values"]) == ("xbar_r", 5, 60)
            spindle = next(p for p in plans if p["name"] == "Spindle check")
            due = http.get("/api/v1/quality/due", params={"machine_id": spindle["machine_id"]}, headers=h).json()
            assert due["items"] == []  # due two hours after its release
    finally:
        sims.stop()
