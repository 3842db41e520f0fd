"""The license over the API: what is in force, and activating a new one (admin.system).

Activation verifies offline exactly like `factoryos license activate`, stores the file
atomically where the server loaded its license from, and puts it in force at once (the
next limit check uses it). A key that is malformed, forged, expired or for another host
answers 422 with its stable code and leaves the license in force as it was.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from factoryos.identity.permissions import INSTALLATION_ADMIN
from factoryos.licensing.active import LicenseState, activate_license
from factoryos.licensing.document import License
from factoryos.licensing.errors import LicenseError
from factoryos.licensing.gating import edition_of, limits_of
from factoryos.licensing.hostid import host_id
from factoryos.licensing.models import LicenseKey, LicenseLimits, LicenseStatus
from factoryos.licensing.usage import in_use
from factoryos.licensing.verify import verify_license
from server.api import Context, Router

router = Router(prefix="/api/v1/system", tags=("system",))

PERMISSION = "admin.system"

# Activations are serialised so the file on disk and the license in force always match.
_ACTIVATION = threading.Lock()


def _in_force(ctx: Context) -> LicenseState:
    state = ctx.state.license
    assert state is not None  # the lifespan loads it before the first request
    return state


def _status(ctx: Context, state: LicenseState) -> LicenseStatus:
    now = dt.datetime.now(dt.UTC)
    document, in_force = state.document, state.in_force(now)
    detail = state.problem
    if detail is None and document is None:
        detail = "no license activated: the evaluation allowance applies"
    elif detail is None and document is not None and in_force is None:
        detail = f"expired on {document.expires_at:%Y-%m-%d}: the evaluation allowance applies"
    used = {kind: in_use(ctx.conn, ctx.tenant_id, kind) for kind in ("machines", "users", "sites")}
    return LicenseStatus(
        status=state.status(now),
        valid=in_force is not None,
        evaluation=in_force is None,
        edition=edition_of(in_force).value,
        customer=document.customer if document else None,
        license_id=document.license_id if document else None,
        issued_at=document.issued_at if document else None,
        expires_at=document.expires_at if document else None,
        days_left=document.days_left(now) if document else None,
        bound_to_host=document.host_id if document else None,
        host_id=host_id(),
        limits=LicenseLimits(**limits_of(in_force).model_dump()),
        in_use=LicenseLimits(**used),
        code=state.code,
        detail=detail,
    )


def _summary(document: License | None) -> dict[str, Any] | None:
    if document is None:
        return None
    return document.model_dump(mode="json", include={"license_id", "customer", "edition", "limits", "issued_at",
                                                     "expires_at", "host_id"})


@router.get("/license", permission=PERMISSION, response=LicenseStatus)
def license_status(ctx: Context) -> LicenseStatus:
    """The license in force (or the evaluation allowance), its limits and this company's use of them."""
    return _status(ctx, _in_force(ctx))


@router.put("/license", permission=INSTALLATION_ADMIN, body=LicenseKey, response=LicenseStatus)
def activate(ctx: Context, body: LicenseKey) -> LicenseStatus:
    """Activate a license key: verified offline, stored atomically, in force at once."""
    with _ACTIVATION:
        current = _in_force(ctx)
        try:
            document = verify_license(body.key)
        except LicenseError as exc:
            raise LicenseError(exc.detail, code=exc.code, field="key", status=422) from None
        # Audit first: a failed write below rolls the row back with the request.
        ctx.audit("activate", "license", document.license_id, before=_summary(current.document),
                  after=_summary(document))
        ctx.state.license = activate_license(current, body.key)
    return _status(ctx, _in_force(ctx))
