"""A warm standby of a Compose install on a real Docker engine, both installations on the one engine
(the standby under its own Compose project): primary installed, products written through its API →
`standby pair` → `install --standby-of HOST --pair-file F` (a hot standby, only its database runs) →
more products written → seen on the standby, its lag shown → a pair file naming another installation's
database refused → primary stopped → `standby promote` → the standby's API serves every product the
primary acknowledged (RPO 0) → the figures printed: time to stream, to promote and be healthy (RTO) →
the old primary started again: its api sees the standby promoted and refuses (health and `factoryos status`
name it, a write gets 503 `standby_superseded` and writes nothing) → the standby stopped, the old primary
restarted: still refused (the marker in its api's data volume).

The standby reaches the primary at this host's LAN address, as a second host would; through Docker's
NAT the primary sees the standby's clone container come from a Docker network and its host from the LAN
address, hence the standby's addresses given as both (Docker's default pools for the former).
"""

from __future__ import annotations

import json
import ssl
import time
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest
import typer
from typer.testing import CliRunner

from factoryos import __version__
from installer.network import detect_lan_ip
from installer.stack import Stack
from tests.installer.test_e2e_docker import _free_port, _psql, engine  # noqa: F401 (fixture)
from tests.installer.test_pitr_compose_docker import _images

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(1800)]
STANDBY_PROJECT = "factoryos-standby"
# Docker's default address pools: its NAT shows the clone container as the gateway of one of them.
DOCKER_POOLS = "172.16.0.0/12,192.168.0.0/16"


def _cli() -> typer.Typer:
    from cli import install, standby

    app = typer.Typer()
    install.register(app)
    app.add_typer(standby.app, name="standby")
    return app


def _run(args: list[str], exit_code: int = 0) -> str:
    started = time.monotonic()
    result = CliRunner().invoke(_cli(), args)
    print(f"[standby] factoryos {' '.join(args[:2])}: {time.monotonic() - started:.1f} s")
    assert result.exit_code == exit_code, result.output
    return result.output


class Api:
    def __init__(self, url: str, ca: Path, email: str, password: str) -> None:
        self.url, self.trust = url, ssl.create_default_context(cafile=ca)
        reply = httpx.post(f"{url}/api/v1/auth/login", json={"email": email, "password": password},
                           verify=self.trust, timeout=10)  # fmt: skip
        assert reply.status_code == 200, reply.text
        self.headers = {"Authorization": f"Bearer {reply.json()['access_token']}"}

    def add_product(self, number: str) -> None:
        reply = httpx.post(f"{self.url}/api/v1/products", json={"number": number, "name": f"Part {number}"},
                           headers=self.headers, verify=self.trust, timeout=10)  # fmt: skip
        assert reply.status_code == 201, reply.text

    def products(self) -> set[str]:
        reply = httpx.get(f"{self.url}/api/v1/products", params={"limit": 200}, headers=self.headers,
                          verify=self.trust, timeout=10)  # fmt: skip
        assert reply.status_code == 200, reply.text
        return {item["number"] for item in reply.json()["items"]}


def _status(install_dir: Path) -> dict[str, Any]:
    return json.loads(_run(["standby", "status", "--install-dir", str(install_dir), "--json"]))


def _until(what: str, check: Any, seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while not (found := check()):
        assert time.monotonic() < deadline, f"{what} within {seconds:.0f} s"
        time.sleep(0.5)
    return found


def test_compose_standby_streams_and_takes_over(engine: docker.DockerClient, tmp_path: Path) -> None:  # noqa: F811
    _images(engine, tmp_path)
    primary_dir, standby_dir, other_dir = tmp_path / "primary", tmp_path / "standby", tmp_path / "other"
    primary_port, standby_port, db_port, standby_db_port = _free_port(), _free_port(), _free_port(), _free_port()
    lan = detect_lan_ip()
    primary, standby = Stack(primary_dir), Stack(standby_dir, project=STANDBY_PROJECT)
    try:
        _run(["install", "--dir", str(primary_dir), "--bind", "127.0.0.1", "--https-port", str(primary_port),
              "--yes", "--wait-timeout", "300", "--admin-email", "owner@standby.example", "--company",
              "Standby Metal", "--city", "Porto"])  # fmt: skip
        fields = dict(line.split(": ", 1) for line in
                      (primary_dir / "first-sign-in" / "admin-credentials.txt").read_text().splitlines()[1:])  # fmt: skip
        on_primary = Api(f"https://127.0.0.1:{primary_port}", primary_dir / "tls" / "ca.crt", fields["email"],
                         fields["password"])  # fmt: skip
        acknowledged = [f"P-{n:03d}" for n in range(1, 6)]
        for number in acknowledged:
            on_primary.add_product(number)

        output = _run(["standby", "pair", "--install-dir", str(primary_dir), "--standby-host",
                       f"{lan},{DOCKER_POOLS}", "--bind", lan, "--port", str(db_port), "--standby-db",
                       f"{lan}:{standby_db_port}"])  # fmt: skip
        pair_file = primary_dir / "standby-pair.json"
        assert pair_file.stat().st_mode & 0o777 == 0o600 and "paired" in output
        pair = json.loads(pair_file.read_text())
        assert pair["host"] == lan and pair["port"] == db_port and pair["identity"].isdigit()
        assert pair["version"] == __version__
        audit_key = _audit_key(primary)
        assert "PRIVATE KEY" in pair["audit_key"] and audit_key
        hba = _psql(primary, "select string_agg(type || ' ' || array_to_string(database, ',') || ' ' || "
                             "array_to_string(user_name, ',') || ' ' || coalesce(address, '') || ' ' || auth_method, "
                             "'|' order by line_number) from pg_hba_file_rules")  # fmt: skip
        assert "hostssl replication factoryos_standby 172.16.0.0 scram-sha-256" in hba, hba
        assert _psql(primary, "show ssl") == "on"
        # The api's way to the standby's database (the role's password: 0600, its own user's).
        peer = primary.run("exec", "-T", "api", "stat", "-c", "%a %U", "/var/lib/factoryos/standby/peer.json")
        assert peer.returncode == 0 and peer.stdout.split()[0] == "600", peer.stdout + peer.stderr
        # The api, back on the restarted database, still takes writes.
        _until("the api writing again", lambda: _try_add(on_primary, "P-006"), 60)
        acknowledged.append("P-006")

        started = time.monotonic()
        output = _run(["install", "--dir", str(standby_dir), "--project-name", STANDBY_PROJECT, "--bind",
                       "127.0.0.1", "--https-port", str(standby_port), "--yes", "--wait-timeout", "300",
                       "--standby-of", f"{lan}:{db_port}", "--pair-file", str(pair_file)])  # fmt: skip
        print(f"[standby] standby installed and streaming in {time.monotonic() - started:.1f} s")
        assert "Warm standby of" in output, output
        services = {s["Service"]: s["State"] for s in standby.services()}
        assert services == {"postgres": "running"}, services  # api, web, nginx wait for the promotion

        for number in ("P-007", "P-008"):
            on_primary.add_product(number)
            acknowledged.append(number)
        written = time.monotonic()
        state = _until("the standby replaying the last write", lambda: (s := _status(standby_dir))
                       ["lag_seconds"] == 0.0 and s, 60)  # fmt: skip
        print(f"[standby] caught up {time.monotonic() - written:.1f} s after the write; status {state}")
        assert state["role"] == "standby" and state["streaming"] is True
        on_standby = _psql(standby, "select string_agg(number, ',' order by number) from products")
        assert on_standby.split(",") == acknowledged
        assert "replay lag" in _run(["standby", "status", "--install-dir", str(standby_dir)])

        # A pair file naming another installation's database: refused before anything is written.
        other = dict(pair, identity=str(int(pair["identity"]) + 1))
        other_pair = tmp_path / "other-pair.json"
        other_pair.write_text(json.dumps(other))
        output = _run(["install", "--dir", str(other_dir), "--project-name", "factoryos-other", "--bind", "127.0.0.1",
                       "--https-port", str(_free_port()), "--yes", "--standby-of", f"{lan}:{db_port}", "--pair-file",
                       str(other_pair)], exit_code=1)  # fmt: skip
        assert "belongs to another installation" in output and "nothing was" in output, output
        assert not other_dir.exists()
        assert _status(standby_dir)["streaming"] is True  # the real standby's slot untouched

        stopped = primary.run("stop", timeout=300)
        assert stopped.returncode == 0, stopped.stderr
        started = time.monotonic()
        output = _run(["standby", "promote", "--install-dir", str(standby_dir), "--yes", "--db-bind", lan,
                       "--db-port", str(standby_db_port)])  # fmt: skip
        print(f"[standby] RTO: promoted and healthy through nginx in {time.monotonic() - started:.1f} s; "
              + " ".join(output.split()))
        assert _status(standby_dir)["role"] == "primary"
        taken_over = Api(f"https://127.0.0.1:{standby_port}", standby_dir / "tls" / "ca.crt", fields["email"],
                         fields["password"])  # fmt: skip
        assert taken_over.products() == set(acknowledged)  # none lost
        taken_over.add_product("S-001")  # and it takes writes
        assert _audit_key(standby) == audit_key  # it signs the audit chain heads with the installation's key
        refused = CliRunner().invoke(_cli(), ["standby", "promote", "--install-dir", str(standby_dir), "--yes"])
        assert refused.exit_code == 1 and "already a primary" in refused.output

        # The old primary comes back: its api finds the standby promoted, serves no write, and says why.
        started = time.monotonic()
        primary.up(300)
        print(f"[standby] old primary started again, refusing, in {time.monotonic() - started:.1f} s")
        _superseded(primary, primary_dir, on_primary, "X-001")
        marker = primary.run("exec", "-T", "api", "cat", "/var/lib/factoryos/standby/FENCED-superseded-primary")
        assert marker.returncode == 0 and "timeline 2" in marker.stdout, marker.stdout + marker.stderr

        # The standby away, the old primary restarted: the marker keeps it refused.
        assert standby.run("stop", timeout=300).returncode == 0
        started = time.monotonic()
        assert primary.run("stop", timeout=300).returncode == 0
        primary.up(300)
        print(f"[standby] old primary restarted with the standby away, refusing, in {time.monotonic() - started:.1f} s")
        _superseded(primary, primary_dir, on_primary, "X-002")
    finally:
        for stack in (standby, primary):
            if stack.compose_file.exists():
                stack.down(volumes=True)
        for project in ("factoryos", STANDBY_PROJECT, "factoryos-other"):
            for volume in engine.volumes.list(filters={"label": f"com.docker.compose.project={project}"}):
                volume.remove(force=True)


def _superseded(stack: Stack, install_dir: Path, api: Api, number: str) -> None:
    """Health and `factoryos status` name the promotion; a write is refused with the code and not written."""
    health = httpx.get(f"{api.url}/api/v1/system/health", verify=api.trust, timeout=10)
    assert health.status_code == 503, health.text
    body = health.json()
    assert body["code"] == "standby_superseded" and "timeline 2" in body["detail"], body
    report = json.loads(_run(["status", "--dir", str(install_dir), "--json"], exit_code=2))
    assert any("superseded" in problem for problem in report["problems"]), report["problems"]
    write = httpx.post(f"{api.url}/api/v1/products", json={"number": number, "name": "Split brain"},
                       headers=api.headers, verify=api.trust, timeout=10)  # fmt: skip
    assert write.status_code == 503 and write.json()["code"] == "standby_superseded", write.text
    assert write.headers["content-type"] == "application/problem+json"
    assert _psql(stack, f"select count(*) from products where number = '{number}'") == "0"


def _try_add(api: Api, number: str) -> bool:
    try:
        api.add_product(number)
    except (AssertionError, httpx.HTTPError):
        return False
    return True


def _audit_key(stack: Stack) -> str:
    run = stack.run("exec", "-T", "api", "sha256sum", "/var/lib/factoryos/audit-signing.key")
    assert run.returncode == 0, run.stderr
    return run.stdout.split()[0]
