"""Retention: only backups older than the limit go, never the newest; the server's schedule
backs up on its own and prunes."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from pathlib import Path

import httpx

from factoryos import __version__
from factoryos.backup.catalog import list_backups, prune
from factoryos.backup.manifest import Backup, Manifest, write_manifest
from tests.accounts import new_company
from tests.backup.support import Island, installation_admin, island_settings, start_server

NOW = dt.datetime(2026, 9, 15, 12, 0, tzinfo=dt.UTC)


def _backup(directory: Path, age: dt.timedelta, label: str = "scheduled", now: dt.datetime = NOW) -> Backup:
    created = (now - age).replace(microsecond=0)
    path = directory / f"factoryos-{created:%Y%m%dT%H%M%SZ}-{label}.dump"
    body = f"dump taken {created}".encode()
    path.write_bytes(body)
    manifest = Manifest(file=path.name, label=label, factoryos_version=__version__, created_at=created,
                        database="factoryos", sha256=hashlib.sha256(body).hexdigest(), size=len(body))  # fmt: skip
    write_manifest(manifest, path)
    return Backup(path, manifest)


def test_prune_removes_only_backups_older_than_the_limit(tmp_path: Path) -> None:
    ages = [dt.timedelta(days=d) for d in (20, 15, 13, 1)]
    made = [_backup(tmp_path, age) for age in ages]
    foreign = tmp_path / "keep-me.dump"  # no manifest: not ours to delete
    foreign.write_bytes(b"x")
    removed = prune(tmp_path, keep_days=14, now=NOW)
    assert {b.name for b in removed} == {made[0].name, made[1].name}
    assert [b.name for b in list_backups(tmp_path)] == [made[3].name, made[2].name]
    assert not made[0].path.exists() and not made[0].manifest_path.exists()
    assert foreign.exists()


def test_prune_never_removes_the_newest_even_when_it_is_old(tmp_path: Path) -> None:
    made = [_backup(tmp_path, dt.timedelta(days=d)) for d in (40, 30)]
    removed = prune(tmp_path, keep_days=14, now=NOW)
    assert [b.name for b in removed] == [made[0].name]
    assert [b.name for b in list_backups(tmp_path)] == [made[1].name]


def test_the_server_backs_up_on_schedule_and_prunes(island: Island, tmp_path: Path) -> None:
    """Interval 1 h, the newest backup 3 days old: one is due at start, the old one then goes."""
    backups = tmp_path / "backups"
    backups.mkdir()
    old = _backup(backups, dt.timedelta(days=3), now=dt.datetime.now(dt.UTC))
    settings = island_settings(tmp_path / "data", backup_interval_hours=1, backup_keep_days=1, backup_dir=backups)
    server = start_server(island, settings)
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            owner = installation_admin(server, new_company(http))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                names = [b.name for b in list_backups(backups)]
                if names and names != [old.name] and old.name not in names:
                    break
                time.sleep(0.2)
            listing = http.get("/api/v1/backup", headers=owner.headers).json()
            health = http.get("/api/v1/system/health").json()
    finally:
        server.stop()
    [made] = list_backups(backups)
    assert made.manifest.label == "scheduled" and made.manifest.row_counts
    assert [item["name"] for item in listing["items"]] == [made.name]
    assert listing["interval_hours"] == 1 and listing["keep_days"] == 1 and listing["available"] is True
    assert health["backup"]["scheduled"] is True and health["backup"]["ok"] is True
    assert health["backup"]["last_at"] == made.created_at.isoformat().replace("+00:00", "Z")
