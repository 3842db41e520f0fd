"""`factoryos license activate|status`: signed licenses, verified offline."""

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

app = typer.Typer(help="Activate and inspect the FactoryOS license.", no_args_is_help=True)

PathOption = Annotated[
    Path | None,
    typer.Option("--path", help="License file to use (default: $FACTORYOS_LICENSE_FILE or <data dir>/license.lic)."),
]


def _path(path: Path | None) -> Path:
    return path or store.default_license_path(Settings().data_dir)


@app.command()
def activate(
    license_: Annotated[str, typer.Argument(metavar="FILE|KEY", help="A license file, or the license key itself.")],
    path: PathOption = None,
) -> None:
    """Verify a license offline and make it the active one."""
    target = _path(path)
    try:
        document = store.activate(store.read_license_argument(license_), target)
    except LicenseError as exc:
        fail(escape(str(exc)))
    ok(
        f"License activated: {document.edition.value} for {escape(document.customer)} until "
        f"{document.expires_at:%Y-%m-%d} ({document.limits.machines} machines, {document.limits.users} users, "
        f"{document.limits.sites} sites) → {target}"
    )


@app.command()
def status(
    path: PathOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Show the active license, its limits and days left (and this host's id for binding)."""
    target = _path(path)
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
