"""Sign-in, session and two-factor calls."""

from __future__ import annotations

from uuid import UUID

from factoryos.client.errors import ClientError
from factoryos.client.models import CompanyRef, Enrollment, Me, RecoveryCodes, SignIn
from factoryos.client.transport import Transport


def companies_of(error: ClientError) -> list[CompanyRef]:
    """The companies a `company_required` answer lists, to let the user choose one."""
    return [CompanyRef.model_validate(c) for c in error.extra.get("companies", [])]


class AuthApi:
    t: Transport

    async def login(
        self,
        email: str,
        password: str,
        *,
        totp_code: str | None = None,
        recovery_code: str | None = None,
        company_id: UUID | None = None,
    ) -> SignIn:
        """Sign in; keeps the tokens when the answer names a company.

        Raises ClientError with code `mfa_required`, `invalid_totp`, `invalid_credentials`,
        `account_locked` (with `retry_after`) or `company_required` (see `companies_of`).
        """
        body = {"email": email, "password": password, "totp_code": totp_code or None,
                "recovery_code": recovery_code or None, "company_id": str(company_id) if company_id else None}
        signin: SignIn = await self.t.send("POST", "/auth/login", SignIn,
                                           json={k: v for k, v in body.items() if v is not None}, auth=False)
        if signin.company is not None:
            self.t.set_tokens(signin.access_token, signin.refresh_token, signin.expires_in)
        return signin

    async def accept_invite(
        self,
        code: str,
        email: str,
        password: str,
        *,
        display_name: str | None = None,
        totp_code: str | None = None,
        recovery_code: str | None = None,
    ) -> SignIn:
        """Join a company with an invite code (a new account, or an existing one with its
        password) and keep the tokens. Raises `invite_*`, `mfa_required`, `invalid_credentials`…"""
        body = {"code": code, "email": email, "password": password, "display_name": display_name or None,
                "totp_code": totp_code or None, "recovery_code": recovery_code or None}
        signin: SignIn = await self.t.send("POST", "/invites/accept", SignIn,
                                           json={k: v for k, v in body.items() if v is not None}, auth=False)
        self.t.set_tokens(signin.access_token, signin.refresh_token, signin.expires_in)
        return signin

    async def logout(self, *, everywhere: bool = False) -> None:
        if self.t.tokens is None:
            return
        try:
            await self.t.send("POST", "/auth/logout", json={"everywhere": everywhere})
        finally:
            self.t.tokens = None

    @property
    def signed_in(self) -> bool:
        return self.t.tokens is not None

    async def me(self) -> Me:
        return await self.t.get("/auth/me", Me)

    async def mfa_enroll(self) -> Enrollment:
        return await self.t.send("POST", "/auth/mfa/enroll", Enrollment)

    async def mfa_confirm(self, code: str) -> RecoveryCodes:
        return await self.t.send("POST", "/auth/mfa/confirm", RecoveryCodes, json={"code": code.strip()})

    async def mfa_disable(self, password: str, totp_code: str) -> None:
        await self.t.send("POST", "/auth/mfa/disable", json={"password": password, "totp_code": totp_code.strip()})
