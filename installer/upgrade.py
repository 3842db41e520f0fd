"""`factoryos upgrade --bundle FILE` and `factoryos rollback`.

An upgrade is a re-run of the install steps with a new bundle, preceded by a database dump.
If any step fails, the undo stack restores the files, the pre-upgrade database and the
previous images. A later `rollback` does the same on purpose, from install.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import docker

from installer import dbdump, envfile, images
from installer.deploy import Installer, InstallOptions, Progress, Step, write_compose
from installer.errors import InstallError
from installer.health import base_url, wait_healthy
from installer.layout import Layout
from installer.stack import Stack


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
        return [steps[0], Step("Backup", self.backup), *steps[1:]]

    def backup(self, progress: Progress) -> str:
        progress("pg_dump of the current database")
        self.record_restart()
        self.dump = dbdump.create_dump(
            self.stack, self.layout.backups_dir, label="pre-upgrade", version=self.from_version
        )
        dump = self.dump
        self.undo.push("restore the pre-upgrade database", lambda: _restore(self.stack, dump))
        return f"{dump.path} ({dump.size / 1024**2:.1f} MiB)"

    def new_state(self) -> dict[str, Any]:
        state = super().new_state()
        assert self.dump is not None
        state["previous"] = {"version": self.from_version, "backup": str(self.dump.path)}
        return state


def _restore(stack: Stack, dump: dbdump.Dump) -> None:
    stack.run("stop", "api", "nginx")
    dbdump.restore_dump(stack, dump)


def rollback(
    directory: Path, *, wait_timeout: int = 600, client_factory: Any = None, progress: Progress | None = None
) -> str:
    """Back to the version before the last upgrade, with its pre-upgrade database."""
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
    report("restoring the pre-upgrade database")
    _restore(stack, dump)
    log_level = envfile.read_env(layout.env_file).get("FACTORYOS_LOG_LEVEL", "info")
    write_compose(layout, version=previous["version"], bind_ip=state["bind_ip"], https_port=state["https_port"],
                  log_level=log_level)  # fmt: skip
    report("starting the previous version")
    stack.up(wait_timeout)
    url = state.get("url") or base_url(state["bind_ip"], state["https_port"])
    ca = layout.tls.ca_cert if layout.tls.ca_cert.exists() else None
    wait_healthy(url, ca, timeout=wait_timeout)
    state.update(version=previous["version"], previous=None, rolled_back_from=state["version"])
    layout.write_state(state)
    return previous["version"]
