"""Errors of OpenID Connect sign-in; each names the provider (`extra.provider`) so the sign-in
screen can say which one failed while the local break-glass sign-in still works."""

from __future__ import annotations

from factoryos.errors import FactoryOSError


class OidcError(FactoryOSError):
    title = "Single sign-on failed"

    def __init__(self, provider: str, detail: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(f"{provider}: {detail}", code=code, status=status, extra={"provider": provider})
        self.provider = provider
        self.reason = detail


class ProviderUnreachable(OidcError):
    code = "sso_provider_unreachable"
    status = 503
    title = "Identity provider unreachable"

    def __init__(self, provider: str, detail: str) -> None:
        super().__init__(provider, f"the identity provider cannot be reached ({detail})")


class ProviderError(OidcError):
    """The provider answered, but not as OpenID Connect says (or refused a request)."""

    code = "sso_provider_error"
    status = 502


class TokenRejected(OidcError):
    """An ID token that fails validation: signature, issuer, audience, expiry or nonce."""

    code = "sso_token_invalid"
    status = 401


class DeviceCodeExpired(OidcError):
    code = "sso_device_expired"
    status = 410

    def __init__(self, provider: str) -> None:
        super().__init__(provider, "the sign-in code has expired: start the sign-in again")


class DeviceCodeUsed(OidcError):
    code = "sso_device_code_used"
    status = 409

    def __init__(self, provider: str) -> None:
        super().__init__(provider, "this sign-in code was already used: start the sign-in again")


class AccessDenied(OidcError):
    code = "sso_access_denied"
    status = 403

    def __init__(self, provider: str, detail: str = "the sign-in was declined at the identity provider") -> None:
        super().__init__(provider, detail)
