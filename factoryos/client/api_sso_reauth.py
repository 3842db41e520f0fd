"""Confirming who one is at the identity provider before an electronic signature (people who
sign in only through OIDC or SAML): a code and a page like the device sign-in, then the signature
carries the handle (`signature.reauth`)."""

from __future__ import annotations

from factoryos.client.transport import Transport
from factoryos.sso.oidc_models import DeviceStartOut
from factoryos.sso.reauth_models import ReauthStatusOut


class SsoReauthApi:
    t: Transport

    async def sso_reauth_start(self) -> DeviceStartOut:
        """A code and a page where the provider makes the signed-in person sign in again.
        Raises ClientError `sso_no_provider` when they sign in with a password."""
        return await self.t.send("POST", "/auth/sso/reauth", DeviceStartOut, json={})

    async def sso_reauth_status(self, handle: str) -> ReauthStatusOut:
        """pending (ask again after `interval` s), confirmed (sign with reauth=handle) or refused."""
        return await self.t.get("/auth/sso/reauth/status", ReauthStatusOut, params={"handle": handle})
