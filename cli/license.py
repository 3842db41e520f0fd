"""`factoryos license activate|status`: signed licenses, verified offline.

On the host of a Compose install (install.json in --dir), the license store is the
installation's `license/` folder, which the api container mounts: activating writes there and
restarts the api so that it is in force at once. Elsewhere (inside the container, embedded
mode) it is $FACTORYOS_LICENSE_FILE or <data dir>/license.lic.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from cli.output import console, fail, ok
from factoryos.config import Settings
from factoryos.licensing import LicenseError, store
from factoryos.licensing.hostid import host_id
from installer import tls
from installer.errors import InstallError
from installer.health import wait_healthy
from installer.layout import DEFAULT_DIR, Layout
from installer.stack import Stack

app = typer.Typer(help="Activate and inspect the FactoryOS license.", no_args_is_help=True)

PathOption = Annotated[
    Path | None,
    typer.Option("--path", help="License file to use (default: $FACTORYOS_LICENSE_FILE or <data dir>/license.lic)."),
]


DirOption = Annotated[
    Path,
    typer.Option("--dir", help="Compose installation whose license store to use.", envvar="FACTORYOS_INSTALL_DIR"),
]


def _installation(path: Path | None, directory: Path) -> Layout | None:
    """The Compose installation on this host, unless a file was named or we run inside the api."""
    if path is not None or Settings().license_file is not None:
        return None
    layout = Layout(directory.resolve())
    try:
        return layout if layout.read_state() is not None else None
    except OSError:
        return None


def _path(path: Path | None, directory: Path = DEFAULT_DIR) -> Path:
    layout = _installation(path, directory)
    if layout is not None:
        return layout.license_dir / store.LICENSE_FILE_NAME
    return path or store.default_license_path(Settings())


def _restart_api(layout: Layout) -> str:
    """The api reads its license at start: restart it and wait until it answers again."""
    state = layout.read_state() or {}
    run = Stack(layout.root).run("restart", "api", timeout=300)
    if run.returncode != 0:
        raise InstallError(f"restarting the api failed: {run.stderr.strip()[-300:]}", code="restart_failed")
    ca = tls.trust_anchor(layout.tls)
    wait_healthy(str(state.get("url", "")), ca, timeout=300)
    return "the api was restarted and has it in force"


@app.command()
def activate(
    license_: Annotated[str, typer.Argument(metavar="FILE|KEY", help="A license file, or the license key itself.")],
    path: PathOption = None,
    directory: DirOption = DEFAULT_DIR,
    restart: Annotated[
        bool, typer.Option("--restart/--no-restart", help="Compose install: restart the api to apply it now.")
    ] = True,
) -> None:
    """Verify a license offline and make it the active one."""
    layout = _installation(path, directory)
    target = _path(path, directory)
    try:
        document = store.activate(store.read_license_argument(license_), target)
    except LicenseError as exc:
        fail(escape(str(exc)))
    except OSError as exc:
        fail(escape(f"cannot write {target}: {exc.strerror}; run as root (sudo factoryos license activate …)"))
    where = f"{target}" + (" (the license store of the FactoryOS installation)" if layout else "")
    ok(
        f"License activated: {document.edition.value} for {escape(document.customer)} until "
        f"{document.expires_at:%Y-%m-%d} ({document.limits.machines} machines, {document.limits.users} users, "
        f"{document.limits.sites} sites) → {escape(where)}"
    )
    if layout is None:
        return
    if not restart:
        console.print("   In force when the api next starts (`factoryos install` or this command with --restart).")
        return
    try:
        console.print(f"   {_restart_api(layout)}.")
    except InstallError as exc:
        fail(escape(f"the license is stored, but {exc}"))


@app.command()
def status(
    path: PathOption = None,
    directory: DirOption = DEFAULT_DIR,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Show the active license, its limits and days left (and this host's id for binding)."""
    target = _path(path, directory)
    try:
        document = store.load_active(target, allow_expired=True)
    except LicenseError as exc:
        fail(escape(f"{target}: {exc}"))
    now = dt.datetime.now(dt.UTC)
    if as_json:
        body = {"host_id": host_id(), "license": document.model_dump(mode="json") if document else None}
        if document:
            body["expired"] = document.expired(now)
            body["days_left"] = document.days_left(now)
        console.print_json(json.dumps(body))
        return
    if document is None:
        console.print(f"No license activated ({target}); Core edition limits apply. This host's id: {host_id()}")
        return
    state = "[red]expired[/]" if document.expired(now) else f"[green]valid[/], {document.days_left(now)} days left"
    console.print(
        f"[bold]{document.edition.value.title()}[/] license for [bold]{escape(document.customer)}[/]: {state}\n"
        f"  limits: {document.limits.machines} machines, {document.limits.users} users, {document.limits.sites} sites\n"
        f"  expires: {document.expires_at:%Y-%m-%d}   bound to host: {document.host_id or 'any'}   "
        f"this host: {host_id()}",
        highlight=False,
    )
