"""`factoryos install|status|logs|upgrade|rollback|uninstall`: the Docker Compose deployment on this host."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table

from cli.output import console, fail, ok
from cli.steps import done, run_step
from factoryos.client.health_rows import health_parts
from factoryos.errors import FactoryOSError
from installer.checks import Status
from installer.deploy import AdminAccount, Installer, InstallOptions
from installer.layout import DEFAULT_DIR, Layout
from installer.stack import Stack
from installer.uninstall import uninstall
from installer.upgrade import Upgrader
from installer.upgrade import rollback as rollback_to_previous

DirOption = Annotated[
    Path,
    typer.Option(
        "--dir", help="Installation directory (config, TLS, license, backups).", envvar="FACTORYOS_INSTALL_DIR"
    ),
]
_MARK = {Status.OK: "[green]✓[/]", Status.WARN: "[yellow]![/]", Status.FAIL: "[red]✗[/]"}


def install(
    directory: DirOption = DEFAULT_DIR,
    bundle: Annotated[
        Path | None, typer.Option("--bundle", help="Offline bundle to verify and load.", exists=True, dir_okay=False)
    ] = None,
    bind: Annotated[
        str | None, typer.Option("--bind", help="LAN IPv4 address to listen on (default: detected).")
    ] = None,
    https_port: Annotated[
        int | None,
        typer.Option(
            "--https-port",
            min=1,
            max=65535,
            help="HTTPS port on the bind address [default: 443, or the installed one].",
        ),
    ] = None,
    cert: Annotated[
        Path | None,
        typer.Option("--cert", help="Your TLS certificate (PEM); default: self-signed.", exists=True, dir_okay=False),
    ] = None,
    key: Annotated[
        Path | None, typer.Option("--key", help="Private key of --cert (PEM).", exists=True, dir_okay=False)
    ] = None,
    license_: Annotated[str | None, typer.Option("--license", help="License file or key to activate.")] = None,
    wait_timeout: Annotated[
        int, typer.Option("--wait-timeout", min=30, help="Seconds to wait for healthy services.")
    ] = 600,
    admin_email: Annotated[
        str | None, typer.Option("--admin-email", help="First install: the owner's email (sign-in name).")
    ] = None,
    company: Annotated[str | None, typer.Option("--company", help="First install: company name.")] = None,
    city: Annotated[str | None, typer.Option("--city", help="First install: city of the main site.")] = None,
    industry: Annotated[str, typer.Option("--industry", help="First install: industry.")] = "Manufacturing",
    company_size: Annotated[
        str, typer.Option("--company-size", help="First install: 1-10, 11-50, 51-200, 201-500, 501-1000 or 1000+.")
    ] = "11-50",
    timezone: Annotated[
        str | None, typer.Option("--timezone", help="First install: IANA time zone of the main site.")
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Never prompt (confirmations, missing owner details).")
    ] = False,
) -> None:
    """Install or update FactoryOS on this host (safe to re-run: secrets and data are kept)."""
    first = (
        Layout(directory.resolve()).read_state() is None and not Layout(directory.resolve()).credentials_file.exists()
    )
    if first and not yes:
        admin_email = admin_email or typer.prompt("Owner's email (sign-in name)")
        company = company or typer.prompt("Company name")
        city = city or typer.prompt("City of the main site")
    admin = None
    if admin_email and company and city:
        admin = AdminAccount(email=admin_email, company=company, city=city, industry=industry,
                             company_size=company_size, timezone=timezone)  # fmt: skip
    options = InstallOptions(
        directory=directory, bundle=bundle, bind=bind, https_port=https_port, cert=cert, key=key,
        license=license_, wait_timeout=wait_timeout, admin=admin,
    )  # fmt: skip
    try:
        installer = Installer(options)
    except FactoryOSError as exc:
        fail(escape(str(exc)))
    if bind is None and not yes and not installer.rerun:
        if not typer.confirm(f"Listen on {installer.bind_ip}:{installer.https_port}?", default=True):
            fail("Choose the address with --bind IP")
    _run_steps(installer, "installer")
    _print_summary(installer)


def _run_steps(installer: Installer, what: str) -> None:
    console.print(f"[bold]FactoryOS {what}[/] → {escape(str(installer.layout.root))}")
    for step in installer.steps():
        try:
            detail = run_step(step.title, step.run)
        except (Exception, KeyboardInterrupt):  # run_step printed why; undo, then say what is left
            if step.title == "System check":
                _print_checks(installer)
            problems = installer.rollback()
            left = (
                "the previous version and its data were restored" if installer.rerun else "nothing was left installed"
            )
            if problems:
                left = "rollback was incomplete: " + "; ".join(problems)
            fail(f"stopped at step “{step.title}”: {left}")
        if step.title == "System check":
            _print_checks(installer)
        done(step.title, detail)


def _print_checks(installer: Installer) -> None:
    for result in installer.check_results:
        line = f"   {_MARK[result.status]} {escape(result.name)}: {escape(result.detail)}"
        if result.fix and result.status is not Status.OK:
            line += f" [dim]→ {escape(result.fix)}[/]"
        console.print(line, highlight=False, soft_wrap=True)


def _print_summary(installer: Installer) -> None:
    summary = installer.summary
    console.print()
    ok(f"FactoryOS {installer.version} is running at [bold]{summary.url}[/]")
    if summary.ca_file:
        console.print(f"   CA certificate to trust on clients: {summary.ca_file}")
    if summary.admin_password:
        console.print(f"   Owner sign-in: {escape(summary.admin_email)} / [bold]{escape(summary.admin_password)}[/]"
                      "  (shown once; also in the file below)")  # fmt: skip
    console.print(f"   Admin credentials: {summary.credentials_file} (root only)")
    console.print(f"   Backups: {summary.backups_dir}")
    console.print(f"   License: {escape(summary.license)}")
    table = Table("part", "state", "detail", title="Status", title_justify="left", box=None, padding=(0, 1))
    for _, part, state, detail in health_parts(summary.health):
        style = {"OK": "green", "PROBLEM": "bold red"}.get(state, "dim")
        table.add_row(part, f"[{style}]{state}[/]", escape(detail))
    console.print(Padding(table, (0, 0, 0, 3)))


def upgrade(
    bundle: Annotated[Path, typer.Option("--bundle", help="Bundle of the new version.", exists=True, dir_okay=False)],
    directory: DirOption = DEFAULT_DIR,
    wait_timeout: Annotated[
        int, typer.Option("--wait-timeout", min=30, help="Seconds to wait for healthy services.")
    ] = 600,
) -> None:
    """Back up the database, load the new images, migrate and recreate what changed."""
    try:
        upgrader = Upgrader(InstallOptions(directory=directory, bundle=bundle, wait_timeout=wait_timeout))
    except FactoryOSError as exc:
        fail(escape(str(exc)))
    _run_steps(upgrader, f"upgrade from {upgrader.from_version}")
    _print_summary(upgrader)
    console.print("   Undo with: factoryos rollback")


def rollback(
    directory: DirOption = DEFAULT_DIR,
    wait_timeout: Annotated[
        int, typer.Option("--wait-timeout", min=30, help="Seconds to wait for healthy services.")
    ] = 600,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Return to the version before the last upgrade and its pre-upgrade database backup."""
    if not yes:
        typer.confirm("Changes made since the upgrade are lost. Roll back?", abort=True)
    try:
        version = run_step(
            "Rollback", lambda progress: rollback_to_previous(directory, wait_timeout=wait_timeout, progress=progress)
        )
    except FactoryOSError:
        raise typer.Exit(1) from None
    done("Rollback", f"FactoryOS {version} is running again with its pre-upgrade data")


def status(
    directory: DirOption = DEFAULT_DIR,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Show the installation and the state of each service."""
    layout = Layout(directory.resolve())
    state = layout.read_state()
    if state is None:
        fail(f"no FactoryOS installation in {escape(str(layout.root))}")
    services = Stack(layout.root).services()
    if as_json:
        console.print_json(json.dumps({"installation": state, "services": services}))
        return
    console.print(f"FactoryOS {state['version']} at [bold]{state['url']}[/] (installed {state['installed_at']})")
    table = Table("service", "state", "health", "status")
    for service in services:
        table.add_row(*(str(service.get(k, "")) for k in ("Service", "State", "Health", "Status")))
    console.print(table)


def logs(
    services: Annotated[list[str] | None, typer.Argument(help="Services (postgres, api, nginx); default all.")] = None,
    directory: DirOption = DEFAULT_DIR,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines.")] = False,
    tail: Annotated[int, typer.Option("--tail", min=0, help="Lines per service to show first.")] = 200,
) -> None:
    """Print the services' logs."""
    layout = Layout(directory.resolve())
    if layout.read_state() is None:
        fail(f"no FactoryOS installation in {escape(str(layout.root))}")
    raise typer.Exit(Stack(layout.root).logs(services or [], follow=follow, tail=tail))


def uninstall_command(
    directory: DirOption = DEFAULT_DIR,
    keep_data: Annotated[
        bool, typer.Option("--keep-data", help="Keep the database, secrets, TLS, license and backups.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove FactoryOS from this host (with --keep-data, a later install resumes with the same data)."""
    if not keep_data and not yes:
        typer.confirm("This deletes the database and every file of the installation. Continue?", abort=True)
    try:
        removed = uninstall(directory, keep_data=keep_data)
    except FactoryOSError as exc:
        fail(escape(str(exc)))
    ok("Removed " + ", ".join(removed) + (" (data kept)" if keep_data else ""))


def register(root: typer.Typer) -> None:
    root.command("install")(install)
    root.command("status")(status)
    root.command("logs")(logs)
    root.command("uninstall")(uninstall_command)
    root.command("upgrade")(upgrade)
    root.command("rollback")(rollback)
