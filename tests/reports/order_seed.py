"""One manufacturing order that ran on two machines, written straight into the database.

Site in UTC with one shift, Day 06:00–14:00 (break 10:00–10:30), on Tuesday 2026-11-10.
Order of 1000 × "P-100 Bracket", two operations:

- 10 Stamping on the press (own ideal cycle 30 s; the routing's standard 10 s for a two-cavity
  mould, so 5 s a part): one run 06:00–08:00, setup declared done at 06:15; PLC minutes
  06:15–07:59 count 10 good each (1050), the 07:00 minute also 5 rejects.
- 20 Turning on the lathe (own 20 s; no routing standard, so the machine's own): one run
  08:00–11:00 with no setup declared, so setup lasts until its first counted minute, 08:30;
  minutes 08:30–10:59 count 2 good each (300), the 09:00 minute also 3 rejects.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import Engine, text

from factoryos.db.tenant import tenant_transaction
from tests.accounts import Session, new_company
from tests.production import plant

DAY = "2026-11-10"
PRESS_RUN = ("2026-11-10T06:00:00Z", "2026-11-10T08:00:00Z")
LATHE_RUN = ("2026-11-10T08:00:00Z", "2026-11-10T11:00:00Z")
OPERATOR = "Łucja Ćwik"


@dataclass
class OrderPlant:
    owner: Session
    site: dict[str, Any]
    press: dict[str, Any]
    lathe: dict[str, Any]
    order_id: str
    number: str
    operations: list[str]


def _minutes(conn: Any, tenant: str, machine: str, first: str, count: int, good: int,
             rejects: dict[str, int]) -> None:
    conn.execute(text(
        "insert into machine_count_buckets (tenant_id, machine_id, minute, good, reject, delta_keys) "
        "select :t, :m, m, :g, 0, '{seed}' from generate_series(cast(:first as timestamptz), "
        "cast(:first as timestamptz) + (:n - 1) * interval '1 minute', interval '1 minute') m"),
        {"t": tenant, "m": machine, "first": first, "n": count, "g": good})
    for minute, n in rejects.items():
        conn.execute(text("update machine_count_buckets set reject = :r where tenant_id = :t and machine_id = :m "
                          "and minute = :minute"), {"t": tenant, "m": machine, "minute": minute, "r": n})


def seed_order(http: httpx.Client, engine: Engine) -> OrderPlant:
    owner = new_company(http, name=f"Odlewnia Śląsk {uuid.uuid4().hex[:4]}", display_name=OPERATOR)
    site = plant.site(http, owner, timezone="UTC", name="Gliwice", code=plant.code("GLW"))
    plant.shift(http, owner, site["id"], "Day", "06:00", "14:00", [("10:00", "10:30")])
    press = plant.machine(http, owner, site["id"], cycle=30, name="Prasa 400t")
    lathe = plant.machine(http, owner, site["id"], cycle=20, name="Tokarka CNC")
    number = f"MO-{uuid.uuid4().hex[:6]}"
    t = owner.tenant_id
    with tenant_transaction(engine, UUID(t)) as conn:
        # The machines were there long before the order (time before a machine exists is not planned).
        conn.execute(text("update machines set created_at = '2026-01-01Z' where tenant_id = :t"), {"t": t})
        product = conn.execute(text(
            "insert into products (tenant_id, number, name) values (:t, 'P-100', 'Bracket') returning id"),
            {"t": t}).scalar_one()
        job = conn.execute(text(
            "insert into jobs (tenant_id, job_number, product, product_id, quantity, due_date, customer, site_id, "
            "status) values (:t, :n, 'Bracket', :p, 1000, :d, 'Fabryka Okien Łańcut', :s, 'running') returning id"),
            {"t": t, "n": number, "p": product, "d": date(2026, 11, 20), "s": site["id"]}).scalar_one()
        ops = []
        for seq, name, machine, allowed, setup, status in (
            (10, "Stamping", press, [{"machine_id": press["id"], "cycle_seconds": "10", "parts_per_cycle": 2}],
             900, "completed"),
            (20, "Turning", lathe, [], 1200, "paused"),
        ):
            ops.append(conn.execute(text(
                "insert into order_operations (tenant_id, job_id, seq, name, quantity, setup_seconds, allowed, "
                "status, machine_id) values (:t, :j, :seq, :name, 1000, :setup, cast(:allowed as jsonb), :st, :m) "
                "returning id"),
                {"t": t, "j": job, "seq": seq, "name": name, "setup": setup, "allowed": json.dumps(allowed),
                 "st": status, "m": machine["id"]}).scalar_one())
        run = ("insert into operation_runs (tenant_id, operation_id, machine_id, started_at, setup_ended_at, ended_at, "
               "end_kind, cycle_seconds, parts_per_cycle, operator_id) values (:t, :o, :m, :s, :setup, :e, :k, :c, :p, "
               ":u)")
        conn.execute(text(run), {"t": t, "o": ops[0], "m": press["id"], "s": PRESS_RUN[0],
                                 "setup": "2026-11-10T06:15:00Z", "e": PRESS_RUN[1], "k": "completed", "c": 10,
                                 "p": 2, "u": owner.user_id})
        conn.execute(text(run), {"t": t, "o": ops[1], "m": lathe["id"], "s": LATHE_RUN[0], "setup": None,
                                 "e": LATHE_RUN[1], "k": "paused", "c": None, "p": 1, "u": owner.user_id})
        _minutes(conn, t, press["id"], "2026-11-10T06:15:00Z", 105, 10, {"2026-11-10T07:00:00Z": 5})
        _minutes(conn, t, lathe["id"], "2026-11-10T08:30:00Z", 150, 2, {"2026-11-10T09:00:00Z": 3})
    return OrderPlant(owner, site, press, lathe, str(job), number, [str(o) for o in ops])


LONG_PRODUCT = "Wspornik montażowy ocynkowany ogniowo z otworami fasolowymi " * 3
LONG_OPERATION = "Gięcie na prasie krawędziowej z kontrolą kąta po każdej sztuce"


def seed_long_order(engine: Engine, p: OrderPlant, runs: int = 40) -> str:
    """An order of the same company with long names and `runs` 8-minute runs on 2026-11-11 from
    06:00, alternating between the press and the lathe over three operations; its number."""
    number = f"MO-LONG-{uuid.uuid4().hex[:6]}"
    t = p.owner.tenant_id
    with tenant_transaction(engine, UUID(t)) as conn:
        job = conn.execute(text(
            "insert into jobs (tenant_id, job_number, product, quantity, due_date, customer, site_id, status) "
            "values (:t, :n, :p, 50000, '2026-12-01', :c, :s, 'running') returning id"),
            {"t": t, "n": number, "p": LONG_PRODUCT[:200], "c": "Przedsiębiorstwo " * 10, "s": p.site["id"]}
        ).scalar_one()
        ops = [conn.execute(text(
            "insert into order_operations (tenant_id, job_id, seq, name, quantity, status) "
            "values (:t, :j, :seq, :name, 50000, 'running') returning id"),
            {"t": t, "j": job, "seq": 10 * (i + 1), "name": f"{LONG_OPERATION} {i + 1}"}).scalar_one()
            for i in range(3)]
        for i in range(runs):
            machine = (p.press, p.lathe)[i % 2]
            conn.execute(text(
                "insert into operation_runs (tenant_id, operation_id, machine_id, started_at, ended_at, end_kind, "
                "operator_id) values (:t, :o, :m, cast(:s as timestamptz) + :i * interval '8 minutes', "
                "cast(:s as timestamptz) + (:i + 1) * interval '8 minutes', 'paused', :u)"),
                {"t": t, "o": ops[i % 3], "m": machine["id"], "s": "2026-11-11T06:00:00Z", "i": i,
                 "u": p.owner.user_id})
    return number


def seed_running_order(engine: Engine, p: OrderPlant) -> str:
    """An order of the same company whose one operation runs on the lathe since 30 minutes ago,
    nothing counted yet (so it is still in its setup); its number."""
    number = f"MO-RUN-{uuid.uuid4().hex[:6]}"
    t = p.owner.tenant_id
    with tenant_transaction(engine, UUID(t)) as conn:
        job = conn.execute(text(
            "insert into jobs (tenant_id, job_number, product, quantity, due_date, site_id, status) "
            "values (:t, :n, 'Flange', 10, '2026-12-01', :s, 'running') returning id"),
            {"t": t, "n": number, "s": p.site["id"]}).scalar_one()
        op = conn.execute(text(
            "insert into order_operations (tenant_id, job_id, seq, name, quantity, status, machine_id) "
            "values (:t, :j, 10, 'Production', 10, 'running', :m) returning id"),
            {"t": t, "j": job, "m": p.lathe["id"]}).scalar_one()
        conn.execute(text(
            "insert into operation_runs (tenant_id, operation_id, machine_id, started_at, operator_id) "
            "values (:t, :o, :m, now() - interval '30 minutes', :u)"),
            {"t": t, "o": op, "m": p.lathe["id"], "u": p.owner.user_id})
    return number
