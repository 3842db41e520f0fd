"""A small plant with two shifts of production, entered through the public API.

Warsaw site, one line with two machines and one machine outside it, three shifts, two
operators with non-Latin names. Everything the report tests assert on is counted here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.accounts import Session, accept, invite, join, new_company, session_of
from tests.production import plant

TZ = "Europe/Warsaw"  # UTC+1 in November
COMPANY = "Zakłady Mechaniczne Łódź"
NIGHT_DATE = "2026-11-16"  # Monday night → Tuesday morning
MORNING_DATE = "2026-11-17"
OPERATORS = ("Łukasz Żółć", "Ünal Yılmaz")
MACHINES = {"press": ("Prasa hydrauliczna", 30), "mill": ("Fräse Ω-5", 60), "lathe": ("Tokarka", 20)}

# Night 2026-11-16 runs 21:00Z – 05:00Z; Morning 2026-11-17 05:00Z – 13:00Z (break 09:00Z–09:30Z).
NIGHT_GOOD = {"press": 800, "mill": 350, "lathe": 800 + 400}
NIGHT_REJECTS = {"press": 12, "mill": 5}
MORNING_GOOD = {"press": 700}
MORNING_REJECTS = {"press": 20}


@dataclass
class Plant:
    owner: Session
    supervisor: Session
    operators: list[Session]
    site: dict[str, Any]
    line: dict[str, Any]
    machines: dict[str, dict[str, Any]]
    shifts: dict[str, dict[str, Any]]
    reasons: dict[str, str]
    instances: dict[str, str] = field(default_factory=dict)  # "night"/"morning" → shift instance id

    @property
    def night_good(self) -> int:
        return sum(NIGHT_GOOD.values())


def _post(http: httpx.Client, who: Session, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = http.post(path, json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    return r.json()


def _member(http: httpx.Client, owner: Session, role: str, name: str) -> Session:
    email = f"{role}-{uuid.uuid4().hex[:10]}@example.com"
    r = accept(http, invite(http, owner, role)["code"], email, display_name=name)
    assert r.status_code == 201, r.text
    return session_of(r.json(), email)


def seed_plant(http: httpx.Client) -> Plant:
    owner = new_company(http, company_name=f"{COMPANY} {uuid.uuid4().hex[:4]}", display_name="Grażyna Kierownik")
    supervisor = join(http, owner, "supervisor")
    operators = [_member(http, owner, "operator", name) for name in OPERATORS]
    site = plant.site(http, owner, timezone=TZ, name="Łódź Hala 2", code=plant.code("LDZ"))
    for who in operators:
        plant.operator(http, owner, site["id"], who.user_id)
    line = plant.line(http, owner, site["id"], name="Montaż")
    machines = {
        key: plant.machine(http, owner, site["id"], cycle=cycle, name=name,
                           **({"line_id": line["id"]} if key != "lathe" else {}))
        for key, (name, cycle) in MACHINES.items()
    }
    shifts = {
        "Morning": plant.shift(http, owner, site["id"], "Morning", "06:00", "14:00", [("10:00", "10:30")]),
        "Afternoon": plant.shift(http, owner, site["id"], "Afternoon", "14:00", "22:00"),
        "Night": plant.shift(http, owner, site["id"], "Night", "22:00", "06:00"),
    }
    items = http.get("/api/v1/downtime/reasons", params={"limit": 500}, headers=owner.headers).json()["items"]
    reasons = {r["code"]: r["id"] for r in items}
    p = Plant(owner, supervisor, operators, site, line, machines, shifts, reasons)
    _night(http, p)
    _morning(http, p)
    return p


def _entry(http: httpx.Client, p: Plant, key: str, shift: str, day: str, good: int, who: Session,
           start: str, end: str) -> dict[str, Any]:
    return _post(http, p.owner, "/api/v1/production/entry", {
        "machine_id": p.machines[key]["id"], "shift_id": p.shifts[shift]["id"], "shift_date": day,
        "good_quantity": good, "operator_id": who.user_id, "started_at": start, "ended_at": end})


def _reject(http: httpx.Client, p: Plant, key: str, shift: str, day: str, quantity: int, reason: str,
            who: Session, at: str) -> None:
    _post(http, p.owner, "/api/v1/rejections", {
        "machine_id": p.machines[key]["id"], "shift_id": p.shifts[shift]["id"], "shift_date": day,
        "quantity": quantity, "reason_id": p.reasons[reason], "operator_id": who.user_id, "occurred_at": at})


def _down(http: httpx.Client, p: Plant, key: str, start: str, end: str, reason: str) -> None:
    _post(http, p.owner, "/api/v1/downtime", {"machine_id": p.machines[key]["id"], "started_at": start,
                                              "ended_at": end, "reason_id": p.reasons[reason]})


def _night(http: httpx.Client, p: Plant) -> None:
    lukasz, unal = p.operators
    d = NIGHT_DATE
    first = _entry(http, p, "press", "Night", d, 800, lukasz, "2026-11-16T21:00:00Z", "2026-11-17T05:00:00Z")
    p.instances["night"] = first["shift_instance_id"]
    _entry(http, p, "mill", "Night", d, 350, unal, "2026-11-16T21:00:00Z", "2026-11-17T05:00:00Z")
    _entry(http, p, "lathe", "Night", d, 800, lukasz, "2026-11-16T21:00:00Z", "2026-11-17T02:00:00Z")
    _entry(http, p, "lathe", "Night", d, 400, unal, "2026-11-17T02:00:00Z", "2026-11-17T05:00:00Z")
    _reject(http, p, "press", "Night", d, 12, "DEFECT.DIMENSION", lukasz, "2026-11-16T23:00:00Z")
    _reject(http, p, "mill", "Night", d, 5, "DEFECT.SURFACE", unal, "2026-11-17T01:00:00Z")
    _down(http, p, "press", "2026-11-16T22:30:00Z", "2026-11-16T23:30:00Z", "BREAKDOWN.ELECTRICAL")
    _down(http, p, "mill", "2026-11-17T03:00:00Z", "2026-11-17T03:20:00Z", "PLANNED.MAINTENANCE")
    _post(http, p.owner, "/api/v1/production/plan", {"machine_id": p.machines["press"]["id"],
                                                     "shift_instance_id": p.instances["night"],
                                                     "target_quantity": 900})


def _morning(http: httpx.Client, p: Plant) -> None:
    _, unal = p.operators
    d = MORNING_DATE
    first = _entry(http, p, "press", "Morning", d, 700, unal, "2026-11-17T05:00:00Z", "2026-11-17T13:00:00Z")
    p.instances["morning"] = first["shift_instance_id"]
    _reject(http, p, "press", "Morning", d, 20, "STARTUP.WARMUP", unal, "2026-11-17T05:30:00Z")
    _down(http, p, "press", "2026-11-17T06:00:00Z", "2026-11-17T06:45:00Z", "MINOR_STOP.JAM")
