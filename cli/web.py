"""`factoryos web`: the terminal screens in a browser, for managers and supervisors at a PC."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

import typer

from cli.output import fail


def web(
    server: Annotated[
        str,
        typer.Option(help="The API server the screens talk to, e.g. https://factory.lan.", envvar="FACTORYOS_SERVER"),
    ],
    host: Annotated[str, typer.Option(help="Address to bind (a LAN IP, or 0.0.0.0).",
                                      envvar="FACTORYOS_WEB_HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port for browsers.", envvar="FACTORYOS_WEB_PORT",
                                      min=1, max=65535)] = 8090,
    public_url: Annotated[
        str | None,
        typer.Option(help="The address browsers use when a proxy is in front, e.g. https://factory.lan/screens "
                          "(the proxy strips the path). Default: the address the browser used.",
                     envvar="FACTORYOS_WEB_PUBLIC_URL"),
    ] = None,
    tls_cert: Annotated[
        Path | None,
        typer.Option(help="Serve HTTPS with this certificate (PEM), as `factoryos serve` does.",
                     envvar="FACTORYOS_WEB_TLS_CERT", exists=True, dir_okay=False, readable=True),
    ] = None,
    tls_key: Annotated[
        Path | None,
        typer.Option(help="The certificate's private key (PEM).", envvar="FACTORYOS_WEB_TLS_KEY",
                     exists=True, dir_okay=False, readable=True),
    ] = None,
    ca_file: Annotated[
        Path | None,
        typer.Option("--ca-file", help="Trust the API server's certificate signed by this CA (PEM).",
                     exists=True, dir_okay=False, readable=True),
    ] = None,
    fingerprint: Annotated[
        str | None,
        typer.Option("--fingerprint", help="Trust exactly the API certificate with this SHA-256 fingerprint."),
    ] = None,
    max_sessions: Annotated[int, typer.Option(help="Browser tabs open at once (each runs its own app process).",
                                              min=1, max=500)] = 20,
    high_contrast: Annotated[bool, typer.Option("--high-contrast", help="Start in the high-contrast theme.")] = False,
    trusted_proxy: Annotated[
        list[str] | None,
        typer.Option("--trusted-proxy", help="A proxy in front (nginx) whose X-Forwarded-For names the browser; "
                                             "repeat for more (env: space-separated).",
                     envvar="FACTORYOS_WEB_TRUSTED_PROXIES"),
    ] = None,
) -> None:
    """Serve the terminal screens in a browser until Ctrl+C (sign-in as in `factoryos tui`).

    Each tab signs in to --server only, and the API is told the browser's address in
    X-Forwarded-For: add this process's address to the API's `trusted_proxies`
    (FACTORYOS_TRUSTED_PROXIES), or sign-in throttling counts every browser user as one.
    """
    from factoryos.client import ClientError, normalize_fingerprint, normalize_server_url
    from tui.web import WebServer, session_command, tls_context

    if (tls_cert is None) != (tls_key is None):
        fail("give both --tls-cert and --tls-key, or neither")
    if public_url is not None and not public_url.startswith(("http://", "https://")):
        fail("--public-url must start with http:// or https://")
    try:
        url = normalize_server_url(server)
        pin = normalize_fingerprint(fingerprint) if fingerprint else None
        for proxy in trusted_proxy or []:
            ipaddress.ip_address(proxy)
    except (ClientError, ValueError) as exc:
        fail(str(exc))
    try:
        context = tls_context(tls_cert, tls_key) if tls_cert and tls_key else None
    except (OSError, ValueError) as exc:
        fail(f"cannot use the TLS certificate: {exc}")
    command = session_command(url, ca_file=ca_file.resolve() if ca_file else None, fingerprint=pin,
                              high_contrast=high_contrast)
    try:
        WebServer(command, host=host, port=port, public_url=public_url, ssl_context=context,
                  max_sessions=max_sessions, trusted_proxies=trusted_proxy).serve()
    except OSError as exc:
        fail(f"cannot serve on {host}:{port}: {exc.strerror or exc}")


def register(app: typer.Typer) -> None:
    app.command("web")(web)
