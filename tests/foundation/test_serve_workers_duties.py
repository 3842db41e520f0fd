"""`factoryos serve --workers 2`: the duties run in exactly one process, by the PostgreSQL advisory
lock. One worker holds the installation's duty lock (and it is one of the two), both answer health
with that one holder, and a maintenance plan that falls due while they run gets one preventive order,
audited once and reported once to a webhook, made by the duty at the pace its setting gives."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import Engine, text

from factoryos.db.tenant import tenant_transaction
from factoryos.duties import DUTY_KEY, DutyHolder, holder
from scripts.drills.stack import ServerProcess, scratch_dir
from tests.accounts import new_company
from tests.foundation.test_serve_workers import _two, _until, _workers
from tests.integrations.own_database import own_database
from tests.integrations.receiver import receiver
from tests.maintenance import support as s

pytestmark = pytest.mark.slow  # two server processes and the duty takeover delay (7 s): about 20 s

# This database's sessions only: pg_locks lists the whole cluster's, and the session's in-process
# server holds the same key on the shared test database.
_HELD = ("select count(*) from pg_locks where locktype = 'advisory' and granted and objsubid = 1 "
         "and database = (select oid from pg_database where datname = current_database()) "
         "and ((classid::bigint << 32) | objid::bigint) = %s")


def _holder(url: str) -> tuple[DutyHolder | None, int]:
    """Who holds the duty lock, and how many sessions do (read as the app role, as health reads it)."""
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
        row = conn.execute(_HELD, (DUTY_KEY,)).fetchone()
        return holder(conn), row[0] if row else 0


def _orders(engine: Engine, tenant_id: str, plan_id: str) -> list[Any]:
    tenant = uuid.UUID(tenant_id)
    with tenant_transaction(engine, tenant) as conn:
        return list(conn.execute(text("select id from maintenance_work_orders where tenant_id = :t and plan_id = :p"),
                                 {"t": tenant, "p": uuid.UUID(plan_id)}).scalars())


def test_two_workers_run_the_duties_once(pg) -> None:
    # A database of its own: the session's in-process server holds the duties of the shared one, with
    # another key (it would claim this server's webhook deliveries and fail to read their secrets).
    with own_database(pg) as own:
        db_urls, app_engine = own.urls, own.app_engine
        env = {"FACTORYOS_LOG_LEVEL": "info", "FACTORYOS_MAINTENANCE_DUE_SECONDS": "0.5"}
        with scratch_dir("factoryos-workers-") as data, receiver() as rec:
            server = ServerProcess(db_urls.app, data, workers=2, env=env).start()
            try:
                workers = _until(lambda: _two(_workers(server)), "two workers")
                # The duties start once a worker took the lock and waited out the takeover delay.
                _until(lambda: "polls machines and runs scheduled backups" in server.log_path.read_text(),
                       "a worker running the duties")
                held, sessions = _holder(db_urls.app)
                assert held is not None and held.pid in workers and sessions == 1

                with httpx.Client(base_url=server.url, timeout=10) as api:
                    owner = new_company(api)
                    hook = api.post("/api/v1/webhooks", json={"url": rec.url, "events": ["work_order.due"]},
                                    headers=owner.headers)
                    assert hook.status_code == 201, hook.text
                    rec.secret = hook.json()["secret"]
                    m = s.machine(api, owner)
                    asset = s.machine_asset(api, owner, m["id"])
                    plan = s.plan(api, owner, asset["id"], name="Belt tension", every_days=7,
                                  last_done_at=s.ago(days=8).isoformat())
                    # Nobody reads the due list: the duty holder makes the order within its 0.5 s pace.
                    (order,) = _until(lambda: _orders(app_engine, owner.tenant_id, plan["id"]), "the duty's order",
                                      timeout=20)
                    got = rec.wait_for(1, timeout=90)  # a server worker starting under load; the duty holder may be the later one
                    for _ in range(20):  # fresh connections, which the kernel hands to either worker
                        r = api.get("/api/v1/system/health", headers={"Connection": "close"})
                        assert r.status_code == 200, r.text
                        assert r.json()["duties"] == {"ok": True, "since": held.since.isoformat().replace("+00:00", "Z")}
                time.sleep(1.5)  # a few more passes of the duty and of the delivery worker: nothing new
                assert len(rec.received) == 1 and got[0].signature_ok is True
                assert got[0].event["type"] == "work_order.due" and got[0].event["data"]["work_order_id"] == str(order)
                assert _orders(app_engine, owner.tenant_id, plan["id"]) == [order]
                with tenant_transaction(app_engine, uuid.UUID(owner.tenant_id)) as conn:
                    made = conn.execute(text("select actor_id from audit_log where tenant_id = :t and action = 'create' "
                                             "and entity_type = 'maintenance_work_order'"),
                                        {"t": uuid.UUID(owner.tenant_id)}).all()
                assert [tuple(r) for r in made] == [(None,)]  # made once, by the system
                assert _holder(db_urls.app) == (held, 1)  # still the one holder
                log = _until(lambda: (t := server.log_path.read_text()).count("serves requests only") and t,
                             "the other worker's start")
                assert log.count("polls machines and runs scheduled backups") == 1
                assert log.count("serves requests only") == 1
            finally:
                server.stop()
