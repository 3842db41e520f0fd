"""Identity errors with stable codes.

Credential failures carry the account id (when there is one) so the caller can audit
them, but their message is the same whether or not the account exists.
"""

from __future__ import annotations

from uuid import UUID

from factoryos.errors import Conflict, FactoryOSError, NotFound, PermissionDenied, RateLimited, Unauthorized


class CredentialError(Unauthorized):
    """A login attempt that must be recorded (lockout counter, audit) before answering."""

    def __init__(self, detail: str, *, user_id: UUID | None = None, **kw: object) -> None:
        super().__init__(detail, **kw)  # type: ignore[arg-type]
        self.user_id = user_id


class InvalidCredentials(CredentialError):
    code = "invalid_credentials"


class InvalidTotp(CredentialError):
    code = "invalid_totp"


class MfaRequired(CredentialError):
    code = "mfa_required"


class AccountLocked(CredentialError):
    code = "account_locked"
    status = 429
    title = RateLimited.title
    repeated = False  # an attempt while already locked: counted, not audited again
    failures = 0  # the failures that led to this lock


class RefreshRejected(Unauthorized):
    code = "invalid_refresh_token"


class RefreshReused(RefreshRejected):
    """Raised after the session was revoked; names it so the caller can audit that."""

    code = "refresh_reused"

    def __init__(self, detail: str, *, tenant_id: UUID, user_id: UUID, session_id: UUID) -> None:
        super().__init__(detail)
        self.tenant_id, self.user_id, self.session_id = tenant_id, user_id, session_id


class InviteNotFound(NotFound):
    code = "invite_not_found"


class InviteUsed(Conflict):
    code = "invite_used"


class InviteExpired(FactoryOSError):
    code = "invite_expired"
    status = 410
    title = "Gone"


class InviteRevoked(InviteExpired):
    code = "invite_revoked"


class OwnerImmutable(PermissionDenied):
    code = "owner_immutable"
