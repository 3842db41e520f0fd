"""A served plant for the end-to-end report benchmark: embedded PostgreSQL, the real app
under uvicorn, and a site with many machines and a year of shifts of production.

The company, site, shifts and operators go through the API; machines and the year of
records are inserted in bulk in the company's tenant transaction (the API would take
hours, and the evaluation license caps machines well below a plant's size).
"""

from __future__ import annotations

import random
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import select

from factoryos.config import Settings
from factoryos.db import migrate
from factoryos.db.embedded import EmbeddedPostgres
from factoryos.db.engine import embedded_urls, make_engine
from factoryos.db.roles import init_database
from factoryos.db.tenant import tenant_transaction
from factoryos.identity.policy import IdentityPolicy
from factoryos.production.reasons import ensure_defaults
from factoryos.production.shifts import ShiftPatterns, ensure_instance
from factoryos.schema.plant import machines as machines_table
from factoryos.schema.production import downtime_events, production_entries, rejection_entries
from factoryos.schema.production import loss_reasons as lr
from server.app import create_app
from server.auth import TokenAuthenticator

PASSWORD = "benchmark horse battery"
SHIFTS = (("Morning", "06:00", "14:00"), ("Afternoon", "14:00", "22:00"), ("Night", "22:00", "06:00"))
FAST = IdentityPolicy(argon2_time_cost=1, argon2_memory_kib=64, argon2_parallelism=1)


@dataclass
class ServedPlant:
    url: str
    headers: dict[str, str]
    site_id: str
    first_day: date
    last_day: date
    rows: int  # production, rejection and downtime records inserted


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(http: httpx.Client, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    r = http.post(path, json=body, headers=headers)
    r.raise_for_status()
    return r.json()


def _company(http: httpx.Client, email: str, operators: int) -> tuple[dict[str, str], str, list[str]]:
    _post(http, "/api/v1/auth/register", {"email": email, "password": PASSWORD})
    token = _post(http, "/api/v1/auth/login", {"email": email, "password": PASSWORD})["access_token"]
    owner = _post(http, "/api/v1/setup/owner", {
        "display_name": "Bench Owner", "company_name": "Benchmark Works", "industry": "Metalworking",
        "company_size": "201-500", "city": "Łódź", "default_currency": "EUR", "timezone": "Europe/Warsaw",
    }, {"Authorization": f"Bearer {token}"})
    headers = {"Authorization": f"Bearer {owner['access_token']}"}
    people = []
    for i in range(operators):
        code = _post(http, "/api/v1/invites", {"role": "operator"}, headers)["code"]
        joined = _post(http, "/api/v1/invites/accept", {
            "code": code, "email": f"op{i}-{uuid.uuid4().hex[:6]}@example.com", "password": PASSWORD,
            "display_name": f"Operator {i + 1:02d}"})
        people.append(joined["account"]["id"])
    return headers, owner["company"]["id"], people


def _seed_year(engine: Any, tenant: uuid.UUID, site_id: uuid.UUID, machines: int, first: date, days: int,
               operators: list[str], seed: int) -> int:
    rng = random.Random(seed)
    with tenant_transaction(engine, tenant) as conn:
        ids = [row.id for row in conn.execute(machines_table.insert().returning(machines_table.c.id), [
            {"tenant_id": tenant, "site_id": site_id, "name": f"Machine {i + 1:03d}", "code": f"M{i + 1:03d}",
             "ideal_cycle_seconds": rng.choice((12, 20, 30, 45, 60)), "status_mapping": {"codes": {}}}
            for i in range(machines)])]
        patterns = list(ShiftPatterns(conn, tenant).page(limit=10).items)
        instances = [ensure_instance(conn, tenant, p, first + timedelta(days=d))
                     for d in range(days) for p in patterns]
    reasons = _reason_ids(engine, tenant)
    rows = 0
    for chunk in range(0, len(instances), 30):
        entries: list[dict[str, Any]] = []
        rejects: list[dict[str, Any]] = []
        stops: list[dict[str, Any]] = []
        for inst in instances[chunk:chunk + 30]:
            start, end = inst["starts_at"], inst["ends_at"]
            for i, machine in enumerate(ids):
                who = uuid.UUID(operators[(i + inst["local_date"].toordinal()) % len(operators)])
                ref = {"tenant_id": tenant, "machine_id": machine, "shift_instance_id": inst["id"], "operator_id": who}
                entries.append(ref | {"good_quantity": rng.randint(300, 900), "rework_quantity": 0,
                                      "started_at": start, "ended_at": end})
                if rng.random() < 0.3:
                    rejects.append(ref | {"quantity": rng.randint(1, 25), "reason_id": rng.choice(reasons["quality"]),
                                          "occurred_at": start + timedelta(minutes=rng.randint(5, 470))})
                if rng.random() < 0.4:
                    down = start + timedelta(minutes=rng.randint(10, 400))
                    stops.append({"tenant_id": tenant, "machine_id": machine, "started_at": down,
                                  "ended_at": down + timedelta(minutes=rng.randint(3, 60)), "planned": False,
                                  "reason_id": rng.choice(reasons["availability"]), "source": "manual",
                                  "needs_reason": False})
        with tenant_transaction(engine, tenant) as conn:
            conn.execute(production_entries.insert(), entries)
            if rejects:
                conn.execute(rejection_entries.insert(), rejects)
            if stops:
                conn.execute(downtime_events.insert(), stops)
        rows += len(entries) + len(rejects) + len(stops)
    return rows


def _reason_ids(engine: Any, tenant: uuid.UUID) -> dict[str, list[uuid.UUID]]:
    with tenant_transaction(engine, tenant) as conn:
        ensure_defaults(conn, tenant)
        found: dict[str, list[uuid.UUID]] = {"quality": [], "availability": []}
        for rid, bucket, planned, level in conn.execute(select(lr.c.id, lr.c.loss_bucket, lr.c.planned, lr.c.level)):
            if level != "category" and not planned and bucket in found:
                found[bucket].append(rid)
        return found


@contextmanager
def served_plant(machines: int, days: int, seed: int = 7) -> Iterator[ServedPlant]:
    with tempfile.TemporaryDirectory(prefix="factoryos-bench-") as tmp:
        root = Path(tmp)
        (root / "pg").mkdir()
        pg = EmbeddedPostgres(root / "pg").start()
        try:
            urls = embedded_urls(pg, "bench")
            init_database(urls.admin, "bench")
            migrate.upgrade(urls.owner)
            settings = Settings(data_dir=root / "data", secret_key="bench-secret-key-" + "x" * 32)
            app = create_app(settings, urls.app, authenticator=TokenAuthenticator.from_settings(settings, FAST))
            port = _free_port()
            server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
            thread = threading.Thread(target=server.run, daemon=True)
            thread.start()
            while not server.started:
                time.sleep(0.05)
            url = f"http://127.0.0.1:{port}"
            engine = make_engine(urls.app, pool_size=2)
            try:
                with httpx.Client(base_url=url, timeout=600) as http:
                    email = f"owner-{uuid.uuid4().hex[:8]}@example.com"
                    headers, tenant, operators = _company(http, email, operators=8)
                    site = _post(http, "/api/v1/sites", {"name": "Hala 1", "code": "H1", "timezone": "Europe/Warsaw"},
                                 headers)
                    for name, start, end in SHIFTS:
                        _post(http, "/api/v1/shifts", {"site_id": site["id"], "name": name, "start": start,
                                                       "end": end}, headers)
                    for op in operators:
                        _post(http, f"/api/v1/sites/{site['id']}/operators", {"user_id": op}, headers)
                last = datetime.now(UTC).date() - timedelta(days=2)
                first = last - timedelta(days=days - 1)
                rows = _seed_year(engine, uuid.UUID(tenant), uuid.UUID(site["id"]), machines, first, days,
                                  operators, seed)
                with httpx.Client(base_url=url) as http:  # a fresh access token: seeding outlasts one
                    token = _post(http, "/api/v1/auth/login", {"email": email, "password": PASSWORD})["access_token"]
                yield ServedPlant(url, {"Authorization": f"Bearer {token}"}, site["id"], first, last, rows)
            finally:
                engine.dispose()
                server.should_exit = True
                thread.join(timeout=20)
        finally:
            pg.stop()
