"""`factoryos tui`: the terminal screens, a LAN client of the API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.output import fail


def tui(
    server: Annotated[
        str | None,
        typer.Option(help="Server address, e.g. https://factory.lan (remembered for next time).",
                     envvar="FACTORYOS_SERVER"),
    ] = None,
    ca_file: Annotated[
        Path | None,
        typer.Option("--ca-file", help="Trust the server certificate signed by this CA (PEM); remembered.",
                     exists=True, dir_okay=False, readable=True),
    ] = None,
    fingerprint: Annotated[
        str | None,
        typer.Option("--fingerprint", help="Trust exactly the certificate with this SHA-256 fingerprint; remembered."),
    ] = None,
    high_contrast: Annotated[
        bool | None,
        typer.Option("--high-contrast/--normal-contrast", help="Start in the high-contrast theme (F9 toggles)."),
    ] = None,
) -> None:
    """Open the terminal screens: operator input, live dashboard, machines, planning, admin."""
    from factoryos.client import ClientError, normalize_fingerprint, normalize_server_url
    from factoryos.client.profile import ServerTrust
    from tui.app import make_app

    app = make_app(server=server, high_contrast=high_contrast)
    if ca_file is not None or fingerprint is not None:
        if server is None and app.profile.server is None:
            fail("give --server together with --ca-file or --fingerprint")
        try:
            url = normalize_server_url(server or app.profile.server or "")
            pin = normalize_fingerprint(fingerprint) if fingerprint else None
        except (ClientError, ValueError) as exc:
            fail(str(exc))
        app.profile.trust[url] = ServerTrust(ca_file=str(ca_file.resolve()) if ca_file else None, pinned_sha256=pin)
        app.save_profile()
    app.run()


def register(app: typer.Typer) -> None:
    app.command("tui")(tui)
