"""The server archives continuously: health shows the WAL archive's lag and last success, the CLI
lists base backups and the recovery window, and refuses a time outside it."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import make_url
from typer.testing import CliRunner

from cli.backup import app as backup_cli
from factoryos.backup.basebackup import list_base_backups, oldest_needed, prune_base_backups
from factoryos.backup.wal import remove_before, segments, wal_dir
from factoryos.backup.window import recovery_window
from factoryos.client.health_rows import health_parts
from factoryos.db.roles import APP_ROLE
from tests.backup.pitr_support import DATABASE, Archived
from tests.backup.support import app_of, backup_settings, start_app
from tests.conftest import LiveServer, pg_data_dir

runner = CliRunner()


@pytest.fixture(scope="module")
def archiving() -> Iterator[tuple[Archived, LiveServer]]:
    with pg_data_dir() as root:
        plant = Archived(root / "data", root / "backups").start(prepare=True)
        app_url = make_url(plant.source_url).set(username=APP_ROLE).render_as_string(hide_password=False)
        settings = backup_settings(root / "server", DATABASE, wal_archive=True, backup_dir=plant.backups,
                                   rpo_seconds=60)  # fmt: skip
        server = start_app(app_url, settings, plant.source_url)
        try:
            yield plant, server
        finally:
            server.stop()
            plant.stop()


def _health_once_archived(server: LiveServer, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=server.url, timeout=30) as http:
        while True:
            body = http.get("/api/v1/system/health").json()
            wal = body["backup"]["wal"]
            if wal["state"] == "streaming" and wal["base_backups"] >= 1:
                return body
            assert time.monotonic() < deadline, f"no streaming archive with a base backup: {wal}"
            time.sleep(0.5)


def test_health_shows_the_archive_streaming_within_the_rpo(archiving: tuple[Archived, LiveServer]) -> None:
    plant, server = archiving
    body = _health_once_archived(server)
    wal = body["backup"]["wal"]
    assert wal["ok"] is True and wal["detail"] is None
    assert wal["rpo_seconds"] == 60 and wal["lag_seconds"] <= 60
    assert dt.datetime.fromisoformat(wal["last_success_at"]) > dt.datetime.now(dt.UTC) - dt.timedelta(seconds=60)
    assert str(plant.backups) not in json.dumps(body)  # public: no paths
    rows = {key: (state, detail) for key, _, state, detail in health_parts(body)}
    assert rows["wal"][0] == "OK" and "streaming" in rows["wal"][1] and "RPO 60 s" in rows["wal"][1]


def test_a_lag_beyond_the_rpo_is_a_warning(archiving: tuple[Archived, LiveServer]) -> None:
    _, server = archiving
    _health_once_archived(server)
    archiver = app_of(server).state.backups.archiver
    later = archiver.status(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))
    assert not later.ok and later.lag_seconds > 60
    assert later.detail == f"the WAL archive is {later.lag_seconds} s behind, more than the RPO of 60 s"


def test_cli_lists_base_backups_and_the_window_and_refuses_times_outside_it(
    archiving: tuple[Archived, LiveServer], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    plant, server = archiving
    _health_once_archived(server)
    plant.insert(range(1, 3))
    written = dt.datetime.now(dt.UTC)
    archiver = app_of(server).state.backups.archiver
    deadline = time.monotonic() + 60
    while archiver.last_success_at is None or archiver.last_success_at < written:
        assert time.monotonic() < deadline, "the server's archiver did not catch up"
        time.sleep(0.3)
    monkeypatch.setenv("FACTORYOS_BACKUP_DIR", str(plant.backups))
    monkeypatch.setenv("FACTORYOS_DATA_DIR", str(tmp_path / "data"))
    for name in ("FACTORYOS_DATABASE_URL", "FACTORYOS_ADMIN_DATABASE_URL", "FACTORYOS_CONFIG"):
        monkeypatch.delenv(name, raising=False)

    listed = runner.invoke(backup_cli, ["list"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    assert "Base backups (point-in-time recovery)" in listed.output and "Recovery window: from" in listed.output

    window = json.loads(runner.invoke(backup_cli, ["window", "--json"]).output)
    assert window["earliest"] < window["latest"] and len(window["base_backups"]) == 1

    refused = runner.invoke(backup_cli, ["restore", "--to", "2001-02-03 04:05", "--zone", "UTC", "--yes"],
                            env={"COLUMNS": "300"})  # fmt: skip
    assert refused.exit_code == 1
    earliest = dt.datetime.fromisoformat(window["earliest"])
    assert "2001-02-03 04:05:00 UTC is outside the recovery window" in refused.output
    assert f"from {earliest:%Y-%m-%d %H:%M:%S} UTC" in refused.output
    assert not (tmp_path / "data").exists()

    neither = runner.invoke(backup_cli, ["restore", "--yes"])
    assert neither.exit_code == 1 and "name one of" in neither.output


def test_retention_drops_old_base_backups_and_only_the_wal_they_alone_needed(
    archiving: tuple[Archived, LiveServer], tmp_path: Path
) -> None:
    plant, server = archiving
    _health_once_archived(server)
    plant.insert(range(10, 12))
    plant.sql("select pg_switch_wal()")
    app_of(server).state.backups.archiver.take_base_backup()  # 14 days of retention: both kept
    newer, older = list_base_backups(plant.backups)
    assert newer.first_segment > older.first_segment

    # The archive is live: a segment being written (NAME.partial) may be renamed while it is copied.
    copy = Path(shutil.copytree(plant.backups, tmp_path / "backups", ignore=shutil.ignore_patterns("*.partial")))
    removed = prune_base_backups(copy, keep_days=1, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
    assert [b.name for b in removed] == [older.name]  # never the newest
    needed = oldest_needed(copy)
    assert needed == (newer.timeline, newer.first_segment)
    assert remove_before(wal_dir(copy), *needed) > 0
    assert min(s.segno for s in segments(wal_dir(copy))) == newer.first_segment
    assert recovery_window(copy).earliest == newer.finished_at
