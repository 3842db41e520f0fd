"""What a paired Compose primary renders and hands its standby: the compose file (golden), pg_hba.conf's
pair block, the pair file, the replication certificate; and the standby's install refusing a bad one.
The streaming itself is tests/installer/test_standby_compose_docker.py (a real engine)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
from pathlib import Path

import jsonschema
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from factoryos.backup.standby import StandbyError
from installer import compose_render
from installer.compose_render import ComposeParams
from installer.envfile import SECRET_NAMES
from installer.errors import InstallError
from installer.standby_compose import primary_address
from installer.standby_pair import HBA_BEGIN, HBA_END, PairFile, paired_hba, replication_certificate, standby_networks
from tests.installer.conftest import COMPOSE_SCHEMA
from tests.installer.test_compose_render import PARAMS

GOLDEN = Path(__file__).with_name("golden")
PAIRED = ComposeParams(**{**PARAMS.__dict__, "replication_bind": "192.168.10.5", "replication_port": 5432})
STANDBY = ComposeParams(**{**PARAMS.__dict__, "replication_network": True})
# pg_hba.conf as initdb and compose/postgres/entrypoint.sh leave it (comments cut)
HBA = """local   all             all                                     peer
host    all             all             127.0.0.1/32            scram-sha-256
local   replication     all                                     peer
host    replication     all             127.0.0.1/32            scram-sha-256
host all all all scram-sha-256
host replication postgres all scram-sha-256
"""


@pytest.mark.parametrize(("params", "name"), [(PAIRED, "docker-compose.paired.yml"),
                                              (STANDBY, "docker-compose.standby.yml")])  # fmt: skip
def test_paired_and_standby_compose_files_match_their_golden_files(params: ComposeParams, name: str) -> None:
    rendered = compose_render.render(params)
    if os.environ.get("FACTORYOS_UPDATE_GOLDEN"):
        (GOLDEN / name).write_text(rendered)
    assert rendered == (GOLDEN / name).read_text(), "run with FACTORYOS_UPDATE_GOLDEN=1 after an intended change"
    if COMPOSE_SCHEMA.is_file():
        jsonschema.Draft7Validator(json.loads(COMPOSE_SCHEMA.read_text())).validate(yaml.safe_load(rendered))


def test_only_a_paired_primary_publishes_its_database_and_only_on_a_network_that_leaves_the_host() -> None:
    paired = yaml.safe_load(compose_render.render(PAIRED))
    assert paired["services"]["postgres"]["ports"] == ["192.168.10.5:5432:5432"]
    assert paired["services"]["postgres"]["networks"] == ["backend", "replication"]
    assert paired["networks"]["replication"] is None or "internal" not in paired["networks"]["replication"]
    assert paired["networks"]["backend"]["internal"] is True  # the api's way to it stays closed
    standby = yaml.safe_load(compose_render.render(STANDBY))
    assert "ports" not in standby["services"]["postgres"]  # it reaches out; nothing reaches in
    assert standby["services"]["postgres"]["networks"] == ["backend", "replication"]
    plain = yaml.safe_load(compose_render.render(PARAMS))
    assert "replication" not in plain["networks"] and "ports" not in plain["services"]["postgres"]


def test_a_replication_address_that_is_not_ipv4_is_refused() -> None:
    with pytest.raises(InstallError, match="replication address") as caught:
        compose_render.render(ComposeParams(**{**PAIRED.__dict__, "replication_bind": "db.local"}))
    assert caught.value.code == "bind_invalid"


def _rules(hba: str) -> list[list[str]]:
    return [line.split() for line in hba.splitlines() if line.strip() and not line.startswith("#")]


def _first_match(hba: str, database: str, user: str, address: str, ssl: bool) -> str:
    """The method of pg_hba.conf's first line matching a remote login (as far as our lines need)."""
    connected = [ipaddress.ip_network("172.20.0.0/16")]  # the networks the database is on (samenet)
    ip = ipaddress.ip_address(address)
    for kind, db, role, where, method, *_ in (r for r in _rules(hba) if r[0].startswith("host")):
        if (kind == "hostssl" and not ssl) or (kind == "hostnossl" and ssl):
            continue
        if not (db == database or (db == "all" and database != "replication")) or role not in ("all", user):
            continue
        if where == "samenet":
            inside = any(ip in network for network in connected)
        else:
            inside = where == "all" or ip in ipaddress.ip_network(where)
        if inside:
            return method
    return "no match"


def test_the_pair_block_admits_the_standby_role_over_tls_from_its_address_and_nobody_else_from_the_lan() -> None:
    hba = paired_hba(HBA, standby_networks("10.0.0.12"))
    assert _first_match(hba, "replication", "factoryos_standby", "10.0.0.12", ssl=True) == "scram-sha-256"
    assert _first_match(hba, "replication", "factoryos_standby", "10.0.0.12", ssl=False) == "reject"
    assert _first_match(hba, "replication", "factoryos_standby", "10.0.0.13", ssl=True) == "reject"
    assert _first_match(hba, "factoryos", "postgres", "10.0.0.12", ssl=True) == "reject"  # no LAN logins
    assert _first_match(hba, "replication", "postgres", "10.0.0.40", ssl=True) == "reject"
    # the api and its WAL archiver, on the database's own networks, keep their way in
    assert _first_match(hba, "factoryos", "factoryos_app", "172.20.0.5", ssl=False) == "scram-sha-256"
    assert _first_match(hba, "replication", "postgres", "172.20.0.5", ssl=False) == "scram-sha-256"
    # before the catch-all lines (first match wins), which stay: the image's entrypoint looks for one
    lines = hba.splitlines()
    assert lines.index(HBA_END) < lines.index("host all all all scram-sha-256")
    assert "host replication postgres all scram-sha-256" in lines


def test_pairing_again_replaces_the_block() -> None:
    once = paired_hba(HBA, ["10.0.0.12/32"])
    again = paired_hba(once, ["10.0.0.14/32", "172.16.0.0/12"])
    assert again.count(HBA_BEGIN) == 1 and "10.0.0.12" not in again
    assert "hostssl replication factoryos_standby 10.0.0.14/32 scram-sha-256" in again
    assert "hostssl replication factoryos_standby 172.16.0.0/12 scram-sha-256" in again
    assert paired_hba(again, ["10.0.0.14/32", "172.16.0.0/12"]) == again


@pytest.mark.parametrize("given", ["db.local", "10.0.0.0/8", "10.0.0.12,", "0.0.0.0/0"])
def test_a_standby_address_that_is_no_address_or_too_wide_is_refused(given: str) -> None:
    with pytest.raises(StandbyError, match="--standby-host") as caught:
        standby_networks(given)
    assert caught.value.code == "standby_failed"


def _pair(**changes: object) -> PairFile:
    cert, _ = replication_certificate("plant")
    values: dict[str, object] = {"host": "10.0.0.5", "port": 5432, "identity": "7390000000000000001",
                                 "password": "pw-123", "ca_pem": cert.decode(),
                                 "secrets": {name: f"secret-{name}" for name in SECRET_NAMES}}
    return PairFile(**(values | changes))  # type: ignore[arg-type]


def test_the_pair_file_is_written_for_root_alone_and_read_back(tmp_path: Path) -> None:
    pair = _pair()
    path = pair.write(tmp_path / "carry" / "standby-pair.json")
    assert path.stat().st_mode & 0o777 == 0o600
    assert PairFile.read(path) == pair
    assert pair.conninfo("/pair/ca.crt").split() == [
        "host=10.0.0.5", "port=5432", "user=factoryos_standby", "sslmode=verify-ca", "sslrootcert=/pair/ca.crt",
        "application_name=factoryos_standby", "connect_timeout=10"]  # fmt: skip
    assert "password" not in pair.conninfo(None)  # it goes by PGPASSWORD, never argv


@pytest.mark.parametrize(("body", "says"), [
    ("not json", "not readable"),
    ('{"format": "something/1"}', "not a FactoryOS standby pair file"),
    ('{"format": "factoryos-standby-pair/1", "host": "h"}', "missing or invalid"),
])  # fmt: skip
def test_a_pair_file_that_is_not_one_is_refused(tmp_path: Path, body: str, says: str) -> None:
    path = tmp_path / "pair.json"
    path.write_text(body)
    with pytest.raises(StandbyError, match=says):
        PairFile.read(path)


def test_a_pair_file_without_the_primarys_secrets_is_refused(tmp_path: Path) -> None:
    path = _pair(secrets={"FACTORYOS_SECRET_KEY": "x"}).write(tmp_path / "pair.json")
    with pytest.raises(StandbyError, match="FACTORYOS_PG_SUPERUSER_PASSWORD"):
        PairFile.read(path)


def test_the_replication_certificate_is_its_own_trust_anchor() -> None:
    cert_pem, key_pem = replication_certificate("plant")
    cert = x509.load_pem_x509_certificate(cert_pem)
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert cert.issuer == cert.subject
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]
    assert cert.not_valid_after_utc - dt.datetime.now(dt.UTC) > dt.timedelta(days=3000)


@pytest.mark.parametrize(("given", "expected"), [(None, ("10.0.0.5", 5432)), ("10.0.0.9", ("10.0.0.9", 5432)),
                                                 ("10.0.0.9:6543", ("10.0.0.9", 6543)),
                                                 ("db.plant.example:6543", ("db.plant.example", 6543))])  # fmt: skip
def test_the_primary_is_the_pair_files_address_unless_standby_of_names_another(given, expected) -> None:  # type: ignore[no-untyped-def]
    assert primary_address(_pair(), given) == expected


def test_install_standby_of_without_a_pair_file_is_refused_at_once(tmp_path: Path) -> None:
    import typer

    from cli import install

    app = typer.Typer()
    install.register(app)
    app.command("noop")(lambda: None)
    result = CliRunner().invoke(app, ["install", "--dir", str(tmp_path / "x"), "--standby-of", "10.0.0.5", "--yes"])
    assert result.exit_code == 1 and "--pair-file" in result.output
    assert not (tmp_path / "x").exists()


def test_a_plain_install_over_a_standby_is_refused_before_anything_runs(tmp_path: Path) -> None:
    from installer.deploy import Installer, InstallOptions
    from installer.envfile import set_values

    set_values(tmp_path / ".env", {"FACTORYOS_STANDBY_OF": "10.0.0.5:5432", "FACTORYOS_VERSION": "1.2.3"})
    with pytest.raises(InstallError, match="warm standby of 10.0.0.5:5432: promote it first") as caught:
        Installer(InstallOptions(directory=tmp_path, bind="127.0.0.1"))
    assert caught.value.code == "standby_failed"


def test_the_compose_project_is_the_installations_own_and_factoryos_unless_it_was_named(tmp_path: Path) -> None:
    from installer.envfile import set_values
    from installer.stack import PROJECT, Stack

    assert PROJECT == "factoryos" and Stack(tmp_path).project == PROJECT  # existing installs keep theirs
    set_values(tmp_path / ".env", {"FACTORYOS_COMPOSE_PROJECT": "factoryos-standby"})
    command = Stack(tmp_path).command("ps")
    assert command[command.index("--project-name") + 1] == "factoryos-standby"
    assert Stack(tmp_path, project="other").project == "other"
