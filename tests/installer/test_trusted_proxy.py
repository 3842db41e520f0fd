"""Through nginx, the audit trail records the client's address: the api of a Compose install
trusts X-Forwarded-For from nginx's fixed address alone (the rendered compose file's values,
read the way the container reads them)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import text
from starlette.testclient import TestClient

from factoryos.config import Settings
from installer import compose_render
from server.app import create_app
from tests.accounts import PASSWORD, new_company
from tests.conftest import duty_claim

PLANT_PC = "192.168.40.17"  # a terminal on the plant LAN, as nginx sees it


@pytest.fixture(scope="module")
def rendered() -> dict:
    params = compose_render.ComposeParams(version="1.0.0", bind_ip="192.168.40.2", https_port=443,
                                          tls_dir="/opt/factoryos/tls", license_dir="/opt/factoryos/license",
                                          host_id="0" * 32, frontend_subnet="172.30.7.0/24")  # fmt: skip
    return yaml.safe_load(compose_render.render(params))


def _api_settings(rendered: dict, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    api_env = rendered["services"]["api"]["environment"]
    monkeypatch.setenv("FACTORYOS_TRUSTED_PROXIES", api_env["FACTORYOS_TRUSTED_PROXIES"])
    from_env = Settings(data_dir=settings.data_dir)  # parsed exactly as `factoryos serve` in the container does
    return settings.model_copy(update={"trusted_proxies": from_env.trusted_proxies})


def _login_address(superuser_engine, tenant_id: str) -> list[str]:
    with superuser_engine.connect() as conn:
        rows = conn.execute(text("select client_ip from audit_log where tenant_id = :t and action = 'login' "
                                 "order by seq"), {"t": tenant_id})  # fmt: skip
        return [row[0] for row in rows]


def _peer(app, address: str) -> TestClient:
    return TestClient(app, base_url="http://api:8080", client=(address, 40112))


def test_the_audit_row_names_the_client_behind_nginx_not_nginx(
    rendered, settings, db_urls, authenticator, superuser_engine, monkeypatch
) -> None:
    nginx_ip = rendered["services"]["nginx"]["networks"]["frontend"]["ipv4_address"]
    app = create_app(_api_settings(rendered, settings, monkeypatch), db_urls.app, authenticator=authenticator,
                     duties=duty_claim(db_urls.app))
    with _peer(app, nginx_ip) as through_nginx:
        owner = new_company(through_nginx)
        # nginx appends the address it saw ($proxy_add_x_forwarded_for) to whatever the client sent.
        spoofed = {"X-Forwarded-For": f"10.6.6.6, {PLANT_PC}"}
        reply = through_nginx.post("/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD},
                                   headers=spoofed)  # fmt: skip
        assert reply.status_code == 200, reply.text
    assert _login_address(superuser_engine, owner.tenant_id)[-1] == PLANT_PC

    # Any other container on that network is not nginx: its header is ignored.
    with _peer(app, "172.30.7.200") as elsewhere:
        reply = elsewhere.post("/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD},
                               headers={"X-Forwarded-For": PLANT_PC})  # fmt: skip
        assert reply.status_code == 200, reply.text
    assert _login_address(superuser_engine, owner.tenant_id)[-1] == "172.30.7.200"
