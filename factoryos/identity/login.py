"""Checking credentials at sign-in and choosing the company the session is for.

Unknown email and wrong password take the same path (a dummy hash is verified), give the
same error, and count toward the same lockout. `check_credentials` records failures in
the caller's transaction and then raises a CredentialError: the caller must commit (answer
the error without rolling back), or the lockout counter would never move.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from uuid import UUID

from sqlalchemy import Connection, RowMapping, update

from factoryos.errors import Conflict, NotFound
from factoryos.identity import lockout, mfa
from factoryos.identity.accounts import CompanyChoice, find_by_email, user_companies
from factoryos.identity.errors import CredentialError, InvalidCredentials, InvalidTotp, MfaRequired
from factoryos.identity.runtime import IdentityRuntime
from factoryos.schema.identity import users

log = logging.getLogger(__name__)


def check_credentials(
    conn: Connection,
    rt: IdentityRuntime,
    *,
    email: str,
    password: str,
    totp_code: str | None = None,
    recovery_code: str | None = None,
    client_ip: str,
) -> RowMapping:
    """The active account these credentials prove, locked FOR UPDATE."""
    key = lockout.throttle_keys(rt, email, client_ip)
    found = find_by_email(conn, email)
    user_id = found["id"] if found else None
    try:
        lockout.ensure_not_locked(conn, key)
    except CredentialError as exc:
        exc.user_id = user_id
        raise
    user = None
    if found is not None:
        user = conn.execute(users.select().where(users.c.id == found["id"]).with_for_update()).mappings().one()
    valid = rt.passwords.verify(user["password_hash"] if user else None, password)
    if not valid or user is None or user["status"] != "active":
        _fail(conn, rt, key, InvalidCredentials("email or password is not correct", user_id=user_id))
    if user["totp_enabled"]:
        if not totp_code and not recovery_code:
            raise MfaRequired(
                "enter the 6-digit code from your authenticator app (or a recovery code)",
                user_id=user_id,
                field="totp_code",
            )
        if not mfa.second_factor_ok(conn, rt, user, code=totp_code, recovery_code=recovery_code):
            _fail(conn, rt, key, InvalidTotp("that code is not valid", user_id=user_id, field="totp_code"))
    lockout.clear(conn, key)
    values: dict[str, object] = {"last_login_at": datetime.now(timezone.utc)}
    if rt.passwords.needs_rehash(user["password_hash"]):
        values["password_hash"] = rt.passwords.hash(password)
    conn.execute(update(users).where(users.c.id == user["id"]).values(**values))
    return user


def _fail(conn: Connection, rt: IdentityRuntime, key: lockout.ThrottleKeys, error: CredentialError) -> None:
    locked = lockout.record_failure(conn, rt.policy, key)
    if error.user_id is None:
        log.info("failed sign-in for an unknown email (throttle key %s)", key.pair[:12])
    if locked is not None:
        locked.user_id = error.user_id
        raise locked
    raise error


def choose_company(
    conn: Connection, user_id: UUID, company_id: UUID | None
) -> tuple[CompanyChoice | None, list[CompanyChoice]]:
    """The company to sign in to (None: the account has none yet) and all of the user's companies."""
    companies = user_companies(conn, user_id)
    if company_id is not None:
        for choice in companies:
            if choice.tenant_id == company_id:
                return choice, companies
        raise NotFound("you are not a member of that company", code="company_not_found", field="company_id")
    if len(companies) > 1:
        raise Conflict(
            "you belong to several companies: choose one with company_id",
            code="company_required",
            field="company_id",
            extra={"companies": [{"id": str(c.tenant_id), "name": c.name, "role": c.role} for c in companies]},
        )
    return (companies[0] if companies else None), companies
