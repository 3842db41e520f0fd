"""Backups in the admin's host folder, and a verified copy of each on other storage (an NFS or
SMB mount in production; a second folder here) with its own retention. Real pg_dump."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import docker
import jsonschema
import pytest
import yaml

from factoryos.backup.catalog import list_backups
from factoryos.backup.manifest import write_manifest
from factoryos.backup.service import BackupService
from installer import compose_render, envfile
from installer.checks import Requirements
from installer.deploy import AdminAccount, Installer, InstallOptions
from installer.errors import InstallError
from tests.installer.conftest import COMPOSE_SCHEMA

LAX = Requirements(min_cpus=1, min_ram_bytes=1, min_disk_bytes=1, min_kernel=(2, 6))
PARAMS = compose_render.ComposeParams(version="1.2.3", bind_ip="192.168.10.5", https_port=443,
                                      tls_dir="/opt/factoryos/tls", license_dir="/opt/factoryos/license",
                                      host_id="0" * 32, backup_copy_to="/mnt/nas/factoryos")  # fmt: skip


def test_the_copies_folder_is_mounted_and_named_to_the_api() -> None:
    document = yaml.safe_load(compose_render.render(PARAMS))
    api = document["services"]["api"]
    assert api["environment"]["FACTORYOS_BACKUP_COPY_TO"] == compose_render.BACKUP_COPIES_MOUNT
    assert f"/mnt/nas/factoryos:{compose_render.BACKUP_COPIES_MOUNT}" in api["volumes"]
    assert api["environment"]["FACTORYOS_BACKUP_DIR"] == "/var/lib/factoryos/backups"
    if COMPOSE_SCHEMA.is_file():
        jsonschema.Draft7Validator(json.loads(COMPOSE_SCHEMA.read_text())).validate(document)
    without = yaml.safe_load(compose_render.render(compose_render.ComposeParams(**{**PARAMS.__dict__,
                                                                                   "backup_copy_to": ""})))
    assert "FACTORYOS_BACKUP_COPY_TO" not in without["services"]["api"]["environment"]
    with pytest.raises(InstallError, match="backup copies folder"):
        compose_render.render(compose_render.ComposeParams(**{**PARAMS.__dict__, "backup_copy_to": "/mnt/my nas"}))


def _installer(tmp_path: Path, docker_api, **options: object) -> Installer:
    opts = InstallOptions(directory=tmp_path / "factoryos", bind="127.0.0.1", https_port=18443, requirements=LAX,
                          admin=AdminAccount(email="o@acme.example", company="Acme", city="Porto"),
                          **options)  # type: ignore[arg-type]  # fmt: skip
    return Installer(opts, client_factory=lambda: docker.DockerClient(base_url=docker_api.url, timeout=5))


def _progress(message: str, fraction: float | None = None) -> None:
    pass


def test_install_keeps_the_copies_folder_until_told_otherwise(tmp_path: Path, docker_api) -> None:
    nas = tmp_path / "nas"
    with pytest.raises(InstallError, match="no such folder") as caught:
        _installer(tmp_path, docker_api, backup_copy_to=str(nas)).configure(_progress)
    assert caught.value.code == "backup_copy_missing"
    nas.mkdir()
    first = _installer(tmp_path, docker_api, backup_copy_to=str(nas))
    assert f"backups also copied to {nas}" in first.configure(_progress)
    first.layout.write_state({"version": first.version})
    again = _installer(tmp_path, docker_api)
    again.configure(_progress)  # a re-run without the option keeps it
    compose = yaml.safe_load(again.stack.compose_file.read_text())
    assert f"{nas}:{compose_render.BACKUP_COPIES_MOUNT}" in compose["services"]["api"]["volumes"]
    off = _installer(tmp_path, docker_api, backup_copy_to="off")
    off.configure(_progress)
    assert envfile.read_env(off.layout.env_file)[envfile.BACKUP_COPY_TO] == ""
    api = yaml.safe_load(off.stack.compose_file.read_text())["services"]["api"]
    assert "FACTORYOS_BACKUP_COPY_TO" not in api["environment"] and len(api["volumes"]) == 4


def test_each_backup_is_copied_verified_and_old_copies_pruned(island, tmp_path: Path) -> None:
    here, nas = tmp_path / "backups", tmp_path / "nas"
    service = BackupService(here, island.source_url, copy_to=nas, copy_keep_days=30)
    first = service.create("manual")
    assert service.last_copy_error is None
    copy = nas / first.path.name
    assert copy.read_bytes() == first.path.read_bytes() and (nas / first.manifest_path.name).is_file()
    assert [p.name for p in nas.iterdir() if p.name.endswith(".copying")] == []
    # That copy is now 40 days old: the next backup's copy prunes it (never the newest).
    aged = first.manifest.model_copy(update={"created_at": dt.datetime.now(dt.UTC) - dt.timedelta(days=40)})
    write_manifest(aged, copy)
    second = service.create("manual")
    assert [b.name for b in list_backups(nas)] == [second.name]
    assert {b.name for b in list_backups(here)} == {first.name, second.name}  # the host folder keeps its own


def test_a_failed_copy_never_fails_the_backup(island, tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the share should be mounted")
    service = BackupService(tmp_path / "backups", island.source_url, copy_to=blocked)
    backup = service.create("manual")
    assert backup.path.is_file()
    assert service.last_copy_error and str(blocked) in service.last_copy_error
