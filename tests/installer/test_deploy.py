"""Install steps that need no engine: bad paths leave nothing behind, re-runs keep secrets."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import docker
import pytest
import yaml

from installer import compose_render, envfile
from installer.checks import Requirements
from installer.deploy import API_UID, AdminAccount, Installer, InstallOptions
from installer.errors import InstallError
from installer.tls import subject_names

LAX = Requirements(min_cpus=1, min_ram_bytes=1, min_disk_bytes=1, min_kernel=(2, 6))
OWNER = AdminAccount(email="owner@acme.example", company="Acme Metal", city="Porto")


def _progress(message: str, fraction: float | None = None) -> None:
    pass


def _installer(tmp_path: Path, docker_api, **options: object) -> Installer:
    opts = InstallOptions(directory=tmp_path / "factoryos", bind="127.0.0.1", requirements=LAX, admin=OWNER, **options)  # type: ignore[arg-type]
    return Installer(opts, client_factory=lambda: docker.DockerClient(base_url=docker_api.url, timeout=5))


def test_busy_port_stops_before_anything_is_written(tmp_path: Path, docker_api) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        installer = _installer(tmp_path, docker_api, https_port=port)
        with pytest.raises(InstallError, match="system check") as caught:
            installer.check_system(_progress)
    assert caught.value.code == "system_check_failed"
    ports = next(r for r in installer.check_results if r.name == "Ports")
    assert ports.failed and f"port {port}" in ports.detail
    assert not installer.layout.root.exists()


def test_leftover_database_volume_stops_a_fresh_install(tmp_path: Path, docker_api) -> None:
    # Its password is not the one this install would generate, and a rollback would remove it.
    docker_api.volumes = [{"Name": "factoryos_pgdata", "Labels": {"com.docker.compose.project": "factoryos"}}]
    installer = _installer(tmp_path, docker_api)
    with pytest.raises(InstallError, match="system check"):
        installer.check_system(_progress)
    other = next(r for r in installer.check_results if r.name == "Other installs")
    assert other.failed and "factoryos_pgdata" in other.detail
    assert installer.rollback() == [] and not installer.layout.root.exists()


def test_missing_image_names_the_bundle_option(tmp_path: Path, docker_api) -> None:
    installer = _installer(tmp_path, docker_api)
    with pytest.raises(InstallError, match=r"factoryos/postgres:.* not in the Docker engine.*--bundle FILE") as caught:
        installer.provide_images(_progress)
    assert caught.value.code == "image_missing"


def test_corrupted_bundle_is_refused_and_nothing_is_left(tmp_path: Path, docker_api) -> None:
    damaged = tmp_path / "bundle.tar"
    damaged.write_bytes(b"\0" * 4096)
    installer = _installer(tmp_path, docker_api, bundle=damaged)
    assert [s.title for s in installer.steps()][:3] == ["System check", "Bundle", "Images"]
    with pytest.raises(InstallError):
        installer.verify_bundle(_progress)
    assert installer.rollback() == []
    assert not installer.layout.root.exists()


def test_configuration_is_idempotent(tmp_path: Path, docker_api) -> None:
    first = _installer(tmp_path, docker_api, https_port=18443)
    first.configure(_progress)
    env_before = first.layout.env_file.read_bytes()
    cert_before = first.layout.tls.server_cert.read_bytes()
    assert stat.S_IMODE(first.layout.env_file.stat().st_mode) == 0o600
    compose = yaml.safe_load(first.stack.compose_file.read_text())
    assert compose["services"]["nginx"]["ports"] == ["127.0.0.1:18443:8443"]
    from cryptography import x509

    assert "127.0.0.1" in subject_names(x509.load_pem_x509_certificate(cert_before))
    first.layout.write_state({"version": first.version})  # as a completed install would

    # Re-run without options: the stored address and port are reused, nothing changes.
    again = Installer(
        InstallOptions(directory=tmp_path / "factoryos", requirements=LAX),
        client_factory=lambda: docker.DockerClient(base_url=docker_api.url, timeout=5),
    )
    assert again.rerun and (again.bind_ip, again.https_port) == ("127.0.0.1", 18443)
    detail = again.configure(_progress)
    assert "secrets kept" in detail
    assert again.layout.env_file.read_bytes() == env_before
    assert again.layout.tls.server_cert.read_bytes() == cert_before


def test_failed_step_rolls_back_a_first_install(tmp_path: Path, docker_api) -> None:
    cert = tmp_path / "only.crt"
    cert.write_text("x")
    installer = _installer(tmp_path, docker_api, cert=cert)
    with pytest.raises(InstallError, match="--cert and --key go together"):
        installer.configure(_progress)
    assert installer.layout.env_file.exists()  # written before the failure…
    assert installer.rollback() == []
    assert not installer.layout.root.exists()  # …and gone after the rollback


def test_failed_rerun_restores_the_previous_configuration(tmp_path: Path, docker_api) -> None:
    first = _installer(tmp_path, docker_api, https_port=18443)
    first.configure(_progress)
    first.layout.write_state({"version": first.version})
    before = {p: p.read_bytes() for p in (first.layout.env_file, first.stack.compose_file)}
    cert = tmp_path / "only.crt"
    cert.write_text("x")
    again = _installer(tmp_path, docker_api, https_port=19443, cert=cert)
    with pytest.raises(InstallError):
        again.configure(_progress)
    again.rollback()
    assert {p: p.read_bytes() for p in before} == before
    assert envfile.read_env(first.layout.env_file)["FACTORYOS_HTTPS_PORT"] == "18443"


def test_first_install_needs_the_owner_details(tmp_path: Path) -> None:
    with pytest.raises(InstallError, match="--admin-email, --company and --city") as caught:
        Installer(InstallOptions(directory=tmp_path / "factoryos", bind="127.0.0.1"))
    assert caught.value.code == "admin_required"


def test_the_frontend_subnet_avoids_the_engines_networks_and_is_kept(tmp_path: Path, docker_api) -> None:
    docker_api.networks.append(
        {"Name": "plant_mqtt", "Labels": {}, "IPAM": {"Config": [{"Subnet": "172.31.255.0/24"}]}}
    )
    # Our own stack's network is recreated by Compose: its subnet does not count as taken.
    docker_api.networks.append({"Name": "factoryos_frontend", "Labels": {"com.docker.compose.project": "factoryos"},
                                "IPAM": {"Config": [{"Subnet": "172.31.254.0/24"}]}})
    first = _installer(tmp_path, docker_api, https_port=18443)
    first.configure(_progress)
    assert envfile.read_env(first.layout.env_file)["FACTORYOS_FRONTEND_SUBNET"] == "172.31.254.0/24"
    compose = yaml.safe_load(first.stack.compose_file.read_text())
    assert compose["services"]["nginx"]["networks"]["frontend"]["ipv4_address"] == "172.31.254.2"
    assert compose["services"]["api"]["environment"]["FACTORYOS_TRUSTED_PROXIES"] == '["172.31.254.2", "172.31.254.3"]'
    first.layout.write_state({"version": first.version})

    docker_api.networks.append({"Name": "late", "Labels": {}, "IPAM": {"Config": [{"Subnet": "172.31.254.0/24"}]}})
    again = _installer(tmp_path, docker_api)
    again.configure(_progress)  # the stored subnet is the one in use: never moved on a re-run
    assert envfile.read_env(again.layout.env_file)["FACTORYOS_FRONTEND_SUBNET"] == "172.31.254.0/24"


def test_the_api_owns_its_writable_host_folders(tmp_path: Path, docker_api) -> None:
    installer = _installer(tmp_path, docker_api, https_port=18443)
    layout = installer.layout
    layout.backups_dir.mkdir(parents=True)
    old_dump = layout.backups_dir / "pre-upgrade-0.0.9-20260101T000000Z.dump"
    old_dump.write_bytes(b"x")  # written as root by an earlier installer
    installer.configure(_progress)
    compose = yaml.safe_load(installer.stack.compose_file.read_text())
    api = compose["services"]["api"]
    assert f"{layout.license_dir}:/etc/factoryos/license" in api["volumes"]  # writable: no :ro
    assert f"{layout.backups_dir}:/var/lib/factoryos/backups" in api["volumes"]
    assert api["environment"]["FACTORYOS_BACKUP_DIR"] == "/var/lib/factoryos/backups"
    assert stat.S_IMODE(layout.backups_dir.stat().st_mode) == 0o700
    if os.geteuid() == 0:
        for path in (layout.license_dir, layout.backups_dir, old_dump):
            assert (path.stat().st_uid, path.stat().st_gid) == (API_UID, API_UID), path
    dockerfile = (Path(compose_render.compose_dir()) / "api" / "Dockerfile").read_text()
    assert f"--uid {API_UID} --gid {API_UID}" in dockerfile


def test_a_rerun_without_bundle_starts_the_installed_version_not_the_clis(tmp_path: Path, docker_api) -> None:
    first = _installer(tmp_path, docker_api, https_port=18443)
    first.version = "7.7.7"  # as loaded from a bundle
    first.configure(_progress)
    assert envfile.read_env(first.layout.env_file)["FACTORYOS_VERSION"] == "7.7.7"
    assert _installer(tmp_path, docker_api).version == "7.7.7"  # kept data: .env only
    first.layout.write_state({"version": "7.7.8"})
    assert _installer(tmp_path, docker_api).version == "7.7.8"  # installed
