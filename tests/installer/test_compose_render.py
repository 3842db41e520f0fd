"""The rendered compose file: golden copy, the compose-spec schema and our own rules."""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path

import jsonschema
import pytest
import yaml

from installer import compose_render
from installer.compose_render import ComposeParams
from installer.errors import InstallError
from tests.installer.conftest import COMPOSE_SCHEMA

GOLDEN = Path(__file__).with_name("golden") / "docker-compose.yml"
PARAMS = ComposeParams(
    version="1.2.3",
    bind_ip="192.168.10.5",
    https_port=443,
    tls_dir="/opt/factoryos/tls",
    license_dir="/opt/factoryos/license",
    host_id="0123456789abcdef0123456789abcdef",
)


@pytest.fixture(scope="module")
def rendered() -> str:
    return compose_render.render(PARAMS)


def test_matches_the_golden_file(rendered: str) -> None:
    if os.environ.get("FACTORYOS_UPDATE_GOLDEN"):
        GOLDEN.write_text(rendered)
    assert rendered == GOLDEN.read_text(), "run with FACTORYOS_UPDATE_GOLDEN=1 after an intended template change"


def test_validates_against_the_compose_spec(rendered: str) -> None:
    if not COMPOSE_SCHEMA.is_file():
        pytest.skip(f"compose schema not found at {COMPOSE_SCHEMA} (shared/ is not beside the repository)")
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    # The spec names draft-07 by an https URL jsonschema does not recognise; say it explicitly.
    jsonschema.Draft7Validator(schema).validate(yaml.safe_load(rendered))


def test_every_service_is_local_healthy_and_restarting(rendered: str) -> None:
    services = yaml.safe_load(rendered)["services"]
    assert set(services) == set(compose_render.STACK_SERVICES)
    for name, service in services.items():
        assert service["image"] == f"factoryos/{compose_render.IMAGE_OF.get(name, name)}:1.2.3"
        assert service["pull_policy"] == "never" and service["init"] is True
        assert service["restart"] == "unless-stopped"
        assert service["healthcheck"]["test"][0] == "CMD"


def test_only_nginx_is_published_and_the_database_network_is_internal(rendered: str) -> None:
    document = yaml.safe_load(rendered)
    published = {name: s.get("ports") for name, s in document["services"].items() if s.get("ports")}
    assert published == {"nginx": ["192.168.10.5:443:8443"]}
    assert document["networks"]["backend"]["internal"] is True
    assert document["services"]["postgres"]["networks"] == ["backend"]
    assert set(document["volumes"]) == {"pgdata", "appdata"}


def test_no_secret_is_written_into_the_file(rendered: str) -> None:
    env = yaml.safe_load(rendered)["services"]["api"]["environment"]
    assert env["FACTORYOS_SECRET_KEY"] == "${FACTORYOS_SECRET_KEY}"
    assert "${FACTORYOS_APP_DB_PASSWORD}" in env["FACTORYOS_DATABASE_URL"]


def test_unsafe_paths_are_refused() -> None:
    with pytest.raises(InstallError, match="absolute path") as caught:
        compose_render.render(ComposeParams(**{**PARAMS.__dict__, "tls_dir": "/srv/my certs:x"}))
    assert caught.value.code == "path_unsafe"


def test_unknown_placeholder_is_reported(tmp_path: Path) -> None:
    template = tmp_path / "t.yml"
    template.write_text("services:\n  x:\n    image: %{nope}\n")
    with pytest.raises(InstallError, match="unknown placeholder"):
        compose_render.render(PARAMS, template)


def test_nginx_and_the_web_screens_have_fixed_addresses_that_the_api_alone_trusts(rendered: str) -> None:
    document = yaml.safe_load(rendered)
    nginx_ip = document["services"]["nginx"]["networks"]["frontend"]["ipv4_address"]
    web_ip = document["services"]["web"]["networks"]["frontend"]["ipv4_address"]
    trusted = json.loads(document["services"]["api"]["environment"]["FACTORYOS_TRUSTED_PROXIES"])
    assert trusted == [nginx_ip, web_ip] == ["172.31.255.2", "172.31.255.3"]
    # The web process believes nginx alone about the browser's address.
    assert document["services"]["web"]["environment"]["FACTORYOS_WEB_TRUSTED_PROXIES"] == nginx_ip
    (pool,) = document["networks"]["frontend"]["ipam"]["config"]
    assert pool["subnet"] == "172.31.255.0/24"
    # Containers without a fixed address draw from ip_range, which never holds nginx's or the web's.
    for fixed in (nginx_ip, web_ip):
        assert ipaddress.ip_address(fixed) in ipaddress.ip_network(pool["subnet"])
        assert ipaddress.ip_address(fixed) not in ipaddress.ip_network(pool["ip_range"])


def test_the_web_screens_are_reached_through_nginx_only(rendered: str) -> None:
    web = yaml.safe_load(rendered)["services"]["web"]
    assert "ports" not in web and list(web["networks"]) == ["frontend"]  # not the database's network
    assert web["entrypoint"] == ["factoryos", "web"]
    assert web["environment"]["FACTORYOS_SERVER"] == "http://api:8080"
    assert web["depends_on"] == {"api": {"condition": "service_healthy"}}


@pytest.mark.parametrize("subnet", ["172.31.0.0/29", "8.8.8.0/24", "127.0.0.0/24", "172.31.0.1/24", "nope"])
def test_a_frontend_subnet_that_cannot_hold_the_stack_is_refused(subnet: str) -> None:
    with pytest.raises(InstallError, match="subnet") as caught:
        compose_render.render(ComposeParams(**{**PARAMS.__dict__, "frontend_subnet": subnet}))
    assert caught.value.code == "subnet_invalid"
