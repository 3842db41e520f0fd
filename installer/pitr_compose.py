"""Point-in-time restore of a Compose install, run on the host (`factoryos backup restore --to …
--install-dir DIR`).

The api container streams the WAL and takes base backups into the admin's backup folder (a host
bind mount). A restore replays a base backup and that WAL into a NEW named volume, in one-off
containers of the installed postgres image (its PostgreSQL reads its own WAL format), and checks
the result from the host (row counts, every company's audit chain) over a socket in a private
folder, before anything of the running stack is touched. Only then is the stack stopped, pointed
at the new volume (`FACTORYOS_PGDATA_VOLUME` in .env, read by the compose file) and started. The
replaced volume stays, untouched, until `factoryos backup discard-replaced --install-dir DIR`.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors
from docker.models.containers import Container

from factoryos.backup.basebackup import BaseBackup
from factoryos.backup.errors import RestoreFailed
from factoryos.backup.pitr import (
    check_restored,
    check_target,
    check_waldump_errors,
    replaced,
    set_archive_aside,
    wait_promoted,
)
from factoryos.backup.restore import ChainCheck
from factoryos.backup.wal import Segment, stage, wal_dir
from factoryos.backup.window import recovery_window
from installer.compose_render import image_tag
from installer.envfile import VERSION, read_env, set_values
from installer.errors import InstallError
from installer.layout import Layout
from installer.stack import PROJECT, Stack, project_of

Progress = Callable[[str], None]

DATABASE = "factoryos"  # the compose file's database
VOLUME_ENV = "FACTORYOS_PGDATA_VOLUME"
DEFAULT_VOLUME = f"{PROJECT}_pgdata"  # of an installation under the default project name
PGDATA = "/var/lib/postgresql/data"
_COMMIT = re.compile(r"desc: COMMIT (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) UTC")
_EXIT = re.compile(r"^waldump-exit (\d+)$", re.MULTILINE)

# As root: the base backup into the new volume, owned by postgres; then every archived record read
# once (a damaged segment is named) and the last commit found (TZ=UTC in the environment).
_PREPARE = """set -eu
PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
tar -xzf /pitr/base/base.tar.gz -C "${PGDATA}"
tar -xzf /pitr/base/pg_wal.tar.gz -C "${PGDATA}/pg_wal"
rm -f "${PGDATA}/postmaster.pid" "${PGDATA}/postmaster.opts"
touch "${PGDATA}/recovery.signal"
chown -R postgres:postgres "${PGDATA}"
chmod 0700 "${PGDATA}"
set +e
"${PGBIN}/pg_waldump" --path /pitr/wal "${FIRST}" "${LAST}" > /tmp/records 2> /tmp/errors
echo "waldump-exit $?"
grep 'desc: COMMIT' /tmp/records | tail -n 1
cat /tmp/errors
"""
# As postgres: replay to the target and promote; no TCP, only the private socket, trusted there alone.
_RECOVER = """PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
exec "${PGBIN}/postgres" -D "${PGDATA}" -c listen_addresses= -c unix_socket_directories=/pitr/socket \
    -c hba_file=/pitr/conf/pg_hba.conf -c "restore_command=cp /pitr/wal/%f %p" \
    -c recovery_target_action=promote -c archive_mode=off -c logging_collector=off \
    ${TARGET:+-c "recovery_target_time=${TARGET}"}
"""


@dataclass(frozen=True)
class ComposePitrReport:
    target: dt.datetime | None
    base_backup: str
    restored_to: dt.datetime | None
    tables: int
    rows: int
    volume: str  # the stack's database volume now
    kept_volume: str  # the replaced one, kept aside
    archive_aside: Path | None
    seconds: float  # from the command to the stack healthy on the restored volume
    switch_seconds: float  # of which: stopping, pointing at the new volume, starting, healthy
    chains: list[ChainCheck] = field(default_factory=list)


def default_volume(root: Path) -> str:
    """The database volume Compose names for the installation's project (a second installation on one
    engine has a project, and volumes, of its own)."""
    return f"{project_of(Layout(root).root)}_pgdata"


def volume_labels(root: Path) -> dict[str, str]:
    """The labels Compose puts on the volumes it creates: the new one is the project's pgdata volume."""
    return {"com.docker.compose.project": project_of(Layout(root).root), "com.docker.compose.volume": "pgdata"}


def current_volume(root: Path) -> str:
    return read_env(Layout(root).env_file).get(VOLUME_ENV) or default_volume(root)


def restore_compose(root: Path, target: dt.datetime | None, *, progress: Progress | None = None,
                    wait_timeout: int = 420,
                    client_factory: Callable[[], docker.DockerClient] = docker.from_env) -> ComposePitrReport:  # fmt: skip
    """Switch the stack in `root` to a new volume holding the database as of `target` (None: the newest
    state the archive holds). Before the switch, any failure leaves the running stack as it was."""
    say = progress or (lambda message: None)
    started = time.monotonic()
    layout = Layout(root.resolve())
    env = read_env(layout.env_file) if layout.env_file.exists() else {}
    if not env.get(VERSION):
        raise InstallError(f"no FactoryOS installation in {layout.root}", code="not_installed")
    image, old_volume = image_tag("postgres", env[VERSION]), env.get(VOLUME_ENV) or default_volume(layout.root)
    window = recovery_window(layout.backups_dir)
    base = check_target(window, target)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    new_volume = f"{default_volume(layout.root)}_{stamp.lower()}"
    client = client_factory()
    try:
        try:
            client.images.get(image)  # never pulled: `containers.run` would try a registry
        except docker.errors.ImageNotFound:
            raise RestoreFailed(f"image {image} is not in the Docker engine", code="restore_failed") from None
        with _workspace(layout.root) as work:
            say(f"checking the WAL archive from {base.name}")
            staged = stage(wal_dir(layout.backups_dir), base.timeline, base.first_segment, work / "wal")
            for path in (work / "wal").iterdir():
                path.chmod(0o644)  # read by the container's postgres user
            volume = client.volumes.create(new_volume, labels=volume_labels(layout.root))
            try:
                say(f"unpacking base backup {base.name} into volume {new_volume}")
                last_commit = _prepare(client, image, new_volume, base, work, staged)
                # At or after the last commit is the archive's end: PostgreSQL would wait for a later commit.
                stop_at = target if target is not None and last_commit is not None and target < last_commit else None
                say("replaying the WAL" + (f" to {stop_at:%Y-%m-%d %H:%M:%S} UTC" if stop_at else " to its end"))
                restored_to, facts, chains = _recover_and_check(client, image, new_volume, work, stop_at)
            except BaseException:
                with suppress(docker.errors.DockerException):
                    volume.remove(force=True)
                raise
    finally:
        client.close()
    say(f"switching the stack to volume {new_volume}")
    switching = time.monotonic()
    archive_aside = _switch(layout, old_volume, new_volume, stamp, wait_timeout)
    done = time.monotonic()
    return ComposePitrReport(target, base.name, restored_to, len(facts.row_counts), sum(facts.row_counts.values()),
                             new_volume, old_volume, archive_aside, done - started, done - switching,
                             chains)  # fmt: skip


@contextmanager
def _workspace(root: Path) -> Iterator[Path]:
    """Beside the installation (the staged WAL can be large); 0700, so only root reaches the trusted
    socket. The socket itself lives in a short folder of the system's temp dir, linked as `socket`:
    a Unix socket's path may not exceed 107 bytes, and beside a deep install dir it did (libpq then
    refused every connection, and the restore waited for a promotion it could not see)."""
    work = Path(tempfile.mkdtemp(prefix=".pitr-", dir=root))
    sockets = Path(tempfile.mkdtemp(prefix="fos-pitr-"))  # 0700: only root reaches what is inside
    try:
        (work / "wal").mkdir(mode=0o755)
        (sockets / "s").mkdir()
        (sockets / "s").chmod(0o777)  # the container's postgres user creates its socket here
        (work / "socket").symlink_to(sockets / "s")
        (work / "conf").mkdir(mode=0o755)
        hba = work / "conf" / "pg_hba.conf"
        hba.write_text("local all postgres trust\n")
        hba.chmod(0o644)
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(sockets, ignore_errors=True)


def _prepare(client: docker.DockerClient, image: str, volume: str, base: BaseBackup, work: Path,
             staged: list[Segment]) -> dt.datetime | None:  # fmt: skip
    """The base backup into `volume`; the archived WAL read through (damage named); its last commit."""
    try:
        output = client.containers.run(
            image, entrypoint=["/bin/sh", "-c", _PREPARE], user="root", network_mode="none", remove=True,
            environment={"PGDATA": PGDATA, "FIRST": staged[0].name, "LAST": staged[-1].name, "TZ": "UTC"},
            volumes={volume: {"bind": PGDATA, "mode": "rw"}, str(base.path): {"bind": "/pitr/base", "mode": "ro"},
                     str(work / "wal"): {"bind": "/pitr/wal", "mode": "ro"}},
        ).decode(errors="replace")  # fmt: skip
    except docker.errors.ContainerError as exc:
        raise RestoreFailed(f"unpacking base backup {base.name} failed: {_last_line(exc.stderr)}; the live "
                            "database was not touched", code="restore_failed") from None  # fmt: skip
    exit_code = _EXIT.search(output)
    if exit_code is None or exit_code.group(1) != "0":
        check_waldump_errors(output.split("\n", 1)[-1], staged)
    commits = _COMMIT.findall(output)
    return dt.datetime.fromisoformat(commits[-1]).replace(tzinfo=dt.UTC) if commits else None


def _recover_and_check(client: docker.DockerClient, image: str, volume: str, work: Path,
                       stop_at: dt.datetime | None):  # type: ignore[no-untyped-def]  # fmt: skip
    environment = {"PGDATA": PGDATA}
    if stop_at is not None:
        environment["TARGET"] = stop_at.isoformat()
    container = client.containers.run(
        image, entrypoint=["/bin/sh", "-c", _RECOVER], user="postgres", network_mode="none", detach=True,
        environment=environment,
        volumes={volume: {"bind": PGDATA, "mode": "rw"}, str(work / "wal"): {"bind": "/pitr/wal", "mode": "ro"},
                 str(_socket_dir(work)): {"bind": "/pitr/socket", "mode": "rw"},
                 str(work / "conf"): {"bind": "/pitr/conf", "mode": "ro"}},
    )  # fmt: skip
    try:
        _wait_promoted(container, str(_socket_dir(work)))
        return check_restored(str(_socket_dir(work)), DATABASE)
    finally:
        with suppress(docker.errors.DockerException):
            container.stop(timeout=120)  # the image's stop signal is SIGINT: a clean checkpoint
            container.remove(force=True)


def _socket_dir(work: Path) -> Path:
    return (work / "socket").resolve()


def _wait_promoted(container: Container, socket_dir: str) -> None:
    def running() -> bool:
        container.reload()
        return container.status not in ("exited", "dead")

    wait_promoted(running, socket_dir, lambda: container.logs().decode(errors="replace").splitlines())


def _switch(layout: Layout, old_volume: str, new_volume: str, stamp: str, wait_timeout: int) -> Path | None:
    """Stop, point the compose file's volume at the restored one, move the replaced history's archive
    aside (the restored cluster starts a new timeline, archived anew), start; undone if it fails."""
    stack = Stack(layout.root)
    stopped = stack.run("stop", timeout=300)
    if stopped.returncode != 0:
        raise InstallError(f"docker compose stop failed: {_last_line(stopped.stderr)}; the restored volume "
                           f"{new_volume} is ready, the stack still uses {old_volume}", code="compose_down_failed")
    archive_aside = set_archive_aside(layout.backups_dir, stamp)
    if archive_aside is not None:
        owner = layout.backups_dir.stat()
        os.chown(archive_aside, owner.st_uid, owner.st_gid)  # the api's, like everything in the folder
    set_values(layout.env_file, {VOLUME_ENV: new_volume})
    try:
        stack.up(wait_timeout)
    except InstallError:
        set_values(layout.env_file, {VOLUME_ENV: old_volume})
        if archive_aside is not None:
            for name in os.listdir(archive_aside):
                (archive_aside / name).rename(layout.backups_dir / name)
            archive_aside.rmdir()
        stack.up(wait_timeout)
        raise
    return archive_aside


def replaced_volumes(root: Path, client: docker.DockerClient) -> list[str]:
    """The project's database volumes restores replaced (every pgdata volume but the one in use)."""
    in_use = current_volume(root)
    listed = client.volumes.list(filters={"label": f"com.docker.compose.project={project_of(root)}"})
    return sorted(v.name for v in listed if v.name.startswith(default_volume(root)) and v.name != in_use)


def discard_replaced(root: Path, client: docker.DockerClient) -> list[str]:
    """Remove the replaced volumes and the WAL archives kept aside with them; returns what went."""
    gone = []
    for name in replaced_volumes(root, client):
        client.volumes.get(name).remove()
        gone.append(f"volume {name}")
    backups = Layout(root).backups_dir
    for path in replaced(backups, backups):
        shutil.rmtree(path)
        gone.append(str(path))
    return gone


def _last_line(text: str | bytes | None) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    lines = (text or "").strip().splitlines()
    return lines[-1] if lines else "no message"
