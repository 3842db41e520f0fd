"""`factoryos upgrade --bundle FILE` and `factoryos rollback`.

An upgrade is a re-run of the install steps with a new bundle: the bundle is verified first,
then the database is dumped. If any later step fails, the undo stack restores the files, the
pre-upgrade database and the previous images. A later `rollback` does the same on purpose,
from install.json, after a safety dump of the database it replaces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker

from factoryos.backup.copies import copy_and_prune
from factoryos.errors import FactoryOSError
from installer import dbdump, envfile, images, tls
from installer.compose_render import DEFAULT_FRONTEND_SUBNET
from installer.deploy import Installer, InstallOptions, Progress, Step, write_compose
from installer.errors import InstallError
from installer.health import base_url, wait_healthy
from installer.layout import Layout
from installer.stack import Stack


# Off-host copies older than this are pruned (the api's default for its own copies too).
COPY_KEEP_DAYS = 30


class Upgrader(Installer):
    def __init__(self, options: InstallOptions, **kwargs: Any) -> None:
        layout = Layout(options.directory.resolve())
        if layout.read_state() is None:
            raise InstallError(
                f"no FactoryOS installation in {layout.root}: run `factoryos install` first", code="not_installed"
            )
        if options.bundle is None:
            raise InstallError("upgrade needs --bundle FILE", code="bundle_required")
        super().__init__(options, **kwargs)
        assert self.previous is not None
        self.from_version: str = self.previous["version"]
        self.dump: dbdump.Dump | None = None

    def steps(self) -> list[Step]:
        steps = super().steps()
        at = next(i for i, step in enumerate(steps) if step.title == "Bundle") + 1
        return [*steps[:at], Step("Backup", self.backup), *steps[at:]]

    def verify_bundle(self, progress: Progress) -> str:
        detail = super().verify_bundle(progress)
        if not self.options.force and not _newer(self.version, self.from_version):
            same = self.version == self.from_version
            raise InstallError(
                f"the bundle holds FactoryOS {self.version}, "
                + ("the version already installed: nothing to upgrade (`factoryos install` repairs it)"
                   if same else f"older than the installed {self.from_version} (`factoryos rollback` goes back)")
                + "; --force to run it anyway",
                code="upgrade_not_newer",
            )  # fmt: skip
        return detail

    def backup(self, progress: Progress) -> str:
        progress("pg_dump of the current database")
        self.record_restart()
        self.dump = dbdump.create_dump(
            self.stack, self.layout.backups_dir, label="pre-upgrade", version=self.from_version
        )
        dump = self.dump
        self.undo.push("restore the pre-upgrade database", lambda: _restore(self.stack, dump))
        copied = copy_off_host(dump, envfile.read_env(self.layout.env_file).get(envfile.BACKUP_COPY_TO, ""))
        return f"{dump.path} ({dump.size / 1024**2:.1f} MiB){copied}"

    def new_state(self) -> dict[str, Any]:
        state = super().new_state()
        assert self.dump is not None
        state["previous"] = {"version": self.from_version, "backup": str(self.dump.path)}
        return state


def copy_off_host(dump: dbdump.Dump, folder: str) -> str:
    """The installer's own dumps go to the off-host copies too; a failed copy is said, not fatal."""
    if not folder:
        return ""
    try:
        copy_and_prune(dump, Path(folder), COPY_KEEP_DAYS)
    except (OSError, FactoryOSError) as exc:
        return f"; NOT copied to {folder}: {exc}"
    return f"; copied to {folder}"


def _newer(candidate: str, installed: str) -> bool:
    """By release numbers (0.10.0 > 0.9.2); equal numbers with another suffix (0.1.0.post1) count as newer."""

    def release(version: str) -> tuple[tuple[int, ...], str]:
        match = re.match(r"(\d+(?:\.\d+)*)(.*)$", version)
        return (tuple(int(n) for n in match.group(1).split(".")), match.group(2)) if match else ((), version)

    (new, new_rest), (old, old_rest) = release(candidate), release(installed)
    if new != old:
        return new > old
    return new_rest != old_rest


def _restore(stack: Stack, dump: dbdump.Dump) -> None:
    stack.run("stop", "api", "nginx")
    dbdump.restore_dump(stack, dump)


@dataclass(frozen=True)
class RolledBack:
    version: str
    safety_dump: Path  # the database as it was just before the rollback


def rollback(
    directory: Path, *, wait_timeout: int = 600, client_factory: Any = None, progress: Progress | None = None
) -> RolledBack:
    """Back to the version before the last upgrade, with its pre-upgrade database; what changed
    since the upgrade is first dumped, so it can still be recovered."""
    layout = Layout(directory.resolve())
    state = layout.read_state()
    if state is None:
        raise InstallError(f"no FactoryOS installation in {layout.root}", code="not_installed")
    previous = state.get("previous")
    if not previous:
        raise InstallError("nothing to roll back to: no upgrade was recorded", code="nothing_to_roll_back")
    report = progress or (lambda message, fraction=None: None)
    client = (client_factory or docker.from_env)()
    try:
        missing = images.missing_images(client, previous["version"])
    finally:
        client.close()
    if missing:
        raise InstallError(f"images of {previous['version']} are gone ({', '.join(missing)}): "
                           f"install its bundle with `factoryos upgrade --bundle`", code="image_missing")  # fmt: skip
    dump = dbdump.Dump.load(Path(previous["backup"]))
    dbdump.verify_dump(dump)
    stack = Stack(layout.root)
    report("safety dump of the current database")
    safety = dbdump.create_dump(stack, layout.backups_dir, label="pre-rollback", version=state["version"])
    copy_off_host(safety, envfile.read_env(layout.env_file).get(envfile.BACKUP_COPY_TO, ""))
    report("restoring the pre-upgrade database")
    _restore(stack, dump)
    env = envfile.ensure_env(layout.env_file, {envfile.VERSION: previous["version"]}).values
    write_compose(layout, version=previous["version"], bind_ip=state["bind_ip"], https_port=state["https_port"],
                  log_level=env.get("FACTORYOS_LOG_LEVEL", "info"),
                  frontend_subnet=env.get(envfile.FRONTEND_SUBNET) or DEFAULT_FRONTEND_SUBNET,
                  backup_copy_to=env.get(envfile.BACKUP_COPY_TO, ""))  # fmt: skip
    report("starting the previous version")
    stack.up(wait_timeout)
    url = state.get("url") or base_url(state["bind_ip"], state["https_port"])
    ca = tls.trust_anchor(layout.tls)
    wait_healthy(url, ca, timeout=wait_timeout)
    state.update(version=previous["version"], previous=None, rolled_back_from=state["version"],
                 rollback_safety_dump=str(safety.path))  # fmt: skip
    layout.write_state(state)
    return RolledBack(previous["version"], safety.path)
