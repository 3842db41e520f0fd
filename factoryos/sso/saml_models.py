"""Query shapes of the SAML browser pages (the sign-in start and the page a terminal's code is typed in),
and the addresses the identity provider knows us by (shown to the admin who sets the provider up)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

PREFIX = "/api/v1/auth/sso/saml"


class SamlSpOut(BaseModel):
    """What the admin gives the identity provider: our entity id and where our metadata is."""

    entity_id: str = Field(description="Our SP entity id (it is also our metadata's address).")
    metadata_url: str = Field(description="Our SP metadata: import it at the identity provider.")
    acs_url: str = Field(description="Where the identity provider posts its answer (HTTP-POST).")


def sp_urls(base_url: str, company_id: Any, provider_id: Any) -> SamlSpOut:
    """`base_url`: the provider's `sp_base_url`, else this server's URL as the request reached it."""
    base = base_url.rstrip("/") + f"{PREFIX}/{company_id}/{provider_id}"
    return SamlSpOut(entity_id=f"{base}/metadata", metadata_url=f"{base}/metadata", acs_url=f"{base}/acs")


class SamlAcsForm(BaseModel):
    """What the identity provider's page posts to the ACS (HTTP-POST binding), as an HTML form
    (`application/x-www-form-urlencoded`)."""

    model_config = ConfigDict(extra="ignore")

    saml_response: str = Field(alias="SAMLResponse", min_length=1,
                               description="The signed SAML Response, base64-encoded.")
    relay_state: str = Field(alias="RelayState", min_length=1,
                             description="The sign-in this answers (the handle FactoryOS sent with its request).")


class DevicePageQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: str | None = Field(None, max_length=20, description="The code the terminal shows.")


class SamlStartQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
