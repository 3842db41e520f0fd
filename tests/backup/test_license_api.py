"""`GET/PUT /api/v1/system/license` (admin.system): activation over the API verifies offline like
`factoryos license activate`, stores the file atomically and is in force at once; a bad key
answers 422 with its stable code and leaves the license as it was. Plus `GET /system/config`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine, pool, text

from factoryos.licensing.store import LICENSE_FILE_NAME
from tests.accounts import join, new_company
from tests.backup.support import Island, installation_admin, island_settings, signed_license, start_server
from tests.conftest import LiveServer
from tests.production import plant


@contextmanager
def _server(island: Island, data_dir: Path) -> Iterator[tuple[LiveServer, httpx.Client]]:
    server = start_server(island, island_settings(data_dir), backups=False)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            yield server, http
    finally:
        server.stop()


def _activations(island: Island, tenant: str) -> list:
    engine = create_engine(island.source_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(text("select entity_id, actor_id, before, after from audit_log where tenant_id = :t "
                                     "and action = 'activate' and entity_type = 'license' order by seq"),
                                {"t": tenant}).all()  # fmt: skip
    finally:
        engine.dispose()


def test_activate_a_license_and_it_is_in_force_at_once(island: Island, tmp_path: Path, vendor_key) -> None:
    data_dir = tmp_path / "data"
    with _server(island, data_dir) as (server, http):
        owner = installation_admin(server, new_company(http))
        before = http.get("/api/v1/system/license", headers=owner.headers).json()
        assert before["status"] == "evaluation" and before["evaluation"] is True and before["customer"] is None
        assert before["in_use"] == {"machines": 0, "users": 1, "sites": 0}

        key = signed_license(vendor_key, machines=5, users=5, sites=1, license_id="L-FIRST")
        r = http.put("/api/v1/system/license", json={"key": key}, headers=owner.headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "licensed" and body["valid"] is True and body["evaluation"] is False
        assert body["customer"] == "Acme Metal" and body["edition"] == "advanced" and body["license_id"] == "L-FIRST"
        assert body["limits"] == {"machines": 5, "users": 5, "sites": 1} and body["days_left"] >= 364
        assert (data_dir / LICENSE_FILE_NAME).read_text().strip().endswith(key)

        health = http.get("/api/v1/system/health").json()["license"]
        assert health["status"] == "licensed" and health["limits"]["sites"] == 1
        plant.site(http, owner)
        refused = http.post("/api/v1/sites", json={"name": "Second", "code": "S-2", "timezone": "UTC"},
                            headers=owner.headers)  # fmt: skip
        assert plant.problem(refused, 403, "license_limit")["allowed"] == 1

        # A .lic file's whole text (comment lines and all) replaces it.
        second = signed_license(vendor_key, sites=3, license_id="L-SECOND")
        r = http.put("/api/v1/system/license", json={"key": f"# FactoryOS license\n{second}\n"},
                     headers=owner.headers)  # fmt: skip
        assert r.status_code == 200 and r.json()["limits"]["sites"] == 3, r.text
        plant.site(http, owner)

    first, replaced = _activations(island, owner.tenant_id)
    assert first.entity_id == "L-FIRST" and str(first.actor_id) == owner.user_id
    assert first.before is None and first.after["customer"] == "Acme Metal" and first.after["limits"]["sites"] == 1
    assert replaced.entity_id == "L-SECOND" and replaced.before["license_id"] == "L-FIRST"


def test_bad_keys_are_refused_and_the_license_stays(island: Island, tmp_path: Path, vendor_key) -> None:
    data_dir = tmp_path / "data"
    with _server(island, data_dir) as (server, http):
        owner = installation_admin(server, new_company(http))
        good = signed_license(vendor_key, sites=2, license_id="L-GOOD")
        assert http.put("/api/v1/system/license", json={"key": good}, headers=owner.headers).status_code == 200
        stored = (data_dir / LICENSE_FILE_NAME).read_text()

        expired = signed_license(vendor_key, expires=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
        for key, code in ((signed_license(Ed25519PrivateKey.generate(), sites=100), "license_signature_invalid"),
                          (expired, "license_expired"),
                          ("FOS1.not-a-license", "license_malformed")):  # fmt: skip
            r = http.put("/api/v1/system/license", json={"key": key}, headers=owner.headers)
            plant.problem(r, 422, code, "key")
        assert http.put("/api/v1/system/license", json={"key": ""}, headers=owner.headers).status_code == 422

        now = http.get("/api/v1/system/license", headers=owner.headers).json()
        assert now["license_id"] == "L-GOOD" and now["limits"]["sites"] == 2
        assert (data_dir / LICENSE_FILE_NAME).read_text() == stored
    assert [row.entity_id for row in _activations(island, owner.tenant_id)] == ["L-GOOD"]


def test_license_and_config_need_admin_system(island: Island, tmp_path: Path, vendor_key) -> None:
    with _server(island, tmp_path / "data") as (server, http):
        owner = new_company(http)
        operator = join(http, owner, "operator")
        key = signed_license(vendor_key)
        for method, path, body in (("GET", "/api/v1/system/license", None), ("PUT", "/api/v1/system/license",
                                   {"key": key}), ("GET", "/api/v1/system/config", None)):  # fmt: skip
            plant.problem(http.request(method, path, json=body, headers=operator.headers), 403, "permission_denied")
            assert http.request(method, path, json=body).status_code == 401
        assert http.get("/api/v1/system/license", headers=owner.headers).json()["status"] == "evaluation"
        # Reading it is the company's business; replacing it is the installation's.
        refused = plant.problem(http.put("/api/v1/system/license", json={"key": key}, headers=owner.headers),
                                403, "permission_denied")  # fmt: skip
        assert refused["permission"] == "installation.admin"


def test_config_names_settings_but_no_secret(island: Island, tmp_path: Path) -> None:
    settings = island_settings(tmp_path / "data", backup_interval_hours=12)
    server = start_server(island, settings)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            owner = new_company(http)
            r = http.get("/api/v1/system/config", headers=owner.headers)
    finally:
        server.stop()
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["backups_available"] is True and body["backup_interval_hours"] == 12
    assert body["data_dir"] == str(tmp_path / "data") and body["license_file"].endswith(LICENSE_FILE_NAME)
    assert body["database"]["name"] == "factoryos" and body["poller_running"] is False
    assert settings.secret_key is not None and settings.secret_key.get_secret_value() not in r.text
    assert "postgresql" not in r.text and "password" not in r.text.lower()
