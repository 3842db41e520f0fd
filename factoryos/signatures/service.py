"""Signing a record and reading its signatures.

At signing the signer proves again who they are: their password, and the current TOTP code
when they enrolled one; a terminal left signed in does not sign for them. A wrong attempt is
recorded (audit row, count) in a transaction of its own, so it stays although the request
fails; the second in a row ends the session. A signature row keeps the canonical content as
signed and its SHA-256; `valid` compares that hash with the record's content now.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Engine, RowMapping, delete, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from factoryos.audit.writer import AuditEvent, record
from factoryos.db.tenant import tenant_transaction
from factoryos.errors import Unauthorized
from factoryos.identity import mfa
from factoryos.identity.runtime import IdentityRuntime
from factoryos.identity.sessions import revoke_session
from factoryos.schema.identity import users
from factoryos.schema.signatures import signature_failures, signatures
from factoryos.signatures.canonical import content_hash, to_canonical
from factoryos.signatures.errors import SignatureInvalid, same_person, totp_required
from factoryos.signatures.models import SignatureIn, SignatureOut
from factoryos.sso.reauth import ReauthProof, directory_password_ok, needs_provider, reauth_required

# Wrong signing credentials in a row (per session) that end the session.
MAX_FAILURES = 2
REVOKE_REASON = "signature_failures"


@dataclass(frozen=True)
class Signer:
    """Who is signing, as the verified request says, and where the request came from (for the audit rows)."""

    tenant_id: UUID
    user_id: UUID
    session_id: UUID | None
    client_ip: str = ""
    user_agent: str = ""
    request_id: str = ""


def sign(
    conn: Connection,
    signer: Signer,
    rt: IdentityRuntime,
    *,
    record_type: str,
    record_id: UUID,
    content: Mapping[str, Any],
    body: SignatureIn,
    forbid_signer: UUID | None = None,
    proof: ReauthProof | None = None,
) -> SignatureOut:
    """Re-authenticate the signer and store their signature of `content` (the record as it is now).

    Raises SignatureInvalid (403 `signature_invalid`) on a wrong password or code, after
    recording the attempt outside the request's transaction; `signature_same_person` when
    `forbid_signer` is the signer (a second person must sign); `signature_totp_required` (422)
    when the signer enrolled TOTP and gave no code.
    """
    if forbid_signer is not None and forbid_signer == signer.user_id:
        raise same_person()
    # FOR NO KEY UPDATE: TOTP steps are consumed (no replay), yet the failure path's own transaction
    # must still insert rows that reference this user (a key-share lock), or it would wait on us.
    user = conn.execute(select(users).where(users.c.id == signer.user_id).with_for_update(key_share=True)
                        ).mappings().first()
    if user is None:
        raise Unauthorized("this account no longer exists", code="user_not_found")
    if proof is not None:
        # A fresh sign-in at the identity provider (checked by consume_reauth) stands for password and code.
        return _store(conn, signer, user, record_type, record_id, content, body, f"sso:{proof.kind}")
    if body.password is None:
        raise reauth_required(conn, signer.tenant_id, signer.user_id)
    password_ok = rt.passwords.verify(user["password_hash"], body.password)
    method = "password"
    if not password_ok:
        # A person who signs in with the company's directory password signs with it too.
        directory = directory_password_ok(conn, rt.keys, signer.tenant_id, user, body.password)
        if directory:
            password_ok, method = True, "directory"
        elif directory is None and needs_provider(user):
            # No password exists for this account: say how to sign instead of counting a failure.
            raise reauth_required(conn, signer.tenant_id, signer.user_id)
    second_ok = True
    if password_ok and user["totp_enabled"]:
        if not body.totp:
            raise totp_required()
        second_ok = mfa.second_factor_ok(conn, rt, user, code=body.totp.strip(), recovery_code=None)
        method += "+totp"
    if not (password_ok and second_ok):
        field = "signature.password" if not password_ok else "signature.totp"
        ended = _record_failure(conn.engine, signer, record_type, record_id, body, field)
        what = "the password" if not password_ok else "the authenticator code"
        detail = f"{what} is not correct: nothing was signed"
        if ended:
            detail += "; a second wrong attempt in a row ended this session: sign in again"
        raise SignatureInvalid(detail, field=field, extra={"session_ended": ended})
    return _store(conn, signer, user, record_type, record_id, content, body, method)


def _store(conn: Connection, signer: Signer, user: RowMapping, record_type: str, record_id: UUID,
           content: Mapping[str, Any], body: SignatureIn, method: str) -> SignatureOut:
    if signer.session_id is not None:
        conn.execute(delete(signature_failures).where(signature_failures.c.tenant_id == signer.tenant_id,
                                                      signature_failures.c.session_id == signer.session_id))
    canonical = to_canonical(content)
    row = conn.execute(insert(signatures).values(
        tenant_id=signer.tenant_id, record_type=record_type, record_id=record_id, signer_id=user["id"],
        signer_name=user["display_name"] or user["email"], signer_email=user["email"], meaning=body.meaning,
        reason=(body.reason or "").strip() or None, content_hash=content_hash(canonical), content=canonical,
        method=method, session_id=signer.session_id,
    ).returning(signatures)).mappings().one()
    return _out(row, row["content_hash"])


def signatures_for(conn: Connection, tenant_id: UUID, record_type: str, record_id: UUID,
                   content: Mapping[str, Any]) -> list[SignatureOut]:
    """The record's signatures, oldest first, each `valid` only if `content` (the record now) is what was signed."""
    current = content_hash(content)
    rows = conn.execute(select(signatures).where(
        signatures.c.tenant_id == tenant_id, signatures.c.record_type == record_type,
        signatures.c.record_id == record_id).order_by(signatures.c.signed_at, signatures.c.id)).mappings().all()
    return [_out(r, current) for r in rows]


def signed_content(conn: Connection, tenant_id: UUID, signature_id: UUID) -> dict[str, Any] | None:
    """What one signature signed, as stored (to show what changed since)."""
    return conn.execute(select(signatures.c.content).where(
        signatures.c.tenant_id == tenant_id, signatures.c.id == signature_id)).scalar_one_or_none()


def _out(row: RowMapping, current_hash: str) -> SignatureOut:
    return SignatureOut(
        id=row["id"], record_type=row["record_type"], record_id=row["record_id"], signer_id=row["signer_id"],
        signer_name=row["signer_name"], signer_email=row["signer_email"], meaning=row["meaning"],
        reason=row["reason"], signed_at=row["signed_at"], content_hash=row["content_hash"], method=row["method"],
        valid=row["content_hash"] == current_hash)


def _record_failure(engine: Engine, signer: Signer, record_type: str, record_id: UUID, body: SignatureIn,
                    field: str) -> bool:
    """Count and audit a wrong attempt in a transaction of its own (the request's rolls back); end the
    session at the second in a row. True when the session was ended."""
    ended = False
    with tenant_transaction(engine, signer.tenant_id, signer.user_id) as side:
        failures = 1
        if signer.session_id is not None:
            t = signature_failures
            upsert = pg_insert(t).values(tenant_id=signer.tenant_id, session_id=signer.session_id,
                                         user_id=signer.user_id, failures=1)
            failures = side.execute(upsert.on_conflict_do_update(
                index_elements=[t.c.tenant_id, t.c.session_id],
                set_={"failures": t.c.failures + 1, "last_failed_at": upsert.excluded.last_failed_at},
            ).returning(t.c.failures)).scalar_one()
        _audit(side, signer, "signature_failed", record_type, record_id,
               {"meaning": body.meaning, "field": field, "failures_in_a_row": failures})
        if signer.session_id is not None and failures >= MAX_FAILURES:
            ended = revoke_session(side, signer.tenant_id, signer.session_id, REVOKE_REASON)
            side.execute(delete(signature_failures).where(signature_failures.c.tenant_id == signer.tenant_id,
                                                          signature_failures.c.session_id == signer.session_id))
            _audit(side, signer, "session_revoked", "session", signer.session_id, {"reason": REVOKE_REASON})
    return ended


def _audit(conn: Connection, signer: Signer, action: str, entity_type: str, entity_id: UUID,
           after: dict[str, Any]) -> None:
    record(conn, AuditEvent(tenant_id=signer.tenant_id, action=action, entity_type=entity_type,
                            entity_id=str(entity_id), actor_id=signer.user_id, after=after,
                            client_ip=signer.client_ip, user_agent=signer.user_agent, request_id=signer.request_id))
