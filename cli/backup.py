"""`factoryos backup create|list|verify|restore` (run on the server host, or in the api container)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import create_engine, pool
from rich import box
from rich.markup import escape
from rich.table import Table

from cli.output import console, fail, ok
from factoryos.audit.anchoring import Anchorer
from factoryos.audit.anchors import set_aside_after_restore
from factoryos.backup.catalog import backup_dir, find_backup, list_backups
from factoryos.backup.create import create_backup
from factoryos.backup.manifest import Backup
from factoryos.backup.pitr import check_target, discard_replaced, parse_target, replaced, restore_to_time
from factoryos.backup.restore import restore_backup
from factoryos.backup.source import backup_source_url
from factoryos.backup.verify import verify_backup
from factoryos.backup.window import RecoveryWindow, recovery_window
from factoryos.config import Settings, normalize_db_url
from factoryos.db.embedded import EmbeddedLocked
from factoryos.db.engine import DatabaseUrls, database
from factoryos.errors import FactoryOSError
from installer.layout import Layout

app = typer.Typer(help="Database backups: create, list, verify, restore (verified).", no_args_is_help=True)

DirOption = Annotated[
    Path | None, typer.Option("--dir", help="Backup directory (default: $FACTORYOS_BACKUP_DIR or <data dir>/backups).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
InstallDirOption = Annotated[
    Path | None, typer.Option("--install-dir", help="A Compose install's directory (e.g. /opt/factoryos): "
                              "run on its host, the restore works on its Docker volumes.")  # fmt: skip
]
BackupArg = Annotated[str, typer.Argument(metavar="BACKUP", help="A backup's name (see `backup list`) or its .dump file.")]


def _dir(settings: Settings, directory: Path | None) -> Path:
    return directory or backup_dir(settings)


@contextmanager
def _database(settings: Settings) -> Iterator[DatabaseUrls]:
    try:
        with database(settings) as urls:
            yield urls
    except EmbeddedLocked:
        fail(f"the FactoryOS server is running on {escape(str(settings.data_dir))}: take a backup through it "
             "(POST /api/v1/backup/create, or wait for the scheduled one), or stop it to restore")  # fmt: skip


@contextmanager
def _user_errors() -> Iterator[None]:
    """A backup that cannot be made, read or restored is one red line and exit 1."""
    try:
        yield
    except FactoryOSError as exc:
        fail(escape(str(exc)))


def _source(urls: DatabaseUrls, settings: Settings) -> str:
    source = backup_source_url(urls, settings.database_name)
    if source is None:
        fail("FACTORYOS_ADMIN_DATABASE_URL is not set: backups run as the database superuser")
    return source


def _summary(backup: Backup) -> dict[str, object]:
    m = backup.manifest
    return {
        "name": backup.name,
        "path": str(backup.path),
        "label": m.label,
        "created_at": m.created_at.isoformat(),
        "size": m.size,
        "sha256": m.sha256,
        "factoryos_version": m.factoryos_version,
        "schema_revision": m.schema_revision,
        "tables": len(m.row_counts) if m.row_counts is not None else None,
        "rows": sum(m.row_counts.values()) if m.row_counts is not None else None,
    }


def _mib(size: int) -> str:
    return f"{size / 1024**2:.1f} MiB"


@app.command()
def create(
    label: Annotated[str, typer.Option(help="Goes into the file name (lower-case letters, digits, '-').")] = "manual",
    directory: DirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Dump the database (pg_dump custom format) with a manifest of checksums and row counts."""
    settings = Settings()
    with _user_errors(), _database(settings) as urls, console.status("pg_dump of the FactoryOS database…"):
        source = _source(urls, settings)
        # The installation's audit key signs the chain heads into the manifest, as the server does.
        signer = Anchorer(create_engine(normalize_db_url(source), poolclass=pool.NullPool), settings.data_dir)
        backup = create_backup(source, _dir(settings, directory), label=label, anchorer=signer)
    if as_json:
        console.print_json(json.dumps(_summary(backup)))
        return
    rows = _summary(backup)["rows"]
    ok(f"backup {backup.name}: {_mib(backup.size)}, {rows} rows → {escape(str(backup.path))}")


@app.command("list")
def list_(directory: DirOption = None, as_json: JsonOption = False) -> None:
    """Backups in the backup directory, newest first."""
    settings = Settings()
    where = _dir(settings, directory)
    backups = list_backups(where)
    if as_json:
        console.print_json(json.dumps([_summary(b) for b in backups]))
        return
    if not backups:
        console.print(f"No backups in {escape(str(where))}.")
    else:
        table = Table(box=box.SIMPLE)
        for column in ("name", "created (UTC)", "size"):
            table.add_column(column, no_wrap=True)
        table.add_column("version")
        for b in backups:
            m = b.manifest
            table.add_row(b.name, f"{m.created_at:%Y-%m-%d %H:%M}", _mib(m.size), m.factoryos_version)
        console.print(table)
        console.print(f"{len(backups)} backups in {escape(str(where))}", highlight=False)
    _print_window(recovery_window(where))


def _print_window(window: RecoveryWindow) -> None:
    """Base backups and the span `restore --to` accepts (nothing when archiving never ran here)."""
    if not window.base_backups:
        return
    table = Table(box=box.SIMPLE, title="Base backups (point-in-time recovery)", title_justify="left")
    for column in ("name", "finished (UTC)", "size", "WAL from"):
        table.add_column(column, no_wrap=True)
    for base in window.base_backups:
        table.add_row(base.name, f"{base.finished_at:%Y-%m-%d %H:%M:%S}", _mib(base.size), base.start_lsn)
    console.print(table)
    console.print(f"Recovery window: {window.describe()}", highlight=False)


def _window_json(window: RecoveryWindow) -> dict[str, object]:
    return {
        "earliest": window.earliest.isoformat() if window.earliest else None,
        "latest": window.latest.isoformat() if window.latest else None,
        "last_commit": window.last_commit.isoformat() if window.last_commit else None,
        "base_backups": [{"name": b.name, "finished_at": b.finished_at.isoformat(), "size": b.size,
                          "timeline": b.timeline, "start_lsn": b.start_lsn, "end_lsn": b.end_lsn}
                         for b in window.base_backups],
    }  # fmt: skip


@app.command()
def window(directory: DirOption = None, as_json: JsonOption = False) -> None:
    """The recovery window of the WAL archive: the earliest and latest time `restore --to` accepts."""
    found = recovery_window(_dir(Settings(), directory))
    if as_json:
        console.print_json(json.dumps(_window_json(found)))
        return
    if not found.base_backups:
        console.print("No base backups: point-in-time recovery starts once the server has archived one.")
        return
    _print_window(found)


@app.command()
def verify(backup: BackupArg, directory: DirOption = None) -> None:
    """Check the SHA-256 and size against the manifest, and that pg_restore can read the archive."""
    with _user_errors():
        found = verify_backup(find_backup(_dir(Settings(), directory), backup))
    ok(f"backup {found.name} is intact ({_mib(found.size)}, SHA-256 {found.manifest.sha256[:16]}…)")


@app.command()
def restore(
    backup: Annotated[str | None, typer.Argument(metavar="BACKUP", help="A dump's name (see `backup list`) or "
                                                 "its .dump file; or use --to / --to-latest.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Point in time: '2026-12-03 14:05' (in --zone, default the "
                                           "server host's local time) or an instant with offset.")] = None,
    to_latest: Annotated[bool, typer.Option("--to-latest", help="Everything the WAL archive holds.")] = False,
    zone: Annotated[str | None, typer.Option("--zone", help="IANA time zone of --to, e.g. the site's "
                                             "'Europe/Berlin'.")] = None,
    directory: DirOption = None,
    install_dir: InstallDirOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Replace the database with a dump, or (--to, --to-latest) with its state at a point in time from the base
    backups and the WAL archive; checked (row counts, every audit chain) before it replaces anything."""
    settings = Settings()
    if sum((backup is not None, to is not None, to_latest)) != 1:
        fail("name one of: a BACKUP to restore, --to TIME or --to-latest")
    if backup is None and install_dir is not None:
        _restore_compose(install_dir, to, zone, yes)
        return
    if install_dir is not None:
        fail("--install-dir goes with --to or --to-latest; restore a dump in the api container (see the README)")
    if backup is None:
        _restore_point_in_time(settings, directory, to, zone, yes)
        return
    with _user_errors():
        found = find_backup(_dir(settings, directory), backup)
    when = f"{found.created_at:%Y-%m-%d %H:%M} UTC"
    if not yes and not typer.confirm(
        f"Replace database {settings.database_name!r} with backup {found.name} ({when})? "
        "Everything written since then is lost.",
        default=False,
    ):
        fail("restore cancelled: nothing was changed")
    with _user_errors(), _database(settings) as urls, console.status("restoring…") as status:
        report = restore_backup(_source(urls, settings), settings.database_name, found,
                                progress=lambda message: status.update(escape(message)))  # fmt: skip
    ok(f"restored {found.name} into {report.database}: {report.tables} tables, {report.rows} rows match the manifest")
    for chain in report.chains:
        ok(f"audit chain of {escape(chain.company)}: OK, {chain.rows} rows")
    if kept := set_aside_after_restore(settings.data_dir):
        ok(f"audit anchors signed before the restore kept in {kept}")


def _restore_point_in_time(settings: Settings, directory: Path | None, to: str | None, zone: str | None,
                           yes: bool) -> None:  # fmt: skip
    if not settings.embedded:
        fail("a point-in-time restore of a Compose install runs on its host: factoryos backup restore --to TIME "
             "--install-dir DIR (the installation's directory, e.g. /opt/factoryos)")
    where = _dir(settings, directory)
    with _user_errors():
        target = parse_target(to, zone) if to is not None else None
        found = recovery_window(where)
        check_target(found, target)
    when = f"{target:%Y-%m-%d %H:%M:%S} UTC" if target else "the newest state in the WAL archive"
    if not yes and not typer.confirm(
        f"Replace the embedded database cluster with its state at {when}? The current cluster is kept aside.",
        default=False,
    ):
        fail("restore cancelled: nothing was changed")
    # A running server holds the data directory: the restore stops there with its process named.
    with _user_errors(), console.status("restoring…") as status:
        report = restore_to_time(settings.data_dir, where, settings.database_name, target,
                                 progress=lambda message: status.update(escape(message)))  # fmt: skip
    restored = f"{report.restored_to:%Y-%m-%d %H:%M:%S} UTC" if report.restored_to else "no transaction replayed"
    ok(f"restored from base backup {report.base_backup} to {when} (last transaction {restored}): "
       f"{report.tables} tables, {report.rows} rows, in {report.seconds:.0f} s")
    for chain in report.chains:
        ok(f"audit chain of {escape(chain.company)}: OK, {chain.rows} rows")
    if report.kept_aside is not None:
        ok(f"the replaced cluster is kept in {escape(str(report.kept_aside))} "
           "(`factoryos backup discard-replaced` removes it)")
    if report.archive_aside is not None:
        ok(f"its WAL archive and base backups moved to {escape(str(report.archive_aside))}; the server takes a new "
           "base backup when it starts")
    if kept := set_aside_after_restore(settings.data_dir):
        ok(f"audit anchors signed before the restore kept in {kept}")


def _restore_compose(install_dir: Path, to: str | None, zone: str | None, yes: bool) -> None:
    from installer.pitr_compose import current_volume, restore_compose  # the host's side only: Docker

    with _user_errors():
        target = parse_target(to, zone) if to is not None else None
        check_target(recovery_window(Layout(install_dir).backups_dir), target)
    when = f"{target:%Y-%m-%d %H:%M:%S} UTC" if target else "the newest state in the WAL archive"
    if not yes and not typer.confirm(
        f"Restore the database of the installation in {install_dir} to its state at {when}, into a new volume, "
        f"and switch the services to it? The current volume {current_volume(install_dir)} is kept aside.",
        default=False,
    ):
        fail("restore cancelled: nothing was changed")
    with _user_errors(), console.status("restoring…") as status:
        report = restore_compose(install_dir, target, progress=lambda message: status.update(escape(message)))
    restored = f"{report.restored_to:%Y-%m-%d %H:%M:%S} UTC" if report.restored_to else "no transaction replayed"
    ok(f"restored from base backup {report.base_backup} to {when} (last transaction {restored}): "
       f"{report.tables} tables, {report.rows} rows, in {report.seconds:.0f} s (of which {report.switch_seconds:.0f} s "
       "restarting the services)")
    for chain in report.chains:
        ok(f"audit chain of {escape(chain.company)}: OK, {chain.rows} rows")
    ok(f"the services run on volume {report.volume}; the replaced volume {report.kept_volume} is kept "
       f"(`factoryos backup discard-replaced --install-dir {escape(str(install_dir))}` removes it)")
    if report.archive_aside is not None:
        ok(f"its WAL archive and base backups moved to {escape(str(report.archive_aside))}; the server takes a new "
           "base backup now")


@app.command("discard-replaced")
def discard_replaced_(
    directory: DirOption = None,
    install_dir: InstallDirOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete the clusters (or a Compose install's volumes) and WAL archives point-in-time restores kept aside."""
    if install_dir is not None:
        _discard_compose(install_dir, yes)
        return
    settings = Settings()
    where = _dir(settings, directory)
    found = replaced(settings.data_dir, where)
    if not found:
        ok("nothing kept aside")
        return
    for path in found:
        console.print(f"  {escape(str(path))}", highlight=False)
    if not yes and not typer.confirm(f"Delete these {len(found)} folders for good?", default=False):
        fail("nothing was deleted")
    discard_replaced(settings.data_dir, where)
    ok(f"deleted {len(found)} folders kept aside by restores")


def _discard_compose(install_dir: Path, yes: bool) -> None:
    import docker
    import docker.errors

    from installer.pitr_compose import discard_replaced as discard, replaced_volumes

    backups = Layout(install_dir).backups_dir
    try:
        client = docker.from_env()
        found = [f"volume {name}" for name in replaced_volumes(install_dir, client)]
    except docker.errors.DockerException as exc:
        fail(f"the Docker engine does not answer: {escape(str(exc))}")
    found += [str(path) for path in replaced(backups, backups)]
    if not found:
        ok("nothing kept aside")
        return
    for item in found:
        console.print(f"  {escape(item)}", highlight=False)
    if not yes and not typer.confirm(f"Delete these {len(found)} for good?", default=False):
        fail("nothing was deleted")
    try:
        gone = discard(install_dir, client)
    except docker.errors.DockerException as exc:
        fail(f"could not remove a volume: {escape(str(exc))}")
    finally:
        client.close()
    ok(f"deleted {len(gone)} kept aside by restores")
