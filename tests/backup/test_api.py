"""`POST /api/v1/backup/create` and `GET /api/v1/backup` (admin.system, audited) and the
health fields an operator watches: poller, disk, last backup, license."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import create_engine, pool, text

from factoryos.licensing.gating import UNLICENSED_LIMITS
from tests.accounts import join, new_company
from tests.backup.support import Island, installation_admin, island_settings, start_server
from tests.conftest import LiveServer


def test_admin_creates_and_lists_backups_with_an_audit_row(
    island: Island, island_server: LiveServer, api: httpx.Client
) -> None:
    owner = installation_admin(island_server, new_company(api))
    r = api.post("/api/v1/backup/create", json={"label": "before-audit"}, headers=owner.headers)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["label"] == "before-audit" and made["size"] > 0 and len(made["sha256"]) == 64
    listing = api.get("/api/v1/backup", headers=owner.headers).json()
    assert made["name"] in [item["name"] for item in listing["items"]]
    assert "row_counts" not in listing["items"][0]  # other companies' figures stay out of the API

    engine = create_engine(island.source_url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        rows = conn.execute(
            text("select actor_id, after from audit_log where tenant_id = :t and action = 'create' "
                 "and entity_type = 'backup' and entity_id = :n"),
            {"t": owner.tenant_id, "n": made["name"]},
        ).all()  # fmt: skip
    engine.dispose()
    assert len(rows) == 1 and str(rows[0].actor_id) == owner.user_id and rows[0].after["sha256"] == made["sha256"]


def test_backups_need_an_installation_admin(api: httpx.Client, island_server: LiveServer) -> None:
    owner = new_company(api)
    operator = join(api, owner, "operator")
    for method, path in (("POST", "/api/v1/backup/create"), ("GET", "/api/v1/backup")):
        for who in (operator, owner):  # the owner of a company founded over the API is not one
            r = api.request(method, path, headers=who.headers, json={} if method == "POST" else None)
            assert r.status_code == 403 and r.json()["code"] == "permission_denied", r.text
            assert r.json()["permission"] == "installation.admin"
        assert api.request(method, path).status_code == 401
    assert "factoryos user installation-admin" in r.json()["detail"]
    installation_admin(island_server, owner)
    assert "installation.admin" in api.get("/api/v1/auth/me", headers=owner.headers).json()["permissions"]
    assert api.get("/api/v1/backup", headers=owner.headers).status_code == 200  # the very next request
    bad = api.post("/api/v1/backup/create", json={"label": "../etc"}, headers=owner.headers)
    assert bad.status_code == 422 and bad.json()["field"] == "label"


def test_a_server_without_the_superuser_url_says_backups_are_unavailable(island: Island, tmp_path: Path) -> None:
    server = start_server(island, island_settings(tmp_path), backups=False)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            owner = installation_admin(server, new_company(http))
            r = http.post("/api/v1/backup/create", json={}, headers=owner.headers)
            listing = http.get("/api/v1/backup", headers=owner.headers).json()
            health = http.get("/api/v1/system/health").json()
    finally:
        server.stop()
    assert r.status_code == 503 and r.json()["code"] == "backups_unavailable"
    assert listing["available"] is False and listing["items"] == []
    assert health["backup"]["scheduled"] is False and "cannot take backups" in health["backup"]["detail"]


def test_health_reports_poller_disk_backup_and_license(api: httpx.Client, island_server: LiveServer) -> None:
    owner = installation_admin(island_server, new_company(api))
    made = api.post("/api/v1/backup/create", json={}, headers=owner.headers).json()
    r = api.get("/api/v1/system/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["database"]["ok"] and body["migrations"]["ok"]
    assert body["poller"] == {"ok": None, "state": "off", "machines": 0, "connected": 0, "failing": 0, "detail": None}
    assert body["disk"]["free_bytes"] > 0 and body["disk"]["total_bytes"] >= body["disk"]["free_bytes"]
    backup = body["backup"]
    assert backup["scheduled"] is False and backup["ok"] is None  # interval 0: nothing to judge
    assert backup["last_at"] == made["created_at"] and backup["age_seconds"] >= 0
    license_ = body["license"]
    assert license_["status"] == "evaluation" and license_["valid"] is False and license_["edition"] == "core"
    assert license_["limits"] == UNLICENSED_LIMITS.model_dump()


def test_a_failing_off_host_copy_shows_in_health(island: Island, tmp_path: Path) -> None:
    share = tmp_path / "nas"  # a share that went wrong: a file where the folder should be
    share.write_text("not a folder")
    server = start_server(island, island_settings(tmp_path / "data", backup_copy_to=share))
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            owner = installation_admin(server, new_company(http))
            made = http.post("/api/v1/backup/create", json={}, headers=owner.headers)
            health = http.get("/api/v1/system/health").json()["backup"]
    finally:
        server.stop()
    assert made.status_code == 201, made.text  # the backup itself is kept here
    assert health["ok"] is False and "off-host copy failed" in health["detail"]
    assert str(share) not in health["detail"]  # health is for anyone on the network: no paths
