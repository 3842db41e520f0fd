"""`factoryos login` / `factoryos logout`: a supervisor's session on a FactoryOS server.

Register with `login.register(app)` (adds the two top-level commands).
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer
from rich.markup import escape

from cli.output import console, fail, ok
from cli.session import StoredSession, clear_session, load_session, save_session
from factoryos.client import (
    ClientError,
    FactoryClient,
    companies_of,
    default_config_path,
    load_profile,
    normalize_fingerprint,
    normalize_server_url,
    save_profile,
)
from factoryos.client.profile import ServerTrust
from factoryos.client.trust import Trust
from tui.widgets.qr import qr_text

SERVER_HELP = "Server address, e.g. https://factory.lan (default: the last one used)."


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True)


def login(
    server: Annotated[str | None, typer.Option("--server", "-s", help=SERVER_HELP)] = None,
    email: Annotated[str | None, typer.Option("--email", "-e", help="Your sign-in email.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")
    ] = False,
    totp: Annotated[str | None, typer.Option("--totp", help="Current code of your authenticator app.")] = None,
    company: Annotated[
        UUID | None, typer.Option("--company", help="Company id, for accounts in several companies.")
    ] = None,
    ca_file: Annotated[
        Path | None, typer.Option("--ca-file", exists=True, dir_okay=False, help="Trust the server's CA from this file.")
    ] = None,
    fingerprint: Annotated[
        str | None, typer.Option("--fingerprint", help="Trust the server certificate with this SHA-256 fingerprint.")
    ] = None,
    sso: Annotated[
        bool, typer.Option("--sso", help="Sign in through your company's identity provider: enter the code shown "
                                         "here on your phone or PC (no password typed here).")
    ] = False,
) -> None:
    """Sign in to a FactoryOS server; the session is kept for `factoryos report …`."""
    config = default_config_path()
    profile = load_profile(config)
    try:
        url = normalize_server_url(server or profile.server or "")
        pin = normalize_fingerprint(fingerprint) if fingerprint else None
    except ClientError as exc:
        fail(escape(exc.detail) if server or profile.server else "give the server address with --server URL")
    except ValueError as exc:
        fail(f"--fingerprint: {escape(str(exc))}")
    if ca_file is not None:
        profile.trust.setdefault(url, ServerTrust()).ca_file = str(ca_file.resolve())
    if pin is not None:
        profile.pin(url, pin)
    address = email or profile.email or typer.prompt("Email")
    if sso:
        signin = asyncio.run(sso_device_sign_in(url, profile.trust_for(url), address))
    else:
        secret = _password(password_stdin)
        signin = asyncio.run(_sign_in(url, profile.trust_for(url), address, secret, totp, company))
    profile.server, profile.email = url, address
    save_profile(config, profile)
    save_session(signin)
    ok(f"Signed in to {escape(url)} as {escape(address)} ({escape(signin.company or '')}).")


async def _sign_in(url: str, trust: Trust, email: str, password: str, totp: str | None,
                   company: UUID | None) -> StoredSession:
    async with FactoryClient(url, trust=trust) as client:
        try:
            answer = await client.login(email, password, totp_code=totp, company_id=company)
        except ClientError as exc:
            fail(escape(_login_problem(exc)))
        assert client.t.tokens is not None and answer.company is not None
        tokens = client.t.tokens
        return StoredSession(
            server=url, email=email, company=answer.company.name, access_token=tokens.access,
            refresh_token=tokens.refresh, access_expires_at=time.time() + answer.expires_in,
        )


async def sso_device_sign_in(url: str, trust: Trust, email: str) -> StoredSession:
    """The device handoff: show the code, the page and a QR code, then wait for the person."""
    async with FactoryClient(url, trust=trust) as client:
        try:
            start = await client.sso_device_start(email=email)
        except ClientError as exc:
            fail(escape(exc.detail))
        link = start.verification_uri_complete or start.verification_uri
        console.print(f"Sign in with [bold]{escape(start.provider_name)}[/]: on your phone or PC open\n"
                      f"  {escape(start.verification_uri)}\nand enter the code  [bold]{escape(start.user_code)}[/]"
                      "\n(or scan this QR code):", highlight=False, soft_wrap=True)
        console.print(qr_text(link))
        console.print("Waiting for you to sign in there… (Ctrl-C to stop)", highlight=False)
        interval = start.interval
        deadline = time.monotonic() + start.expires_in + interval
        try:
            while time.monotonic() < deadline:
                await asyncio.sleep(interval)
                try:
                    answer = await client.sso_device_poll(start.handle)
                except ClientError as exc:
                    fail(escape(exc.detail))
                interval = max(interval, answer.interval)
                signin = answer.sign_in
                if signin is not None:
                    tokens = client.t.tokens
                    if signin.company is None or tokens is None:
                        fail("signed in, but without a company: ask your administrator for access")
                    return StoredSession(
                        server=url, email=signin.account.email, company=signin.company.name,
                        access_token=tokens.access, refresh_token=tokens.refresh,
                        access_expires_at=time.time() + signin.expires_in,
                    )
        except (KeyboardInterrupt, asyncio.CancelledError):
            fail("sign-in stopped")
        fail("the sign-in code expired before it was used: run `factoryos login --sso` again")


def _login_problem(exc: ClientError) -> str:
    if exc.code == "mfa_required":
        return "this account uses two-factor sign-in: add --totp CODE from your authenticator app"
    if exc.code == "company_required":
        listed = ", ".join(f"{c.name} ({c.id})" for c in companies_of(exc))
        return f"this account belongs to several companies: add --company ID, one of: {listed}"
    return exc.detail


def logout() -> None:
    """Sign out: end the session on the server and forget it here."""
    session = load_session()
    if session is None:
        ok("Not signed in.")
        return
    warning = asyncio.run(_end(session))
    clear_session()
    ok(f"Signed out of {escape(session.server)}." + (f" ({escape(warning)})" if warning else ""))


async def _end(session: StoredSession) -> str | None:
    """End the session on the server; a problem there is reported, the local tokens go anyway."""
    trust = load_profile(default_config_path()).trust_for(session.server)
    async with FactoryClient(session.server, trust=trust) as client:
        client.t.set_tokens(session.access_token, session.refresh_token,
                            max(0, int(session.access_expires_at - time.time())))
        try:
            await client.logout()
        except ClientError as exc:
            return f"the server did not confirm: {exc.detail}"
    return None


def register(app: typer.Typer) -> None:
    app.command("login")(login)
    app.command("logout")(logout)
