"""`factoryos support-bundle`: everything a vendor needs, no secret of the installation."""

from __future__ import annotations

import json
import stat
import tarfile
from pathlib import Path

import docker
import pytest
from typer.testing import CliRunner

from installer import envfile
from installer.checks import Requirements
from installer.deploy import AdminAccount, Installer, InstallOptions
from installer.support import REDACTED, build_support_bundle, redact_text

LAX = Requirements(min_cpus=1, min_ram_bytes=1, min_disk_bytes=1, min_kernel=(2, 6))


@pytest.fixture
def installed(tmp_path: Path, docker_api) -> Installer:
    options = InstallOptions(directory=tmp_path / "factoryos", bind="127.0.0.1", https_port=18443, requirements=LAX,
                             admin=AdminAccount(email="o@acme.example", company="Acme", city="Porto"))  # fmt: skip
    installer = Installer(options, client_factory=lambda: docker.DockerClient(base_url=docker_api.url, timeout=5))
    installer.configure(lambda message, fraction=None: None)
    installer.layout.write_state({"version": "1.2.3", "url": "https://127.0.0.1:18443", "https_port": 18443,
                                  "bind_ip": "127.0.0.1", "installed_at": "2026-01-05T08:00:00+00:00"})  # fmt: skip
    return installer


def _members(path: Path) -> dict[str, str]:
    with tarfile.open(path) as archive:
        files = {m.name: archive.extractfile(m) for m in archive.getmembers()}
        return {name.removeprefix("factoryos-support/"): handle.read().decode()  # type: ignore[union-attr]
                for name, handle in files.items()}  # fmt: skip


def test_the_bundle_holds_the_diagnosis_and_no_secret(installed: Installer, docker_api, tmp_path: Path) -> None:
    output = tmp_path / "support.tar.gz"
    client = lambda: docker.DockerClient(base_url=docker_api.url, timeout=5)  # noqa: E731
    names = build_support_bundle(installed.layout.root, output, tail=50, client_factory=client)
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    members = _members(output)
    assert set(names) == set(members) >= {"versions.json", "status.json", "checks.json", "host.json", "install.json",
                                          "docker-compose.yml", "env.redacted", "logs/postgres.log", "logs/api.log",
                                          "logs/nginx.log"}  # fmt: skip
    secrets = [v for k, v in envfile.read_env(installed.layout.env_file).items() if k in envfile.SECRET_NAMES]
    assert len(secrets) == 4
    for name, text in members.items():
        for secret in secrets:
            assert secret not in text, f"a secret is in {name}"
    env = members["env.redacted"]
    assert "FACTORYOS_BIND_IP='127.0.0.1'" in env and f"FACTORYOS_SECRET_KEY='{REDACTED}'" in env
    assert json.loads(members["status.json"])["installation"]["version"] == "1.2.3"
    assert json.loads(members["versions.json"])["engine"]["version"] == "27.3.1"
    checks = {c["name"]: c for c in json.loads(members["checks.json"])}
    assert checks["Install folder"]["status"] == "ok" and "Docker engine" in checks
    host = json.loads(members["host.json"])
    assert host["memory_total_bytes"] > 0 and host["disks"]["install_dir"]["free_bytes"] > 0
    assert "ipv4_address" in members["docker-compose.yml"]


def test_url_passwords_and_known_secrets_are_redacted() -> None:
    text = "connect postgresql://factoryos_app:s3cr3t-pass@postgres:5432/factoryos key=ABCDEFGHIJKL"
    assert redact_text(text, ["ABCDEFGHIJKL"]) == (
        f"connect postgresql://factoryos_app:{REDACTED}@postgres:5432/factoryos key={REDACTED}"
    )


def test_the_command_writes_the_file_and_says_so(installed: Installer, docker_api, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    import typer

    from cli import support

    monkeypatch.setenv("DOCKER_HOST", docker_api.url)
    app = typer.Typer()
    support.register(app)
    app.command("noop")(lambda: None)
    output = tmp_path / "out" / "site.tar.gz"
    result = CliRunner().invoke(app, ["support-bundle", "-o", str(output), "--dir", str(installed.layout.root)])
    assert result.exit_code == 0, result.output
    assert output.is_file() and "Secrets are redacted" in result.output
