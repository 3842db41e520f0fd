"""TOTP enrollment, confirmation, removal, and checking a second factor at sign-in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from uuid import UUID

from sqlalchemy import Connection, RowMapping, update

from factoryos.errors import Conflict, PermissionDenied
from factoryos.identity import totp
from factoryos.identity.accounts import require_user
from factoryos.identity.runtime import IdentityRuntime
from factoryos.schema.identity import users


@dataclass(frozen=True)
class Enrollment:
    secret: str
    otpauth_uri: str


def begin_enrollment(conn: Connection, rt: IdentityRuntime, user_id: UUID) -> Enrollment:
    user = require_user(conn, user_id, for_update=True)
    if user["totp_enabled"]:
        raise Conflict("two-factor sign-in is already on; disable it first to enroll again", code="mfa_already_enabled")
    secret = totp.new_secret()
    conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(
            totp_secret=totp.encrypt_secret(rt.keys, secret), totp_last_step=None, updated_at=datetime.now(timezone.utc)
        )
    )
    return Enrollment(secret, totp.provisioning_uri(secret, user["email"]))


def confirm_enrollment(conn: Connection, rt: IdentityRuntime, user_id: UUID, code: str) -> list[str]:
    """Turn MFA on once the user proves their app has the secret; returns the recovery codes (shown once)."""
    user = require_user(conn, user_id, for_update=True)
    if user["totp_enabled"]:
        raise Conflict("two-factor sign-in is already on", code="mfa_already_enabled")
    if not user["totp_secret"]:
        raise Conflict("start with POST /auth/mfa/enroll", code="mfa_not_enrolling")
    step = totp.matching_step(totp.decrypt_secret(rt.keys, user["totp_secret"]), code, after_step=None)
    if step is None:
        raise PermissionDenied(
            "that code is not valid; check the device clock and try again", code="invalid_totp", field="code"
        )
    codes = totp.new_recovery_codes()
    conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(
            totp_enabled=True,
            totp_last_step=step,
            recovery_code_hashes=[totp.hash_recovery_code(rt.keys, c) for c in codes],
            updated_at=datetime.now(timezone.utc),
        )
    )
    return codes


def second_factor_ok(
    conn: Connection, rt: IdentityRuntime, user: RowMapping, *, code: str | None, recovery_code: str | None
) -> bool:
    """Check a TOTP code (no replay) or consume a recovery code. `user` must be locked FOR UPDATE."""
    now = datetime.now(timezone.utc)
    if code:
        secret = totp.decrypt_secret(rt.keys, user["totp_secret"])
        step = totp.matching_step(secret, code, after_step=user["totp_last_step"], now=now)
        if step is None:
            return False
        conn.execute(update(users).where(users.c.id == user["id"]).values(totp_last_step=step))
        return True
    if recovery_code:
        match = totp.find_recovery_code(rt.keys, list(user["recovery_code_hashes"]), recovery_code)
        if match is None:
            return False
        remaining = [h for h in user["recovery_code_hashes"] if h != match]
        conn.execute(update(users).where(users.c.id == user["id"]).values(recovery_code_hashes=remaining))
        return True
    return False


def disable(
    conn: Connection, rt: IdentityRuntime, user_id: UUID, *, password: str, code: str | None, recovery_code: str | None
) -> None:
    """Turning MFA off needs the password and a current second factor."""
    user = require_user(conn, user_id, for_update=True)
    if not user["totp_enabled"]:
        raise Conflict("two-factor sign-in is not on", code="mfa_not_enabled")
    if not rt.passwords.verify(user["password_hash"], password):
        raise PermissionDenied("the password is not correct", code="invalid_credentials", field="password")
    if not second_factor_ok(conn, rt, user, code=code, recovery_code=recovery_code):
        raise PermissionDenied("that code is not valid", code="invalid_totp", field="code")
    reset(conn, user_id)


def reset(conn: Connection, user_id: UUID) -> None:
    conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(
            totp_enabled=False,
            totp_secret=None,
            totp_last_step=None,
            recovery_code_hashes=[],
            updated_at=datetime.now(timezone.utc),
        )
    )
