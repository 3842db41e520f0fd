"""Signing a terminal in through the company's OpenID Connect provider (device handoff)."""

from __future__ import annotations

from uuid import UUID

from factoryos.client.transport import Transport
from factoryos.sso.oidc_models import DevicePollOut, DeviceStartOut


class SsoDeviceApi:
    t: Transport

    async def sso_device_start(self, *, email: str | None = None, provider_id: UUID | None = None,
                               company_id: UUID | None = None) -> DeviceStartOut:
        """A code and a page for the person's phone or PC. Raises ClientError `sso_no_provider`,
        `sso_provider_unreachable` (naming the provider), `sso_device_unsupported`…"""
        body = {"email": email, "provider_id": str(provider_id) if provider_id else None,
                "company_id": str(company_id) if company_id else None}
        return await self.t.send("POST", "/auth/sso/device", DeviceStartOut,
                                 json={k: v for k, v in body.items() if v is not None}, auth=False)

    async def sso_device_poll(self, handle: str) -> DevicePollOut:
        """pending / slow_down (wait `interval` seconds), or signed in: the tokens are kept.
        Raises ClientError `sso_access_denied`, `sso_device_expired`, `sso_device_code_used`,
        `sso_no_role`…"""
        answer: DevicePollOut = await self.t.send("POST", "/auth/sso/device/poll", DevicePollOut,
                                                  json={"handle": handle}, auth=False)
        signin = answer.sign_in
        if signin is not None and signin.company is not None:
            self.t.set_tokens(signin.access_token, signin.refresh_token, signin.expires_in)
        return answer
