"""`factoryos` console script: one Typer group per module, registered here."""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from factoryos import __version__
from factoryos.errors import FactoryOSError

from cli.output import err_console

app = typer.Typer(
    name="factoryos",
    help="FactoryOS: on-prem production monitoring for factories.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"factoryos {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """FactoryOS: on-prem production monitoring for factories."""


def _register() -> None:
    # Imported here so `factoryos --version` stays fast and import errors name the group.
    from cli import audit, backup, bundle, db, demo, install, license, login, poller, report, serve, simulate, tui, user

    app.add_typer(db.app, name="db")
    app.add_typer(audit.app, name="audit")
    app.add_typer(user.app, name="user")
    simulate.register(app)
    install.register(app)  # install, status, logs, upgrade, rollback, uninstall
    app.add_typer(license.app, name="license")
    app.add_typer(bundle.app, name="bundle")
    app.add_typer(backup.app, name="backup")
    tui.register(app)
    demo.register(app)
    login.register(app)  # login, logout
    app.add_typer(report.app, name="report")
    poller.register(app)
    serve.register(app)
    # Other command groups register below, one line each.
    __import__("cli.support", fromlist=["register"]).register(app)  # support-bundle
    __import__("cli.web", fromlist=["register"]).register(app)  # web: the screens in a browser
    __import__("cli.jobs", fromlist=["register"]).register(app)  # jobs: orders list, show, import, export
    __import__("cli.webhooks", fromlist=["register"]).register(app)  # webhooks: list, add, remove, test, deliveries
    __import__("cli.mqtt_publish", fromlist=["register"]).register(app)  # integrations mqtt: show, set, test, remove
    __import__("cli.materials", fromlist=["register"]).register(app)  # lot: labels (PDF, ZPL raw to the printer)
    __import__("cli.standby", fromlist=["register"]).register(app)  # standby: status, promote
    __import__("cli.edge", fromlist=["register"]).register(app)  # edge: run a site edge, broker-acl
    __import__("cli.ingest", fromlist=["register"]).register(app)  # ingest: store what the edges publish


def main() -> None:
    _register()
    try:
        app()
    except FactoryOSError as exc:
        err_console.print(f"[bold red]✗[/] [red]{escape(str(exc))}[/]", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("[yellow]Interrupted.[/]")
        sys.exit(130)
    except Exception as exc:
        from sqlalchemy.exc import DBAPIError

        if not isinstance(exc, DBAPIError):
            raise
        # The database refused or is unreachable: say what it said, without a traceback.
        said = " ".join(str(exc.orig or exc).split())
        err_console.print(f"[bold red]✗[/] [red]database error: {escape(said[:400])}[/]", highlight=False,
                          soft_wrap=True)
        sys.exit(1)
