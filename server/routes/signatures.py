"""Electronic signatures from a route: `sign_record(ctx, …)` re-authenticates the caller, stores the
signature and puts it in the request's audit chain (one `sign` row on entity `signature`).

Routes that need a signature (closing an NC disposition, approving a CAPA step, releasing an
inspection plan version, closing a work order) take `signature: SignatureIn` in their body and
call `sign_record` before changing anything else, with the record's content as it will stand.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from factoryos.errors import Unauthorized
from factoryos.signatures.models import SignatureIn, SignatureOut
from factoryos.signatures.service import Signer, sign
from factoryos.sso.reauth import consume_reauth
from server.api import Context
from server.auth import runtime_of


def signer_of(ctx: Context) -> Signer:
    if ctx.principal is None:
        raise Unauthorized("signing needs a signed-in user")
    p = ctx.principal
    return Signer(tenant_id=p.tenant_id, user_id=p.user_id, session_id=p.session_id, client_ip=ctx.client_ip,
                  user_agent=ctx.user_agent, request_id=ctx.request_id)


def sign_record(ctx: Context, *, record_type: str, record_id: UUID, content: Mapping[str, Any], body: SignatureIn,
                forbid_signer: UUID | None = None) -> SignatureOut:
    """Sign `content` (the record's canonical content) as the caller; audited with the request.

    With `body.reauth` the caller proves themselves by a fresh sign-in at their identity provider;
    the audit row records that sign-in (provider, subject, when)."""
    signer = signer_of(ctx)
    proof = None
    if body.reauth and (forbid_signer is None or forbid_signer != signer.user_id):
        proof = consume_reauth(ctx.conn, runtime_of(ctx).keys, signer.tenant_id, signer.user_id, body.reauth)
    out = sign(ctx.conn, signer, runtime_of(ctx), record_type=record_type, record_id=record_id,
               content=content, body=body, forbid_signer=forbid_signer, proof=proof)
    after = out.model_dump(mode="json", exclude={"valid"})
    if proof is not None:
        after["reauth"] = proof.audit_view()
    ctx.audit("sign", "signature", out.id, after=after)
    return out
