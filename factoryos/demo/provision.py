"""Seed the demo company through the public API, as an administrator would.

Going through HTTP (not the database) means the demo data passes every validation rule
and leaves the same audit trail as real use.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx

from factoryos.connectivity.machine_config import ModbusMachine, OpcUaMachine
from factoryos.demo.credentials import DemoLogin
from factoryos.demo.dataset import COMPANY, MACHINE_KINDS, SITES, machine_codes
from factoryos.demo.inspection_records import seed_inspections
from factoryos.demo.maintenance_records import seed_maintenance
from factoryos.demo.materials_records import seed_materials
from factoryos.demo.quality_records import seed_quality
from factoryos.errors import FactoryOSError

log = logging.getLogger(__name__)
API = "/api/v1"
PLAN_EFFICIENCY = 0.85  # targets a good shift reaches, not the nameplate maximum
# Demo sites flag stops after 15 s (real plants: 120 s) so alerts show up while you watch.
DEMO_MICRO_STOP_SECONDS = 15


class DemoSetupError(FactoryOSError):
    code = "demo_setup_failed"


@dataclass
class DemoPlant:
    sites: dict[str, dict[str, Any]] = field(default_factory=dict)  # site code → site
    machines: list[dict[str, Any]] = field(default_factory=list)  # in machine_codes() order


def _check(r: httpx.Response, what: str) -> Any:
    if r.status_code >= 400:
        try:
            detail = r.json().get("detail", r.text)
        except ValueError:
            detail = r.text
        raise DemoSetupError(f"{what} failed ({r.status_code}): {detail}")
    return r.json() if r.content else None


class Provisioner:
    def __init__(self, http: httpx.Client, logins: dict[str, DemoLogin]) -> None:
        self.http = http
        self.logins = logins
        self._tokens: dict[str, str] = {}

    # -- sessions --------------------------------------------------------------------------
    def login(self, key: str) -> dict[str, Any] | None:
        who = self.logins[key]
        r = self.http.post(f"{API}/auth/login", json={"email": who.email, "password": who.password})
        if r.status_code != 200:
            return None
        body = r.json()
        self._tokens[key] = body["access_token"]
        return body

    def headers(self, key: str = "manager") -> dict[str, str]:
        return {"Authorization": f"Bearer {self._tokens[key]}"}

    def already_seeded(self) -> bool:
        return self.login("manager") is not None

    # -- first run -------------------------------------------------------------------------
    def seed(self, sims: Sequence[ModbusMachine | OpcUaMachine]) -> DemoPlant:
        """Company, people, sites, lines, shifts and 24 machines (one per simulated PLC)."""
        manager = self.logins["manager"]
        credentials = {"email": manager.email, "password": manager.password}
        _check(self.http.post(f"{API}/auth/register", json=credentials), "registering the manager")
        account = _check(self.http.post(f"{API}/auth/login", json=credentials), "signing the manager in")
        _check(
            self.http.post(
                f"{API}/setup/owner",
                json={"display_name": manager.display_name, **COMPANY},
                headers={"Authorization": f"Bearer {account['access_token']}"},
            ),
            "creating the company",
        )
        self.login("manager")
        member_ids = {"manager": _check(self.http.get(f"{API}/auth/me", headers=self.headers()), "me")["account"]["id"]}
        for key, who in self.logins.items():
            if key == "manager":
                continue
            code = _check(self.http.post(f"{API}/invites", json={"role": who.role}, headers=self.headers()), "invite")["code"]
            body = _check(
                self.http.post(
                    f"{API}/invites/accept",
                    json={"code": code, "email": who.email, "password": who.password, "display_name": who.display_name},
                ),
                f"adding the {key}",
            )
            member_ids[key] = body["account"]["id"]

        plant = DemoPlant()
        lines: dict[str, str] = {}
        for spec in SITES:
            site = _check(
                self.http.post(
                    f"{API}/sites",
                    json={"name": spec.name, "code": spec.code, "timezone": spec.timezone, "address": spec.address,
                          "micro_stop_seconds": DEMO_MICRO_STOP_SECONDS},
                    headers=self.headers(),
                ),
                f"site {spec.code}",
            )
            plant.sites[spec.code] = site
            for line_code, line_name in spec.lines:
                line = _check(
                    self.http.post(
                        f"{API}/lines",
                        json={"site_id": site["id"], "name": line_name, "code": line_code},
                        headers=self.headers(),
                    ),
                    f"line {line_code}",
                )
                lines[f"{spec.code}/{line_code}"] = line["id"]
            for shift in spec.shifts:
                _check(
                    self.http.post(
                        f"{API}/shifts",
                        json={
                            "site_id": site["id"], "name": shift.name, "start": shift.start, "end": shift.end,
                            "breaks": [{"start": a, "end": b} for a, b in shift.breaks],
                        },
                        headers=self.headers(),
                    ),
                    f"shift {shift.name}",
                )
            for key in ("supervisor", "operator", "manager"):
                _check(
                    self.http.post(
                        f"{API}/sites/{site['id']}/operators", json={"user_id": member_ids[key]}, headers=self.headers()
                    ),
                    f"assigning the {key} to {spec.code}",
                )

        for (site_code, line_code, code), sim in zip(machine_codes(), sims, strict=True):
            _prefix, kind = MACHINE_KINDS[line_code]
            machine = _check(
                self.http.post(
                    f"{API}/machines",
                    json={
                        "site_id": plant.sites[site_code]["id"],
                        "line_id": lines[f"{site_code}/{line_code}"],
                        "name": f"{kind} {code[-2:]}",
                        "code": code,
                        "ideal_cycle_seconds": sim.ideal_cycle_time,
                        "status_mapping": sim.status_map.model_dump(mode="json"),
                    },
                    headers=self.headers(),
                ),
                f"machine {code}",
            )
            plant.machines.append(machine)
        self.orders(plant, lines["LNZ/MOLD"], lines["LNZ/MACH"])
        seed_quality(self)
        seed_inspections(self)
        seed_materials(self)
        seed_maintenance(self)
        # Seeded like a company that went through setup: its owner is not offered the wizard.
        _check(self.http.put(f"{API}/onboarding", json={"current_step": "complete"}, headers=self.headers()),
               "completing the company setup")
        return plant

    def orders(self, plant: DemoPlant, moulding: str, machining: str) -> None:
        """A product moulded two at a time then machined, three orders, the first one running on
        the first moulder: what the Orders screen, the dashboard tiles and the order report show."""
        def cycle(line_id: str) -> float:  # the line's fastest machine: no machine beats the standard
            return min(float(m["ideal_cycle_seconds"]) for m in plant.machines if m["line_id"] == line_id)

        product = _check(self.http.post(f"{API}/products", json={"number": "HSG-100", "name": "Pump housing"},
                                        headers=self.headers()), "the demo product")
        routing = {"operations": [
            {"seq": 10, "name": "Moulding", "setup_seconds": 900,
             "resources": [{"line_id": moulding, "cycle_seconds": 2 * cycle(moulding), "parts_per_cycle": 2}]},
            {"seq": 20, "name": "Machining", "setup_seconds": 600,
             "resources": [{"line_id": machining, "cycle_seconds": cycle(machining)}]},
        ]}
        _check(self.http.put(f"{API}/products/{product['id']}/routing", json=routing, headers=self.headers()),
               "the demo routing")
        due = date.today() + timedelta(days=7)
        made = [_check(self.http.post(f"{API}/orders", json={
            "job_number": number, "product_id": product["id"], "quantity": quantity, "due_date": due.isoformat(),
            "customer": "Aqua Pumps GmbH", "status": status}, headers=self.headers()), f"order {number}")
            for number, quantity, status in (("MO-1001", 2000, "released"), ("MO-1002", 800, "released"),
                                             ("MO-1003", 1200, "planned"))]
        first = next(m for m in plant.machines if m["line_id"] == moulding)
        _check(self.http.post(f"{API}/machines/{first['id']}/run",
                              json={"operation_id": made[0]["operations"][0]["id"]}, headers=self.headers()),
               "starting MO-1001")
        # The simulated moulder is already making parts: its changeover is over.
        _check(self.http.post(f"{API}/machines/{first['id']}/run/setup-done", headers=self.headers()),
               "MO-1001 set up")

    # -- every run -------------------------------------------------------------------------
    def load_plant(self) -> DemoPlant:
        plant = DemoPlant()
        for site in _check(self.http.get(f"{API}/sites", params={"limit": 50}, headers=self.headers()), "sites")["items"]:
            plant.sites[site["code"]] = site
        by_code: dict[str, dict[str, Any]] = {}
        cursor = None
        while True:
            params = {"limit": 200} | ({"cursor": cursor} if cursor else {})
            page = _check(self.http.get(f"{API}/machines", params=params, headers=self.headers()), "machines")
            by_code.update({m["code"]: m for m in page["items"]})
            cursor = page.get("next_cursor")
            if not cursor:
                break
        missing = [code for _, _, code in machine_codes() if code not in by_code]
        if missing:
            raise DemoSetupError(f"the demo data is incomplete (missing {', '.join(missing[:3])}…); run `factoryos demo --reset`")
        plant.machines = [by_code[code] for _, _, code in machine_codes()]
        return plant

    def connect(self, plant: DemoPlant, sims: Sequence[ModbusMachine | OpcUaMachine]) -> None:
        """Point each machine at its simulated PLC (ports change from run to run). The counter
        rules keep their default plausibility bound at any demo speed: the PLCs never make parts
        faster than the machines' rated cycle."""
        for machine, sim in zip(plant.machines, sims, strict=True):
            signals = sim.signals.model_dump(mode="json")
            endpoint = sim.endpoint.model_dump(mode="json")
            if sim.protocol == "opcua":
                # Pushed changes stamped by the PLC: a poll made late on a busy host cannot move parts
                # into the wrong minute or make a restart look shorter than it was.
                endpoint["acquisition"] = "subscription"
            body = {
                "protocol": sim.protocol,
                "enabled": True,
                "poll_interval": sim.poll_interval,
                "endpoint": endpoint,
                "signals": signals,
            }
            _check(
                self.http.put(f"{API}/machines/{machine['id']}/connection", json=body, headers=self.headers()),
                f"connecting {machine['code']}",
            )

    def plan(self, plant: DemoPlant, today: date) -> int:
        """Targets for every machine in today's and tomorrow's shifts (existing plans kept)."""
        made = 0
        for site in plant.sites.values():
            instances = _check(
                self.http.get(
                    f"{API}/shifts/instances",
                    params={"site_id": site["id"], "from": today.isoformat(), "to": (today + timedelta(days=1)).isoformat()},
                    headers=self.headers(),
                ),
                "shift instances",
            )
            for machine in (m for m in plant.machines if m["site_id"] == site["id"]):
                cycle = float(machine["ideal_cycle_seconds"])
                for inst in instances:
                    working = inst["length_seconds"] - inst["break_seconds"]
                    target = int(working / cycle * PLAN_EFFICIENCY)
                    r = self.http.post(
                        f"{API}/production/plan",
                        json={"machine_id": machine["id"], "shift_id": inst["pattern_id"],
                              "shift_date": inst["local_date"], "target_quantity": target,
                              "job_ref": f"JOB-{machine['code']}-{inst['local_date']}"},
                        headers=self.headers(),
                    )
                    if r.status_code == 201:
                        made += 1
                    elif r.status_code != 409:  # 409: already planned on an earlier run
                        _check(r, f"plan for {machine['code']}")
        return made
