"""Single sign-on: what the sign-in screen offers, and a company's identity providers (admin)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from factoryos.client.transport import Transport
from factoryos.sso.models import (
    AuthConfig,
    ProviderIn,
    ProviderList,
    ProviderOut,
    ProviderPatch,
    ProviderTestIn,
    ProviderTestOut,
    SsoSettings,
    SsoSettingsPatch,
)
from factoryos.sso.scim_models import ScimStatus, ScimTokenIn, ScimTokenOut


def _body(model: ProviderIn | ProviderPatch | ProviderTestIn | SsoSettingsPatch) -> dict[str, Any]:
    """JSON with secrets revealed (they travel to the server only) and unset fields left out."""
    data = model.model_dump(mode="json", exclude_unset=True)
    for name in ("secret", "password"):
        value = getattr(model, name, None)
        if value is not None:
            data[name] = value.get_secret_value()
    return data


class SsoApi:
    t: Transport

    async def auth_config(self, email: str | None = None) -> AuthConfig:
        """The sign-in methods for this email (no sign-in needed): password, the company's LDAP
        directory (signs in with `login`) or an OpenID provider (the device handoff)."""
        return await self.t.get("/auth/config", AuthConfig, params={"email": email or None}, auth=False)

    async def sso_providers(self) -> ProviderList:
        return await self.t.get("/sso/providers", ProviderList)

    async def sso_provider(self, provider_id: UUID) -> ProviderOut:
        return await self.t.get(f"/sso/providers/{provider_id}", ProviderOut)

    async def create_sso_provider(self, body: ProviderIn) -> ProviderOut:
        """Raises ClientError `sso_config_invalid` (field `config.<name>`), `sso_domain_taken`…"""
        return await self.t.send("POST", "/sso/providers", ProviderOut, json=_body(body))

    async def update_sso_provider(self, provider_id: UUID, body: ProviderPatch) -> ProviderOut:
        return await self.t.send("PATCH", f"/sso/providers/{provider_id}", ProviderOut, json=_body(body))

    async def delete_sso_provider(self, provider_id: UUID) -> None:
        await self.t.send("DELETE", f"/sso/providers/{provider_id}")

    async def test_sso_provider(self, provider_id: UUID, body: ProviderTestIn) -> ProviderTestOut:
        """Try the saved settings (LDAP: bind, find the person with their groups); may take seconds."""
        return await self.t.send("POST", f"/sso/providers/{provider_id}/test", ProviderTestOut, json=_body(body),
                                 timeout=60)

    async def sso_settings(self) -> SsoSettings:
        return await self.t.get("/sso/settings", SsoSettings)

    async def update_sso_settings(self, body: SsoSettingsPatch) -> SsoSettings:
        return await self.t.send("PATCH", "/sso/settings", SsoSettings, json=_body(body))

    async def scim_status(self) -> ScimStatus:
        """Whether SCIM provisioning is on, the current token's last characters and whose rules apply."""
        return await self.t.get("/sso/scim", ScimStatus)

    async def issue_scim_token(self, body: ScimTokenIn) -> ScimTokenOut:
        """A new SCIM token, in clear this once; the current one ends at once or after `overlap_minutes`."""
        return await self.t.send("POST", "/sso/scim/token", ScimTokenOut, json=body.model_dump(mode="json"))

    async def turn_off_scim(self) -> None:
        await self.t.send("DELETE", "/sso/scim/token")
