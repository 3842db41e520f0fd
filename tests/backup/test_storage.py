"""A full disk or an unwritable backup directory: one clear line, no partial file, and the
backups already there are kept intact."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.backup import app
from factoryos.backup.catalog import list_backups
from factoryos.backup.create import create_backup
from factoryos.backup.errors import BackupError
from factoryos.backup.lock import LOCK_FILE
from factoryos.backup.verify import verify_backup
from tests.backup.support import Island

runner = CliRunner()


@pytest.fixture()
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs (needs root); a migrated database dumps to a few hundred KiB."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_disk_full_keeps_old_backups_and_leaves_no_partial_file(island: Island, tiny_disk: Path) -> None:
    old = create_backup(island.source_url, tiny_disk, label="old")
    # Leave less room than one more dump needs.
    free = shutil.disk_usage(tiny_disk).free
    (tiny_disk / "ballast").write_bytes(b"\0" * (free - old.size // 2))
    with pytest.raises(BackupError) as caught:
        create_backup(island.source_url, tiny_disk, label="new")
    assert caught.value.code == "backup_disk_full"
    assert f"not enough space for the backup in {tiny_disk}" in str(caught.value)
    assert sorted(p.name for p in tiny_disk.iterdir()) == sorted([old.path.name, old.manifest_path.name, "ballast", LOCK_FILE])
    assert [b.name for b in list_backups(tiny_disk)] == [old.name]
    verify_backup(old)


def test_disk_full_from_the_cli_is_one_red_line(island: Island, tiny_disk: Path, cli_env: Path) -> None:
    (tiny_disk / "ballast").write_bytes(b"\0" * (shutil.disk_usage(tiny_disk).free - 4096))
    result = runner.invoke(app, ["create", "--dir", str(tiny_disk)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) <= 2 and "not enough space for the backup" in result.output  # one line (rich may wrap)
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tiny_disk.iterdir()) == [LOCK_FILE, "ballast"]


def test_a_file_where_the_backup_directory_should_be(island: Island, tmp_path: Path) -> None:
    blocker = tmp_path / "backups"
    blocker.write_text("not a directory")
    with pytest.raises(BackupError) as caught:
        create_backup(island.source_url, blocker)
    assert caught.value.code == "backup_dir_unwritable"
    assert f"the backup directory {blocker} is not writable" in str(caught.value)
    with pytest.raises(BackupError) as caught:
        create_backup(island.source_url, blocker / "nested")
    assert caught.value.code == "backup_dir_unwritable"
    assert blocker.read_text() == "not a directory"


def test_the_owner_role_cannot_take_backups(island: Island, tmp_path: Path) -> None:
    """FORCE RLS hides rows from the table owner: refused up front, not a dump missing data."""
    assert island.urls.owner is not None
    with pytest.raises(BackupError) as caught:
        create_backup(island.urls.owner, tmp_path / "backups")
    assert caught.value.code == "backup_needs_superuser"
    assert [p.name for p in (tmp_path / "backups").iterdir()] == [LOCK_FILE]  # and no dump
