"""Point-in-time recovery against a real embedded cluster: pg_receivewal archive + base backup,
restored into a scratch cluster, checked, swapped in for the data directory."""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, pool
from typer.testing import CliRunner

from cli.backup import app as backup_cli
from factoryos.backup.basebackup import list_base_backups
from factoryos.backup.continuous import SLOT, drop_slot
from factoryos.backup.errors import RestoreFailed
from factoryos.backup.pitr import _unpack, parse_target, restore_to_time
from factoryos.backup.wal import segments, wal_dir
from factoryos.backup.wal_copies import mirror
from factoryos.backup.window import recovery_window
from tests.backup.pitr_support import DATABASE, Archived
from tests.conftest import pg_data_dir

runner = CliRunner()


@pytest.fixture(scope="module")
def history() -> Iterator[tuple[Archived, dt.datetime]]:
    """Rows 1–3, the noted instant, rows 4–6 over several WAL segments; then the server stops."""
    with pg_data_dir() as root:
        plant = Archived(root / "data", root / "backups").start(prepare=True)
        try:
            plant.archive()
            plant.archiver.take_base_backup()  # type: ignore[union-attr]
            plant.insert(range(1, 4))
            plant.sql("select pg_switch_wal()")
            time.sleep(0.3)
            noted = dt.datetime.now(dt.UTC)
            time.sleep(0.3)
            for i in range(4, 7):
                plant.insert(range(i, i + 1))
                plant.sql("select pg_switch_wal()")
            plant.caught_up()
        finally:
            plant.stop()
        yield plant, noted


def _copy_backups(plant: Archived, into: Path) -> Path:
    return Path(shutil.copytree(plant.backups, into / "backups"))


def _ids_after_restore(data_dir: Path) -> list[int]:
    restored = Archived(data_dir, data_dir / "unused").start()
    try:
        return restored.probe_ids()
    finally:
        restored.stop()


def test_the_window_spans_base_backup_to_the_archive_end(history: tuple[Archived, dt.datetime]) -> None:
    plant, noted = history
    window = recovery_window(plant.backups)
    (base,) = list_base_backups(plant.backups)
    assert window.earliest == base.finished_at
    assert window.earliest < noted < window.latest  # type: ignore[operator]
    assert all(s.path.suffix == ".gz" for s in segments(wal_dir(plant.backups)) if not s.partial)


def test_restore_to_a_noted_time_brings_back_exactly_the_rows_before_it(
    history: tuple[Archived, dt.datetime],
) -> None:
    plant, noted = history
    with pg_data_dir() as root:
        backups = _copy_backups(plant, root)
        report = restore_to_time(root / "data", backups, DATABASE, noted)
        assert report.restored_to is not None and report.restored_to <= noted
        assert report.kept_aside is None  # nothing was live in this data directory
        assert _ids_after_restore(root / "data") == [1, 2, 3]


def test_a_missing_segment_is_named_and_the_live_cluster_untouched_then_latest_restores_all(
    history: tuple[Archived, dt.datetime],
) -> None:
    plant, _ = history
    with pg_data_dir() as root:
        broken = _copy_backups(plant, root / "broken")
        (base,) = list_base_backups(broken)
        needed = [s for s in segments(wal_dir(broken)) if s.segno > base.first_segment]
        gone = needed[len(needed) // 2]
        assert gone is not needed[-1]
        gone.path.unlink()
        before = sorted(p.name for p in (plant.data_dir / "pg").iterdir())
        with pytest.raises(RestoreFailed) as refused:
            restore_to_time(plant.data_dir, broken, DATABASE, None)
        assert refused.value.code == "wal_segment_missing"
        assert gone.name in str(refused.value)
        assert sorted(p.name for p in (plant.data_dir / "pg").iterdir()) == before
        assert not list(plant.data_dir.glob("pg.replaced-*"))
        assert _ids_after_restore(plant.data_dir) == [1, 2, 3, 4, 5, 6]

        intact = _copy_backups(plant, root / "intact")
        plant.start()
        plant.insert(range(100, 101))  # written after the archive stopped: not in it
        plant.stop()
        report = restore_to_time(plant.data_dir, intact, DATABASE, None)
        assert report.kept_aside is not None and (report.kept_aside / "PG_VERSION").exists()
        assert report.archive_aside is not None and not wal_dir(intact).exists()
        assert report.chains is not None and report.tables > 0
        assert _ids_after_restore(plant.data_dir) == [1, 2, 3, 4, 5, 6]

        # Archiving resumes on the restored cluster's new timeline, into a fresh archive.
        resumed = Archived(plant.data_dir, intact).start()
        try:
            resumed.archive()
            resumed.archiver.take_base_backup()  # type: ignore[union-attr]
            resumed.insert(range(7, 8))
            resumed.caught_up()
        finally:
            resumed.stop()
        (base,) = list_base_backups(intact)
        assert base.timeline == 2 and not recovery_window(intact).empty


def test_a_time_outside_the_window_is_refused_with_the_window(history: tuple[Archived, dt.datetime]) -> None:
    plant, _ = history
    window = recovery_window(plant.backups)
    assert window.earliest is not None
    with pg_data_dir() as root:
        with pytest.raises(RestoreFailed) as refused:
            restore_to_time(root / "data", plant.backups, DATABASE, window.earliest - dt.timedelta(minutes=5))
    assert refused.value.code == "pitr_outside_window"
    assert f"{window.earliest:%Y-%m-%d %H:%M:%S}" in str(refused.value)
    assert not (root / "data" / "pg").exists()


def test_times_are_read_in_the_zone_given_or_as_instants() -> None:
    assert parse_target("2026-12-03 14:05", "Europe/Berlin") == dt.datetime(2026, 12, 3, 13, 5, tzinfo=dt.UTC)
    assert parse_target("2026-12-03T14:05+02:00") == dt.datetime(2026, 12, 3, 12, 5, tzinfo=dt.UTC)
    assert parse_target("2026-12-03T14:05Z", "Asia/Tokyo") == dt.datetime(2026, 12, 3, 14, 5, tzinfo=dt.UTC)


@pytest.mark.parametrize("damage", ["truncated", "flipped"])
def test_a_damaged_segment_is_named_and_nothing_replaced(history: tuple[Archived, dt.datetime], damage: str) -> None:
    plant, _ = history
    with pg_data_dir() as root:
        backups = _copy_backups(plant, root)
        (base,) = list_base_backups(backups)
        damaged = [s for s in segments(wal_dir(backups)) if s.segno > base.first_segment and not s.partial][0]
        raw = gzip.decompress(damaged.path.read_bytes())
        if damage == "truncated":  # the gzip stream ends early: the file itself is unreadable
            damaged.path.write_bytes(damaged.path.read_bytes()[:200])
        else:  # a readable file whose first record fails its checksum
            damaged.path.write_bytes(gzip.compress(raw[:48] + bytes(b ^ 0xFF for b in raw[48:120]) + raw[120:]))
        with pytest.raises(RestoreFailed) as refused:
            restore_to_time(root / "data", backups, DATABASE, None)
        assert refused.value.code == "wal_segment_corrupt"
        assert damaged.name in str(refused.value)
        assert not (root / "data" / "pg").exists() and not (root / "data" / ".pitr").exists()


@pytest.mark.slow  # three cluster starts and a restore through the CLI (about 20 s)
def test_cli_restores_to_a_time_keeps_the_live_cluster_aside_until_discarded(
    history: tuple[Archived, dt.datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    plant, noted = history
    with pg_data_dir() as root:
        backups = _copy_backups(plant, root)
        data_dir = root / "data"
        Archived(data_dir, backups).start().stop()  # an empty live cluster to be replaced
        monkeypatch.setenv("FACTORYOS_DATA_DIR", str(data_dir))
        monkeypatch.setenv("FACTORYOS_BACKUP_DIR", str(backups))
        monkeypatch.setenv("FACTORYOS_DATABASE_NAME", DATABASE)
        for name in ("FACTORYOS_DATABASE_URL", "FACTORYOS_ADMIN_DATABASE_URL", "FACTORYOS_CONFIG"):
            monkeypatch.delenv(name, raising=False)
        local = noted.astimezone(ZoneInfo("America/Chicago")).replace(tzinfo=None).isoformat(" ")
        out = runner.invoke(backup_cli, ["restore", "--to", local, "--zone", "America/Chicago", "--yes"],
                            env={"COLUMNS": "300"})  # fmt: skip
        assert out.exit_code == 0, out.output
        assert f"to {noted:%Y-%m-%d %H:%M:%S} UTC" in out.output and "kept in" in out.output
        assert _ids_after_restore(data_dir) == [1, 2, 3]
        assert len(list(data_dir.glob("pg.replaced-*"))) == 1

        discarded = runner.invoke(backup_cli, ["discard-replaced", "--yes"], env={"COLUMNS": "300"})
        assert discarded.exit_code == 0 and "deleted 2 folders" in discarded.output
        assert not list(data_dir.glob("pg.replaced-*")) and not list(backups.glob("pitr-replaced-*"))


def test_the_off_host_copy_alone_restores_everything(history: tuple[Archived, dt.datetime]) -> None:
    plant, _ = history
    with pg_data_dir() as root:
        local = _copy_backups(plant, root / "local")
        copy_to = root / "nfs"
        assert mirror(local, copy_to, keep_days=30) > 2
        assert mirror(local, copy_to, keep_days=30) == 0  # nothing new, nothing copied again
        shutil.rmtree(local)  # the server's disk is gone
        report = restore_to_time(root / "data", copy_to, DATABASE, None)
        assert report.base_backup == list_base_backups(plant.backups)[0].name
        assert _ids_after_restore(root / "data") == [1, 2, 3, 4, 5, 6]


def test_turning_archiving_off_drops_the_slot_that_would_keep_all_wal() -> None:
    with pg_data_dir() as root:
        cluster = Archived(root / "data", root / "backups").start()
        try:
            url = cluster.pg.url("postgres", "postgres")  # type: ignore[union-attr]
            _on(url, f"select pg_create_physical_replication_slot('{SLOT}', true)")
            assert drop_slot(url) is True
            assert _on(url, "select count(*) from pg_replication_slots") == [(0,)]
            assert drop_slot(url) is False
        finally:
            cluster.stop()


def _on(url: str, statement: str) -> list:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            return conn.exec_driver_sql(statement).all()
    finally:
        engine.dispose()


def test_a_recreated_cluster_never_streams_into_the_old_clusters_archive() -> None:
    with pg_data_dir() as root:
        backups = root / "backups"
        first = Archived(root / "first", backups).start().create_database()
        try:
            first.archive()
        finally:
            first.stop()
        old = {s.name for s in segments(wal_dir(backups))}
        second = Archived(root / "second", backups).start().create_database()
        try:
            second.archive()
            system = second.sql("select system_identifier from pg_control_system()")[0][0]
        finally:
            second.stop()
        (aside,) = backups.glob("pitr-other-cluster-*")
        assert {s.name for s in segments(aside / "wal")} == old
        assert (wal_dir(backups) / ".system-identifier").read_text() == str(system)


def test_the_live_servers_socket_lock_is_not_restored(history: tuple[Archived, dt.datetime], tmp_path: Path) -> None:
    """The embedded server's socket lives in its data directory, so a base backup carries its lock file,
    naming the live server's PID: left in place, a restore fails whenever that PID is alive."""
    plant, _ = history
    [base] = list_base_backups(plant.backups)
    with tarfile.open(base.path / "base.tar.gz") as tar:
        assert any(Path(n).name.startswith(".s.PGSQL.") and n.endswith(".lock") for n in tar.getnames())
    _unpack(base, tmp_path / "scratch")
    assert not list((tmp_path / "scratch").glob(".s.PGSQL.*.lock"))
