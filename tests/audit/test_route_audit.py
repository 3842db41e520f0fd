"""Walk the route table: every mutating route, called for real, writes exactly one
matching audit row with a sensible before/after. A new mutating route without a step
here fails the walk, so audit coverage cannot silently shrink.

The steps share one company and run once, in order (later steps use what earlier ones
made); each route then passes or fails as its own test, so one failure hides no other."""

from __future__ import annotations

import base64
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pyotp
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, create_engine, pool, text

from factoryos.backup.manifest import Backup, write_manifest
from factoryos.db.tenant import tenant_transaction
from factoryos.licensing.keys import PUBLIC_KEY_ENV, public_pem
from factoryos.production.anomalies import AnomalyRow, record_anomalies
from server.app import all_endpoints
from tests.accounts import (
    PASSWORD,
    Session,
    accept,
    invite,
    login,
    make_installation_admin,
    new_company,
    new_email,
    session_of,
)
from tests.backup.support import app_of, backup_server, signed_license, wait_for_restore
from tests.conftest import LiveServer
from tests.audit.walk import STEPS, Expect, Step, Walk, step
from tests.production import plant

DAY = "2026-09-01"  # Berlin UTC+2: the Early shift 06:00–14:00 is 04:00Z–12:00Z

# Routes that act on an account before it belongs to any company: the audit log is per
# company, so there is no chain to write to. The account's first membership is audited.
ACCOUNT_ONLY = {"POST /api/v1/auth/register", "POST /api/v1/setup"}
# POSTs that change nothing: a connection test reads the machine once with unsaved settings, a
# browse lists an OPC-UA server's nodes with them.
READS_ONLY = {"POST /api/v1/machines/{machine_id:uuid}/connection/test",
              "POST /api/v1/machines/{machine_id:uuid}/connection/browse"}


def _id(r: httpx.Response) -> str:
    return r.json()["id"]


# -- identity -------------------------------------------------------------------------------


@step("POST /api/v1/setup/owner")
def _setup_owner(w: Walk) -> Expect:
    # The walk's own company was made this way; make one more and look in its chain.
    other = new_company(w.http)
    w.state["second_owner"] = other
    return Expect("create", "company", other.tenant_id, "create")


@step("POST /api/v1/auth/login")
def _login(w: Walk) -> Expect:
    r = login(w.http, w.owner.email)
    assert r.status_code == 200, r.text
    w.state["login"] = session_of(r.json(), w.owner.email)
    return Expect("login", "session", None, "event")


@step("POST /api/v1/auth/refresh")
def _refresh(w: Walk) -> Expect:
    w.call("POST", "/api/v1/auth/refresh", who=False, json={"refresh_token": w.state["login"].refresh_token})
    return Expect("token_refresh", "session", None, "event")


@step("POST /api/v1/invites")
def _invite(w: Walk) -> Expect:
    r = w.call("POST", "/api/v1/invites", json={"role": "operator"})
    w.state["invite"] = r.json()
    return Expect("create", "invite", r.json()["id"], "create")


@step("DELETE /api/v1/invites/{invite_id:uuid}")
def _revoke(w: Walk) -> Expect:
    doomed = invite(w.http, w.owner, "operator")
    w.call("DELETE", f"/api/v1/invites/{doomed['id']}")
    return Expect("delete", "invite", doomed["id"], "delete")


@step("POST /api/v1/invites/accept")
def _accept(w: Walk) -> Expect:
    email = new_email("operator")
    r = accept(w.http, w.state["invite"]["code"], email)
    assert r.status_code == 201, r.text
    w.state["operator"] = session_of(r.json(), email)
    return Expect("create", "membership", None, "create")


@step("PATCH /api/v1/users/{user_id:uuid}/permissions")
def _permissions(w: Walk) -> Expect:
    op = w.state["operator"]
    w.call("PATCH", f"/api/v1/users/{op.user_id}/permissions", json={"granted": ["reports.export"]})
    return Expect("permission_change", "user", op.user_id, "update")


@step("POST /api/v1/auth/mfa/enroll")
def _mfa_enroll(w: Walk) -> Expect:
    op = w.state["operator"]
    r = w.call("POST", "/api/v1/auth/mfa/enroll", who=op)
    w.state["totp_secret"] = r.json()["secret"]
    return Expect("update", "user_mfa", op.user_id, "event")


@step("POST /api/v1/auth/mfa/confirm")
def _mfa_confirm(w: Walk) -> Expect:
    op = w.state["operator"]
    r = w.call("POST", "/api/v1/auth/mfa/confirm", who=op, json={"code": pyotp.TOTP(w.state["totp_secret"]).now()})
    w.state["recovery"] = r.json()["recovery_codes"][0]
    return Expect("update", "user_mfa", op.user_id, "update")


@step("POST /api/v1/auth/mfa/disable")
def _mfa_disable(w: Walk) -> Expect:
    op = w.state["operator"]
    w.call("POST", "/api/v1/auth/mfa/disable", who=op,
           json={"password": PASSWORD, "recovery_code": w.state["recovery"]})
    return Expect("update", "user_mfa", op.user_id, "update")


@step("POST /api/v1/auth/logout")
def _logout(w: Walk) -> Expect:
    w.call("POST", "/api/v1/auth/logout", who=w.state["login"], json={})
    return Expect("logout", "session", None, "event")


# -- plant ----------------------------------------------------------------------------------


@step("POST /api/v1/sites")
def _site(w: Walk) -> Expect:
    s = plant.site(w.http, w.owner)
    w.state["site"] = s
    return Expect("create", "site", s["id"], "create")


@step("PATCH /api/v1/sites/{site_id:uuid}")
def _site_patch(w: Walk) -> Expect:
    s = w.state["site"]
    w.call("PATCH", f"/api/v1/sites/{s['id']}", json={"name": "Plant North"})
    return Expect("update", "site", s["id"], "update")


@step("DELETE /api/v1/sites/{site_id:uuid}")
def _site_delete(w: Walk) -> Expect:
    s = plant.site(w.http, w.owner)
    w.call("DELETE", f"/api/v1/sites/{s['id']}")
    return Expect("delete", "site", s["id"], "delete")


@step("POST /api/v1/sites/{site_id:uuid}/operators")
def _operator(w: Walk) -> Expect:
    s, op = w.state["site"], w.state["operator"]
    plant.operator(w.http, w.owner, s["id"], op.user_id)
    plant.operator(w.http, w.owner, s["id"], w.owner.user_id)
    return Expect("create", "site_operator", f"{s['id']}/{op.user_id}", "create")


@step("DELETE /api/v1/sites/{site_id:uuid}/operators/{user_id:uuid}")
def _operator_delete(w: Walk) -> Expect:
    s = w.state["site"]
    w.call("DELETE", f"/api/v1/sites/{s['id']}/operators/{w.owner.user_id}")
    return Expect("delete", "site_operator", f"{s['id']}/{w.owner.user_id}", "delete")


@step("POST /api/v1/areas")
def _area(w: Walk) -> Expect:
    r = w.call("POST", "/api/v1/areas", json={"site_id": w.state["site"]["id"], "name": "Hall", "code": plant.code("A")})
    w.state["area"] = r.json()
    return Expect("create", "area", _id(r), "create")


@step("PATCH /api/v1/areas/{area_id:uuid}")
def _area_patch(w: Walk) -> Expect:
    a = w.state["area"]
    w.call("PATCH", f"/api/v1/areas/{a['id']}", json={"name": "Hall East"})
    return Expect("update", "area", a["id"], "update")


@step("DELETE /api/v1/areas/{area_id:uuid}")
def _area_delete(w: Walk) -> Expect:
    a = w.state["area"]
    w.call("DELETE", f"/api/v1/areas/{a['id']}")
    return Expect("delete", "area", a["id"], "delete")


@step("POST /api/v1/lines")
def _line(w: Walk) -> Expect:
    ln = plant.line(w.http, w.owner, w.state["site"]["id"])
    w.state["line"] = ln
    return Expect("create", "line", ln["id"], "create")


@step("PATCH /api/v1/lines/{line_id:uuid}")
def _line_patch(w: Walk) -> Expect:
    ln = w.state["line"]
    w.call("PATCH", f"/api/v1/lines/{ln['id']}", json={"name": "Line Two"})
    return Expect("update", "line", ln["id"], "update")


@step("DELETE /api/v1/lines/{line_id:uuid}")
def _line_delete(w: Walk) -> Expect:
    ln = plant.line(w.http, w.owner, w.state["site"]["id"])
    w.call("DELETE", f"/api/v1/lines/{ln['id']}")
    return Expect("delete", "line", ln["id"], "delete")


@step("POST /api/v1/machines")
def _machine(w: Walk) -> Expect:
    m = plant.machine(w.http, w.owner, w.state["site"]["id"], cycle=30)
    w.state["machine"] = m
    return Expect("create", "machine", m["id"], "create")


@step("PATCH /api/v1/machines/{machine_id:uuid}")
def _machine_patch(w: Walk) -> Expect:
    m = w.state["machine"]
    w.call("PATCH", f"/api/v1/machines/{m['id']}", json={"name": "Press 2"})
    return Expect("update", "machine", m["id"], "update")


@step("DELETE /api/v1/machines/{machine_id:uuid}")
def _machine_delete(w: Walk) -> Expect:
    m = plant.machine(w.http, w.owner, w.state["site"]["id"])
    w.call("DELETE", f"/api/v1/machines/{m['id']}")
    return Expect("delete", "machine", m["id"], "delete")


_CONNECTION = {"protocol": "modbus", "enabled": False, "endpoint": {"host": "plc.local"},
               "signals": {"good": {"address": 0}, "reject": {"address": 1}, "state": {"address": 2}}}


@step("PUT /api/v1/machines/{machine_id:uuid}/connection")
def _connection_put(w: Walk) -> Expect:
    m = w.state["machine"]
    w.call("PUT", f"/api/v1/machines/{m['id']}/connection", json=_CONNECTION)
    return Expect("create", "machine_connection", m["id"], "create")


@step("DELETE /api/v1/machines/{machine_id:uuid}/connection")
def _connection_delete(w: Walk) -> Expect:
    m = w.state["machine"]
    w.call("DELETE", f"/api/v1/machines/{m['id']}/connection")
    return Expect("delete", "machine_connection", m["id"], "delete")


def _anomaly(w: Walk, n: int) -> str:
    """A counter jump as the poller's sink stores it (its own `detect` audit row is not the step's)."""
    engine = create_engine(w.state["superuser_url"], poolclass=pool.NullPool)
    try:
        with tenant_transaction(engine, UUID(w.owner.tenant_id)) as conn:
            at = datetime(2026, 9, 1, 8, n, tzinfo=UTC)
            record_anomalies(conn, UUID(w.owner.tenant_id), [AnomalyRow(
                UUID(w.state["machine"]["id"]), "good", 10, 1_000_010, at, at, 1_000_000, 3, f"walk|{uuid4()}")])
    finally:
        engine.dispose()
    m = w.state["machine"]["id"]
    listed = w.call("GET", f"/api/v1/machines/{m}/anomalies", params={"status": "pending"}).json()
    return next(a["id"] for a in listed["items"] if a["detected_at"].startswith(f"2026-09-01T08:{n:02d}"))


@step("POST /api/v1/machines/{machine_id:uuid}/anomalies/{anomaly_id:uuid}/accept")
def _anomaly_accept(w: Walk) -> Expect:
    anomaly = _anomaly(w, 1)
    w.call("POST", f"/api/v1/machines/{w.state['machine']['id']}/anomalies/{anomaly}/accept")
    return Expect("accept", "counter_anomaly", anomaly, "update")


@step("POST /api/v1/machines/{machine_id:uuid}/anomalies/{anomaly_id:uuid}/discard")
def _anomaly_discard(w: Walk) -> Expect:
    anomaly = _anomaly(w, 2)
    w.call("POST", f"/api/v1/machines/{w.state['machine']['id']}/anomalies/{anomaly}/discard")
    return Expect("discard", "counter_anomaly", anomaly, "update")


# -- shifts and production ------------------------------------------------------------------


@step("POST /api/v1/shifts")
def _shift(w: Walk) -> Expect:
    sh = plant.shift(w.http, w.owner, w.state["site"]["id"], "Early", "06:00", "14:00", [("10:00", "10:30")])
    w.state["shift"] = sh
    return Expect("create", "shift", sh["id"], "create")


@step("PATCH /api/v1/shifts/{shift_id:uuid}")
def _shift_patch(w: Walk) -> Expect:
    sh = w.state["shift"]
    w.call("PATCH", f"/api/v1/shifts/{sh['id']}", json={"name": "Early A"})
    return Expect("update", "shift", sh["id"], "update")


@step("DELETE /api/v1/shifts/{shift_id:uuid}")
def _shift_delete(w: Walk) -> Expect:
    sh = plant.shift(w.http, w.owner, w.state["site"]["id"], "Late", "14:00", "22:00")
    w.call("DELETE", f"/api/v1/shifts/{sh['id']}")
    return Expect("delete", "shift", sh["id"], "delete")


def _ref(w: Walk, **over: Any) -> dict[str, Any]:
    return {"machine_id": w.state["machine"]["id"], "shift_id": w.state["shift"]["id"], "shift_date": DAY} | over


@step("POST /api/v1/production/plan")
def _plan(w: Walk) -> Expect:
    r = w.call("POST", "/api/v1/production/plan", json=_ref(w, target_quantity=500))
    w.state["plan"] = r.json()
    return Expect("create", "production_plan", _id(r), "create")


@step("PATCH /api/v1/production/plan/{plan_id:uuid}")
def _plan_patch(w: Walk) -> Expect:
    p = w.state["plan"]
    w.call("PATCH", f"/api/v1/production/plan/{p['id']}", json={"target_quantity": 600})
    return Expect("update", "production_plan", p["id"], "update")


@step("DELETE /api/v1/production/plan/{plan_id:uuid}")
def _plan_delete(w: Walk) -> Expect:
    p = w.state["plan"]
    w.call("DELETE", f"/api/v1/production/plan/{p['id']}")
    return Expect("delete", "production_plan", p["id"], "delete")


@step("POST /api/v1/production/entry")
def _entry(w: Walk) -> Expect:
    r = w.call("POST", "/api/v1/production/entry", who=w.state["operator"],
               json=_ref(w, good_quantity=40, started_at=f"{DAY}T05:00:00Z", ended_at=f"{DAY}T06:00:00Z"))
    w.state["entry"] = r.json()
    return Expect("create", "production_entry", _id(r), "create")


@step("POST /api/v1/shift-handover/notes")
def _handover_note(w: Walk) -> Expect:
    r = w.call("POST", "/api/v1/shift-handover/notes", who=w.state["operator"],
               json={"shift_instance_id": w.state["entry"]["shift_instance_id"], "body": "Press sticks"})
    return Expect("create", "shift_handover_note", _id(r), "create")


@step("POST /api/v1/shift-handover/signoffs")
def _signoff(w: Walk) -> Expect:
    r = w.call("POST", "/api/v1/shift-handover/signoffs", json={
        "shift_instance_id": w.state["entry"]["shift_instance_id"], "password": w.owner.password})
    return Expect("sign", "shift_signoff", _id(r), "create")


@step("DELETE /api/v1/production/entry/{entry_id:uuid}")
def _entry_delete(w: Walk) -> Expect:
    e = w.state["entry"]
    w.call("DELETE", f"/api/v1/production/entry/{e['id']}")
    return Expect("delete", "production_entry", e["id"], "delete")


@step("POST /api/v1/downtime/reasons")
def _reason(w: Walk) -> Expect:
    r = w.call("POST", "/api/v1/downtime/reasons", json={"name": f"Utilities {uuid.uuid4().hex[:4]}",
                                                         "loss_bucket": "availability", "planned": False})
    w.state["reason"] = r.json()
    return Expect("create", "loss_reason", _id(r), "create")


@step("PATCH /api/v1/downtime/reasons/{reason_id:uuid}")
def _reason_patch(w: Walk) -> Expect:
    rs = w.state["reason"]
    w.call("PATCH", f"/api/v1/downtime/reasons/{rs['id']}", json={"name": "Utilities (air)"})
    return Expect("update", "loss_reason", rs["id"], "update")


@step("POST /api/v1/downtime")
def _downtime(w: Walk) -> Expect:
    r = w.call("POST", "/api/v1/downtime", json={"machine_id": w.state["machine"]["id"], "planned": False,
                                                 "started_at": f"{DAY}T07:00:00Z", "ended_at": f"{DAY}T07:20:00Z"})
    w.state["downtime"] = r.json()
    return Expect("create", "downtime", _id(r), "create")


@step("PATCH /api/v1/downtime/{event_id:uuid}")
def _downtime_patch(w: Walk) -> Expect:
    d = w.state["downtime"]
    w.call("PATCH", f"/api/v1/downtime/{d['id']}", json={"ended_at": f"{DAY}T07:25:00Z"})
    return Expect("update", "downtime", d["id"], "update")


@step("POST /api/v1/downtime/{event_id:uuid}/reason")
def _downtime_reason(w: Walk) -> Expect:
    d = w.state["downtime"]
    w.call("POST", f"/api/v1/downtime/{d['id']}/reason", json={"reason_id": w.state["reason"]["id"]})
    return Expect("update", "downtime", d["id"], "update")


@step("POST /api/v1/rejections")
def _rejection(w: Walk) -> Expect:
    scrap = w.call("GET", "/api/v1/downtime/reasons", params={"q": "DEFECT.DIMENSION"}).json()["items"][0]
    r = w.call("POST", "/api/v1/rejections", who=w.state["operator"],
               json=_ref(w, quantity=3, reason_id=scrap["id"], occurred_at=f"{DAY}T08:00:00Z"))
    w.state["rejection"] = r.json()
    return Expect("create", "rejection", _id(r), "create")


@step("DELETE /api/v1/rejections/{rejection_id:uuid}")
def _rejection_delete(w: Walk) -> Expect:
    rj = w.state["rejection"]
    w.call("DELETE", f"/api/v1/rejections/{rj['id']}")
    return Expect("delete", "rejection", rj["id"], "delete")


def _catalog(kind: str, path: str) -> None:
    body = {"category": "cnc", "manufacturer": f"Maker {uuid.uuid4().hex[:6]}", "name": "VF-2"}

    @step(f"POST /api/v1/catalog/{path}")
    def _create(w: Walk) -> Expect:
        r = w.call("POST", f"/api/v1/catalog/{path}", json=body)
        w.state[kind] = r.json()
        return Expect("create", f"catalog_{kind}", _id(r), "create")

    @step(f"PATCH /api/v1/catalog/{path}/{{entry_id:uuid}}")
    def _patch(w: Walk) -> Expect:
        e = w.state[kind]
        w.call("PATCH", f"/api/v1/catalog/{path}/{e['id']}", json={"name": "VF-3"})
        return Expect("update", f"catalog_{kind}", e["id"], "update")

    @step(f"DELETE /api/v1/catalog/{path}/{{entry_id:uuid}}")
    def _delete(w: Walk) -> Expect:
        e = w.state[kind]
        w.call("DELETE", f"/api/v1/catalog/{path}/{e['id']}")
        return Expect("delete", f"catalog_{kind}", e["id"], "delete")


_catalog("machine_model", "machine-models")
_catalog("material", "materials")


@step("DELETE /api/v1/users/{user_id:uuid}")
def _remove_member(w: Walk) -> Expect:
    op = w.state["operator"]
    w.call("DELETE", f"/api/v1/users/{op.user_id}")
    return Expect("delete", "membership", op.user_id, "delete")


@step("POST /api/v1/backup/create")
def _backup_create(w: Walk) -> Expect:
    # The session server has no superuser URL (backups need one); an app on the same database has.
    with backup_server(w.state["superuser_url"]) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        r = login(http, w.owner.email)
        assert r.status_code == 200, r.text
        owner = session_of(r.json(), w.owner.email)
        made = http.post("/api/v1/backup/create", json={"label": "audit-walk"}, headers=owner.headers)
        assert made.status_code == 201, made.text
    return Expect("create", "backup", made.json()["name"], "create")


# -- onboarding and jobs --------------------------------------------------------------------


@step("POST /api/v1/jobs/import")
def _job_import(w: Walk) -> Expect:
    csv = f"Job,Product,Qty,Due,Machine\nJ-{uuid.uuid4().hex[:6]},Bracket,100,{DAY},{w.state['machine']['code']}\n"
    body = {"file_name": "jobs.csv", "content": base64.b64encode(csv.encode()).decode(), "dry_run": False}
    r = w.call("POST", "/api/v1/jobs/import", json=body)
    return Expect("create", "job_import", r.json()["import_id"], "create")


@step("PUT /api/v1/onboarding")
def _onboarding_move(w: Walk) -> Expect:
    w.call("PUT", "/api/v1/onboarding", json={"current_step": "setup_roles"})
    return Expect("update", "onboarding", w.owner.tenant_id, "update")


@step("POST /api/v1/onboarding/steps/{step}")
def _onboarding_step(w: Walk) -> Expect:
    w.call("POST", "/api/v1/onboarding/steps/setup_roles", json={"status": "done"})
    return Expect("update", "onboarding", w.owner.tenant_id, "update")


@contextmanager
def _backup_app(w: Walk) -> Iterator[tuple[LiveServer, httpx.Client, Session]]:
    """An app on the session database that holds the superuser URL, signed in as the walk's owner."""
    with backup_server(w.state["superuser_url"]) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        r = login(http, w.owner.email)
        assert r.status_code == 200, r.text
        yield server, http, session_of(r.json(), w.owner.email)


@step("POST /api/v1/backup/restore")
def _backup_restore(w: Walk) -> Expect:
    # A restore that succeeds would replace the session database under every other test: this
    # one fails verification (its manifest promises a row more), which is audited in the live
    # database. tests/backup/test_restore_api.py audits a successful one on its own database.
    with _backup_app(w) as (server, http, owner):
        made = http.post("/api/v1/backup/create", json={"label": "audit-restore"}, headers=owner.headers).json()
        backup = Backup.load(app_of(server).state.backups.directory / f"{made['name']}.dump")
        counts = dict(backup.manifest.row_counts or {}) | {"companies": -1}
        write_manifest(backup.manifest.model_copy(update={"row_counts": counts}), backup.path)
        r = http.post("/api/v1/backup/restore", json={"name": made["name"], "confirm": made["name"]},
                      headers=owner.headers)  # fmt: skip
        assert r.status_code == 202, r.text
        assert wait_for_restore(http, owner.headers, r.json()["id"])["error_code"] == "restore_verify_failed"
    return Expect("restore_failed", "backup", made["name"], "event")


@step("PUT /api/v1/system/license")
def _license_activate(w: Walk) -> Expect:
    # On an app with its own data directory: the session server's license stays as it is.
    key = Ed25519PrivateKey.generate()
    with tempfile.TemporaryDirectory() as keys, _backup_app(w) as (_, http, owner):
        pem = Path(keys) / "vendor.pem"
        pem.write_bytes(public_pem(key))
        with pytest.MonkeyPatch.context() as env:  # the walk is module-scoped: no `monkeypatch` fixture
            env.setenv(PUBLIC_KEY_ENV, str(pem))
            text_ = signed_license(key, machines=10_000, users=10_000, sites=10_000, license_id="L-WALK")
            r = http.put("/api/v1/system/license", json={"key": text_}, headers=owner.headers)
        assert r.status_code == 200, r.text
    return Expect("activate", "license", "L-WALK", "create")


# -- products, orders and runs at the machine -----------------------------------------------


def _b64(csv: str) -> str:
    return base64.b64encode(csv.encode()).decode()


@step("POST /api/v1/products")
def _product(w: Walk) -> Expect:
    p = w.call("POST", "/api/v1/products", json={"number": f"P-{uuid.uuid4().hex[:6]}", "name": "Bracket"}).json()
    w.state["product"] = p
    return Expect("create", "product", p["id"], "create")


@step("PATCH /api/v1/products/{product_id:uuid}")
def _product_patch(w: Walk) -> Expect:
    p = w.state["product"]
    w.call("PATCH", f"/api/v1/products/{p['id']}", json={"name": "Bracket, zinc"})
    return Expect("update", "product", p["id"], "update")


@step("PUT /api/v1/products/{product_id:uuid}/routing")
def _routing(w: Walk) -> Expect:
    p, m = w.state["product"], w.state["machine"]
    body = {"operations": [{"seq": 10, "name": "Press", "setup_seconds": 600,
                            "resources": [{"machine_id": m["id"], "cycle_seconds": 20, "parts_per_cycle": 2}]}]}
    w.call("PUT", f"/api/v1/products/{p['id']}/routing", json=body)
    return Expect("update", "product_routing", p["id"], "update")


@step("POST /api/v1/products/import")
def _product_import(w: Walk) -> Expect:
    body = {"file_name": "products.csv", "content": _b64(f"Number,Name\nP-{uuid.uuid4().hex[:6]},Hinge\n"),
            "dry_run": False}
    r = w.call("POST", "/api/v1/products/import", json=body)
    return Expect("create", "product_import", r.json()["import_id"], "create")


@step("POST /api/v1/products/routings/import")
def _routing_import(w: Walk) -> Expect:
    csv = f"Product,Op,Operation,Machine,Cycle\n{w.state['product']['number']},10,Press,{w.state['machine']['code']},25\n"
    r = w.call("POST", "/api/v1/products/routings/import", json={"file_name": "routings.csv", "content": _b64(csv),
                                                                  "dry_run": False})
    return Expect("create", "routing_import", r.json()["import_id"], "create")


def _order(w: Walk, status: str = "released") -> dict[str, Any]:
    return w.call("POST", "/api/v1/orders", json={
        "job_number": f"MO-{uuid.uuid4().hex[:6]}", "product_id": w.state["product"]["id"], "quantity": 50,
        "due_date": DAY, "status": status}).json()


@step("POST /api/v1/orders")
def _order_create(w: Walk) -> Expect:
    o = _order(w)
    w.state["order"] = o
    return Expect("create", "job", o["id"], "create")


@step("PATCH /api/v1/orders/{order_id:uuid}")
def _order_patch(w: Walk) -> Expect:
    o = w.state["order"]
    w.call("PATCH", f"/api/v1/orders/{o['id']}", json={"notes": "rush", "reason": "customer called"})
    return Expect("update", "job", o["id"], "update")


@step("POST /api/v1/orders/{order_id:uuid}/status")
def _order_status(w: Walk) -> Expect:
    o = _order(w, "planned")
    w.state["second_order"] = o
    w.call("POST", f"/api/v1/orders/{o['id']}/status", json={"status": "released", "reason": "material in"})
    return Expect("update", "job", o["id"], "update")


@step("POST /api/v1/orders/operations/{operation_id:uuid}/dispatch")
def _dispatch(w: Walk) -> Expect:
    op = w.state["order"]["operations"][0]["id"]
    w.call("POST", f"/api/v1/orders/operations/{op}/dispatch", json={"machine_id": w.state["machine"]["id"]})
    return Expect("update", "order_operation", op, "update")


@step("PUT /api/v1/machines/{machine_id:uuid}/queue")
def _queue(w: Walk) -> Expect:
    m = w.state["machine"]["id"]
    first, second = w.state["order"]["operations"][0]["id"], w.state["second_order"]["operations"][0]["id"]
    w.call("POST", f"/api/v1/orders/operations/{second}/dispatch", json={"machine_id": m})
    queued = [i["operation_id"] for i in w.call("GET", f"/api/v1/machines/{m}/queue").json()["items"]]
    assert queued == [first, second], queued
    w.call("PUT", f"/api/v1/machines/{m}/queue", json={"operation_ids": [second, first]})
    return Expect("update", "machine_queue", m, "update")


@step("POST /api/v1/machines/{machine_id:uuid}/run")
def _run_start(w: Walk) -> Expect:
    m = w.state["machine"]["id"]
    run = w.call("POST", f"/api/v1/machines/{m}/run",
                 json={"operation_id": w.state["order"]["operations"][0]["id"]}).json()["run"]
    w.state["run"] = run
    return Expect("create", "operation_run", run["id"], "create")


@step("POST /api/v1/machines/{machine_id:uuid}/run/setup-done")
def _run_setup_done(w: Walk) -> Expect:
    w.call("POST", f"/api/v1/machines/{w.state['machine']['id']}/run/setup-done")
    return Expect("update", "operation_run", w.state["run"]["id"], "update")


@step("POST /api/v1/machines/{machine_id:uuid}/run/pause")
def _run_pause(w: Walk) -> Expect:
    w.call("POST", f"/api/v1/machines/{w.state['machine']['id']}/run/pause", json={"reason": "tool change"})
    return Expect("update", "operation_run", w.state["run"]["id"], "update")


@step("POST /api/v1/machines/{machine_id:uuid}/run/complete")
def _run_complete(w: Walk) -> Expect:
    m = w.state["machine"]["id"]
    run = w.call("POST", f"/api/v1/machines/{m}/run",
                 json={"operation_id": w.state["order"]["operations"][0]["id"]}).json()["run"]
    w.call("POST", f"/api/v1/machines/{m}/run/complete", json={"final_good": 48, "final_scrap": 2})
    return Expect("update", "operation_run", run["id"], "update")


@step("DELETE /api/v1/orders/{order_id:uuid}")
def _order_delete(w: Walk) -> Expect:
    o = _order(w, "planned")
    w.call("DELETE", f"/api/v1/orders/{o['id']}")
    return Expect("delete", "job", o["id"], "delete")


@step("DELETE /api/v1/products/{product_id:uuid}")
def _product_delete(w: Walk) -> Expect:
    p = w.call("POST", "/api/v1/products", json={"number": f"P-{uuid.uuid4().hex[:6]}", "name": "Spare"}).json()
    w.call("DELETE", f"/api/v1/products/{p['id']}")
    return Expect("delete", "product", p["id"], "delete")


# -- each module's own steps, after the core ones (they may use what those made) ----------

import tests.nonconformances.audit_steps  # noqa: E402,F401
import tests.quality.audit_steps  # noqa: E402,F401
import tests.maintenance.audit_steps  # noqa: E402,F401
import tests.materials.audit_steps  # noqa: E402,F401
import tests.sso.audit_steps  # noqa: E402,F401
import tests.integrations.audit_steps  # noqa: E402,F401
import tests.foundation.audit_steps  # noqa: E402,F401
import tests.edge.audit_steps  # noqa: E402,F401


# -- the walk -------------------------------------------------------------------------------


def _mutating_routes() -> list[str]:
    return [f"{e.method} {e.path}" for e in all_endpoints() if e.method in ("POST", "PUT", "PATCH", "DELETE")]


def test_every_mutating_route_has_a_step() -> None:
    missing = [k for k in _mutating_routes() if k not in STEPS and k not in ACCOUNT_ONLY | READS_ONLY]
    assert not missing, f"add an audit walk step for: {missing}"
    stale = [k for k in STEPS if k not in _mutating_routes()]
    assert not stale, f"steps for routes that no longer exist: {stale}"


def _head(conn, tenant: str) -> int:
    return conn.execute(text("select coalesce(max(seq), 0) from audit_log where tenant_id = :t"), {"t": tenant}).scalar()


def _run_step(walk: Walk, key: str, run: Step, superuser_engine: Engine, failed: list[str]) -> str | None:
    """Run one step; None when its route wrote exactly one matching audit row of the right
    shape, else what went wrong (a failing step is recorded, and the walk goes on)."""
    with superuser_engine.connect() as conn:
        before_seq = _head(conn, walk.owner.tenant_id)
    try:
        expect = run(walk)
    except Exception as exc:  # noqa: BLE001  (reported by this route's own test)
        after = f" (after failed steps: {', '.join(failed)})" if failed else ""
        return f"the step raised {type(exc).__name__}: {exc}{after}"
    own = key != "POST /api/v1/setup/owner"  # that step makes a second company and looks in its chain
    tenant = walk.owner.tenant_id if own else walk.state["second_owner"].tenant_id
    with superuser_engine.connect() as conn:
        rows = conn.execute(
            text("select * from audit_log where tenant_id = :t and seq > :s and action = :a and entity_type = :e"),
            {"t": tenant, "s": before_seq if own else 0, "a": expect.action, "e": expect.entity_type},
        ).mappings().all()
    if expect.entity_id is not None:
        rows = [r for r in rows if r["entity_id"] == str(expect.entity_id)]
    if len(rows) != 1:
        return f"{len(rows)} rows for {expect}"
    row = rows[0]
    ok = {
        "create": row["before"] is None and row["after"] is not None,
        "update": row["before"] is not None and row["after"] is not None and row["before"] != row["after"],
        "delete": row["before"] is not None and row["after"] is None,
        "event": True,
    }[expect.shape]
    if not ok:
        return f"before/after do not fit a {expect.shape}: {row['before']!r} -> {row['after']!r}"
    return None


@pytest.fixture(scope="module")
def walked(live_server: LiveServer, superuser_engine: Engine, app_engine: Engine) -> dict[str, str | None]:
    """Every step, in order, on one company: route -> None (fine) or what went wrong."""
    outcomes: dict[str, str | None] = {}
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        walk = Walk(http, new_company(http))
        make_installation_admin(app_engine, walk.owner.email)  # backups, restores, the license
        walk.state["superuser_url"] = superuser_engine.url.render_as_string(hide_password=False)
        for key, run in STEPS.items():
            outcomes[key] = _run_step(walk, key, run, superuser_engine, [k for k, o in outcomes.items() if o])
    return outcomes


@pytest.mark.parametrize("route", list(STEPS))
def test_route_writes_exactly_one_matching_audit_row(walked: dict[str, str | None], route: str) -> None:
    assert walked[route] is None, f"{route}: {walked[route]}"
