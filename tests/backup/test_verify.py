"""`backup verify`: a damaged or swapped file is refused, naming what is wrong."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.backup import app
from factoryos.backup.archive import sha256_of
from factoryos.backup.create import create_backup
from factoryos.backup.errors import BackupInvalid
from factoryos.backup.manifest import Backup, write_manifest
from factoryos.backup.verify import verify_backup
from tests.backup.support import Island

runner = CliRunner()


@pytest.fixture(scope="module")
def original(island: Island, tmp_path_factory: pytest.TempPathFactory) -> Backup:
    return create_backup(island.source_url, tmp_path_factory.mktemp("originals"))


@pytest.fixture()
def copy(original: Backup, tmp_path: Path) -> Backup:
    shutil.copy2(original.path, tmp_path / original.path.name)
    shutil.copy2(original.manifest_path, tmp_path / original.manifest_path.name)
    return Backup.load(tmp_path / original.path.name)


def _refused(backup: Backup | Path, code: str) -> str:
    with pytest.raises(BackupInvalid) as caught:
        verify_backup(backup)
    assert caught.value.code == code
    return str(caught.value)


def test_an_intact_backup_verifies_from_the_cli(copy: Backup) -> None:
    result = runner.invoke(app, ["verify", str(copy.path)])
    assert result.exit_code == 0, result.output
    assert f"backup {copy.name} is intact" in result.output


def test_a_flipped_byte_fails_the_checksum(copy: Backup) -> None:
    raw = bytearray(copy.path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    copy.path.write_bytes(bytes(raw))
    assert "its SHA-256 does not match the manifest" in _refused(copy, "backup_checksum_mismatch")
    result = runner.invoke(app, ["verify", copy.name, "--dir", str(copy.path.parent)])
    assert result.exit_code == 1
    assert "SHA-256 does not match" in result.output and "Traceback" not in result.output


def test_a_truncated_file_is_named_by_its_size(copy: Backup) -> None:
    raw = copy.path.read_bytes()
    copy.path.write_bytes(raw[: len(raw) // 2])
    message = _refused(copy, "backup_size_mismatch")
    assert f"{len(raw) // 2} bytes, the manifest says {len(raw)}" in message


def test_a_file_that_matches_its_manifest_but_is_no_archive_is_unreadable(copy: Backup) -> None:
    copy.path.write_bytes(b"not a pg_dump archive\n" * 100)
    forged = copy.manifest.model_copy(update={"sha256": sha256_of(copy.path), "size": copy.path.stat().st_size})
    write_manifest(forged, copy.path)
    assert "is not a readable pg_dump archive" in _refused(copy.path, "backup_unreadable")


def test_a_dump_without_its_manifest_cannot_be_verified(copy: Backup) -> None:
    copy.manifest_path.unlink()
    assert "has no readable manifest" in _refused(copy.path, "backup_manifest_missing")


def test_a_damaged_manifest_is_named(copy: Backup) -> None:
    copy.manifest_path.write_text('{"file": "x"}')
    assert "has a damaged manifest" in _refused(copy.path, "backup_manifest_invalid")
