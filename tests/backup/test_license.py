"""License limits enforced by the server over HTTP (problem+json `license_limit`), the
evaluation allowance without a license, and what health says about the license."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from factoryos.demo import dataset
from factoryos.licensing.gating import UNLICENSED_LIMITS
from factoryos.licensing.store import LICENSE_FILE_NAME
from tests.accounts import PASSWORD, join, new_company
from tests.backup.support import Island, island_settings, signed_license as _license, start_server
from tests.production import plant

NOW = dt.datetime.now(dt.UTC)


@contextmanager
def _server(island: Island, data_dir: Path, license_text: str | None = None) -> Iterator[httpx.Client]:
    data_dir.mkdir(parents=True, exist_ok=True)
    if license_text is not None:
        (data_dir / LICENSE_FILE_NAME).write_text(license_text)
    server = start_server(island, island_settings(data_dir), backups=False)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            yield http
    finally:
        server.stop()


def _limit(r: httpx.Response, kind: str, allowed: int) -> dict:
    assert r.status_code == 403, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "license_limit" and body["kind"] == kind and body["allowed"] == allowed, body
    return body


def test_license_limits_on_sites_machines_and_members(island: Island, tmp_path: Path, vendor_key) -> None:
    with _server(island, tmp_path / "data", _license(vendor_key)) as http:
        health = http.get("/api/v1/system/health").json()["license"]
        assert health["status"] == "licensed" and health["valid"] is True and health["edition"] == "advanced"
        assert health["limits"] == {"machines": 2, "users": 2, "sites": 1}

        owner = new_company(http)
        site = plant.site(http, owner)
        body = _limit(http.post("/api/v1/sites", json={"name": "Second", "code": "S-2", "timezone": "UTC"},
                                headers=owner.headers), "sites", 1)  # fmt: skip
        assert "the license allows 1 sites; 1 exist already" in body["detail"]

        plant.machine(http, owner, site["id"])
        plant.machine(http, owner, site["id"])
        _limit(http.post("/api/v1/machines", json={"site_id": site["id"], "name": "Press", "code": "M-3",
                                                   "ideal_cycle_seconds": 30}, headers=owner.headers), "machines", 2)  # fmt: skip
        listed = http.get("/api/v1/machines", headers=owner.headers).json()["items"]
        assert len(listed) == 2  # the refused one left nothing behind

        join(http, owner, "supervisor")  # owner + 1 = the 2 users allowed
        code = http.post("/api/v1/invites", json={"role": "operator"}, headers=owner.headers).json()["code"]
        late = {"code": code, "email": f"late-{uuid.uuid4().hex[:6]}@example.com", "password": PASSWORD,
                "display_name": "Lea Late"}
        refused = http.post("/api/v1/invites/accept", json=late)
        _limit(refused, "users", 2)
        active = http.get("/api/v1/invites", headers=owner.headers).json()["items"]
        assert len(active) == 1  # the refused accept did not use the invite up

        # Another company of the installation has its own count.
        other = new_company(http)
        plant.site(http, other)


def test_expired_or_forged_license_falls_back_to_the_evaluation_allowance(island: Island, tmp_path: Path,
                                                                         vendor_key) -> None:  # fmt: skip
    expired = _license(vendor_key, sites=1, expires=NOW - dt.timedelta(days=1))
    with _server(island, tmp_path / "expired", expired) as http:
        health = http.get("/api/v1/system/health").json()
        assert health["status"] == "ok"  # the license never takes the server down
        assert health["license"]["status"] == "expired" and health["license"]["valid"] is False
        assert health["license"]["limits"] == UNLICENSED_LIMITS.model_dump()
        owner = new_company(http)
        plant.site(http, owner)
        plant.site(http, owner)  # past the expired license's 1 site, within the evaluation allowance

    forged = _license(Ed25519PrivateKey.generate(), sites=100)
    with _server(island, tmp_path / "forged", forged) as http:
        license_ = http.get("/api/v1/system/health").json()["license"]
        assert license_["status"] == "invalid" and license_["valid"] is False
        assert "license_signature_invalid" in license_["detail"]
        assert license_["limits"] == UNLICENSED_LIMITS.model_dump()


def test_without_a_license_the_evaluation_allowance_applies(island: Island, tmp_path: Path, vendor_key) -> None:
    with _server(island, tmp_path / "none") as http:
        owner = new_company(http)
        for _ in range(UNLICENSED_LIMITS.sites):
            plant.site(http, owner)
        body = _limit(http.post("/api/v1/sites", json={"name": "One more", "code": "S-X", "timezone": "UTC"},
                                headers=owner.headers), "sites", UNLICENSED_LIMITS.sites)  # fmt: skip
        assert "the evaluation (no license activated)" in body["detail"]


def test_the_evaluation_allowance_fits_the_demo_plant() -> None:
    assert UNLICENSED_LIMITS.sites >= len(dataset.SITES)
    assert UNLICENSED_LIMITS.machines >= len(dataset.machine_codes())
    assert UNLICENSED_LIMITS.users >= len(dataset.PEOPLE) + 1  # and the owner
