"""`factoryos user …`: first admin and password resets, on the server host (database direct)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated
from uuid import UUID

import typer
from sqlalchemy import Connection

from factoryos.config import Settings
from factoryos.db.engine import database, make_engine
from factoryos.identity.admin import CLI_AGENT, create_admin, reset_password, set_installation_admin
from factoryos.identity.companies import CompanyDetails, NewCompany
from factoryos.identity.runtime import IdentityRuntime
from factoryos.identity.validation import COMPANY_SIZES
from factoryos.audit.writer import AuditEvent, record
from factoryos.plant.models import SiteIn
from factoryos.plant.sites import create_site
from cli.output import console, ok

app = typer.Typer(
    help="Accounts: create the first admin, reset passwords (run on the server host).", no_args_is_help=True
)


@contextmanager
def _transaction(settings: Settings) -> Iterator[Connection]:
    # A fresh embedded data directory gets its roles and schema first, as `serve` would.
    with database(settings, prepare=settings.embedded) as urls:
        engine = make_engine(urls.app, pool_size=1, application_name="factoryos-cli")
        try:
            with engine.begin() as conn:
                yield conn
        finally:
            engine.dispose()


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from the first line of standard input (for scripts)."),
]
JsonOut = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


@app.command("create-admin")
def create_admin_cmd(
    email: Annotated[str, typer.Option(help="The owner's email (their sign-in name).")],
    name: Annotated[str, typer.Option(help="The owner's display name.")],
    company: Annotated[str, typer.Option(help="Company name.")],
    industry: Annotated[str, typer.Option(help="Industry, e.g. 'Metalworking'.")],
    size: Annotated[str, typer.Option(help=f"Company size: {', '.join(COMPANY_SIZES)}.")],
    city: Annotated[str, typer.Option(help="City of the main site.")],
    currency: Annotated[str, typer.Option(help="Default currency, ISO 4217 (e.g. EUR).")] = "EUR",
    timezone: Annotated[
        str | None, typer.Option(help="IANA time zone of the main site, e.g. Europe/Berlin (none: no site yet).")
    ] = None,
    site_code: Annotated[str, typer.Option("--site-code", help="Code of the main site.")] = "MAIN",
    password_stdin: PasswordStdin = False,
    json_out: JsonOut = False,
) -> None:
    """Create a company and its owner account (the installer's first step)."""
    settings = Settings()
    details = CompanyDetails.validated(
        name=company, industry=industry, company_size=size, city=city, default_currency=currency, timezone=timezone
    )
    password = _password(password_stdin)
    rt = IdentityRuntime.from_settings(settings)
    site = None
    if details.timezone:
        # Checked before anything is written: a bad code refuses the whole setup.
        site = SiteIn(name=details.city, code=site_code, timezone=details.timezone)
    with _transaction(settings) as conn:
        created = create_admin(conn, rt, email=email, password=password, display_name=name, details=details)
        site_id = _main_site(conn, created, site) if site else None
    if json_out:
        console.print_json(
            data={
                "user_id": str(created.owner["id"]),
                "company_id": str(created.tenant_id),
                "email": created.owner["email"],
                "site_id": str(site_id) if site_id else None,
            }
        )
    else:
        ok(f"{created.owner['email']} owns {details.name!r} (company {created.tenant_id})")
        if site:
            ok(f"main site {site.code} {site.name!r} in {site.timezone}")


def _main_site(conn: Connection, created: NewCompany, site: SiteIn) -> UUID:
    """The company's first site, from the city and time zone the installer asked for."""
    row = create_site(conn, created.tenant_id, site)
    record(conn, AuditEvent(tenant_id=created.tenant_id, action="create", entity_type="site",
                            entity_id=str(row["id"]), actor_id=created.owner["id"],
                            after={"name": site.name, "code": site.code, "timezone": site.timezone},
                            user_agent=CLI_AGENT))
    return row["id"]


@app.command("reset-password")
def reset_password_cmd(
    email: Annotated[str, typer.Option(help="The account's email.")],
    reset_mfa: Annotated[
        bool, typer.Option("--reset-mfa", help="Also turn off two-factor sign-in (lost device).")
    ] = False,
    password_stdin: PasswordStdin = False,
    json_out: JsonOut = False,
) -> None:
    """Set a new password, clear the lockout and end the account's sessions everywhere."""
    settings = Settings()
    password = _password(password_stdin)
    rt = IdentityRuntime.from_settings(settings)
    with _transaction(settings) as conn:
        result = reset_password(conn, rt, email=email, password=password, reset_mfa=reset_mfa)
    if json_out:
        console.print_json(data={"user_id": str(result.user_id), "sessions_ended": result.sessions_ended})
    else:
        ok(f"password reset for {email}; {result.sessions_ended} session(s) ended in {result.companies} company(ies)")


@app.command("installation-admin")
def installation_admin_cmd(
    email: Annotated[str, typer.Option(help="The account's email.")],
    revoke: Annotated[bool, typer.Option("--revoke", help="No longer an installation administrator.")] = False,
) -> None:
    """Let an account run what spans every company (backups, restores, the license) where it
    holds admin.system; `create-admin` makes its account one already."""
    settings = Settings()
    with _transaction(settings) as conn:
        companies = set_installation_admin(conn, email=email, on=not revoke)
    state = "is no longer" if revoke else "is now"
    ok(f"{email} {state} an installation administrator (recorded in {companies} company audit trail(s))")
