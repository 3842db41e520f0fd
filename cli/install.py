"""`factoryos install|status|logs|upgrade|rollback|uninstall` and `factoryos tls renew|import`:
the Docker Compose deployment on this host."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table

from cli.output import console, fail, ok
from cli.steps import done, run_step, step_error
from factoryos.client.health_rows import health_parts
from factoryos.errors import FactoryOSError
from installer import certs
from installer.checks import Status
from installer.deploy import AdminAccount, Installer, InstallOptions, host_timezone
from installer.layout import DEFAULT_DIR, Layout
from installer.stack import Stack
from installer.status import collect as collect_status
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
    allow_unsigned: Annotated[
        bool, typer.Option("--allow-unsigned", help="Accept a bundle without the vendor's signature (not advised).")
    ] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Only run the system checks (preflight); change nothing.")
    ] = False,
    backup_copy_to: Annotated[
        str | None,
        typer.Option("--backup-copy-to", help="Also copy every backup to this folder on other storage "
                     "(an NFS/SMB mount); `off` stops it [default: as installed].", envvar="FACTORYOS_BACKUP_COPY_TO"),
    ] = None,
    standby_of: Annotated[
        str | None,
        typer.Option("--standby-of", help="Install a warm standby of the primary at HOST[:PORT] (default: the "
                     "address in --pair-file); only its database runs until `factoryos standby promote`."),
    ] = None,
    pair_file: Annotated[
        Path | None,
        typer.Option("--pair-file", help="With --standby-of: the file `factoryos standby pair` wrote on the "
                     "primary (it holds the installation's secrets: delete it once the standby runs).",
                     exists=True, dir_okay=False),
    ] = None,
    project_name: Annotated[
        str | None,
        typer.Option("--project-name", help="Compose project name, for a second installation on one Docker "
                     "engine [default: factoryos, or the installed one].", hidden=True),
    ] = None,
) -> None:
    """Install or update FactoryOS on this host (safe to re-run: secrets and data are kept)."""
    if check:
        _preflight(directory, bind, https_port)
        return
    if standby_of is not None and pair_file is None:
        fail("--standby-of needs --pair-file: the file `factoryos standby pair` wrote on the primary")
    try:
        layout = Layout(directory.resolve())
        state = layout.read_state()
        first = state is None and not layout.has_owner(state)
    except OSError as exc:
        fail(escape(step_error(exc)))
    if first and not yes and pair_file is None:
        admin_email = admin_email or typer.prompt("Owner's email (sign-in name)")
        company = company or typer.prompt("Company name")
        city = city or typer.prompt("City of the main site")
    admin = None
    if admin_email and company and city:
        # The main site is created in the host's zone unless another is given.
        admin = AdminAccount(email=admin_email, company=company, city=city, industry=industry,
                             company_size=company_size, timezone=timezone or host_timezone())  # fmt: skip
    options = InstallOptions(
        directory=directory, bundle=bundle, bind=bind, https_port=https_port, cert=cert, key=key,
        license=license_, wait_timeout=wait_timeout, admin=admin, allow_unsigned=allow_unsigned,
        backup_copy_to=backup_copy_to, pair_file=pair_file, standby_of=standby_of, project=project_name,
    )  # fmt: skip
    try:
        installer = Installer(options)
    except (FactoryOSError, OSError) as exc:
        fail(escape(step_error(exc)))
    if bind is None and not yes and not installer.rerun:
        if not typer.confirm(f"Listen on {installer.bind_ip}:{installer.https_port}?", default=True):
            fail("Choose the address with --bind IP")
    if installer.pair is not None:
        _run_steps(installer, "standby installer")
        host, port = installer.primary
        ok(f"Warm standby of {escape(host)}:{port} installed in {escape(str(installer.layout.root))}: its database "
           "streams, the api starts when it is promoted")  # fmt: skip
        console.print(f"   Lag: factoryos standby status --install-dir {installer.layout.root}\n"
                      f"   Take over: factoryos standby promote --install-dir {installer.layout.root}, then point the "
                      f"terminals and the poller at {installer.summary.url}", highlight=False, soft_wrap=True)  # fmt: skip
        return
    _run_steps(installer, "installer")
    _print_summary(installer)


def _preflight(directory: Path, bind: str | None, https_port: int | None) -> None:
    """`install --check`: the checks `install` and `upgrade` start with, and nothing else."""
    try:
        installer = Installer(InstallOptions(directory=directory, bind=bind, https_port=https_port, check_only=True))
    except (FactoryOSError, OSError) as exc:
        fail(escape(step_error(exc)))
    console.print(f"[bold]FactoryOS preflight[/] → {escape(str(installer.layout.root))} (nothing is changed)")
    try:
        detail = run_step("System check", installer.check_system)
    except (FactoryOSError, OSError):
        _print_checks(installer)
        raise typer.Exit(1) from None
    _print_checks(installer)
    done("System check", f"{detail}: ready to install")


def _run_steps(installer: Installer, what: str) -> None:
    console.print(f"[bold]FactoryOS {what}[/] → {escape(str(installer.layout.root))}")
    for step in installer.steps():
        try:
            detail = run_step(step.title, step.run)
        except (Exception, KeyboardInterrupt):  # run_step printed why; undo, then say what is left
            if step.title == "System check":
                _print_checks(installer)
            fail(f"stopped at step “{step.title}”: {_undo(installer)}")
        if step.title == "System check":
            _print_checks(installer)
        done(step.title, detail)
        if step.title == "Bundle" and installer.manifest is not None and not installer.manifest.signed:
            console.print("   [bold red]! This bundle is not signed: nothing proves that the vendor built it "
                          "(accepted because of --allow-unsigned)[/]", soft_wrap=True)  # fmt: skip


def _undo(installer: Installer) -> str:
    """Undo what the failed run changed and say, truthfully, what is left."""
    changes = installer.undo.descriptions()
    if not changes:
        return "nothing was changed"
    problems = installer.rollback()
    if problems:
        return "rollback was incomplete: " + "; ".join(problems)
    if not installer.rerun:
        return "nothing was left installed"
    database = any("database" in change for change in changes)
    return "the previous version was restored" + (" with its pre-upgrade database" if database else "")


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
    if summary.credentials_file and summary.credentials_file.exists():
        console.print(f"   Admin credentials: {summary.credentials_file} (root only; removed at the owner's first "
                      "sign-in or after 24 hours)")  # fmt: skip
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
    allow_unsigned: Annotated[
        bool, typer.Option("--allow-unsigned", help="Accept a bundle without the vendor's signature (not advised).")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Run even if the bundle is not newer than the installed version.")
    ] = False,
) -> None:
    """Verify the bundle, back up the database, load the new images, migrate and recreate what changed."""
    try:
        upgrader = Upgrader(InstallOptions(directory=directory, bundle=bundle, wait_timeout=wait_timeout,
                                           allow_unsigned=allow_unsigned, force=force))  # fmt: skip
    except (FactoryOSError, OSError) as exc:
        fail(escape(step_error(exc)))
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
    """Return to the version before the last upgrade and its pre-upgrade database backup
    (the current database is dumped first)."""
    if not yes:
        typer.confirm("The database returns to its pre-upgrade state (the current one is dumped first). Roll back?",
                      abort=True)  # fmt: skip
    try:
        result = run_step(
            "Rollback", lambda progress: rollback_to_previous(directory, wait_timeout=wait_timeout, progress=progress)
        )
    except (FactoryOSError, OSError):  # run_step printed why
        raise typer.Exit(1) from None
    done("Rollback", f"FactoryOS {result.version} is running again with its pre-upgrade data")
    console.print(f"   Safety dump of the database before the rollback: {escape(str(result.safety_dump))}",
                  highlight=False, soft_wrap=True)  # fmt: skip


def status(
    directory: DirOption = DEFAULT_DIR,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON for scripts (same data, same exit code).")
    ] = False,
) -> None:
    """Health report of the installation. Exit code: 0 healthy, 1 degraded, 2 down."""
    report = collect_status(directory)
    if as_json:
        console.print_json(json.dumps(report.to_json()))
        raise typer.Exit(int(report.verdict))
    state = report.installation
    if state is None:
        console.print(f"[red]{escape(report.problems[0])}[/]", soft_wrap=True)
        raise typer.Exit(int(report.verdict))
    console.print(f"FactoryOS {escape(str(state.get('version')))} at [bold]{escape(str(state.get('url')))}[/] "
                  f"(installed {state.get('installed_at')}); {escape(report.engine)}",
                  highlight=False, soft_wrap=True)  # fmt: skip
    copies = f" (copied to {report.backup_copy_to})" if report.backup_copy_to else ""
    console.print(f"   Backups: {escape(report.backups_dir + copies)}", highlight=False, soft_wrap=True)
    services = Table("service", "state", "health", "status", box=None, padding=(0, 1))
    for service in report.services:
        style = "green" if service["state"] == "running" and service["health"] in ("healthy", "") else "red"
        services.add_row(service["service"], f"[{style}]{escape(service['state'])}[/]", escape(service["health"]),
                         escape(service["status"]))  # fmt: skip
    if report.services:
        console.print(Padding(services, (0, 0, 0, 3)))
    parts = Table("part", "state", "detail", box=None, padding=(0, 1))
    for part in report.parts:
        style = {"OK": "green", "PROBLEM": "bold red"}.get(part.state, "dim")
        parts.add_row(part.part, f"[{style}]{part.state}[/]", escape(part.detail))
    console.print(Padding(parts, (0, 0, 0, 3)))
    colour = {0: "green", 1: "yellow", 2: "red"}[int(report.verdict)]
    for problem in report.problems:
        console.print(f"   [{colour}]•[/] {escape(problem)}", soft_wrap=True, highlight=False)
    console.print(f"[bold {colour}]{report.verdict.label}[/] (exit code {int(report.verdict)})")
    raise typer.Exit(int(report.verdict))


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


tls_app = typer.Typer(help="Rotate the HTTPS certificate of the installation.", no_args_is_help=True)
NoReload = Annotated[bool, typer.Option("--no-reload", help="Write the files only; nginx keeps the old one.")]


@tls_app.command("renew")
def tls_renew(directory: DirOption = DEFAULT_DIR, no_reload: NoReload = False) -> None:
    """A new self-signed server certificate from the installation's CA (clients keep trusting it)."""
    _tls(lambda: certs.renew(directory), directory, no_reload)


@tls_app.command("import")
def tls_import(
    cert: Annotated[Path, typer.Option("--cert", help="Your certificate (PEM, chain after it).", exists=True,
                                       dir_okay=False)],  # fmt: skip
    key: Annotated[Path, typer.Option("--key", help="Its private key (PEM, unencrypted).", exists=True,
                                      dir_okay=False)],  # fmt: skip
    directory: DirOption = DEFAULT_DIR,
    no_reload: NoReload = False,
) -> None:
    """Use your own certificate (e.g. from the site's CA) instead of the self-signed one."""
    _tls(lambda: certs.import_certificate(directory, cert, key), directory, no_reload)


def _tls(change: Callable[[], str], directory: Path, no_reload: bool) -> None:
    try:
        detail = change()
        if not no_reload:
            certs.reload_nginx(directory)
    except (FactoryOSError, OSError) as exc:
        fail(escape(step_error(exc)))
    ok(escape(detail) + ("; nginx reloaded" if not no_reload else "; nginx uses it after its next restart"))


def register(root: typer.Typer) -> None:
    root.add_typer(tls_app, name="tls")
    root.command("install")(install)
    root.command("status")(status)
    root.command("logs")(logs)
    root.command("uninstall")(uninstall_command)
    root.command("upgrade")(upgrade)
    root.command("rollback")(rollback)
